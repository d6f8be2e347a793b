#include "fit/bounded_quadratic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <Eigen/Cholesky>
#include <gtest/gtest.h>

namespace headtrack {
namespace {

double Objective(const Eigen::MatrixXd& a, const Eigen::VectorXd& g, const Eigen::VectorXd& d) {
  return 0.5 * d.dot(a * d) + g.dot(d);
}

// Brute force: every assignment of each entry to free / lower / upper; the best feasible
// stationary point of each face.
Eigen::VectorXd BruteForce(const Eigen::MatrixXd& a, const Eigen::VectorXd& g,
                           const Eigen::VectorXd& lower, const Eigen::VectorXd& upper) {
  const int n = static_cast<int>(g.size());
  int total = 1;
  for (int i = 0; i < n; ++i) total *= 3;
  double best = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_d;
  for (int code = 0; code < total; ++code) {
    Eigen::VectorXd d = Eigen::VectorXd::Zero(n);
    std::vector<int> free;
    bool ok = true;
    for (int i = 0, c = code; i < n; ++i, c /= 3) {
      if (c % 3 == 0) free.push_back(i);
      if (c % 3 == 1) ok &= std::isfinite(lower[i]), d[i] = lower[i];
      if (c % 3 == 2) ok &= std::isfinite(upper[i]), d[i] = upper[i];
    }
    if (!ok) continue;
    const int m = static_cast<int>(free.size());
    if (m > 0) {
      Eigen::MatrixXd aff(m, m);
      Eigen::VectorXd rhs(m);
      for (int r = 0; r < m; ++r) {
        rhs[r] = -g[free[r]];
        for (int i = 0; i < n; ++i) {
          if (std::find(free.begin(), free.end(), i) == free.end()) rhs[r] -= a(free[r], i) * d[i];
        }
        for (int c = 0; c < m; ++c) aff(r, c) = a(free[r], free[c]);
      }
      const Eigen::VectorXd x = aff.llt().solve(rhs);
      for (int r = 0; r < m; ++r) d[free[r]] = x[r];
    }
    if ((d.array() < lower.array() - 1e-12).any() || (d.array() > upper.array() + 1e-12).any()) {
      continue;
    }
    const double value = Objective(a, g, d);
    if (value < best) best = value, best_d = d;
  }
  return best_d;
}

TEST(SolveBoundedQuadratic, MatchesBruteForceOnRandomProblems) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  int with_bound = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + trial % 6;
    Eigen::MatrixXd m(n, n);
    for (int i = 0; i < n * n; ++i) m.data()[i] = normal(rng);
    const Eigen::MatrixXd a = m * m.transpose() + 0.1 * Eigen::MatrixXd::Identity(n, n);
    Eigen::VectorXd g(n), lower(n), upper(n);
    for (int i = 0; i < n; ++i) {
      g[i] = 3.0 * normal(rng);
      lower[i] = uniform(rng) < 0.2 ? -kInf : -uniform(rng);
      upper[i] = uniform(rng) < 0.2 ? kInf : uniform(rng);
    }
    BoundedQuadraticSummary summary;
    const Eigen::VectorXd d = SolveBoundedQuadratic(a, g, lower, upper, &summary);
    const Eigen::VectorXd reference = BruteForce(a, g, lower, upper);
    ASSERT_TRUE(summary.converged) << "trial " << trial;
    EXPECT_NEAR(Objective(a, g, d), Objective(a, g, reference), 1e-9) << "trial " << trial;
    EXPECT_LT((d - reference).cwiseAbs().maxCoeff(), 1e-6) << "trial " << trial;
    with_bound += summary.num_bound > 0;
  }
  EXPECT_GT(with_bound, 50);  // the bounds mattered in many trials
}

TEST(SolveBoundedQuadratic, UnboundedIsTheNewtonStep) {
  Eigen::MatrixXd a(2, 2);
  a << 4, 1, 1, 3;
  const Eigen::VectorXd g = Eigen::Vector2d(1, 2);
  const Eigen::VectorXd inf = Eigen::VectorXd::Constant(2, std::numeric_limits<double>::infinity());
  const Eigen::VectorXd d = SolveBoundedQuadratic(a, g, -inf, inf);
  EXPECT_LT((a * d + g).norm(), 1e-12);
}

}  // namespace
}  // namespace headtrack
