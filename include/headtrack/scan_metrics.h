// DPHM's scan-to-mesh metrics (Tang et al., "DPHMs", section 5): how well a reconstructed mesh
// explains a depth scan. For every scan point, the exact closest point on the mesh
// (ClosestPointQuery) gives
//   L2  = mean distance (mm),
//   NC  = mean |cos| between the scan normal and the mesh normal at the closest point
//         (vertex normals interpolated with the barycentrics; orientation ignored),
//   PR  = fraction of points closer than a threshold: DPHM's Precision@1.5mm and @3mm.
// The metrics are one-sided (scan to mesh): mesh parts the scan does not see cost nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "headtrack/point_cloud.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

struct ScanMetricsOptions {
  // Precision counts the points strictly closer than these (millimetres, > 0). DPHM's tau and
  // 2 tau.
  double precision_threshold_mm = 1.5;
  double wide_precision_threshold_mm = 3.0;
  // Evaluate a region only (e.g. the face): keep the scan points whose closest point on the
  // WHOLE mesh lies on a triangle t with region_mask[t] != 0 (one entry per mesh face; see
  // TriangleMask in closest_point_query.h). Empty keeps every point. The closest point is not
  // searched within the region: a point nearest to the hair is not matched to the face.
  std::vector<std::uint8_t> region_mask;
  // OpenMP threads for the closest-point queries; 0 uses omp_get_max_threads(). The result does
  // not depend on it.
  int num_threads = 0;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// The metrics are NaN when no point is used (num_points == 0: an empty scan, a mesh without
// faces, or no closest point in the region); nc is NaN when no used point has a scan normal.
struct ScanMetrics {
  int num_scan_points = 0;      // rows of the scan
  int num_invalid_points = 0;   // rows with a non-finite coordinate (missing pixels), skipped
  int num_outside_region = 0;   // finite points whose closest triangle is outside the region
                                // (or that have none: a mesh without usable faces)
  int num_points = 0;           // points used: num_scan_points - invalid - outside region
  int num_normals = 0;          // used points in nc: a finite non-zero scan normal and a
                                // defined mesh normal

  // Mean distance to the mesh, millimetres.
  double l2_mm = std::numeric_limits<double>::quiet_NaN();
  // Mean |cos(scan normal, mesh normal)| over the num_normals points, in [0, 1].
  double nc = std::numeric_limits<double>::quiet_NaN();
  // Fractions of the used points closer than precision_threshold_mm (PR@1.5 by default) and
  // wide_precision_threshold_mm (PR@3), in [0, 1].
  double precision = std::numeric_limits<double>::quiet_NaN();
  double wide_precision = std::numeric_limits<double>::quiet_NaN();

  // One entry per scan row: the distance to the mesh in millimetres (for heat maps), NaN where
  // the point is not used.
  Eigen::VectorXf point_distances_mm;
};

// scan: N x 3 points (metres, the mesh's frame, usually the camera frame) with optional N x 3
// normals (need not be unit). mesh: vertices in metres, same frame; its normals are used when
// present, else area-weighted vertex normals are computed. Throws CheckError for inconsistent
// arrays or options.
ScanMetrics ComputeScanMetrics(const PointCloud& scan, const TriangleMesh& mesh,
                               const ScanMetricsOptions& options = {});

}  // namespace headtrack
