// ARKit blendshape weights, head and eye angles from a head model's state, in the layout of the
// CSV that Epic's Live Link Face app records (see src/model/live_link_face_csv.h), so that a
// tracking result drives ARKit-rigged avatars (Unreal, Unity, Blender, three.js).
//
// Names and order: the 52 ARKit blendshapes in Live Link Face's spelling (PascalCase, sides as
// "Left"/"Right" = the subject's own sides) and in the column order of its CSV, which differs
// from Apple's alphabetical list and from Unreal's EARFaceBlendShape enum (the CSV has JawRight
// before JawLeft and MouthRight before MouthLeft).
//
// Angles, as Live Link Face writes them: radians, relative to the camera looking at the face,
// with Unreal's FRotator meaning for a head whose forward axis points out of the face:
//   yaw   > 0: the head turns to its own right  (nose toward the subject's right),
//   pitch > 0: the head tilts up                (chin up, nose toward the top of the image),
//   roll  > 0: the head tilts to its own right  (top of the head toward the right shoulder).
// A head looking straight into the camera has yaw = pitch = roll = 0. Eyes use the same signs
// (yaw > 0: the eye looks toward the subject's right; pitch > 0: up); roll is always 0.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "headtrack/similarity_transform.h"

namespace headtrack {

inline constexpr int kNumArkitBlendshapes = 52;

// The 52 names in Live Link Face order, "EyeBlinkLeft" ... "TongueOut".
const std::array<std::string_view, kNumArkitBlendshapes>& ArkitBlendshapeNames();

// Index of an ARKit name in ArkitBlendshapeNames() (exact spelling), or -1.
int ArkitBlendshapeIndex(std::string_view name);

// How a model's expression coefficients drive the 52 ARKit weights:
//   arkit[a] = clamp(sum over drivers[a] of weight * expression[index], 0, 1).
struct ArkitMapping {
  struct Term {
    int expression = 0;   // index into the model's expressions
    float weight = 1.0f;  // 1 for a direct match, 1/2 for each side of a mean
  };

  int num_expressions = 0;                                      // the model's expression count
  std::array<std::vector<Term>, kNumArkitBlendshapes> drivers;  // per ARKit shape, LLF order
  std::vector<std::string> undriven_arkit;      // ARKit names nothing drives (written as 0)
  std::vector<std::string> unused_expressions;  // model expression names that drive nothing

  // True when no ARKit shape is driven (e.g. a model with PCA expressions such as FLAME).
  bool empty() const { return undriven_arkit.size() == kNumArkitBlendshapes; }
};

// Matches a model's expression names to ARKit names: "_L" -> "Left", "_R" -> "Right", first
// letter capitalized, then compared ignoring case ("eyeBlink_L" drives "EyeBlinkLeft",
// "jawOpen" drives "JawOpen"; "EyeBlinkLeft" itself also matches). An ARKit shape without a
// side that the model splits ("browInnerUp_L"/"_R" for "BrowInnerUp") is driven by the mean of
// the sides it has; a sided ARKit shape the model does not split ("eyeBlink" for
// "EyeBlinkLeft") is driven by the unsided expression. When two expressions match the same
// shape, the first one drives it. Works for any names; names that match nothing map nothing.
ArkitMapping MapExpressionsToArkit(const std::vector<std::string>& expression_names);

// The 52 ARKit weights in [0, 1] for one frame. expression: mapping.num_expressions finite
// coefficients of the model.
std::array<float, kNumArkitBlendshapes> ArkitWeights(const ArkitMapping& mapping,
                                                     const Eigen::VectorXf& expression);

// Head yaw, pitch, roll (radians, Live Link Face's convention above) of cam_from_head.
// Camera frame: OpenCV's (x right, y down, z forward). Head frame: +x the subject's left, +y up,
// +z out of the face, so a head looking straight into the camera has rotation diag(1, -1, -1).
// Decomposition: with F = diag(1, -1, -1) * rotation (the head relative to that frontal pose),
//   F = Ry(-yaw) * Rx(-pitch) * Rz(roll)   (Rk: right-handed rotation about the head axis k),
// i.e. roll is applied first, then pitch, then yaw, as for Unreal's FRotator. Scale and
// translation are ignored. Returns {yaw, pitch, roll}, yaw and roll in [-pi, pi], pitch in
// [-pi/2, pi/2].
std::array<float, 3> ArkitHeadAngles(const SimilarityTransform& cam_from_head);

// Eye rotation per unit of an eyeLook* weight, radians: a chosen constant, 30 degrees at weight
// 1 (about the limit of comfortable human gaze and of ARKit's eyeLook range). It cannot be read
// off the default model: its eyeLook shapes move the lids and skin around the eye toward the gaze
// but leave the eyeball meshes in place (ICT's rig turns the eyeballs separately).
inline constexpr double kArkitEyeRadiansPerUnit = 30.0 * 3.14159265358979323846 / 180.0;

// Eye angles derived from the eyeLook* weights (for a model without eye joints), with
// k = radians_per_unit ("In" looks toward the nose: the subject's right for the left eye):
//   LeftEyeYaw  = k * (EyeLookInLeft - EyeLookOutLeft),   RightEyeYaw = k * (EyeLookOutRight -
//   EyeLookInRight),  *EyePitch = k * (EyeLookUp* - EyeLookDown*),  *EyeRoll = 0.
// Returns {LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll}.
std::array<float, 6> ArkitEyeAngles(const std::array<float, kNumArkitBlendshapes>& arkit_weights,
                                    double radians_per_unit = kArkitEyeRadiansPerUnit);

}  // namespace headtrack
