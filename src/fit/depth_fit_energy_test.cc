#include "headtrack/depth_fit_energy.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "fit/testing/energy_checks.h"
#include "fit/testing/synthetic_frame.h"

namespace headtrack {
namespace {

using testing::CentralDifferenceJacobian;
using testing::DefaultModelPath;
using testing::ExpectSameColumns;
using testing::HalfAzureKinect;
using testing::RenderSyntheticFrame;
using testing::TypicalCamFromHead;

class DepthFitEnergyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new HeadModel(HeadModel::Load(DefaultModelPath()));
  }
  static void TearDownTestSuite() { delete model_; }

  // A state with every expression inside (0, 1), so that finite differences stay in bounds.
  static HeadState TrueState() {
    HeadState state = HeadState::Zero(*model_);
    state.identity = SampleIdentity(model_->num_identity(), 3) * 0.5f;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> uniform(0.2f, 0.4f);
    for (int k = 0; k < state.expression.size(); ++k) state.expression[k] = uniform(rng);
    state.cam_from_head = TypicalCamFromHead(*model_, 20.0);
    return state;
  }

  // Terms from associating the true frame with a slightly moved state.
  static FitTerms MakeTerms(DepthFitEnergy* energy, const HeadState& truth, HeadState* moved,
                            int keep_every) {
    const PinholeCamera camera = HalfAzureKinect();
    const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera);
    *moved = truth;
    moved->cam_from_head.translation += Eigen::Vector3d(0.002, -0.001, 0.003);
    moved->expression.array() += 0.05f;
    FitTerms terms;
    std::vector<Correspondence> all;
    energy->Associate(*moved, frame.cloud, camera, &all);
    for (size_t k = 0; k < all.size(); k += keep_every) terms.correspondences.push_back(all[k]);
    return terms;
  }

  static HeadModel* model_;
};

HeadModel* DepthFitEnergyTest::model_ = nullptr;

Eigen::VectorXd FiniteDifferenceSteps(const ParameterLayout& layout) {
  Eigen::VectorXd steps = Eigen::VectorXd::Constant(layout.size, 0.02);  // coefficients
  if (layout.rotation >= 0) {
    steps.segment<3>(layout.rotation).setConstant(2e-4);     // radians
    steps.segment<3>(layout.translation).setConstant(5e-5);  // metres
  }
  if (layout.log_scale >= 0) steps[layout.log_scale] = 2e-4;
  return steps;
}

TEST_F(DepthFitEnergyTest, JacobianMatchesFiniteDifferences) {
  DepthFitOptions options;
  options.optimize_identity = true;
  options.estimate_scale = true;
  options.point_to_point_weight = 0.1;
  options.temporal_expression_weight = 2.0;
  options.temporal_rotation_weight = 0.5;
  options.temporal_translation_weight = 0.5;
  DepthFitEnergy energy(*model_, options);
  const HeadState truth = TrueState();
  HeadState state;
  FitTerms terms = MakeTerms(&energy, truth, &state, 40);
  ASSERT_GT(terms.correspondences.size(), 50u);
  // Landmarks and a previous frame turned by a few degrees exercise the other terms.
  const std::vector<int>& landmark_vertices = model_->landmark_vertices();
  for (int i = 0; i < 10; ++i) {
    terms.landmarks.push_back({landmark_vertices[i], Eigen::Vector3f(0.01f * i, 0.0f, 0.3f)});
  }
  HeadState previous = truth;
  previous.cam_from_head.rotation =
      Eigen::AngleAxisd(0.1, Eigen::Vector3d(0.3, 1, 0.2).normalized()).toRotationMatrix() *
      previous.cam_from_head.rotation;
  previous.expression.array() += 0.1f;
  terms.previous = &previous;

  Eigen::VectorXd residuals;
  Eigen::MatrixXd jacobian;
  energy.EvaluateResiduals(state, terms, &residuals, &jacobian);
  EXPECT_EQ(jacobian.cols(), 7 + model_->num_identity() + model_->num_expression());
  const Eigen::MatrixXd numeric =
      CentralDifferenceJacobian(energy, terms, state, FiniteDifferenceSteps(energy.layout()));
  ExpectSameColumns(jacobian, numeric, energy.layout());
}

TEST_F(DepthFitEnergyTest, NormalEquationsMatchTheDenseJacobianWithoutRobustLoss) {
  DepthFitOptions options;
  options.loss = RobustLoss::kNone;
  options.optimize_identity = true;
  options.point_to_point_weight = 0.1;
  options.temporal_expression_weight = 1.0;
  options.temporal_translation_weight = 1.0;
  options.num_threads = 2;
  DepthFitEnergy energy(*model_, options);
  HeadState state;
  FitTerms terms = MakeTerms(&energy, TrueState(), &state, 3);
  const HeadState previous = TrueState();
  terms.previous = &previous;
  testing::ExpectNormalEquationsMatchDenseJacobian(energy, state, terms);
}

TEST_F(DepthFitEnergyTest, RobustGradientIsTheDerivativeOfTheCost) {
  for (RobustLoss loss : {RobustLoss::kHuber, RobustLoss::kTukey}) {
    DepthFitOptions options;
    options.loss = loss;
    options.loss_threshold = 1.0;  // many residuals beyond it
    options.point_to_point_weight = 0.1;
    DepthFitEnergy energy(*model_, options);
    HeadState state;
    FitTerms terms = MakeTerms(&energy, TrueState(), &state, 5);
    NormalEquations equations;
    energy.Linearize(state, terms, &equations);
    const Eigen::VectorXd steps = FiniteDifferenceSteps(energy.layout()) * 0.1;
    for (int i : {0, 2, 4, 5, 6 + 26, 6 + 40}) {  // rotation, translation, expressions
      Eigen::VectorXd delta = Eigen::VectorXd::Zero(energy.layout().size);
      delta[i] = steps[i];
      const double numeric =
          (energy.Cost(energy.Step(state, delta), terms) -
           energy.Cost(energy.Step(state, -delta), terms)) / (2.0 * steps[i]);
      EXPECT_NEAR(equations.gradient[i], numeric,
                  2e-3 * equations.gradient.cwiseAbs().maxCoeff())
          << "parameter " << i << " loss " << static_cast<int>(loss);
    }
  }
}

TEST_F(DepthFitEnergyTest, AssociationAtTheTruthPairsCoincidingPoints) {
  DepthFitEnergy energy(*model_, DepthFitOptions{});
  const HeadState truth = TrueState();
  const PinholeCamera camera = HalfAzureKinect();
  const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera);
  std::vector<Correspondence> correspondences;
  const AssociationStats stats = energy.Associate(truth, frame.cloud, camera, &correspondences);
  ASSERT_GT(stats.accepted, 1000);
  EXPECT_EQ(stats.too_far, 0);
  EXPECT_GT(stats.accepted, 0.95 * stats.rendered_pixels);
  FitTerms terms;
  terms.correspondences = correspondences;
  // Point-to-plane residuals of the truth are tiny: the scan is the rendering itself.
  DepthFitOptions plane_only;
  plane_only.point_to_point_weight = 0.0;
  plane_only.identity_weight = 0.0;
  plane_only.expression_weight = 0.0;
  plane_only.loss = RobustLoss::kNone;
  const DepthFitEnergy plane_energy(*model_, plane_only);
  const double rms_sigmas = std::sqrt(2.0 * plane_energy.Cost(truth, terms) / stats.accepted);
  EXPECT_LT(rms_sigmas, 0.1);  // 0.1 mm

  // A scan 3 cm away matches nothing.
  PointCloud moved = frame.cloud;
  moved.points.col(2).array() += 0.03f;
  std::vector<Correspondence> none;
  const AssociationStats far = energy.Associate(truth, moved, camera, &none);
  EXPECT_EQ(far.accepted, 0);
  EXPECT_EQ(far.too_far, far.rendered_pixels - far.no_scan);
}

TEST_F(DepthFitEnergyTest, StepKeepsBlendshapesInBounds) {
  DepthFitEnergy energy(*model_, DepthFitOptions{});
  HeadState state = HeadState::Zero(*model_);
  state.expression[0] = 0.9f;
  Eigen::VectorXd lower, upper;
  energy.StepBounds(state, &lower, &upper);
  const int e = energy.layout().expression;
  EXPECT_DOUBLE_EQ(lower[e], -0.9f);
  EXPECT_NEAR(upper[e], 0.1, 1e-6);
  EXPECT_EQ(lower[0], -std::numeric_limits<double>::infinity());
  Eigen::VectorXd delta = Eigen::VectorXd::Zero(energy.layout().size);
  delta[e] = 0.5;
  delta[e + 1] = -0.5;
  const HeadState next = energy.Step(state, delta);
  EXPECT_EQ(next.expression[0], 1.0f);
  EXPECT_EQ(next.expression[1], 0.0f);
}

}  // namespace
}  // namespace headtrack
