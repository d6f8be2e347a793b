#include "headtrack/scan_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "headtrack/closest_point_query.h"
#include "headtrack/error.h"

namespace headtrack {

void ScanMetricsOptions::Check() const {
  HT_CHECK(precision_threshold_mm > 0.0,
           "precision_threshold_mm must be > 0, got " << precision_threshold_mm);
  HT_CHECK(wide_precision_threshold_mm > 0.0,
           "wide_precision_threshold_mm must be > 0, got " << wide_precision_threshold_mm);
  HT_CHECK(num_threads >= 0, "num_threads must be >= 0, got " << num_threads);
}

ScanMetrics ComputeScanMetrics(const PointCloud& scan, const TriangleMesh& mesh,
                               const ScanMetricsOptions& options) {
  options.Check();
  mesh.CheckConsistent();
  const Eigen::Index n = scan.points.rows();
  HT_CHECK(scan.normals.rows() == 0 || scan.normals.rows() == n,
           "scan has " << scan.normals.rows() << " normals for " << n << " points");
  const std::vector<std::uint8_t>& region = options.region_mask;
  HT_CHECK(region.empty() || region.size() == static_cast<std::size_t>(mesh.num_faces()),
           "region_mask has " << region.size() << " entries for " << mesh.num_faces()
                              << " faces");

  const ClosestPointQuery query(mesh.vertices, mesh.faces);
  ClosestPointQueryOptions query_options;
  query_options.num_threads = options.num_threads;
  const std::vector<ClosestPoint> closest = query.QueryMany(scan.points, query_options);
  const Points3f vertex_normals = mesh.has_normals() ? mesh.normals : mesh.ComputeVertexNormals();

  ScanMetrics metrics;
  metrics.num_scan_points = static_cast<int>(n);
  metrics.point_distances_mm =
      Eigen::VectorXf::Constant(n, std::numeric_limits<float>::quiet_NaN());
  // Sums in a fixed order, so the result does not depend on the number of threads.
  double sum_mm = 0.0;
  double sum_abs_cos = 0.0;
  int num_precise = 0;
  int num_wide_precise = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!scan.points.row(i).allFinite()) {
      ++metrics.num_invalid_points;
      continue;
    }
    const ClosestPoint& c = closest[i];
    if (!c.found() || (!region.empty() && region[c.triangle] == 0)) {
      ++metrics.num_outside_region;
      continue;
    }
    ++metrics.num_points;
    const double distance_mm = 1000.0 * c.distance();
    metrics.point_distances_mm[i] = static_cast<float>(distance_mm);
    sum_mm += distance_mm;
    if (distance_mm < options.precision_threshold_mm) ++num_precise;
    if (distance_mm < options.wide_precision_threshold_mm) ++num_wide_precise;

    if (scan.normals.rows() == 0) continue;
    const Eigen::Vector3d scan_normal = scan.normals.row(i).transpose().cast<double>();
    const double scan_norm = scan_normal.norm();
    if (!(scan_norm > 0.0) || !std::isfinite(scan_norm)) continue;
    const Eigen::Vector3d mesh_normal = query.InterpolatedNormal(c, vertex_normals);
    if (mesh_normal.isZero()) continue;  // a degenerate triangle with cancelling normals
    sum_abs_cos += std::min(1.0, std::abs(scan_normal.dot(mesh_normal)) / scan_norm);
    ++metrics.num_normals;
  }

  if (metrics.num_points > 0) {
    metrics.l2_mm = sum_mm / metrics.num_points;
    metrics.precision = static_cast<double>(num_precise) / metrics.num_points;
    metrics.wide_precision = static_cast<double>(num_wide_precise) / metrics.num_points;
  }
  if (metrics.num_normals > 0) metrics.nc = sum_abs_cos / metrics.num_normals;
  return metrics;
}

}  // namespace headtrack
