#include "sensor/motion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "model/head_model_data.h"

namespace headtrack {
namespace {

// The default model's 53 expression names (ICT-FaceKit, ARKit style).
const std::vector<std::string> kIctExpressions = {
    "browDown_L",       "browDown_R",       "browInnerUp_L",  "browInnerUp_R",   "browOuterUp_L",
    "browOuterUp_R",    "cheekPuff_L",      "cheekPuff_R",    "cheekSquint_L",   "cheekSquint_R",
    "eyeBlink_L",       "eyeBlink_R",       "eyeLookDown_L",  "eyeLookDown_R",   "eyeLookIn_L",
    "eyeLookIn_R",      "eyeLookOut_L",     "eyeLookOut_R",   "eyeLookUp_L",     "eyeLookUp_R",
    "eyeSquint_L",      "eyeSquint_R",      "eyeWide_L",      "eyeWide_R",       "jawForward",
    "jawLeft",          "jawOpen",          "jawRight",       "mouthClose",      "mouthDimple_L",
    "mouthDimple_R",    "mouthFrown_L",     "mouthFrown_R",   "mouthFunnel",     "mouthLeft",
    "mouthLowerDown_L", "mouthLowerDown_R", "mouthPress_L",   "mouthPress_R",    "mouthPucker",
    "mouthRight",       "mouthRollLower",   "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmile_L",     "mouthSmile_R",     "mouthStretch_L", "mouthStretch_R",  "mouthUpperUp_L",
    "mouthUpperUp_R",   "noseSneer_L",      "noseSneer_R"};

// A one-triangle model with the given expression names: motion only looks at the names.
HeadModel NamesOnlyModel(const std::vector<std::string>& names) {
  auto data = std::make_shared<HeadModel::Data>();
  data->name = "names only";
  data->source = "names_only";
  data->template_vertices = Points3f::Identity(3, 3);
  data->triangles.resize(1, 3);
  data->triangles << 0, 1, 2;
  data->identity_basis = Eigen::MatrixXf::Zero(9, 1);
  data->expression_basis = Eigen::MatrixXf::Zero(9, static_cast<Eigen::Index>(names.size()));
  data->expression_names = names;
  return MakeHeadModel(data);
}

const std::vector<MotionKind> kAllKinds = {MotionKind::kSmile, MotionKind::kBlink,
                                           MotionKind::kTalk,  MotionKind::kRandom,
                                           MotionKind::kMouth, MotionKind::kMixed};

float Column(const HeadModel& model, const ExpressionTrajectory& trajectory,
             const std::string& name, int frame) {
  return trajectory.weights(frame, model.ExpressionIndex(name));
}

float ColumnMax(const HeadModel& model, const ExpressionTrajectory& trajectory,
                const std::string& name) {
  return trajectory.weights.col(model.ExpressionIndex(name)).maxCoeff();
}

TEST(MotionKind, NamesRoundTripAndUnknownNamesAreInputErrors) {
  for (const MotionKind kind : kAllKinds) EXPECT_EQ(ParseMotionKind(MotionKindName(kind)), kind);
  EXPECT_EQ(MotionKindName(MotionKind::kTalk), "talk");
  try {
    ParseMotionKind("dance", "--motion");
    ADD_FAILURE() << "no error";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), "--motion");
    EXPECT_NE(std::string(error.what()).find("smile, blink, talk, random, mouth, mixed"),
              std::string::npos)
        << error.what();
  }
}

// Thirty seconds of every kind, several seeds: every weight in [0, 1], no contradictory pair
// above a sum of 1, and something happens.
TEST(ExpressionTrajectory, StaysInRangeWithoutContradictoryPairs) {
  const HeadModel model = NamesOnlyModel(kIctExpressions);
  for (const MotionKind kind : kAllKinds) {
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      SCOPED_TRACE(MotionKindName(kind) + " seed " + std::to_string(seed));
      const MotionOptions options{.kind = kind, .num_frames = 900, .fps = 30.0, .seed = seed};
      const ExpressionTrajectory trajectory = MakeExpressionTrajectory(model, options);
      ASSERT_EQ(trajectory.weights.rows(), 900);
      ASSERT_EQ(trajectory.weights.cols(), 53);
      EXPECT_TRUE(trajectory.missing_names.empty());
      EXPECT_GE(trajectory.weights.minCoeff(), 0.0f);
      EXPECT_LE(trajectory.weights.maxCoeff(), 1.0f);
      EXPECT_GT(trajectory.weights.maxCoeff(), 0.5f);
      for (const auto& [first, second] : ContradictoryExpressionPairs()) {
        const Eigen::VectorXf sum = trajectory.weights.col(model.ExpressionIndex(first)) +
                                    trajectory.weights.col(model.ExpressionIndex(second));
        EXPECT_LE(sum.maxCoeff(), 1.0f + 1e-6f) << first << " + " << second;
      }
    }
  }
}

TEST(ExpressionTrajectory, EachKindMovesItsExpressions) {
  const HeadModel model = NamesOnlyModel(kIctExpressions);
  auto make = [&](MotionKind kind) {
    return MakeExpressionTrajectory(
        model, MotionOptions{.kind = kind, .num_frames = 300, .fps = 30.0, .seed = 1});
  };
  const ExpressionTrajectory smile = make(MotionKind::kSmile);
  EXPECT_GT(ColumnMax(model, smile, "mouthSmile_L"), 0.55f);
  EXPECT_GT(ColumnMax(model, smile, "mouthSmile_R"), 0.5f);
  const ExpressionTrajectory blink = make(MotionKind::kBlink);
  EXPECT_GT(ColumnMax(model, blink, "eyeBlink_L"), 0.95f);
  EXPECT_GT(ColumnMax(model, blink, "eyeBlink_R"), 0.95f);

  // Fast talking: the jaw opens 3 to 5 times a second (local maxima above 0.05).
  const ExpressionTrajectory talk = make(MotionKind::kTalk);
  int peaks = 0;
  for (int f = 1; f + 1 < 300; ++f) {
    const float jaw = Column(model, talk, "jawOpen", f);
    if (jaw > 0.05f && jaw > Column(model, talk, "jawOpen", f - 1) &&
        jaw >= Column(model, talk, "jawOpen", f + 1)) {
      ++peaks;
    }
  }
  EXPECT_GE(peaks, 15);  // 10 s of 3-5 syllables a second, with pauses and closed syllables
  EXPECT_LE(peaks, 50);

  const ExpressionTrajectory mouth = make(MotionKind::kMouth);
  int mouth_shapes = 0;
  for (const char* name : {"jawOpen", "jawLeft", "jawRight", "jawForward", "mouthLeft",
                           "mouthRight", "mouthPucker", "mouthFunnel", "mouthRollLower",
                           "mouthShrugLower", "mouthStretch_L", "mouthPress_L", "cheekPuff_L"}) {
    mouth_shapes += ColumnMax(model, mouth, name) > 0.4f ? 1 : 0;
  }
  EXPECT_GE(mouth_shapes, 5);

  // Random expressions: many different expressions are strong at some point.
  const ExpressionTrajectory random = make(MotionKind::kRandom);
  int strong = 0;
  for (int k = 0; k < 53; ++k) strong += random.weights.col(k).maxCoeff() > 0.4f ? 1 : 0;
  EXPECT_GE(strong, 10);
}

TEST(ExpressionTrajectory, IsDeterministicBySeed) {
  const HeadModel model = NamesOnlyModel(kIctExpressions);
  MotionOptions options{.kind = MotionKind::kMixed, .num_frames = 120, .fps = 30.0, .seed = 5};
  const Eigen::MatrixXf a = MakeExpressionTrajectory(model, options).weights;
  EXPECT_EQ(a, MakeExpressionTrajectory(model, options).weights);
  options.seed = 6;
  EXPECT_NE(a, MakeExpressionTrajectory(model, options).weights);
}

// Names are looked up in the model: a model with only some of them gets those and reports the
// rest; a model with none (FLAME's PCA expressions) stays neutral.
TEST(ExpressionTrajectory, NamesTheModelLacksAreSkippedAndReported) {
  const HeadModel partial = NamesOnlyModel({"eyeBlink_R", "somethingElse", "eyeBlink_L"});
  const ExpressionTrajectory blink = MakeExpressionTrajectory(
      partial, {.kind = MotionKind::kBlink, .num_frames = 150, .fps = 30.0, .seed = 2});
  EXPECT_GT(blink.weights.col(0).maxCoeff(), 0.9f);
  EXPECT_GT(blink.weights.col(2).maxCoeff(), 0.9f);
  EXPECT_EQ(blink.weights.col(1).maxCoeff(), 0.0f);
  EXPECT_FALSE(blink.missing_names.empty());
  for (const std::string& name : blink.missing_names) {
    EXPECT_EQ(partial.ExpressionIndex(name), -1) << name;
  }
  EXPECT_NE(std::find(blink.missing_names.begin(), blink.missing_names.end(), "eyeWide_L"),
            blink.missing_names.end());

  const HeadModel pca = NamesOnlyModel({"expression_0", "expression_1"});
  const ExpressionTrajectory neutral = MakeExpressionTrajectory(
      pca, {.kind = MotionKind::kMixed, .num_frames = 60, .fps = 30.0, .seed = 2});
  EXPECT_EQ(neutral.weights.maxCoeff(), 0.0f);
}

TEST(HeadPoseTrajectory, IsBoundedSmoothAndMoves) {
  const MotionOptions options{.kind = MotionKind::kMixed,
                              .num_frames = 600,
                              .fps = 30.0,
                              .seed = 3,
                              .max_rotation_deg = 30.0,
                              .max_translation_m = 0.01};
  const double max_rotation = 30.0 * std::numbers::pi / 180.0;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    MotionOptions seeded = options;
    seeded.seed = seed;
    const std::vector<HeadPose> poses = HeadPoseTrajectory(seeded);
    ASSERT_EQ(poses.size(), 600u);
    double largest = 0.0;
    for (size_t f = 0; f < poses.size(); ++f) {
      EXPECT_LE(poses[f].rotation.norm(), max_rotation);
      EXPECT_LE(poses[f].translation.cwiseAbs().maxCoeff(), 0.01);
      largest = std::max(largest, poses[f].rotation.norm());
      if (f > 0) {
        // Sinusoids of at most 0.6 Hz: |d/dt| <= 2 pi 0.6 amplitude, so per frame of 1/30 s
        // the rotation changes by less than 0.126 of its bound.
        EXPECT_LT((poses[f].rotation - poses[f - 1].rotation).norm(), 0.126 * max_rotation);
      }
    }
    EXPECT_GT(largest, 0.25 * max_rotation);  // 20 s: the head does turn
  }
  const std::vector<HeadPose> a = HeadPoseTrajectory(options);
  EXPECT_EQ(a[100].rotation, HeadPoseTrajectory(options)[100].rotation);
}

}  // namespace
}  // namespace headtrack
