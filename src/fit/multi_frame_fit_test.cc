#include "headtrack/multi_frame_fit.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Cholesky>
#include <gtest/gtest.h>

#include "fit/testing/synthetic_frame.h"

namespace headtrack {
namespace {

using testing::DefaultModelPath;
using testing::HalfAzureKinect;
using testing::RenderSyntheticFrame;
using testing::TypicalCamFromHead;

class MultiFrameFitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(HeadModel::Load(DefaultModelPath())); }
  static void TearDownTestSuite() { delete model_; }

  // Frames of one person: different yaws, expressions in the interior of [0, 1].
  static std::vector<HeadState> States(int count, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> uniform(0.2f, 0.6f);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Eigen::VectorXf identity = model_->ZeroIdentity();
    for (int k = 0; k < 10; ++k) identity[k] = normal(random);
    std::vector<HeadState> states;
    for (int f = 0; f < count; ++f) {
      HeadState state = HeadState::Zero(*model_);
      state.identity = identity;
      for (int e = 0; e < state.expression.size(); ++e) state.expression[e] = uniform(random);
      state.cam_from_head = TypicalCamFromHead(*model_, -20.0 + 40.0 * f / std::max(1, count - 1));
      state.cam_from_head.translation += Eigen::Vector3d(0.002 * f, -0.001 * f, 0.003 * f);
      states.push_back(state);
    }
    return states;
  }

  static MultiFrameTerms Unlinked(int count) {
    MultiFrameTerms terms;
    terms.frames.resize(count);
    terms.linked_to_previous.assign(count, false);
    return terms;
  }

  static DepthFitOptions TemporalOptions() {
    DepthFitOptions options;
    options.loss = RobustLoss::kNone;
    options.temporal_expression_weight = 3.0;
    options.temporal_rotation_weight = 2.0;
    options.temporal_translation_weight = 0.5;
    options.identity_weight = 0.7;
    return options;
  }

  // Central differences of the cost along every unknown, in the order [x_1 .. x_N, identity].
  static Eigen::VectorXd NumericGradient(const MultiFrameFit& fit,
                                         const std::vector<HeadState>& states,
                                         const MultiFrameTerms& terms, double step) {
    const int n = static_cast<int>(states.size());
    const int m = fit.frame_size();
    const int k = fit.identity_size();
    Eigen::VectorXd gradient(n * m + k);
    for (int i = 0; i < n * m + k; ++i) {
      double costs[2];
      for (int side = 0; side < 2; ++side) {
        std::vector<HeadState> moved = states;
        const double h = side == 0 ? step : -step;
        for (int f = 0; f < n; ++f) {
          Eigen::VectorXd frame_delta = Eigen::VectorXd::Zero(m);
          Eigen::VectorXd identity_delta = Eigen::VectorXd::Zero(k);
          if (i >= n * m) identity_delta[i - n * m] = h;
          if (i / m == f && i < n * m) frame_delta[i % m] = h;
          moved[f] = fit.Move(states[f], frame_delta, identity_delta);
        }
        costs[side] = fit.Cost(moved, terms);
      }
      gradient[i] = (costs[0] - costs[1]) / (2.0 * step);
    }
    return gradient;
  }

  static HeadModel* model_;
};

HeadModel* MultiFrameFitTest::model_ = nullptr;

// The identity prior and the temporal terms alone (no correspondences, no expression prior):
// the gradient against central differences of the cost, and where consecutive rotations agree
// (zero rotation residual, so Gauss-Newton is exact) the matrix against differences of the
// gradient.
TEST_F(MultiFrameFitTest, TemporalTermsMatchFiniteDifferences) {
  DepthFitOptions options = TemporalOptions();
  options.expression_weight = 0.0;
  const MultiFrameFit fit(*model_, options);
  std::vector<HeadState> states = States(4, 3);
  MultiFrameTerms terms = Unlinked(4);
  terms.linked_to_previous = {false, true, true, false};
  states[3].cam_from_head = states[2].cam_from_head;  // unlinked: no term between 2 and 3

  Eigen::MatrixXd hessian;
  Eigen::VectorXd gradient;
  fit.LinearizeDense(states, terms, &hessian, &gradient);
  const Eigen::VectorXd numeric = NumericGradient(fit, states, terms, 1e-4);
  EXPECT_LT((gradient - numeric).norm(), 1e-4 * numeric.norm());
  EXPECT_GT(gradient.norm(), 0.0);
  EXPECT_TRUE(hessian.isApprox(hessian.transpose()));

  // Equal rotations of the linked frames: d gradient / d x along a few directions.
  states[1].cam_from_head.rotation = states[0].cam_from_head.rotation;
  states[2].cam_from_head.rotation = states[0].cam_from_head.rotation;
  fit.LinearizeDense(states, terms, &hessian, &gradient);
  const int m = fit.frame_size();
  for (int column : {0, 1, 2, 3, 4, 5, m + 1, m + 4, m + 10, 2 * m + 2, 2 * m + 20}) {
    const double h = 1e-4;
    Eigen::VectorXd g_plus, g_minus;
    Eigen::MatrixXd unused;
    for (int side = 0; side < 2; ++side) {
      std::vector<HeadState> moved = states;
      Eigen::VectorXd frame_delta = Eigen::VectorXd::Zero(m);
      frame_delta[column % m] = side == 0 ? h : -h;
      moved[column / m] = fit.Move(states[column / m], frame_delta,
                                   Eigen::VectorXd::Zero(fit.identity_size()));
      fit.LinearizeDense(moved, terms, &unused, side == 0 ? &g_plus : &g_minus);
    }
    const Eigen::VectorXd numeric_column = (g_plus - g_minus) / (2 * h);
    EXPECT_LT((hessian.col(column) - numeric_column).norm(), 1e-3 * numeric_column.norm())
        << "column " << column;
  }
}

// With correspondences on rendered frames: the assembled gradient against central differences of
// the whole cost (float model evaluation limits the agreement to about 1e-3).
TEST_F(MultiFrameFitTest, GradientMatchesFiniteDifferencesWithData) {
  DepthFitOptions options = TemporalOptions();
  options.pixel_stride = 6;
  MultiFrameFit fit(*model_, options);
  const std::vector<HeadState> truth = States(3, 5);
  const PinholeCamera camera = HalfAzureKinect();
  std::vector<HeadState> states = truth;
  MultiFrameTerms terms = Unlinked(3);
  terms.linked_to_previous = {false, true, true};
  for (int f = 0; f < 3; ++f) {
    const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth[f], camera);
    fit.Associate(truth[f], frame.cloud, camera, &terms.frames[f].correspondences);
    ASSERT_GT(terms.frames[f].correspondences.size(), 100u);
    states[f].cam_from_head.translation += Eigen::Vector3d(0.001, -0.002, 0.001);
    states[f].expression.array() += 0.05f;
  }
  for (HeadState& state : states) state.identity.array() += 0.1f;

  Eigen::MatrixXd hessian;
  Eigen::VectorXd gradient;
  fit.LinearizeDense(states, terms, &hessian, &gradient);
  const Eigen::VectorXd numeric = NumericGradient(fit, states, terms, 1e-4);
  EXPECT_LT((gradient - numeric).norm(), 3e-3 * numeric.norm());
  const int k = fit.identity_size();
  EXPECT_LT((gradient.tail(k) - numeric.tail(k)).norm(), 3e-3 * numeric.tail(k).norm());
}

// The block-tridiagonal elimination and the identity's Schur complement give the dense solution
// of (H + damping diag(H)) d = -g, with and without links between frames.
TEST_F(MultiFrameFitTest, StructuredSolveMatchesDenseSolve) {
  DepthFitOptions options = TemporalOptions();
  options.pixel_stride = 8;
  MultiFrameFit fit(*model_, options);
  const std::vector<HeadState> states = States(5, 7);
  const PinholeCamera camera = HalfAzureKinect();
  MultiFrameTerms terms = Unlinked(5);
  terms.linked_to_previous = {false, true, false, true, true};
  for (int f = 0; f < 5; ++f) {
    const PreprocessedDepth frame = RenderSyntheticFrame(*model_, states[f], camera);
    HeadState moved = states[f];
    moved.cam_from_head.translation.z() += 0.002;
    fit.Associate(moved, frame.cloud, camera, &terms.frames[f].correspondences);
  }
  for (double damping : {1e-4, 0.1}) {
    Eigen::MatrixXd hessian;
    Eigen::VectorXd gradient;
    fit.LinearizeDense(states, terms, &hessian, &gradient);
    hessian.diagonal() += damping * hessian.diagonal().cwiseMax(1e-9);
    const Eigen::VectorXd dense = hessian.ldlt().solve(-gradient);
    const Eigen::VectorXd structured = fit.SolveStructured(states, terms, damping);
    ASSERT_EQ(structured.size(), dense.size());
    EXPECT_LT((structured - dense).norm(), 1e-8 * dense.norm()) << "damping " << damping;
  }
}

// Rounds of association and joint solves on noiseless frames of one person recover the
// identity (shared) and every frame's pose and expression, inside the blendshape bounds.
TEST_F(MultiFrameFitTest, RecoversIdentityFromSeveralViews) {
  DepthFitOptions options;
  options.pixel_stride = 2;
  options.identity_weight = 1e-3;
  options.expression_weight = 1e-3;
  options.temporal_expression_weight = 0.0;
  MultiFrameFit fit(*model_, options);
  std::vector<HeadState> truth = States(3, 11);
  for (HeadState& state : truth) {
    state.expression.setZero();
    state.expression[model_->ExpressionIndex("jawOpen")] = 0.3f;
  }
  const PinholeCamera camera = HalfAzureKinect();
  std::vector<PreprocessedDepth> frames;
  for (const HeadState& state : truth) frames.push_back(RenderSyntheticFrame(*model_, state, camera));

  std::vector<HeadState> states = truth;
  for (HeadState& state : states) {
    state.identity.setZero();
    state.expression.setZero();
    state.cam_from_head.translation += Eigen::Vector3d(0.003, 0.002, -0.004);
  }
  auto neutral_error = [&](const HeadState& state) {
    const Eigen::VectorXf fitted = model_->ShapeIdentity(state.identity).shaped;
    const Eigen::VectorXf expected = model_->ShapeIdentity(truth[0].identity).shaped;
    const int face = model_->RegionIndex("face");
    double worst = 0.0;
    for (int v = 0; v < model_->num_vertices(); ++v) {
      if (model_->vertex_regions()[v] != face) continue;
      worst = std::max(worst, static_cast<double>((fitted.segment<3>(3 * v) - expected.segment<3>(3 * v)).norm()));
    }
    return worst;
  };
  const double error_before = neutral_error(states[0]);
  for (int round = 0; round < 8; ++round) {
    MultiFrameTerms terms = Unlinked(3);
    for (int f = 0; f < 3; ++f) {
      fit.Associate(states[f], frames[f].cloud, camera, &terms.frames[f].correspondences);
    }
    const MultiFrameSolveSummary summary = fit.Solve(terms, 5, 1e-6, &states);
    EXPECT_LE(summary.final_cost, summary.initial_cost);
    for (size_t i = 1; i < summary.cost_per_iteration.size(); ++i) {
      EXPECT_LE(summary.cost_per_iteration[i], summary.cost_per_iteration[i - 1]);
    }
  }
  const double error_after = neutral_error(states[0]);
  EXPECT_GT(error_before, 3e-3);
  EXPECT_LT(error_after, 2e-4) << "before " << error_before;
  for (const HeadState& state : states) {
    EXPECT_EQ(state.identity, states[0].identity);
    EXPECT_TRUE((state.expression.array() >= 0).all() && (state.expression.array() <= 1).all());
    EXPECT_NEAR(state.expression[model_->ExpressionIndex("jawOpen")], 0.3, 0.02);
  }
}

}  // namespace
}  // namespace headtrack
