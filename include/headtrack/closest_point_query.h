// Exact closest points on a triangle mesh: for a query point, the nearest point of the surface
// (not merely the nearest vertex), its triangle, barycentrics and distance. Used for DPHM's
// scan-to-mesh metrics (scan_metrics.h) and for point-to-surface residuals.
//
// Why a BVH of triangles and not nanoflann: a k-d tree over vertices (or triangle centroids)
// answers "nearest vertex", and turning that into an exact point-to-triangle answer needs a
// search radius bounded by the largest triangle, which long or degenerate triangles make
// unbounded. A bounding volume hierarchy holds the triangles themselves: its boxes contain each
// triangle exactly (float vertices, float boxes) and box distances are rounded down, so pruning
// a box farther than the best distance so far never loses the answer. It is built with binned
// SAH, collapsed to 4 children per node (tested at once with SIMD), traversed nearest child
// first, and refit in O(F) when the vertices move (tracking). QueryMany starts each query from
// the previous row's answer, which makes scan-ordered points (pixels) cheap.
//
// Distances are computed in double precision from the float vertices, handle the face, edge and
// vertex regions, and degenerate triangles (zero area, collinear or repeated vertices), which
// act as their segments. Among triangles at the same computed distance the lowest id wins, so
// the answer does not depend on the number of threads.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "headtrack/types.h"

namespace headtrack {

// The closest surface point to one query point.
struct ClosestPoint {
  // Row of `faces` the point lies on; -1 when there is none (no triangle within max_distance,
  // none allowed by the mask, or a non-finite query point).
  int triangle = -1;
  // The closest point (mesh frame and units), sum_i barycentrics(i) * vertices(faces(triangle, i)).
  Eigen::Vector3d point = Eigen::Vector3d::Constant(std::numeric_limits<double>::quiet_NaN());
  // Weights of the triangle's vertices faces(triangle, 0..2): each in [0, 1], summing to 1.
  Eigen::Vector3d barycentrics = Eigen::Vector3d::Zero();
  // |query - point|^2; infinity when there is no triangle.
  double squared_distance = std::numeric_limits<double>::infinity();

  bool found() const { return triangle >= 0; }
  double distance() const;
};

struct ClosestPointQueryOptions {
  // Only surface points within this distance (inclusive; mesh units, >= 0) are reported; farther
  // queries get triangle -1. A finite bound also makes queries faster.
  double max_distance = std::numeric_limits<double>::infinity();
  // Consider only the triangles t with triangle_mask[t] != 0 (one entry per face); empty allows
  // every triangle. Masked triangles are still traversed: for many queries against a small part
  // of a mesh, build a query of that part instead.
  std::vector<std::uint8_t> triangle_mask;
  // OpenMP threads for QueryMany; 0 uses omp_get_max_threads().
  int num_threads = 0;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// Built once from a mesh; queries are const and may run from several threads at once.
class ClosestPointQuery {
 public:
  // vertices: V x 3 (any frame and units; the queries use the same). faces: F x 3 rows of
  // vertices. Triangles with a non-finite vertex are kept but never reported. Throws CheckError
  // when a face index is out of range.
  ClosestPointQuery(const Points3f& vertices, const Triangles& faces);
  ~ClosestPointQuery();
  ClosestPointQuery(ClosestPointQuery&&) noexcept;
  ClosestPointQuery& operator=(ClosestPointQuery&&) noexcept;

  // Moves the vertices (V x 3, same count and faces) and updates the boxes without rebuilding the
  // tree: exact as before, but slower to query when the motion is large and not rigid.
  void Refit(const Points3f& vertices);

  // point: 3-vector in the mesh frame.
  ClosestPoint Query(const Eigen::Vector3d& point,
                     const ClosestPointQueryOptions& options = {}) const;
  // points: N x 3 in the mesh frame; one result per row, in parallel with OpenMP.
  std::vector<ClosestPoint> QueryMany(const Points3f& points,
                                      const ClosestPointQueryOptions& options = {}) const;

  // Unit normal (b - a) x (c - a) of a triangle, outward for counter-clockwise faces; zero for a
  // degenerate triangle.
  Eigen::Vector3d FaceNormal(int triangle) const;
  // The normal at a found closest point: vertex_normals (V x 3) interpolated with the
  // barycentrics and normalized, or FaceNormal when they cancel.
  Eigen::Vector3d InterpolatedNormal(const ClosestPoint& closest,
                                     const Points3f& vertex_normals) const;

  const Points3f& vertices() const;
  const Triangles& faces() const;
  int num_faces() const { return static_cast<int>(faces().rows()); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A mask for ClosestPointQueryOptions::triangle_mask: 1 for the listed triangle ids, else 0.
// Throws CheckError for an id outside [0, num_faces).
std::vector<std::uint8_t> TriangleMask(const std::vector<int>& triangle_ids, int num_faces);

}  // namespace headtrack
