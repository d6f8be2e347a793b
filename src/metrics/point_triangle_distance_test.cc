#include "metrics/point_triangle_distance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace headtrack::internal {
namespace {

using Eigen::Vector3d;

// Checks that `result` describes a closest point of triangle (a, b, c) to p without trusting the
// kernel: the barycentrics are a convex combination, the squared distance is |p - x|^2 for that
// point x, and x satisfies the optimality condition of a convex set, (p - x) . (y - x) <= 0 for
// every y in the triangle, which (being linear in y) needs checking at the three vertices only.
void ExpectClosest(const Vector3d& p, const Vector3d& a, const Vector3d& b, const Vector3d& c,
                   const TrianglePoint& result) {
  const Vector3d& w = result.barycentrics;
  ASSERT_TRUE(w.allFinite());
  EXPECT_GE(w.minCoeff(), 0.0);
  EXPECT_LE(w.maxCoeff(), 1.0);
  EXPECT_NEAR(w.sum(), 1.0, 1e-12);
  const Vector3d x = w[0] * a + w[1] * b + w[2] * c;
  const double scale2 = std::max({(p - a).squaredNorm(), (b - a).squaredNorm(),
                                  (c - a).squaredNorm(), 1e-30});
  EXPECT_NEAR(result.squared_distance, (p - x).squaredNorm(), 1e-12 * scale2);
  for (const Vector3d& y : {a, b, c}) {
    EXPECT_LE((p - x).dot(y - x), 1e-12 * scale2) << "vertex " << y.transpose();
  }
}

struct KnownCase {
  const char* region;
  Vector3d p;
  double squared_distance;
  Vector3d barycentrics;
};

TEST(ClosestPointOnTriangle, MatchesClosedFormInEveryRegion) {
  // Right triangle in the z = 0 plane; every Voronoi region of it has a hand-worked answer.
  const Vector3d a(0, 0, 0), b(1, 0, 0), c(0, 1, 0);
  const KnownCase cases[] = {
      {"face interior", {0.25, 0.25, 2.0}, 4.0, {0.5, 0.25, 0.25}},
      {"face interior below", {0.1, 0.6, -0.5}, 0.25, {0.3, 0.1, 0.6}},
      {"beyond edge ab", {0.5, -1.0, 1.0}, 2.0, {0.5, 0.5, 0.0}},
      {"beyond edge ac", {-1.0, 0.5, -3.0}, 10.0, {0.5, 0.0, 0.5}},
      {"beyond edge bc", {1.0, 1.0, 0.0}, 0.5, {0.0, 0.5, 0.5}},
      {"beyond vertex a", {-1.0, -2.0, 0.5}, 5.25, {1.0, 0.0, 0.0}},
      {"beyond vertex b", {3.0, -1.0, 0.0}, 5.0, {0.0, 1.0, 0.0}},
      {"beyond vertex c", {-0.5, 2.0, 1.0}, 2.25, {0.0, 0.0, 1.0}},
      {"on vertex b", {1.0, 0.0, 0.0}, 0.0, {0.0, 1.0, 0.0}},
      {"on edge bc", {0.25, 0.75, 0.0}, 0.0, {0.0, 0.25, 0.75}},
  };
  for (const KnownCase& k : cases) {
    SCOPED_TRACE(k.region);
    const TrianglePoint result = ClosestPointOnTriangle(k.p, a, b, c);
    EXPECT_NEAR(result.squared_distance, k.squared_distance, 1e-15);
    EXPECT_LT((result.barycentrics - k.barycentrics).norm(), 1e-14)
        << result.barycentrics.transpose();
    // The vertex order must not matter.
    const TrianglePoint rotated = ClosestPointOnTriangle(k.p, b, c, a);
    EXPECT_NEAR(rotated.squared_distance, k.squared_distance, 1e-15);
  }
}

TEST(ClosestPointOnTriangle, SatisfiesOptimalityOnRandomTriangles) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  const auto random_vector = [&] { return Vector3d(normal(rng), normal(rng), normal(rng)); };
  for (int i = 0; i < 20000; ++i) {
    const Vector3d a = random_vector(), b = random_vector();
    Vector3d c = random_vector();
    if (i % 4 == 1) c = a + (b - a) * 0.3 + 1e-6 * random_vector();  // thin slivers
    const Vector3d p = 2.0 * random_vector();
    const TrianglePoint result = ClosestPointOnTriangle(p, a, b, c);
    ExpectClosest(p, a, b, c, result);
    if (HasFailure()) FAIL() << "case " << i;
  }
}

TEST(ClosestPointOnTriangle, GivesZeroForPointsOnTheTriangle) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const Vector3d a(0.10, -0.02, 0.55), b(0.13, 0.01, 0.54), c(0.09, 0.03, 0.57);  // metres
  for (int i = 0; i < 1000; ++i) {
    double u = uniform(rng), v = uniform(rng);
    if (u + v > 1.0) u = 1.0 - u, v = 1.0 - v;
    const Vector3d p = (1.0 - u - v) * a + u * b + v * c;
    EXPECT_LT(std::sqrt(ClosestPointOnTriangle(p, a, b, c).squared_distance), 1e-15);
  }
  for (const Vector3d& vertex : {a, b, c}) {
    EXPECT_LT(std::sqrt(ClosestPointOnTriangle(vertex, a, b, c).squared_distance), 1e-15);
  }
}

TEST(ClosestPointOnTriangle, HandlesDegenerateTriangles) {
  const Vector3d p(0.5, 1.0, 0.0);
  {
    SCOPED_TRACE("collinear, c beyond b");
    const Vector3d a(0, 0, 0), b(1, 0, 0), c(2, 0, 0);
    EXPECT_NEAR(ClosestPointOnTriangle(p, a, b, c).squared_distance, 1.0, 1e-15);
    EXPECT_NEAR(ClosestPointOnTriangle({3, 1, 0}, a, b, c).squared_distance, 2.0, 1e-15);
    ExpectClosest({3, 1, 0}, a, b, c, ClosestPointOnTriangle({3, 1, 0}, a, b, c));
  }
  {
    SCOPED_TRACE("collinear, a between b and c");
    const Vector3d a(0, 0, 0), b(-1, 0, 0), c(2, 0, 0);
    EXPECT_NEAR(ClosestPointOnTriangle({1.5, 0, 2}, a, b, c).squared_distance, 4.0, 1e-15);
    ExpectClosest({1.5, 0, 2}, a, b, c, ClosestPointOnTriangle({1.5, 0, 2}, a, b, c));
  }
  {
    SCOPED_TRACE("collinear, c between a and b");  // only edge a-b reaches x = 1.8
    const Vector3d a(0, 0, 0), b(2, 0, 0), c(1, 0, 0);
    EXPECT_NEAR(ClosestPointOnTriangle({1.8, 1, 0}, a, b, c).squared_distance, 1.0, 1e-15);
    ExpectClosest({1.8, 1, 0}, a, b, c, ClosestPointOnTriangle({1.8, 1, 0}, a, b, c));
  }
  {
    SCOPED_TRACE("two equal vertices: a segment");
    const Vector3d a(0, 0, 0), c(0, 2, 0);
    const TrianglePoint result = ClosestPointOnTriangle({1, 1, 0}, a, a, c);
    EXPECT_NEAR(result.squared_distance, 1.0, 1e-15);
    ExpectClosest({1, 1, 0}, a, a, c, result);
  }
  {
    SCOPED_TRACE("three equal vertices: a point");
    const Vector3d a(1, 2, 3);
    const TrianglePoint result = ClosestPointOnTriangle({1, 2, 5}, a, a, a);
    EXPECT_EQ(result.squared_distance, 4.0);
    ExpectClosest({1, 2, 5}, a, a, a, result);
  }
}

TEST(ClosestOnPreparedTriangle, RejectsOnlyTrianglesBeyondTheBound) {
  const PreparedTriangle t = PrepareTriangle({0, 0, 0}, {1, 0, 0}, {0, 1, 0});
  TrianglePoint out;
  EXPECT_FALSE(ClosestOnPreparedTriangle(t, {0.25, 0.25, 2.0}, 3.99, &out));   // plane test
  EXPECT_FALSE(ClosestOnPreparedTriangle(t, {-1.0, -2.0, 0.5}, 5.2, &out));    // vertex region
  EXPECT_TRUE(ClosestOnPreparedTriangle(t, {0.25, 0.25, 2.0}, 4.0, &out));     // bound inclusive
  EXPECT_EQ(out.squared_distance, 4.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(ClosestOnPreparedTriangle(t, {nan, 0.0, 0.0},
                                         std::numeric_limits<double>::infinity(), &out));
}

TEST(ClosestOnPreparedTriangle, NeverReportsATriangleWithANonFiniteVertex) {
  // Its edge b-c is finite, but the triangle as a whole is not.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const PreparedTriangle t = PrepareTriangle({nan, 0, 0}, {1, 0, 0}, {0, 1, 0});
  TrianglePoint out;
  EXPECT_FALSE(ClosestOnPreparedTriangle(t, {1, 1, 0}, std::numeric_limits<double>::infinity(),
                                         &out));
}

}  // namespace
}  // namespace headtrack::internal
