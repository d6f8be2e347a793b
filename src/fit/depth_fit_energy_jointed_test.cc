// DepthFitEnergy's generic path, for models with joints (FLAME), on the small jointed cap of
// model/testing/small_jointed_model.h.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "fit/testing/energy_checks.h"
#include "fit/testing/synthetic_frame.h"
#include "headtrack/depth_fit_energy.h"
#include "headtrack/frame_fitter.h"
#include "model/head_model_data.h"
#include "model/testing/small_jointed_model.h"

namespace headtrack {
namespace {

using testing::CentralDifferenceJacobian;
using testing::ExpectSameColumns;
using testing::RenderSyntheticFrame;
using testing::TypicalCamFromHead;

// The cap (0.14 x 0.16 m) at 0.35 m covers about 60 x 70 pixels of this camera.
PinholeCamera SmallCamera() {
  PinholeCamera camera;
  camera.fx = camera.fy = 150.0;
  camera.width = 112;
  camera.height = 96;
  camera.cx = 55.5;
  camera.cy = 47.5;
  return camera;
}

class DepthFitEnergyJointedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(MakeHeadModel(testing::JointedCapData())); }
  static void TearDownTestSuite() { delete model_; }

  // Every joint turned, the root too (it is never optimized, but moves the whole cap).
  static HeadState TrueState() {
    HeadState state = HeadState::Zero(*model_);
    state.identity << 0.5f, -0.8f, 0.3f;
    state.expression << 0.6f, -0.4f, 0.5f, 0.3f;
    state.joint_rotations.col(0) << 0.05, -0.1, 0.02;    // global
    state.joint_rotations.col(1) << 0.12, -0.15, 0.05;   // neck
    state.joint_rotations.col(2) << 0.2, 0.03, -0.02;    // jaw
    state.joint_rotations.col(3) << 0.1, 0.15, 0.05;     // eye_left
    state.joint_rotations.col(4) << -0.08, 0.12, -0.06;  // eye_right
    state.cam_from_head = TypicalCamFromHead(*model_, 15.0, 0.35);
    return state;
  }

  // Terms from associating the true frame with a moved state (*moved), every keep_every-th
  // correspondence, and the landmarks of the moved state displaced by a few millimetres.
  static FitTerms MakeTerms(DepthFitEnergy* energy, HeadState* moved, int keep_every) {
    const HeadState truth = TrueState();
    const PinholeCamera camera = SmallCamera();
    const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera);
    *moved = truth;
    moved->cam_from_head.translation += Eigen::Vector3d(0.002, -0.001, 0.003);
    moved->identity.array() += 0.1f;
    moved->expression.array() -= 0.2f;
    moved->joint_rotations.rightCols(4).array() += 0.03;
    FitTerms terms;
    std::vector<Correspondence> all;
    energy->Associate(*moved, frame.cloud, camera, &all);
    for (size_t k = 0; k < all.size(); k += keep_every) terms.correspondences.push_back(all[k]);
    const TriangleMesh mesh = model_->EvaluateMesh(moved->identity, moved->expression,
                                                   moved->joint_rotations, moved->cam_from_head);
    for (int v : model_->landmark_vertices()) {
      terms.landmarks.push_back(
          {v, mesh.vertices.row(v).transpose() + Eigen::Vector3f(0.002f, -0.003f, 0.001f)});
    }
    return terms;
  }

  static HeadModel* model_;
};

HeadModel* DepthFitEnergyJointedTest::model_ = nullptr;

// Options that switch on every unknown and every term.
DepthFitOptions AllTermsOptions() {
  DepthFitOptions options;
  options.estimate_scale = true;
  options.optimize_identity = true;
  options.point_to_point_weight = 0.1;
  options.temporal_expression_weight = 2.0;
  options.temporal_joints_weight = 50.0;
  options.temporal_rotation_weight = 0.5;
  options.temporal_translation_weight = 0.5;
  return options;
}

// A previous frame with different pose, expression and joint rotations.
HeadState PreviousOf(const HeadState& state) {
  HeadState previous = state;
  previous.cam_from_head.rotation =
      Eigen::AngleAxisd(0.1, Eigen::Vector3d(0.3, 1, 0.2).normalized()).toRotationMatrix() *
      previous.cam_from_head.rotation;
  previous.cam_from_head.translation += Eigen::Vector3d(-0.001, 0.002, 0.0);
  previous.expression.array() += 0.1f;
  previous.joint_rotations.array() -= 0.04;
  return previous;
}

// Finite-difference steps that move the cap by a fraction of a millimetre: large against float
// rounding (1e-8 m), small against the curvature.
Eigen::VectorXd FiniteDifferenceSteps(const ParameterLayout& layout) {
  Eigen::VectorXd steps = Eigen::VectorXd::Constant(layout.size, 0.1);  // coefficients
  steps.segment<3>(layout.rotation).setConstant(1e-3);                  // radians
  steps.segment<3>(layout.translation).setConstant(1e-4);               // metres
  steps[layout.log_scale] = 1e-3;
  steps.segment(layout.joints, 3 * layout.joint_ids.size()).setConstant(5e-3);  // radians
  return steps;
}

TEST_F(DepthFitEnergyJointedTest, LayoutHasTheNonRootJoints) {
  const DepthFitEnergy energy(*model_, AllTermsOptions());
  const ParameterLayout& layout = energy.layout();
  EXPECT_EQ(layout.joint_ids, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(layout.joints, 7 + 3 + 4);
  EXPECT_EQ(layout.size, 7 + 3 + 4 + 12);

  // Step adds to the joints' axis-angle vectors and leaves the root alone.
  const HeadState state = TrueState();
  Eigen::VectorXd delta = Eigen::VectorXd::Zero(layout.size);
  delta.segment<3>(layout.joints + 3) << 0.01, -0.02, 0.03;  // jaw
  const HeadState next = energy.Step(state, delta);
  EXPECT_EQ(next.joint_rotations.col(0), state.joint_rotations.col(0));
  EXPECT_TRUE(next.joint_rotations.col(2).isApprox(state.joint_rotations.col(2) +
                                                   Eigen::Vector3d(0.01, -0.02, 0.03)));
  // PCA expressions are unbounded.
  Eigen::VectorXd lower, upper;
  energy.StepBounds(state, &lower, &upper);
  EXPECT_TRUE(std::isinf(lower[layout.expression]) && std::isinf(upper[layout.expression]));
}

TEST_F(DepthFitEnergyJointedTest, JacobianMatchesFiniteDifferences) {
  DepthFitEnergy energy(*model_, AllTermsOptions());
  HeadState state;
  FitTerms terms = MakeTerms(&energy, &state, 7);
  ASSERT_GT(terms.correspondences.size(), 200u);
  const HeadState previous = PreviousOf(state);
  terms.previous = &previous;

  Eigen::VectorXd residuals;
  Eigen::MatrixXd jacobian;
  energy.EvaluateResiduals(state, terms, &residuals, &jacobian);
  const ParameterLayout& layout = energy.layout();
  ASSERT_EQ(jacobian.cols(), layout.size);
  // Point-to-plane and point-to-point rows of the correspondences, then 3 per landmark, then
  // priors and temporal terms.
  const int data_rows = 4 * static_cast<int>(terms.correspondences.size());
  const int landmark_rows = 3 * static_cast<int>(terms.landmarks.size());
  const int joint_columns = 3 * static_cast<int>(layout.joint_ids.size());
  ASSERT_EQ(jacobian.rows(), data_rows + landmark_rows + 3 + 4 + 4 + joint_columns + 3 + 3);

  const Eigen::MatrixXd numeric =
      CentralDifferenceJacobian(energy, terms, state, FiniteDifferenceSteps(layout));
  ExpectSameColumns(jacobian, numeric, layout);
  // Every joint component moves the data and landmark residuals, not just its temporal term;
  // and the temporal term is the only regularization of the joints.
  for (int c = layout.joints; c < layout.size; ++c) {
    EXPECT_GT(jacobian.col(c).head(data_rows).norm(), 10.0) << "column " << c;
    EXPECT_GT(jacobian.col(c).segment(data_rows, landmark_rows).norm(), 1.0) << "column " << c;
    const Eigen::VectorXd regularization =
        jacobian.col(c).tail(jacobian.rows() - data_rows - landmark_rows);
    EXPECT_EQ((regularization.array() != 0).count(), 1) << "column " << c;
    EXPECT_NEAR(regularization.cwiseAbs().maxCoeff(), std::sqrt(50.0), 1e-12);
  }
}

TEST_F(DepthFitEnergyJointedTest, NormalEquationsMatchTheDenseJacobianWithoutRobustLoss) {
  DepthFitOptions options = AllTermsOptions();
  options.loss = RobustLoss::kNone;
  options.num_threads = 2;
  DepthFitEnergy energy(*model_, options);
  HeadState state;
  FitTerms terms = MakeTerms(&energy, &state, 2);
  const HeadState previous = PreviousOf(state);
  terms.previous = &previous;

  const testing::DenseNormalEquations dense =
      testing::ExpectNormalEquationsMatchDenseJacobian(energy, state, terms);
  const NormalEquations& equations = dense.equations;
  const Eigen::MatrixXd& jtj = dense.jtj;
  const Eigen::VectorXd& jtr = dense.jtr;
  // The joints' block on its own scale.
  const int n = 3 * static_cast<int>(energy.layout().joint_ids.size());
  EXPECT_LT((equations.hessian - jtj).bottomRightCorner(n, n).cwiseAbs().maxCoeff(),
            1e-5 * jtj.bottomRightCorner(n, n).cwiseAbs().maxCoeff());
  EXPECT_LT((equations.gradient - jtr).tail(n).cwiseAbs().maxCoeff(),
            1e-5 * jtr.tail(n).cwiseAbs().maxCoeff());
}

TEST_F(DepthFitEnergyJointedTest, FrameFitterRecoversJointRotationsOfANoiselessFrame) {
  const HeadState truth = TrueState();
  const PinholeCamera camera = SmallCamera();
  const PreprocessedDepth frame = RenderSyntheticFrame(*model_, truth, camera);

  HeadState state = truth;
  state.expression.setZero();
  state.joint_rotations.col(1) += Eigen::Vector3d(0.04, -0.03, 0.03);
  state.joint_rotations.col(2) += Eigen::Vector3d(-0.06, 0.02, 0.03);
  state.joint_rotations.col(3) += Eigen::Vector3d(0.05, 0.05, -0.04);
  state.joint_rotations.col(4) += Eigen::Vector3d(-0.04, 0.05, 0.05);
  state.cam_from_head.rotation =
      Eigen::AngleAxisd(0.03, Eigen::Vector3d(0.2, 1.0, 0.1).normalized()).toRotationMatrix() *
      state.cam_from_head.rotation;
  state.cam_from_head.translation += Eigen::Vector3d(0.003, -0.002, 0.004);
  const double error_before = (state.joint_rotations - truth.joint_rotations).cwiseAbs().maxCoeff();

  FrameFitOptions options;
  options.max_iterations = 20;
  options.energy.expression_weight = 1e-4;
  // Point-to-plane only: the point-to-point term pulls the model toward the projectively
  // associated scan points, and on this small cap (tangential motion of the eyes and the smile
  // hardly changes the depth) that makes the rounds crawl: with the default weight 0.1, 30
  // rounds leave about 0.02 rad of eye twist.
  options.energy.point_to_point_weight = 0.0;
  FrameFitter fitter(*model_, options);
  const FrameFitSummary summary = fitter.Fit(frame.cloud, camera, {}, nullptr, &state);
  ASSERT_TRUE(summary.usable());
  EXPECT_EQ(summary.termination, FitTermination::kConverged);
  EXPECT_LT(summary.final_cost, 1e-3 * summary.initial_cost);
  const Eigen::Matrix3Xd joint_error = state.joint_rotations - truth.joint_rotations;
  EXPECT_EQ(joint_error.col(0), Eigen::Vector3d::Zero());  // the root is never optimized
  EXPECT_GT(error_before, 0.05);
  EXPECT_LT(joint_error.cwiseAbs().maxCoeff(), 5e-4) << "before " << error_before << "\n"
                                                     << joint_error;
  EXPECT_LT((state.expression - truth.expression).cwiseAbs().maxCoeff(), 5e-3);
  const Eigen::AngleAxisd rotation_error(state.cam_from_head.rotation *
                                         truth.cam_from_head.rotation.transpose());
  EXPECT_LT(rotation_error.angle(), 1e-4);
  EXPECT_LT((state.cam_from_head.translation - truth.cam_from_head.translation).norm(), 1e-5);
}

}  // namespace
}  // namespace headtrack
