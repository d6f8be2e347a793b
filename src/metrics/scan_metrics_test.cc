#include "headtrack/scan_metrics.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "headtrack/closest_point_query.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Scan points are floats: near z = 0.5 m they are rounded by up to 3e-8 m = 3e-5 mm.
constexpr double kToleranceMm = 1e-4;

// A 20 cm square at z = 0.5 m (camera frame) facing the camera; triangle 0 covers y <= x,
// triangle 1 covers y >= x.
TriangleMesh Square(float z = 0.5f) {
  TriangleMesh mesh;
  mesh.vertices.resize(4, 3);
  mesh.vertices << -0.1f, -0.1f, z, 0.1f, -0.1f, z, 0.1f, 0.1f, z, -0.1f, 0.1f, z;
  mesh.faces.resize(2, 3);
  mesh.faces << 0, 1, 2, 0, 2, 3;
  mesh.normals = Points3f::Zero(4, 3);
  mesh.normals.col(2).setConstant(-1.0f);
  return mesh;
}

// Four points at hand-picked distances from the square, with normals at hand-picked angles.
PointCloud FourPoints() {
  PointCloud scan;
  scan.points.resize(4, 3);
  scan.points << 0.05f, -0.05f, 0.5005f,  // triangle 0, 0.5 mm in front
      -0.05f, 0.05f, 0.499f,              // triangle 1, 1 mm behind
      0.02f, -0.06f, 0.502f,              // triangle 0, 2 mm
      -0.03f, 0.04f, 0.496f;              // triangle 1, 4 mm
  scan.normals.resize(4, 3);
  scan.normals << 0, 0, 1,                       // |cos| = 1
      0, 0, -2,                                  // |cos| = 1 (not unit, opposite)
      1, 0, 0,                                   // |cos| = 0
      0, static_cast<float>(std::sqrt(0.75)), 0.5f;  // |cos| = 0.5
  return scan;
}

TEST(ComputeScanMetrics, MatchesHandComputedValuesOnAPlane) {
  const ScanMetrics m = ComputeScanMetrics(FourPoints(), Square());
  EXPECT_EQ(m.num_scan_points, 4);
  EXPECT_EQ(m.num_points, 4);
  EXPECT_EQ(m.num_normals, 4);
  EXPECT_EQ(m.num_invalid_points, 0);
  EXPECT_EQ(m.num_outside_region, 0);
  EXPECT_NEAR(m.l2_mm, (0.5 + 1.0 + 2.0 + 4.0) / 4.0, kToleranceMm);
  EXPECT_NEAR(m.nc, (1.0 + 1.0 + 0.0 + 0.5) / 4.0, 1e-6);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);        // 0.5 and 1 mm are below 1.5 mm
  EXPECT_DOUBLE_EQ(m.wide_precision, 0.75);  // and 2 mm below 3 mm
  ASSERT_EQ(m.point_distances_mm.size(), 4);
  const double expected[] = {0.5, 1.0, 2.0, 4.0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(m.point_distances_mm[i], expected[i], kToleranceMm);
}

TEST(ComputeScanMetrics, UsesConfiguredThresholds) {
  ScanMetricsOptions options;
  options.precision_threshold_mm = 0.75;
  options.wide_precision_threshold_mm = 10.0;
  const ScanMetrics m = ComputeScanMetrics(FourPoints(), Square(), options);
  EXPECT_DOUBLE_EQ(m.precision, 0.25);
  EXPECT_DOUBLE_EQ(m.wide_precision, 1.0);
}

TEST(ComputeScanMetrics, ComputesVertexNormalsWhenTheMeshHasNone) {
  TriangleMesh mesh = Square();
  mesh.normals.resize(0, 3);
  EXPECT_NEAR(ComputeScanMetrics(FourPoints(), mesh).nc, 0.625, 1e-6);
}

TEST(ComputeScanMetrics, KeepsOnlyPointsWhoseClosestTriangleIsInTheRegion) {
  ScanMetricsOptions options;
  options.region_mask = TriangleMask({0}, 2);
  const ScanMetrics m = ComputeScanMetrics(FourPoints(), Square(), options);
  EXPECT_EQ(m.num_points, 2);
  EXPECT_EQ(m.num_outside_region, 2);
  EXPECT_NEAR(m.l2_mm, (0.5 + 2.0) / 2.0, kToleranceMm);
  EXPECT_NEAR(m.nc, (1.0 + 0.0) / 2.0, 1e-6);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.wide_precision, 1.0);
  EXPECT_TRUE(std::isnan(m.point_distances_mm[1]));
  EXPECT_TRUE(std::isnan(m.point_distances_mm[3]));
}

TEST(ComputeScanMetrics, MatchesOnTheWholeMeshBeforeFilteringByRegion) {
  // A "face" square at 0.5 m (triangles 0, 1) and a "hair" square 2 cm behind it (2, 3). A point
  // 1 mm from the hair is 21 mm from the face: it is not counted against the face region.
  const TriangleMesh face = Square(0.5f);
  const TriangleMesh hair = Square(0.52f);
  TriangleMesh mesh;
  mesh.vertices.resize(8, 3);
  mesh.vertices << face.vertices, hair.vertices;
  mesh.faces.resize(4, 3);
  mesh.faces << face.faces, (hair.faces.array() + 4).matrix();
  PointCloud scan;
  scan.points.resize(2, 3);
  scan.points << 0.01f, 0.0f, 0.501f, 0.01f, 0.0f, 0.521f;
  ScanMetricsOptions options;
  options.region_mask = TriangleMask({0, 1}, 4);
  const ScanMetrics m = ComputeScanMetrics(scan, mesh, options);
  EXPECT_EQ(m.num_points, 1);
  EXPECT_EQ(m.num_outside_region, 1);
  EXPECT_NEAR(m.l2_mm, 1.0, kToleranceMm);
  EXPECT_TRUE(std::isnan(m.nc));  // the scan has no normals
  EXPECT_EQ(m.num_normals, 0);
}

TEST(ComputeScanMetrics, SkipsMissingPointsAndNormals) {
  PointCloud scan = FourPoints();
  scan.points.row(1).setConstant(kNaN);  // a missing pixel
  scan.normals.row(3).setZero();         // a point without a normal
  const ScanMetrics m = ComputeScanMetrics(scan, Square());
  EXPECT_EQ(m.num_invalid_points, 1);
  EXPECT_EQ(m.num_points, 3);
  EXPECT_EQ(m.num_normals, 2);
  EXPECT_NEAR(m.l2_mm, (0.5 + 2.0 + 4.0) / 3.0, kToleranceMm);
  EXPECT_NEAR(m.nc, 0.5, 1e-6);
  EXPECT_TRUE(std::isnan(m.point_distances_mm[1]));
}

TEST(ComputeScanMetrics, ReportsNaNWhenNoPointIsUsed) {
  const auto expect_empty = [](const ScanMetrics& m) {
    EXPECT_EQ(m.num_points, 0);
    EXPECT_TRUE(std::isnan(m.l2_mm));
    EXPECT_TRUE(std::isnan(m.nc));
    EXPECT_TRUE(std::isnan(m.precision));
    EXPECT_TRUE(std::isnan(m.wide_precision));
  };
  {
    SCOPED_TRACE("empty scan");
    const ScanMetrics m = ComputeScanMetrics(PointCloud{}, Square());
    expect_empty(m);
    EXPECT_EQ(m.num_scan_points, 0);
    EXPECT_EQ(m.point_distances_mm.size(), 0);
  }
  {
    SCOPED_TRACE("empty region");
    ScanMetricsOptions options;
    options.region_mask = {0, 0};
    const ScanMetrics m = ComputeScanMetrics(FourPoints(), Square(), options);
    expect_empty(m);
    EXPECT_EQ(m.num_outside_region, 4);
  }
  {
    SCOPED_TRACE("mesh without faces");
    TriangleMesh mesh = Square();
    mesh.faces.resize(0, 3);
    const ScanMetrics m = ComputeScanMetrics(FourPoints(), mesh);
    expect_empty(m);
    EXPECT_EQ(m.num_outside_region, 4);
  }
  {
    SCOPED_TRACE("every point missing");
    PointCloud scan = FourPoints();
    scan.points.setConstant(kNaN);
    const ScanMetrics m = ComputeScanMetrics(scan, Square());
    expect_empty(m);
    EXPECT_EQ(m.num_invalid_points, 4);
  }
}

TEST(ComputeScanMetrics, ResultDoesNotDependOnThreadCount) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-0.12f, 0.12f);
  PointCloud scan;
  scan.points.resize(20000, 3);
  scan.normals.resize(20000, 3);
  for (int i = 0; i < 20000; ++i) {
    scan.points.row(i) << uniform(rng), uniform(rng), 0.5f + 0.03f * uniform(rng);
    scan.normals.row(i) << uniform(rng), uniform(rng), 1.0f;
  }
  ScanMetricsOptions one, two;
  one.num_threads = 1;
  two.num_threads = 2;
  const ScanMetrics a = ComputeScanMetrics(scan, Square(), one);
  const ScanMetrics b = ComputeScanMetrics(scan, Square(), two);
  EXPECT_EQ(a.l2_mm, b.l2_mm);
  EXPECT_EQ(a.nc, b.nc);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_GT(a.precision, 0.0);
  EXPECT_LT(a.precision, 1.0);
}

TEST(ComputeScanMetrics, RejectsInconsistentArguments) {
  ScanMetricsOptions options;
  options.precision_threshold_mm = 0.0;
  EXPECT_THROW(ComputeScanMetrics(FourPoints(), Square(), options), CheckError);
  options = {};
  options.region_mask = {1, 1, 1};
  EXPECT_THROW(ComputeScanMetrics(FourPoints(), Square(), options), CheckError);
  PointCloud scan = FourPoints();
  scan.normals.resize(3, 3);
  EXPECT_THROW(ComputeScanMetrics(scan, Square()), CheckError);
}

}  // namespace
}  // namespace headtrack
