#include "headtrack/arkit_blendshapes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <set>

#include <Eigen/Geometry>

#include "headtrack/error.h"
#include "headtrack/head_model.h"

namespace headtrack {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
const char* const kDefaultModel = HEADTRACK_DATA_DIR "/models/ict_facekit_light.npz";

const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(kDefaultModel);
  return model;
}

// cam_from_head for a head with Live Link Face angles (radians), built independently of the
// decomposition: the frontal pose diag(1, -1, -1) times yaw about -y, pitch about -x, roll about z.
SimilarityTransform CamFromHead(double yaw, double pitch, double roll) {
  SimilarityTransform cam_from_head;
  cam_from_head.rotation = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal() *
                           (Eigen::AngleAxisd(-yaw, Eigen::Vector3d::UnitY()) *
                            Eigen::AngleAxisd(-pitch, Eigen::Vector3d::UnitX()) *
                            Eigen::AngleAxisd(roll, Eigen::Vector3d::UnitZ()))
                               .toRotationMatrix();
  cam_from_head.translation = Eigen::Vector3d(0.02, -0.01, 0.6);
  cam_from_head.scale = 1.1;
  return cam_from_head;
}

std::vector<ArkitMapping::Term> Drivers(const ArkitMapping& mapping, std::string_view name) {
  const int index = ArkitBlendshapeIndex(name);
  EXPECT_GE(index, 0) << name;
  return index < 0 ? std::vector<ArkitMapping::Term>{} : mapping.drivers[index];
}

TEST(ArkitBlendshapeNames, AreLiveLinkFacesFiftyTwoInItsOrder) {
  const auto& names = ArkitBlendshapeNames();
  EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()).size(), 52u);
  EXPECT_EQ(names.front(), "EyeBlinkLeft");
  EXPECT_EQ(names[1], "EyeLookDownLeft");
  EXPECT_EQ(names[7], "EyeBlinkRight");
  EXPECT_EQ(names[14], "JawForward");
  EXPECT_EQ(names[15], "JawRight");  // the app writes JawRight before JawLeft
  EXPECT_EQ(names[16], "JawLeft");
  EXPECT_EQ(names[17], "JawOpen");
  EXPECT_EQ(names[21], "MouthRight");
  EXPECT_EQ(names[22], "MouthLeft");
  EXPECT_EQ(names[43], "BrowInnerUp");
  EXPECT_EQ(names[46], "CheekPuff");
  EXPECT_EQ(names.back(), "TongueOut");
  for (int i = 0; i < kNumArkitBlendshapes; ++i) EXPECT_EQ(ArkitBlendshapeIndex(names[i]), i);
  EXPECT_EQ(ArkitBlendshapeIndex("eyeBlinkLeft"), -1);
}

TEST(MapExpressionsToArkit, AccountsForEveryExpressionOfTheDefaultModel) {
  const std::vector<std::string>& names = DefaultModel().expression_names();
  ASSERT_EQ(names.size(), 53u);
  const ArkitMapping mapping = MapExpressionsToArkit(names);
  EXPECT_EQ(mapping.num_expressions, 53);
  EXPECT_FALSE(mapping.empty());
  EXPECT_TRUE(mapping.unused_expressions.empty());
  EXPECT_EQ(mapping.undriven_arkit, std::vector<std::string>{"TongueOut"});

  // Every ICT expression drives exactly one ARKit shape.
  std::vector<int> uses(names.size(), 0);
  for (const auto& terms : mapping.drivers) {
    for (const ArkitMapping::Term& term : terms) ++uses[term.expression];
  }
  for (size_t e = 0; e < names.size(); ++e) EXPECT_EQ(uses[e], 1) << names[e];

  const auto expect_direct = [&](std::string_view arkit, const std::string& ict) {
    const auto terms = Drivers(mapping, arkit);
    ASSERT_EQ(terms.size(), 1u) << arkit;
    EXPECT_EQ(names[terms[0].expression], ict) << arkit;
    EXPECT_EQ(terms[0].weight, 1.0f) << arkit;
  };
  expect_direct("EyeBlinkLeft", "eyeBlink_L");
  expect_direct("EyeBlinkRight", "eyeBlink_R");
  expect_direct("JawOpen", "jawOpen");
  expect_direct("JawLeft", "jawLeft");
  expect_direct("MouthRight", "mouthRight");
  expect_direct("NoseSneerLeft", "noseSneer_L");
  expect_direct("MouthUpperUpRight", "mouthUpperUp_R");

  const std::pair<std::string_view, std::string> means[] = {{"BrowInnerUp", "browInnerUp"},
                                                            {"CheekPuff", "cheekPuff"}};
  for (const auto& [mean, ict] : means) {
    const auto terms = Drivers(mapping, mean);
    ASSERT_EQ(terms.size(), 2u) << mean;
    EXPECT_EQ(names[terms[0].expression], ict + "_L");
    EXPECT_EQ(names[terms[1].expression], ict + "_R");
    EXPECT_EQ(terms[0].weight, 0.5f);
    EXPECT_EQ(terms[1].weight, 0.5f);
  }
}

TEST(MapExpressionsToArkit, PcaExpressionsMapNothing) {
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("expression_" + std::to_string(i));
  const ArkitMapping mapping = MapExpressionsToArkit(names);
  EXPECT_TRUE(mapping.empty());
  EXPECT_EQ(mapping.unused_expressions, names);
  EXPECT_EQ(mapping.undriven_arkit.size(), 52u);
  const auto weights = ArkitWeights(mapping, Eigen::VectorXf::Ones(100));
  EXPECT_TRUE(std::all_of(weights.begin(), weights.end(), [](float w) { return w == 0.0f; }));
}

TEST(MapExpressionsToArkit, UnsidedExpressionDrivesBothSidesAndArkitSpellingMatches) {
  const ArkitMapping mapping =
      MapExpressionsToArkit({"eyeBlink", "MouthSmileLeft", "mouthSmile_L", "JAWOPEN", "unknown"});
  EXPECT_EQ(Drivers(mapping, "EyeBlinkLeft").size(), 1u);
  EXPECT_EQ(Drivers(mapping, "EyeBlinkRight").size(), 1u);
  EXPECT_EQ(Drivers(mapping, "EyeBlinkRight")[0].expression, 0);
  // Two expressions for one shape: the first drives it, the second is reported unused.
  ASSERT_EQ(Drivers(mapping, "MouthSmileLeft").size(), 1u);
  EXPECT_EQ(Drivers(mapping, "MouthSmileLeft")[0].expression, 1);
  EXPECT_EQ(Drivers(mapping, "JawOpen")[0].expression, 3);
  EXPECT_EQ(mapping.unused_expressions, (std::vector<std::string>{"mouthSmile_L", "unknown"}));
  EXPECT_EQ(mapping.undriven_arkit.size(), 52u - 4u);
}

TEST(ArkitWeights, MatchHandWorkedValuesAndAreClamped) {
  const HeadModel& model = DefaultModel();
  const ArkitMapping mapping = MapExpressionsToArkit(model.expression_names());
  const Eigen::VectorXf expression = model.ExpressionFromWeights({{"jawOpen", 0.6f},
                                                                  {"browInnerUp_L", 0.2f},
                                                                  {"browInnerUp_R", 0.6f},
                                                                  {"cheekPuff_L", 1.0f},
                                                                  {"mouthSmile_L", 1.7f},
                                                                  {"eyeBlink_R", -0.3f}});
  const auto weights = ArkitWeights(mapping, expression);
  std::array<float, kNumArkitBlendshapes> expected{};
  expected[ArkitBlendshapeIndex("JawOpen")] = 0.6f;
  expected[ArkitBlendshapeIndex("BrowInnerUp")] = 0.4f;
  expected[ArkitBlendshapeIndex("CheekPuff")] = 0.5f;
  expected[ArkitBlendshapeIndex("MouthSmileLeft")] = 1.0f;  // clamped from 1.7
  // EyeBlinkRight clamped from -0.3 to 0.
  for (int a = 0; a < kNumArkitBlendshapes; ++a) {
    EXPECT_NEAR(weights[a], expected[a], 1e-6f) << ArkitBlendshapeNames()[a];
  }
  EXPECT_THROW(ArkitWeights(mapping, Eigen::VectorXf::Zero(52)), CheckError);
}

TEST(ArkitHeadAngles, FrontalHeadIsZero) {
  SimilarityTransform cam_from_head;
  cam_from_head.rotation = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal();
  cam_from_head.translation = Eigen::Vector3d(0.0, 0.0, 0.5);
  const auto angles = ArkitHeadAngles(cam_from_head);
  for (float angle : angles) EXPECT_NEAR(angle, 0.0f, 1e-7f);
}

TEST(ArkitHeadAngles, SignsFollowTheHeadsOwnSides) {
  const Eigen::Matrix3d frontal = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal();
  const Eigen::Vector3d nose_in_head = Eigen::Vector3d::UnitZ();
  const Eigen::Vector3d up_in_head = Eigen::Vector3d::UnitY();

  // Turned 30 degrees to its own left (right-handed about the head's up axis): the nose points to
  // the subject's left, which the camera sees on the right of the image (+x).
  SimilarityTransform left;
  left.rotation = frontal * Eigen::AngleAxisd(30 * kDeg, Eigen::Vector3d::UnitY());
  EXPECT_GT((left.rotation * nose_in_head).x(), 0.4);
  auto angles = ArkitHeadAngles(left);
  EXPECT_NEAR(angles[0], -30 * kDeg, 1e-6);
  EXPECT_NEAR(angles[1], 0.0, 1e-6);
  EXPECT_NEAR(angles[2], 0.0, 1e-6);

  // Chin up by 20 degrees: the nose points to the top of the image (-y).
  SimilarityTransform up;
  up.rotation = frontal * Eigen::AngleAxisd(-20 * kDeg, Eigen::Vector3d::UnitX());
  EXPECT_LT((up.rotation * nose_in_head).y(), -0.3);
  angles = ArkitHeadAngles(up);
  EXPECT_NEAR(angles[0], 0.0, 1e-6);
  EXPECT_NEAR(angles[1], 20 * kDeg, 1e-6);
  EXPECT_NEAR(angles[2], 0.0, 1e-6);

  // Top of the head tilted 15 degrees toward the subject's right shoulder (the image's left).
  SimilarityTransform tilt;
  tilt.rotation = frontal * Eigen::AngleAxisd(15 * kDeg, Eigen::Vector3d::UnitZ());
  EXPECT_LT((tilt.rotation * up_in_head).x(), -0.2);
  angles = ArkitHeadAngles(tilt);
  EXPECT_NEAR(angles[0], 0.0, 1e-6);
  EXPECT_NEAR(angles[1], 0.0, 1e-6);
  EXPECT_NEAR(angles[2], 15 * kDeg, 1e-6);
}

TEST(ArkitHeadAngles, RecoverComposedRotations) {
  std::mt19937 random(7);
  std::uniform_real_distribution<double> angle(-80 * kDeg, 80 * kDeg);
  for (int i = 0; i < 200; ++i) {
    const double yaw = angle(random), pitch = angle(random), roll = angle(random);
    const auto angles = ArkitHeadAngles(CamFromHead(yaw, pitch, roll));
    EXPECT_NEAR(angles[0], yaw, 1e-5);
    EXPECT_NEAR(angles[1], pitch, 1e-5);
    EXPECT_NEAR(angles[2], roll, 1e-5);
  }
}

TEST(ArkitEyeAngles, FollowTheLookWeights) {
  std::array<float, kNumArkitBlendshapes> weights{};
  weights[ArkitBlendshapeIndex("EyeLookInLeft")] = 0.5f;  // left eye toward the nose: right
  weights[ArkitBlendshapeIndex("EyeLookUpLeft")] = 0.25f;
  weights[ArkitBlendshapeIndex("EyeLookInRight")] = 0.5f;  // right eye toward the nose: left
  weights[ArkitBlendshapeIndex("EyeLookDownRight")] = 1.0f;
  const double k = 0.4;
  const auto eyes = ArkitEyeAngles(weights, k);
  EXPECT_NEAR(eyes[0], 0.5 * k, 1e-6);
  EXPECT_NEAR(eyes[1], 0.25 * k, 1e-6);
  EXPECT_EQ(eyes[2], 0.0f);
  EXPECT_NEAR(eyes[3], -0.5 * k, 1e-6);
  EXPECT_NEAR(eyes[4], -1.0 * k, 1e-6);
  EXPECT_EQ(eyes[5], 0.0f);
}

// The default model's eyeLook shapes move the skin around the eye toward the gaze (they leave the
// eyeballs in place), which fixes the signs ArkitEyeAngles gives each of them.
TEST(ArkitEyeAngles, SignsAgreeWithTheDefaultModelsEyeLookShapes) {
  const HeadModel& model = DefaultModel();
  const ArkitMapping mapping = MapExpressionsToArkit(model.expression_names());
  struct Case {
    const char* expression;
    const char* region;
    int angle;                       // index into ArkitEyeAngles' result
    Eigen::Vector3d gaze_direction;  // head frame: +x the subject's left, +y up
  };
  const Case cases[] = {
      {"eyeLookOut_L", "eye_socket_left", 0, Eigen::Vector3d::UnitX()},
      {"eyeLookIn_L", "eye_socket_left", 0, -Eigen::Vector3d::UnitX()},
      {"eyeLookUp_L", "eye_socket_left", 1, Eigen::Vector3d::UnitY()},
      {"eyeLookDown_L", "eye_socket_left", 1, -Eigen::Vector3d::UnitY()},
      {"eyeLookOut_R", "eye_socket_right", 3, -Eigen::Vector3d::UnitX()},
      {"eyeLookIn_R", "eye_socket_right", 3, Eigen::Vector3d::UnitX()},
      {"eyeLookUp_R", "eye_socket_right", 4, Eigen::Vector3d::UnitY()},
      {"eyeLookDown_R", "eye_socket_right", 4, -Eigen::Vector3d::UnitY()},
  };
  for (const Case& c : cases) {
    const int expression = model.ExpressionIndex(c.expression);
    const int region = model.RegionIndex(c.region);
    Eigen::Vector3d mean_offset = Eigen::Vector3d::Zero();
    int count = 0;
    for (int v = 0; v < model.num_vertices(); ++v) {
      if (model.vertex_regions()[v] != region) continue;
      mean_offset += model.expression_basis().block<3, 1>(3 * v, expression).cast<double>();
      ++count;
    }
    mean_offset /= count;
    // The skin follows the gaze (tenths of a millimetre on average).
    EXPECT_GT(mean_offset.dot(c.gaze_direction), 5e-5) << c.expression;

    Eigen::VectorXf coefficients = model.ZeroExpression();
    coefficients[expression] = 1.0f;
    const auto eyes = ArkitEyeAngles(ArkitWeights(mapping, coefficients));
    // Live Link Face angles: yaw > 0 toward the subject's right (-x), pitch > 0 up (+y).
    const double expected_sign = c.angle % 3 == 0 ? -c.gaze_direction.x() : c.gaze_direction.y();
    EXPECT_NEAR(eyes[c.angle], expected_sign * kArkitEyeRadiansPerUnit, 1e-6) << c.expression;
  }
}

}  // namespace
}  // namespace headtrack
