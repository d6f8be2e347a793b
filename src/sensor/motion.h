// Synthetic head motion of DPHM-Kinect's kinds: expression trajectories of ARKit-style
// blendshape weights addressed by name (so any blendshape model works; names a model lacks are
// skipped) and a smooth rigid head motion. Deterministic by seed.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

namespace headtrack {

class HeadModel;

// DPHM-Kinect's sequence kinds, and `mixed`: all of them in quick succession.
enum class MotionKind { kSmile, kBlink, kTalk, kRandom, kMouth, kMixed };

// "smile", "blink", "talk", "random", "mouth", "mixed", in the enum's order.
const std::vector<std::string>& MotionKindNames();
const std::string& MotionKindName(MotionKind kind);
// Throws InputError(source, ...) listing the kinds for an unknown name.
MotionKind ParseMotionKind(const std::string& name, const std::string& source = "motion");

struct MotionOptions {
  MotionKind kind = MotionKind::kMixed;
  int num_frames = 60;
  double fps = 30.0;
  std::uint64_t seed = 0;
  // Largest rotation of the head away from facing the camera, degrees (about 30 is natural).
  double max_rotation_deg = 30.0;
  // Largest offset of the head along each camera axis, metres.
  double max_translation_m = 0.01;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// The rigid motion of one frame relative to the head at rest, facing the camera.
struct HeadPose {
  // Axis-angle (radians) in the head frame: x nods (pitch), y turns (yaw), z tilts (roll).
  Eigen::Vector3d rotation = Eigen::Vector3d::Zero();
  // Offset of the head, metres, camera frame.
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();
};

// num_frames poses, smooth in time (each component a sum of sinusoids of 0.1 to 0.6 Hz), with
// |rotation| <= max_rotation_deg (mostly yaw, less pitch, little roll) and every translation
// component within +-max_translation_m.
std::vector<HeadPose> HeadPoseTrajectory(const MotionOptions& options);

struct ExpressionTrajectory {
  // num_frames x model.num_expression(): the blendshape weights of frame f in row f, each in
  // [0, 1], no contradictory pair (ContradictoryExpressionPairs) summing to more than 1.
  Eigen::MatrixXf weights;
  // Expression names the motion uses that the model lacks (skipped), sorted.
  std::vector<std::string> missing_names;
};

// Expressions of options.kind as events (a smile held, a blink, a syllable) with quick
// transitions, plus natural blinks every few seconds for the kinds other than blink.
ExpressionTrajectory MakeExpressionTrajectory(const HeadModel& model, const MotionOptions& options);

// Expressions that contradict each other (jawOpen and mouthClose, eyeBlink_L and eyeWide_L,
// mouthSmile_L and mouthFrown_L, ...): a trajectory never holds both at full strength.
const std::vector<std::pair<std::string, std::string>>& ContradictoryExpressionPairs();

}  // namespace headtrack
