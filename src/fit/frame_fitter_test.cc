#include "headtrack/frame_fitter.h"

#include <cmath>
#include <limits>

#include <Eigen/Cholesky>
#include <gtest/gtest.h>

#include "fit/testing/synthetic_frame.h"

namespace headtrack {
namespace {

using testing::DefaultModelPath;
using testing::HalfAzureKinect;
using testing::RenderSyntheticFrame;
using testing::TypicalCamFromHead;

class FrameFitterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(HeadModel::Load(DefaultModelPath())); }
  static void TearDownTestSuite() { delete model_; }

  static HeadState TrueState() {
    HeadState state = HeadState::Zero(*model_);
    state.expression = model_->ExpressionFromWeights(
        {{"jawOpen", 0.4f}, {"mouthSmile_L", 0.6f}, {"eyeBlink_R", 0.8f}, {"browInnerUp_L", 0.5f}});
    state.cam_from_head = TypicalCamFromHead(*model_, -15.0);
    return state;
  }

  // Median distance of the face region's vertices between two states.
  static double MedianFaceVertexError(const HeadState& a, const HeadState& b) {
    Points3f va, vb;
    model_->Evaluate(model_->ShapeIdentity(a.identity), a.expression, a.joint_rotations,
                     a.cam_from_head, &va);
    model_->Evaluate(model_->ShapeIdentity(b.identity), b.expression, b.joint_rotations,
                     b.cam_from_head, &vb);
    const int face = model_->RegionIndex("face");
    std::vector<double> errors;
    for (int v = 0; v < model_->num_vertices(); ++v) {
      if (model_->vertex_regions()[v] == face) errors.push_back((va.row(v) - vb.row(v)).norm());
    }
    std::nth_element(errors.begin(), errors.begin() + errors.size() / 2, errors.end());
    return errors[errors.size() / 2];
  }

  static HeadModel* model_;
};

HeadModel* FrameFitterTest::model_ = nullptr;

TEST_F(FrameFitterTest, RecoversPoseAndExpressionOfANoiselessFrame) {
  const HeadState truth = TrueState();
  const PinholeCamera camera = HalfAzureKinect();
  const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera);

  HeadState state = truth;
  state.expression.setZero();
  state.cam_from_head.rotation =
      Eigen::AngleAxisd(0.08, Eigen::Vector3d(0.2, 1.0, 0.1).normalized()).toRotationMatrix() *
      state.cam_from_head.rotation;
  state.cam_from_head.translation += Eigen::Vector3d(0.006, -0.004, 0.008);
  const double error_before = MedianFaceVertexError(state, truth);

  FrameFitOptions options;
  options.max_iterations = 40;
  options.energy.expression_weight = 1e-3;
  FrameFitter fitter(*model_, options);
  const FrameFitSummary summary = fitter.Fit(frame.cloud, camera, {}, nullptr, &state);
  ASSERT_TRUE(summary.usable());
  EXPECT_LT(summary.final_cost, summary.initial_cost);
  EXPECT_LT(summary.final_cost, 1e-3 * summary.initial_cost);
  const double error_after = MedianFaceVertexError(state, truth);
  EXPECT_GT(error_before, 5e-3);
  EXPECT_LT(error_after, 5e-5) << "before " << error_before;
  EXPECT_NEAR(state.expression[model_->ExpressionIndex("jawOpen")], 0.4, 0.02);
  EXPECT_NEAR(state.expression[model_->ExpressionIndex("mouthSmile_L")], 0.6, 0.02);
  EXPECT_TRUE((state.expression.array() >= 0).all() && (state.expression.array() <= 1).all());
}

TEST_F(FrameFitterTest, EmptyScanLeavesTheStateAndReportsTooFewCorrespondences) {
  const PinholeCamera camera = HalfAzureKinect();
  PointCloud empty;
  empty.width = camera.width;
  empty.height = camera.height;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  empty.points = Points3f::Constant(camera.width * camera.height, 3, nan);
  empty.normals = empty.points;
  HeadState state = TrueState();
  const HeadState before = state;
  FrameFitter fitter(*model_, FrameFitOptions{});
  const FrameFitSummary summary = fitter.Fit(empty, camera, {}, nullptr, &state);
  EXPECT_EQ(summary.termination, FitTermination::kTooFewCorrespondences);
  EXPECT_FALSE(summary.usable());
  EXPECT_EQ(state.cam_from_head.translation, before.cam_from_head.translation);
  EXPECT_EQ(state.expression, before.expression);
}

TEST_F(FrameFitterTest, FixedTermsSolveEndsAtAStationaryPoint) {
  const HeadState truth = TrueState();
  const PinholeCamera camera = HalfAzureKinect();
  const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera, 1.0);
  DepthFitOptions options;
  options.optimize_identity = true;
  DepthFitEnergy energy(*model_, options);
  HeadState state = truth;
  state.cam_from_head.translation.z() += 0.003;
  FitTerms terms;
  energy.Associate(state, frame.cloud, camera, &terms.correspondences);
  const double initial = energy.Cost(state, terms);
  int iterations = 0;
  const double final_cost = SolveWithFixedTerms(energy, terms, 100, 1e-12, &state, &iterations);
  EXPECT_LT(final_cost, initial);
  NormalEquations equations;
  energy.Linearize(state, terms, &equations);
  // Converged: the Newton step over the entries not held at a bound predicts a negligible
  // decrease (the gradient itself is not small in absolute terms: H is ~1e10 in metres).
  Eigen::VectorXd lower, upper;
  energy.StepBounds(state, &lower, &upper);
  std::vector<int> free;
  for (int i = 0; i < equations.gradient.size(); ++i) {
    const double g = equations.gradient[i];
    if (!(lower[i] == 0.0 && g > 0) && !(upper[i] == 0.0 && g < 0)) free.push_back(i);
  }
  Eigen::MatrixXd h(free.size(), free.size());
  Eigen::VectorXd g(free.size());
  for (size_t r = 0; r < free.size(); ++r) {
    g[r] = equations.gradient[free[r]];
    for (size_t c = 0; c < free.size(); ++c) h(r, c) = equations.hessian(free[r], free[c]);
  }
  const double predicted_decrease = 0.5 * g.dot(h.ldlt().solve(g));
  EXPECT_LT(predicted_decrease, 1e-6 * final_cost) << "after " << iterations << " iterations";
  EXPECT_GT(iterations, 1);
}

}  // namespace
}  // namespace headtrack
