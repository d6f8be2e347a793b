// The step of a bounded Gauss-Newton / Levenberg-Marquardt iteration:
//   minimize 0.5 d^T A d + g^T d  subject to  lower <= d <= upper,
// A symmetric positive definite (n x n), bounds per entry (+-infinity where unbounded,
// lower <= 0 <= upper so that d = 0 is feasible). Solved by an active-set method: solve for the
// free entries with the bound ones fixed (starting with the entries at a bound that the
// gradient pushes outward), bind the entries that leave their bounds, free the
// bound entries whose Lagrange multipliers have the wrong sign, repeat.
#pragma once

#include <Eigen/Core>

namespace headtrack {

struct BoundedQuadraticSummary {
  int iterations = 0;
  int num_bound = 0;       // entries at a bound in the solution
  bool converged = false;  // the KKT conditions hold; otherwise the last feasible iterate
};

Eigen::VectorXd SolveBoundedQuadratic(const Eigen::MatrixXd& a, const Eigen::VectorXd& g,
                                      const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                      BoundedQuadraticSummary* summary = nullptr,
                                      int max_iterations = 100);

}  // namespace headtrack
