#include "fit/bounded_quadratic.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Cholesky>

#include "headtrack/error.h"

namespace headtrack {

Eigen::VectorXd SolveBoundedQuadratic(const Eigen::MatrixXd& a, const Eigen::VectorXd& g,
                                      const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                                      BoundedQuadraticSummary* summary, int max_iterations) {
  const int n = static_cast<int>(g.size());
  HT_CHECK(a.rows() == n && a.cols() == n && lower.size() == n && upper.size() == n,
           "SolveBoundedQuadratic: sizes " << a.rows() << "x" << a.cols() << ", " << n);
  HT_CHECK((lower.array() <= 0).all() && (upper.array() >= 0).all(),
           "SolveBoundedQuadratic: d = 0 must be feasible");
  BoundedQuadraticSummary local;
  BoundedQuadraticSummary& s = summary ? *summary : local;
  s = {};

  // state: 0 free, -1 at lower, +1 at upper. Entries that start at a bound with the gradient
  // pushing outward start bound (d = 0 stays feasible): blendshapes resting at 0 usually stay
  // there, and each wrong guess is corrected by one release.
  std::vector<int> state(n, 0);
  for (int i = 0; i < n; ++i) {
    if (lower[i] == 0.0 && g[i] > 0.0) state[i] = -1;
    if (upper[i] == 0.0 && g[i] < 0.0) state[i] = 1;
  }
  Eigen::VectorXd d = Eigen::VectorXd::Zero(n);
  const double tolerance = 1e-12 * (1.0 + g.cwiseAbs().maxCoeff());
  for (s.iterations = 1; s.iterations <= max_iterations; ++s.iterations) {
    std::vector<int> free;
    for (int i = 0; i < n; ++i) {
      if (state[i] == 0) {
        free.push_back(i);
      } else {
        d[i] = state[i] < 0 ? lower[i] : upper[i];
      }
    }
    const int m = static_cast<int>(free.size());
    Eigen::VectorXd candidate = d;
    if (m > 0) {
      Eigen::MatrixXd a_ff(m, m);
      Eigen::VectorXd rhs(m);
      for (int r = 0; r < m; ++r) {
        double value = -g[free[r]];
        for (int i = 0; i < n; ++i) {
          if (state[i] != 0) value -= a(free[r], i) * d[i];
        }
        rhs[r] = value;
        for (int c = 0; c < m; ++c) a_ff(r, c) = a(free[r], free[c]);
      }
      const Eigen::VectorXd x = a_ff.ldlt().solve(rhs);
      for (int r = 0; r < m; ++r) candidate[free[r]] = x[r];
    }
    // Move from the feasible d toward the candidate as far as the bounds allow; bind the entry
    // that stops the move.
    double alpha = 1.0;
    int blocking = -1;
    for (int i : free) {
      const double step = candidate[i] - d[i];
      if (step < 0 && candidate[i] < lower[i]) {
        const double t = (lower[i] - d[i]) / step;
        if (t < alpha) alpha = t, blocking = i;
      } else if (step > 0 && candidate[i] > upper[i]) {
        const double t = (upper[i] - d[i]) / step;
        if (t < alpha) alpha = t, blocking = i;
      }
    }
    for (int i : free) d[i] += alpha * (candidate[i] - d[i]);
    if (blocking >= 0) {
      state[blocking] = candidate[blocking] < lower[blocking] ? -1 : 1;
      continue;
    }
    // Optimal on the current face: check the multipliers of the bound entries.
    const Eigen::VectorXd gradient = a * d + g;
    int release = -1;
    double worst = tolerance;
    for (int i = 0; i < n; ++i) {
      const double violation = state[i] < 0 ? -gradient[i] : state[i] > 0 ? gradient[i] : 0.0;
      if (violation > worst) worst = violation, release = i;
    }
    if (release < 0) {
      s.converged = true;
      break;
    }
    state[release] = 0;
  }
  s.iterations = std::min(s.iterations, max_iterations);
  s.num_bound = 0;
  for (int i = 0; i < n; ++i) s.num_bound += state[i] != 0;
  return d;
}

}  // namespace headtrack
