// Test support: checks of DepthFitEnergy's derivatives against references, shared by the tests of
// its linear-model fast path and of its jointed-model path.
#pragma once

#include <algorithm>

#include <Eigen/Core>
#include <gtest/gtest.h>

#include "headtrack/depth_fit_energy.h"

namespace headtrack::testing {

// Central differences of the residual vector along each parameter, through Step (rotation
// columns are derivatives with respect to the left increment, joint columns with respect to the
// axis-angle components). steps: one per parameter.
inline Eigen::MatrixXd CentralDifferenceJacobian(const DepthFitEnergy& energy,
                                                 const FitTerms& terms, const HeadState& state,
                                                 const Eigen::VectorXd& steps) {
  const int n = energy.layout().size;
  Eigen::MatrixXd jacobian;
  for (int i = 0; i < n; ++i) {
    Eigen::VectorXd delta = Eigen::VectorXd::Zero(n);
    delta[i] = steps[i];
    Eigen::VectorXd plus, minus;
    Eigen::MatrixXd unused;
    energy.EvaluateResiduals(energy.Step(state, delta), terms, &plus, &unused);
    energy.EvaluateResiduals(energy.Step(state, -delta), terms, &minus, &unused);
    if (i == 0) jacobian.resize(plus.size(), n);
    jacobian.col(i) = (plus - minus) / (2.0 * steps[i]);
  }
  return jacobian;
}

// Column-wise relative comparison: float model evaluation limits finite differences to about
// 1e-3 relative accuracy.
inline void ExpectSameColumns(const Eigen::MatrixXd& analytic, const Eigen::MatrixXd& numeric,
                              const ParameterLayout& layout) {
  ASSERT_EQ(analytic.rows(), numeric.rows());
  ASSERT_EQ(analytic.cols(), numeric.cols());
  for (int c = 0; c < analytic.cols(); ++c) {
    const double scale = std::max(numeric.col(c).norm(), 1e-9);
    EXPECT_LT((analytic.col(c) - numeric.col(c)).norm() / scale, 5e-3)
        << "column " << c << " (rotation at " << layout.rotation << ", identity at "
        << layout.identity << ", expression at " << layout.expression << ", joints at "
        << layout.joints << ")";
  }
}

// J^T J and J^T r of the dense reference (EvaluateResiduals), and Linearize's equations.
struct DenseNormalEquations {
  Eigen::MatrixXd jtj;
  Eigen::VectorXd jtr;
  NormalEquations equations;
};

// Without a robust loss, Linearize's normal equations and cost equal those of the dense
// Jacobian and residuals (up to the float accumulation of the rows, relative to the largest
// entry), and Cost agrees. Returns both for further checks.
inline DenseNormalEquations ExpectNormalEquationsMatchDenseJacobian(const DepthFitEnergy& energy,
                                                                    const HeadState& state,
                                                                    const FitTerms& terms) {
  Eigen::VectorXd r;
  Eigen::MatrixXd j;
  energy.EvaluateResiduals(state, terms, &r, &j);
  DenseNormalEquations result;
  NormalEquations& equations = result.equations;
  energy.Linearize(state, terms, &equations);
  result.jtj = j.transpose() * j;
  result.jtr = j.transpose() * r;
  EXPECT_NEAR(equations.cost, 0.5 * r.squaredNorm(), 1e-6 * equations.cost);
  EXPECT_NEAR(energy.Cost(state, terms), equations.cost, 1e-6 * equations.cost);
  EXPECT_LT((equations.hessian - result.jtj).cwiseAbs().maxCoeff(),
            1e-5 * result.jtj.cwiseAbs().maxCoeff());
  EXPECT_LT((equations.gradient - result.jtr).cwiseAbs().maxCoeff(),
            1e-5 * result.jtr.cwiseAbs().maxCoeff());
  EXPECT_TRUE(equations.hessian.isApprox(equations.hessian.transpose()));
  return result;
}

}  // namespace headtrack::testing
