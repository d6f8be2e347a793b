#include "fit/ceres_depth_fit_problem.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "fit/testing/synthetic_frame.h"
#include "headtrack/frame_fitter.h"

namespace headtrack {
namespace {

using testing::DefaultModelPath;
using testing::HalfAzureKinect;
using testing::RenderSyntheticFrame;
using testing::TypicalCamFromHead;

class CeresDepthFitProblemTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(HeadModel::Load(DefaultModelPath())); }
  static void TearDownTestSuite() { delete model_; }

  static HeadState TrueState() {
    HeadState state = HeadState::Zero(*model_);
    state.identity = SampleIdentity(model_->num_identity(), 3) * 0.5f;
    state.expression = model_->ExpressionFromWeights(
        {{"jawOpen", 0.4f}, {"mouthSmile_L", 0.6f}, {"eyeBlink_R", 0.8f}, {"browInnerUp_L", 0.5f}});
    state.cam_from_head = TypicalCamFromHead(*model_, -15.0);
    return state;
  }

  // The truth moved by a few millimetres and degrees, with a neutral expression.
  static HeadState PerturbedState(const HeadState& truth) {
    HeadState state = truth;
    state.expression.setZero();
    state.cam_from_head.rotation =
        Eigen::AngleAxisd(0.03, Eigen::Vector3d(0.2, 1.0, 0.1).normalized()).toRotationMatrix() *
        state.cam_from_head.rotation;
    state.cam_from_head.translation += Eigen::Vector3d(0.002, -0.001, 0.003);
    return state;
  }

  // Correspondences of one association at `state` with a frame of the truth (1 mm noise).
  static FitTerms AssociatedTerms(const DepthFitOptions& options, const HeadState& truth,
                                  const HeadState& state) {
    const PinholeCamera camera = HalfAzureKinect();
    const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera, 1.0);
    DepthFitEnergy energy(*model_, options);
    FitTerms terms;
    energy.Associate(state, frame.cloud, camera, &terms.correspondences);
    return terms;
  }

  // Ours (SolveWithFixedTerms) and Ceres from the same start, both to convergence.
  static void ExpectSameMinimum(const DepthFitOptions& options) {
    const HeadState truth = TrueState();
    const HeadState start = PerturbedState(truth);
    const FitTerms terms = AssociatedTerms(options, truth, start);
    ASSERT_GT(terms.correspondences.size(), 500u);

    const DepthFitEnergy energy(*model_, options);
    HeadState ours = start;
    int iterations = 0;
    const double our_cost = SolveWithFixedTerms(energy, terms, 500, 1e-13, &ours, &iterations);

    CeresFitOptions ceres_options;
    ceres_options.function_tolerance = 1e-13;
    const CeresFitResult ceres = SolveWithCeres(*model_, options, terms, start, ceres_options);
    EXPECT_NEAR(ceres.initial_cost, energy.Cost(start, terms), 1e-6 * ceres.initial_cost);
    EXPECT_TRUE(ceres.converged) << ceres.report;
    EXPECT_LT(our_cost, 0.5 * ceres.initial_cost);
    EXPECT_NEAR(our_cost, ceres.final_cost, 1e-6 * ceres.final_cost)
        << "ours after " << iterations << " iterations; Ceres: " << ceres.report;
    // Ceres' state has the cost it reports (up to the float coefficients of HeadState).
    EXPECT_NEAR(energy.Cost(ceres.state, terms), ceres.final_cost, 1e-7 * ceres.final_cost);
    EXPECT_LT((ours.cam_from_head.translation - ceres.state.cam_from_head.translation).norm(),
              1e-5);  // metres
    EXPECT_LT((ours.expression - ceres.state.expression).cwiseAbs().maxCoeff(), 1e-3);
    EXPECT_TRUE((ceres.state.expression.array() >= 0).all() &&
                (ceres.state.expression.array() <= 1).all());
  }

  static HeadModel* model_;
};

HeadModel* CeresDepthFitProblemTest::model_ = nullptr;

TEST_F(CeresDepthFitProblemTest, CostEqualsOursWithEveryTerm) {
  const HeadState truth = TrueState();
  DepthFitOptions options;
  options.optimize_identity = true;
  options.estimate_scale = true;
  options.pixel_stride = 2;
  options.point_to_point_weight = 0.1;
  options.loss_threshold = 1.0;  // many residuals beyond it
  options.temporal_expression_weight = 2.0;
  options.temporal_rotation_weight = 0.5;
  options.temporal_translation_weight = 0.5;
  // The state the cost is taken at: away from where the terms were associated, so that many
  // residuals lie beyond the loss threshold; coefficients off the model's rest values.
  const HeadState associated = PerturbedState(truth);
  FitTerms terms = AssociatedTerms(options, truth, associated);
  ASSERT_GT(terms.correspondences.size(), 500u);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.2f, 1.5f);
  for (size_t k = 0; k < terms.correspondences.size(); k += 3) {
    terms.correspondences[k].weight = uniform(rng);
  }
  const std::vector<int>& landmark_vertices = model_->landmark_vertices();
  for (int i = 0; i < 20; ++i) {
    terms.landmarks.push_back({landmark_vertices[i], Eigen::Vector3f(0.01f * i, 0.02f, 0.35f)});
  }
  HeadState previous = truth;
  previous.cam_from_head.rotation =
      Eigen::AngleAxisd(0.1, Eigen::Vector3d(0.3, 1, 0.2).normalized()).toRotationMatrix() *
      previous.cam_from_head.rotation;
  previous.cam_from_head.translation.x() += 0.004;
  previous.expression.array() += 0.1f;
  terms.previous = &previous;
  HeadState state = truth;
  state.cam_from_head.translation.z() += 0.004;
  state.cam_from_head.scale = 1.02;
  state.expression.array() += 0.05f;

  double plain_cost = 0.0;
  for (RobustLoss loss : {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kTukey}) {
    options.loss = loss;
    const double ours = DepthFitEnergy(*model_, options).Cost(state, terms);
    const double ceres = EvaluateCostWithCeres(*model_, options, terms, state);
    EXPECT_NEAR(ceres, ours, 1e-7 * ours) << "loss " << static_cast<int>(loss);
    if (loss == RobustLoss::kNone) {
      plain_cost = ours;
    } else {
      EXPECT_LT(ours, 0.9 * plain_cost);  // the robust branches are exercised
    }
  }
  // Unknowns held fixed still count (constant blocks).
  options.loss = RobustLoss::kHuber;
  options.optimize_pose = false;
  options.optimize_identity = false;
  options.optimize_expression = false;
  options.estimate_scale = false;
  EXPECT_NEAR(EvaluateCostWithCeres(*model_, options, terms, state),
              DepthFitEnergy(*model_, options).Cost(state, terms), 1e-7 * plain_cost);
}

TEST_F(CeresDepthFitProblemTest, ReachesOurMinimumForPoseAndExpression) {
  DepthFitOptions options;
  options.pixel_stride = 4;
  ExpectSameMinimum(options);
}

TEST_F(CeresDepthFitProblemTest, ReachesOurMinimumWithIdentity) {
  DepthFitOptions options;
  options.optimize_identity = true;
  options.point_to_point_weight = 0.1;
  options.pixel_stride = 4;
  ExpectSameMinimum(options);
}

}  // namespace
}  // namespace headtrack
