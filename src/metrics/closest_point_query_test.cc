#include "headtrack/closest_point_query.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

#include "headtrack/error.h"
#include "metrics/point_triangle_distance.h"

namespace headtrack {
namespace {

using Eigen::Vector3d;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

struct Mesh {
  Points3f vertices;
  Triangles faces;
};

Vector3d Vertex(const Mesh& mesh, int triangle, int corner) {
  return mesh.vertices.row(mesh.faces(triangle, corner)).transpose().cast<double>();
}

// The reference: every allowed triangle tested, the lowest id winning ties.
struct BruteForceResult {
  int triangle = -1;
  double squared_distance = kInfinity;
};
BruteForceResult BruteForce(const Mesh& mesh, const Vector3d& p,
                            const ClosestPointQueryOptions& options = {}) {
  BruteForceResult best;
  const double bound2 = options.max_distance * options.max_distance;
  for (int t = 0; t < mesh.faces.rows(); ++t) {
    if (!options.triangle_mask.empty() && options.triangle_mask[t] == 0) continue;
    const double d2 =
        internal::ClosestPointOnTriangle(p, Vertex(mesh, t, 0), Vertex(mesh, t, 1),
                                         Vertex(mesh, t, 2))
            .squared_distance;
    if (d2 <= bound2 && d2 < best.squared_distance) best = {t, d2};
  }
  return best;
}

// Compares every query with the brute force: the same distance within 1e-9 m and the same
// triangle, or another triangle at the same distance within 1e-12 m (a tie). Also checks that
// the reported point and barycentrics describe each other.
void ExpectMatchesBruteForce(const ClosestPointQuery& query, const Mesh& mesh,
                             const Points3f& points, const ClosestPointQueryOptions& options = {}) {
  const std::vector<ClosestPoint> results = query.QueryMany(points, options);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(points.rows()));
  int num_found = 0;
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const Vector3d p = points.row(i).transpose().cast<double>();
    const BruteForceResult expected = BruteForce(mesh, p, options);
    const ClosestPoint& got = results[i];
    SCOPED_TRACE(testing::Message() << "point " << i << " " << p.transpose());
    ASSERT_EQ(got.found(), expected.triangle >= 0);
    if (!got.found()) continue;
    ++num_found;
    EXPECT_NEAR(got.distance(), std::sqrt(expected.squared_distance), 1e-9);
    if (got.triangle != expected.triangle) {
      EXPECT_NEAR(got.distance(), std::sqrt(expected.squared_distance), 1e-12)
          << "triangle " << got.triangle << " instead of " << expected.triangle;
    }
    EXPECT_GE(got.barycentrics.minCoeff(), 0.0);
    EXPECT_NEAR(got.barycentrics.sum(), 1.0, 1e-12);
    const Vector3d from_barycentrics = got.barycentrics[0] * Vertex(mesh, got.triangle, 0) +
                                       got.barycentrics[1] * Vertex(mesh, got.triangle, 1) +
                                       got.barycentrics[2] * Vertex(mesh, got.triangle, 2);
    EXPECT_LT((got.point - from_barycentrics).norm(), 1e-12);
    EXPECT_NEAR((p - got.point).norm(), got.distance(), 1e-12);
    // The single-point query gives the same answer.
    const ClosestPoint single = query.Query(p, options);
    EXPECT_EQ(single.triangle, got.triangle);
    EXPECT_EQ(single.squared_distance, got.squared_distance);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(num_found, 0);
}

// Random vertices in a 20 cm box and random triangles over them (intersecting, of every shape,
// some with repeated vertices).
Mesh RandomSoup(int num_vertices, int num_faces, std::mt19937* rng) {
  std::uniform_real_distribution<float> coordinate(-0.1f, 0.1f);
  std::uniform_int_distribution<int> index(0, num_vertices - 1);
  Mesh mesh;
  mesh.vertices.resize(num_vertices, 3);
  for (Eigen::Index i = 0; i < mesh.vertices.size(); ++i) {
    mesh.vertices.data()[i] = coordinate(*rng);
  }
  mesh.faces.resize(num_faces, 3);
  for (int t = 0; t < num_faces; ++t) {
    mesh.faces.row(t) << index(*rng), index(*rng), index(*rng);
    if (t % 50 == 0) mesh.faces(t, 2) = mesh.faces(t, 0);  // zero area
  }
  return mesh;
}

// A closed, head-sized bumpy sphere (metres) of 2 * slices * (stacks - 1) triangles.
Mesh BumpySphere(int stacks, int slices, const Vector3d& center) {
  Mesh mesh;
  const int num_rings = stacks - 1;
  mesh.vertices.resize(num_rings * slices + 2, 3);
  const auto position = [&](double polar, double azimuth) {
    const double r = 0.1 * (1.0 + 0.05 * std::sin(5.0 * polar) * std::cos(7.0 * azimuth));
    return Vector3d(center + r * Vector3d(std::sin(polar) * std::cos(azimuth),
                                          std::sin(polar) * std::sin(azimuth), std::cos(polar)));
  };
  for (int i = 0; i < num_rings; ++i) {
    for (int j = 0; j < slices; ++j) {
      mesh.vertices.row(i * slices + j) =
          position(std::numbers::pi * (i + 1) / stacks, 2.0 * std::numbers::pi * j / slices)
              .cast<float>()
              .transpose();
    }
  }
  const int north = num_rings * slices;
  const int south = north + 1;
  mesh.vertices.row(north) = position(0.0, 0.0).cast<float>().transpose();
  mesh.vertices.row(south) = position(std::numbers::pi, 0.0).cast<float>().transpose();
  mesh.faces.resize(2 * slices * num_rings, 3);
  int f = 0;
  for (int j = 0; j < slices; ++j) {
    const int k = (j + 1) % slices;
    mesh.faces.row(f++) << north, j, k;
    mesh.faces.row(f++) << south, (num_rings - 1) * slices + k, (num_rings - 1) * slices + j;
    for (int i = 0; i + 1 < num_rings; ++i) {
      const int a = i * slices + j, b = i * slices + k;
      const int c = (i + 1) * slices + j, d = (i + 1) * slices + k;
      mesh.faces.row(f++) << a, c, d;
      mesh.faces.row(f++) << a, d, b;
    }
  }
  return mesh;
}

Points3f RandomPoints(int n, float half_size, std::mt19937* rng) {
  std::uniform_real_distribution<float> coordinate(-half_size, half_size);
  Points3f points(n, 3);
  for (Eigen::Index i = 0; i < points.size(); ++i) points.data()[i] = coordinate(*rng);
  return points;
}

// Points within a few millimetres of the mesh's vertices, as a depth scan would give.
Points3f PointsNearVertices(const Mesh& mesh, int n, std::mt19937* rng) {
  std::uniform_int_distribution<int> vertex(0, static_cast<int>(mesh.vertices.rows()) - 1);
  std::normal_distribution<float> noise(0.0f, 0.003f);
  Points3f points(n, 3);
  for (int i = 0; i < n; ++i) {
    points.row(i) = mesh.vertices.row(vertex(*rng));
    for (int k = 0; k < 3; ++k) points(i, k) += noise(*rng);
  }
  return points;
}

Points3f Concatenate(const Points3f& a, const Points3f& b) {
  Points3f result(a.rows() + b.rows(), 3);
  result << a, b;
  return result;
}

TEST(ClosestPointQuery, MatchesBruteForceOnRandomSoups) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 5; ++trial) {
    const Mesh mesh = RandomSoup(200 + 100 * trial, 500 + 200 * trial, &rng);
    const ClosestPointQuery query(mesh.vertices, mesh.faces);
    ExpectMatchesBruteForce(query, mesh,
                            Concatenate(RandomPoints(400, 0.15f, &rng),
                                        PointsNearVertices(mesh, 200, &rng)));
    if (HasFailure()) FAIL() << "trial " << trial;
  }
}

TEST(ClosestPointQuery, MatchesBruteForceNearAClosedSurface) {
  std::mt19937 rng(2);
  const Mesh mesh = BumpySphere(30, 40, {0.02, -0.01, 0.6});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  Points3f far = RandomPoints(300, 0.3f, &rng);
  far.col(2).array() += 0.6f;
  ExpectMatchesBruteForce(query, mesh, Concatenate(far, PointsNearVertices(mesh, 1000, &rng)));
}

TEST(ClosestPointQuery, MatchesClosedFormDistancesToAUnitCube) {
  Mesh cube;
  cube.vertices.resize(8, 3);
  for (int v = 0; v < 8; ++v) {
    cube.vertices.row(v) << static_cast<float>(v & 1), static_cast<float>((v >> 1) & 1),
        static_cast<float>((v >> 2) & 1);
  }
  cube.faces.resize(12, 3);
  cube.faces << 0, 2, 3, 0, 3, 1,   // z = 0
      4, 5, 7, 4, 7, 6,             // z = 1
      0, 1, 5, 0, 5, 4,             // y = 0
      2, 6, 7, 2, 7, 3,             // y = 1
      0, 4, 6, 0, 6, 2,             // x = 0
      1, 3, 7, 1, 7, 5;             // x = 1
  const ClosestPointQuery query(cube.vertices, cube.faces);
  struct Case {
    Vector3d p;
    double distance;
    Vector3d closest;
  };
  const Case cases[] = {
      {{0.5, 0.5, 0.2}, 0.2, {0.5, 0.5, 0.0}},                // inside, nearest face z = 0
      {{0.3, 0.9, 0.5}, 0.1, {0.3, 1.0, 0.5}},                // inside, nearest face y = 1
      {{0.5, 0.5, 1.5}, 0.5, {0.5, 0.5, 1.0}},                // above a face
      {{0.5, 2.0, 3.0}, std::sqrt(5.0), {0.5, 1.0, 1.0}},     // beyond an edge
      {{2.0, 2.0, 2.0}, std::sqrt(3.0), {1.0, 1.0, 1.0}},     // beyond a corner
      {{-1.0, -2.0, 0.25}, std::sqrt(5.0), {0.0, 0.0, 0.25}},  // beyond another edge
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << c.p.transpose());
    const ClosestPoint result = query.Query(c.p);
    ASSERT_TRUE(result.found());
    EXPECT_NEAR(result.distance(), c.distance, 1e-15);
    EXPECT_LT((result.point - c.closest).norm(), 1e-15);
  }
}

TEST(ClosestPointQuery, GivesZeroForPointsOnTheSurface) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const Mesh mesh = BumpySphere(20, 24, {0.0, 0.0, 0.5});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  for (int v = 0; v < mesh.vertices.rows(); ++v) {
    const ClosestPoint result = query.Query(mesh.vertices.row(v).transpose().cast<double>());
    EXPECT_LT(result.distance(), 1e-15) << "vertex " << v;
  }
  for (int t = 0; t < mesh.faces.rows(); ++t) {
    double u = uniform(rng), v = uniform(rng);
    if (u + v > 1.0) u = 1.0 - u, v = 1.0 - v;
    const Vector3d p =
        (1.0 - u - v) * Vertex(mesh, t, 0) + u * Vertex(mesh, t, 1) + v * Vertex(mesh, t, 2);
    EXPECT_LT(query.Query(p).distance(), 1e-15) << "triangle " << t;
  }
}

TEST(ClosestPointQuery, ReportsNothingBeyondMaxDistance) {
  std::mt19937 rng(5);
  const Mesh mesh = BumpySphere(24, 32, {0.0, 0.0, 0.0});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  ClosestPointQueryOptions options;
  options.max_distance = 0.004;
  const Points3f points = PointsNearVertices(mesh, 1000, &rng);
  ExpectMatchesBruteForce(query, mesh, points, options);  // found iff within 4 mm
  int num_found = 0;
  for (const ClosestPoint& c : query.QueryMany(points, options)) num_found += c.found();
  EXPECT_GT(num_found, 100);
  EXPECT_LT(num_found, 1000);
}

TEST(ClosestPointQuery, SearchesOnlyMaskedTriangles) {
  std::mt19937 rng(6);
  const Mesh mesh = BumpySphere(24, 32, {0.0, 0.0, 0.0});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  ClosestPointQueryOptions options;
  options.triangle_mask.assign(mesh.faces.rows(), 0);
  for (int t = 0; t < mesh.faces.rows(); t += 3) options.triangle_mask[t] = 1;
  ExpectMatchesBruteForce(query, mesh, PointsNearVertices(mesh, 500, &rng), options);
  for (const ClosestPoint& c : query.QueryMany(PointsNearVertices(mesh, 100, &rng), options)) {
    EXPECT_EQ(c.triangle % 3, 0);
  }
  options.triangle_mask.assign(mesh.faces.rows(), 0);
  EXPECT_FALSE(query.Query(Vector3d(0.0, 0.0, 0.1), options).found());
}

TEST(ClosestPointQuery, RefitMatchesBruteForceAfterTheVerticesMove) {
  std::mt19937 rng(8);
  Mesh mesh = BumpySphere(24, 32, {0.0, 0.0, 0.5});
  ClosestPointQuery query(mesh.vertices, mesh.faces);
  // A rigid motion plus a non-rigid bulge, as a tracked head moves and changes expression.
  const Eigen::Matrix3f rotation =
      Eigen::AngleAxisf(0.3f, Eigen::Vector3f(1, 2, 3).normalized()).toRotationMatrix();
  for (int v = 0; v < mesh.vertices.rows(); ++v) {
    Eigen::Vector3f x = mesh.vertices.row(v).transpose();
    x = rotation * (x - Eigen::Vector3f(0, 0, 0.5f)) + Eigen::Vector3f(0.05f, 0.0f, 0.55f);
    x.z() += 0.02f * std::max(0.0f, x.x());
    mesh.vertices.row(v) = x.transpose();
  }
  query.Refit(mesh.vertices);
  Points3f points = PointsNearVertices(mesh, 800, &rng);
  ExpectMatchesBruteForce(query, mesh, points);
  const ClosestPointQuery rebuilt(mesh.vertices, mesh.faces);
  const std::vector<ClosestPoint> a = query.QueryMany(points);
  const std::vector<ClosestPoint> b = rebuilt.QueryMany(points);
  for (std::size_t i = 0; i < a.size(); ++i) {  // the same answers from another tree
    EXPECT_EQ(a[i].triangle, b[i].triangle);
    EXPECT_EQ(a[i].squared_distance, b[i].squared_distance);
  }
}

TEST(ClosestPointQuery, ResultDoesNotDependOnThreadCount) {
  std::mt19937 rng(9);
  const Mesh mesh = BumpySphere(40, 60, {0.0, 0.0, 0.0});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  const Points3f points = PointsNearVertices(mesh, 5000, &rng);
  ClosestPointQueryOptions one, two;
  one.num_threads = 1;
  two.num_threads = 2;
  const std::vector<ClosestPoint> a = query.QueryMany(points, one);
  const std::vector<ClosestPoint> b = query.QueryMany(points, two);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].triangle, b[i].triangle);
    EXPECT_EQ(a[i].squared_distance, b[i].squared_distance);
    EXPECT_EQ(a[i].barycentrics, b[i].barycentrics);
  }
}

TEST(ClosestPointQuery, HandlesDegenerateAndNonFiniteTriangles) {
  std::mt19937 rng(10);
  Mesh mesh = RandomSoup(100, 200, &rng);
  // Collinear vertices (1 m away from the rest), a repeated vertex, a triangle collapsed to a
  // point, a NaN vertex.
  mesh.vertices.row(0) << 1.0f, 0.0f, 0.0f;
  mesh.vertices.row(1) << 1.05f, 0.0f, 0.0f;
  mesh.vertices.row(2) << 1.1f, 0.0f, 0.0f;
  mesh.vertices.row(3) << std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f;
  for (int t = 0; t < mesh.faces.rows(); ++t) {  // only the triangles below use vertices 0-2
    for (int k = 0; k < 3; ++k) mesh.faces(t, k) = std::max(mesh.faces(t, k), 8);
  }
  mesh.faces.row(0) << 0, 1, 2;
  mesh.faces.row(1) << 2, 0, 1;
  mesh.faces.row(2) << 1, 1, 2;
  mesh.faces.row(3) << 4, 4, 4;
  mesh.faces.row(4) << 3, 5, 6;
  mesh.faces.row(5) << 7, 3, 3;
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  Points3f points =
      Concatenate(RandomPoints(500, 0.15f, &rng), PointsNearVertices(mesh, 300, &rng));
  points.row(0) << 1.07f, 0.01f, 0.0f;  // nearest to the collinear triangles: 1 cm
  ExpectMatchesBruteForce(query, mesh, points);
  const std::vector<ClosestPoint> results = query.QueryMany(points);
  EXPECT_LE(results[0].triangle, 2);
  EXPECT_NEAR(results[0].distance(), 0.01, 1e-8);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].found(), points.row(i).allFinite());  // some are near the NaN vertex
    EXPECT_NE(results[i].triangle, 4);
    EXPECT_NE(results[i].triangle, 5);
    EXPECT_TRUE(!results[i].found() || results[i].point.allFinite());
  }
}

TEST(ClosestPointQuery, FindsNothingWithoutFacesOrForANonFinitePoint) {
  const ClosestPointQuery empty(Points3f::Zero(3, 3), Triangles(0, 3));
  EXPECT_FALSE(empty.Query(Vector3d::Zero()).found());
  EXPECT_TRUE(empty.QueryMany(Points3f::Zero(4, 3))[3].triangle < 0);

  const Mesh mesh = BumpySphere(8, 8, {0.0, 0.0, 0.0});
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  const ClosestPoint nan = query.Query(Vector3d(std::numeric_limits<double>::quiet_NaN(), 0, 0));
  EXPECT_FALSE(nan.found());
  EXPECT_EQ(nan.squared_distance, kInfinity);
}

TEST(ClosestPointQuery, InterpolatesVertexNormalsAtTheClosestPoint) {
  Points3f vertices(3, 3);
  vertices << 0, 0, 0, 1, 0, 0, 0, 1, 0;
  Triangles faces(1, 3);
  faces << 0, 1, 2;
  const ClosestPointQuery query(vertices, faces);
  EXPECT_LT((query.FaceNormal(0) - Vector3d(0, 0, 1)).norm(), 1e-15);

  Points3f normals(3, 3);
  normals << 0, 0, 1, 1, 0, 0, 0, 0, 2;  // need not be unit
  // Closest point (0.5, 0.25, 0): barycentrics (0.25, 0.5, 0.25), so
  // 0.25 (0,0,1) + 0.5 (1,0,0) + 0.25 (0,0,2) = (0.5, 0, 0.75), normalized.
  const ClosestPoint c = query.Query(Vector3d(0.5, 0.25, 0.3));
  EXPECT_LT((query.InterpolatedNormal(c, normals) - Vector3d(0.5, 0, 0.75).normalized()).norm(),
            1e-15);
  // Normals that cancel fall back to the face normal.
  normals << 1, 0, 0, 0, 0, 0, -1, 0, 0;
  const ClosestPoint middle = query.Query(Vector3d(0.0, 0.5, 1.0));  // on edge 0-2
  EXPECT_LT((query.InterpolatedNormal(middle, normals) - Vector3d(0, 0, 1)).norm(), 1e-15);
}

TEST(ClosestPointQuery, RejectsInconsistentArguments) {
  Points3f vertices = Points3f::Zero(3, 3);
  Triangles faces(1, 3);
  faces << 0, 1, 3;
  EXPECT_THROW(ClosestPointQuery(vertices, faces), CheckError);
  faces << 0, 1, 2;
  ClosestPointQuery query(vertices, faces);
  ClosestPointQueryOptions options;
  options.max_distance = -1.0;
  EXPECT_THROW(query.Query(Vector3d::Zero(), options), CheckError);
  options = {};
  options.triangle_mask = {1, 1};
  EXPECT_THROW(query.QueryMany(vertices, options), CheckError);
  EXPECT_THROW(query.Refit(Points3f::Zero(2, 3)), CheckError);
  EXPECT_THROW(query.InterpolatedNormal(ClosestPoint{}, vertices), CheckError);
}

TEST(TriangleMask, MarksTheListedTriangles) {
  EXPECT_EQ(TriangleMask({1, 3, 3}, 5), (std::vector<std::uint8_t>{0, 1, 0, 1, 0}));
  EXPECT_THROW(TriangleMask({5}, 5), CheckError);
  EXPECT_THROW(TriangleMask({-1}, 5), CheckError);
}

}  // namespace
}  // namespace headtrack
