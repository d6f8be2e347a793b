// Closest-point queries as DPHM's metrics use them: 100k depth-scan points against a head-sized
// mesh of 50k triangles. Target: <= 100 ms for the 100k queries on one core.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <random>

#include "headtrack/closest_point_query.h"
#include "headtrack/point_cloud.h"
#include "headtrack/scan_metrics.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {
namespace {

constexpr double kRadius = 0.1;                       // metres
const Eigen::Vector3d kCenter(0.0, 0.0, 0.6);        // camera frame
constexpr int kStacks = 101, kSlices = 250;           // 2 * 250 * 100 = 50k triangles
constexpr int kNumScanPoints = 100000;

// Radius of the bumpy sphere in a direction given by its polar and azimuth angles.
double BumpyRadius(double polar, double azimuth) {
  return kRadius * (1.0 + 0.05 * std::sin(5.0 * polar) * std::cos(7.0 * azimuth));
}

Eigen::Vector3d SpherePoint(double polar, double azimuth) {
  return kCenter + BumpyRadius(polar, azimuth) *
                       Eigen::Vector3d(std::sin(polar) * std::cos(azimuth),
                                       std::sin(polar) * std::sin(azimuth), std::cos(polar));
}

const TriangleMesh& BumpySphere() {
  static const TriangleMesh mesh = [] {
    TriangleMesh m;
    const int num_rings = kStacks - 1;
    m.vertices.resize(num_rings * kSlices + 2, 3);
    for (int i = 0; i < num_rings; ++i) {
      for (int j = 0; j < kSlices; ++j) {
        m.vertices.row(i * kSlices + j) =
            SpherePoint(std::numbers::pi * (i + 1) / kStacks, 2.0 * std::numbers::pi * j / kSlices)
                .cast<float>()
                .transpose();
      }
    }
    const int north = num_rings * kSlices, south = north + 1;
    m.vertices.row(north) = SpherePoint(0.0, 0.0).cast<float>().transpose();
    m.vertices.row(south) = SpherePoint(std::numbers::pi, 0.0).cast<float>().transpose();
    m.faces.resize(2 * kSlices * num_rings, 3);
    int f = 0;
    for (int j = 0; j < kSlices; ++j) {
      const int k = (j + 1) % kSlices;
      const int last = (num_rings - 1) * kSlices;
      m.faces.row(f++) << north, j, k;
      m.faces.row(f++) << south, last + k, last + j;
      for (int i = 0; i + 1 < num_rings; ++i) {
        const int a = i * kSlices + j, b = i * kSlices + k;
        const int c = (i + 1) * kSlices + j, d = (i + 1) * kSlices + k;
        m.faces.row(f++) << a, c, d;
        m.faces.row(f++) << a, d, b;
      }
    }
    m.normals = m.ComputeVertexNormals();
    return m;
  }();
  return mesh;
}

// What a depth camera at the origin sees of the sphere: one point per pixel of a grid, in pixel
// order, on the surface plus 1 mm of noise along the viewing ray, with radial normals.
const PointCloud& Scan() {
  static const PointCloud scan = [] {
    std::mt19937 rng(1);
    std::normal_distribution<double> noise(0.0, 0.001);
    PointCloud s;
    s.points.resize(kNumScanPoints, 3);
    s.normals.resize(kNumScanPoints, 3);
    const int grid = 360;
    int n = 0;
    for (int y = 0; y < grid && n < kNumScanPoints; ++y) {
      for (int x = 0; x < grid && n < kNumScanPoints; ++x) {
        const double u = 2.0 * (x + 0.5) / grid - 1.0, v = 2.0 * (y + 0.5) / grid - 1.0;
        if (u * u + v * v >= 1.0) continue;
        const Eigen::Vector3d direction(u, v, -std::sqrt(1.0 - u * u - v * v));  // from center
        const double polar = std::acos(direction.z());
        const double azimuth = std::atan2(direction.y(), direction.x());
        const Eigen::Vector3d on_surface = SpherePoint(polar, azimuth);
        const Eigen::Vector3d point = on_surface * (1.0 + noise(rng) / on_surface.norm());
        s.points.row(n) = point.cast<float>().transpose();
        s.normals.row(n) = direction.cast<float>().transpose();
        ++n;
      }
    }
    s.points.conservativeResize(n, 3);
    s.normals.conservativeResize(n, 3);
    return s;
  }();
  return scan;
}

void BM_ClosestPointQueryBuild(benchmark::State& state) {
  const TriangleMesh& mesh = BumpySphere();
  for (auto _ : state) {
    ClosestPointQuery query(mesh.vertices, mesh.faces);
    benchmark::DoNotOptimize(query);
  }
  state.counters["triangles"] = mesh.num_faces();
}
BENCHMARK(BM_ClosestPointQueryBuild)->Unit(benchmark::kMillisecond);

void BM_ClosestPointQueryRefit(benchmark::State& state) {
  const TriangleMesh& mesh = BumpySphere();
  ClosestPointQuery query(mesh.vertices, mesh.faces);
  for (auto _ : state) query.Refit(mesh.vertices);
  state.counters["triangles"] = mesh.num_faces();
}
BENCHMARK(BM_ClosestPointQueryRefit)->Unit(benchmark::kMillisecond);

// Arguments: threads (0 = all), max distance in mm (0 = none).
void BM_ClosestPointQueryMany(benchmark::State& state) {
  const TriangleMesh& mesh = BumpySphere();
  const PointCloud& scan = Scan();
  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  ClosestPointQueryOptions options;
  options.num_threads = static_cast<int>(state.range(0));
  if (state.range(1) > 0) options.max_distance = 0.001 * static_cast<double>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(query.QueryMany(scan.points, options));
  state.SetItemsProcessed(state.iterations() * scan.size());
  state.counters["points"] = scan.size();
}
BENCHMARK(BM_ClosestPointQueryMany)
    ->ArgNames({"threads", "max_mm"})
    ->Args({1, 0})
    ->Args({1, 5})
    ->Args({0, 0})
    ->Unit(benchmark::kMillisecond);

// The whole metric (build, queries, normals, sums) on one core.
void BM_ComputeScanMetrics(benchmark::State& state) {
  const TriangleMesh& mesh = BumpySphere();
  const PointCloud& scan = Scan();
  ScanMetricsOptions options;
  options.num_threads = 1;
  for (auto _ : state) benchmark::DoNotOptimize(ComputeScanMetrics(scan, mesh, options));
  state.SetItemsProcessed(state.iterations() * scan.size());
}
BENCHMARK(BM_ComputeScanMetrics)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace headtrack
