// CPU rasterizer: renders a triangle mesh given in the camera frame into per-pixel buffers
// (depth, triangle id, perspective-correct barycentrics, camera-frame position and normal).
//
// Coverage is exact and deterministic: vertices are projected and rounded to 1/4096 pixel, and a
// pixel is covered by a triangle when its center lies inside the rounded triangle, decided with
// 64-bit integer edge functions and the top-left rule, so triangles sharing an edge cover every
// pixel along it exactly once (no gaps, no double coverage). The nearest surface wins; at equal
// depth the lower triangle id wins. The output does not depend on the number of threads or on
// whether the processor has AVX2.
//
// The triangle id and barycentrics of a pixel let a caller re-evaluate any per-vertex quantity
// there and differentiate it with respect to the vertex positions with the barycentrics held
// fixed (projective ICP, differentiable rendering, splatting of per-vertex attributes).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/types.h"

namespace headtrack {

struct RasterizerOptions {
  // Skip triangles that face away from the camera. Faces wind counter-clockwise seen from
  // outside, so a front face's normal (v1 - v0) x (v2 - v0) points toward the camera.
  bool cull_back_faces = true;
  // Triangles with any vertex nearer than z_near (metres, > 0) are skipped, not clipped.
  double z_near = 0.01;
  // Fill Rasterization::points and ::normals; depth, ids and barycentrics are always filled.
  bool compute_points_and_normals = true;
  // Render only the triangles t with triangle_mask[t] != 0 (one entry per face, e.g. built from
  // a model's triangle regions); empty renders every triangle.
  std::vector<std::uint8_t> triangle_mask;
  // OpenMP threads; 0 uses omp_get_max_threads().
  int num_threads = 0;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// The output of one rasterization, width x height like the camera. Reuse one object across
// calls: its buffers are reallocated only when their sizes change, and the next call clears only
// the pixels this one wrote, so treat the buffers as read-only (moving one out is fine: a buffer
// of the wrong size gets all of them reallocated).
struct Rasterization {
  // Depth z of the visible surface (metres, camera frame); 0 where no triangle covers the pixel.
  DepthImage depth;
  // Row of `faces` seen at the pixel; -1 where empty.
  Image<std::int32_t> triangle_id;
  // 3 channels (b0, b1, b2): perspective-correct weights of the triangle's vertices faces(t, 0..2),
  // each in [0, 1], summing to 1; the visible point is sum_i b_i v_i. 0 where empty.
  Image<float> barycentrics;
  // 3 channels: the visible point sum_i b_i v_i (metres, camera frame), which is
  // Unproject(pixel, depth) up to the 1/4096-pixel rounding. 0 where empty. Left empty (0 x 0)
  // unless RasterizerOptions::compute_points_and_normals.
  Image<float> points;
  // 3 channels: unit normal in the camera frame, the face normal or the interpolated vertex
  // normals, as given (outward; not flipped toward the camera). 0 where empty. Left empty like
  // points.
  Image<float> normals;

  // Counts from the last call.
  int num_covered_pixels = 0;
  int num_culled_triangles = 0;   // back faces skipped (cull_back_faces)
  // Triangles skipped for a vertex nearer than z_near, not finite, or projecting further than
  // 131072 pixels from the image origin.
  int num_skipped_triangles = 0;

  int width() const { return depth.width; }
  int height() const { return depth.height; }
  bool covered(int x, int y) const { return triangle_id.at(x, y) >= 0; }
  Eigen::Vector3f barycentrics_at(int x, int y) const { return Vector3At(barycentrics, x, y); }
  Eigen::Vector3f point_at(int x, int y) const { return Vector3At(points, x, y); }
  Eigen::Vector3f normal_at(int x, int y) const { return Vector3At(normals, x, y); }

 private:
  friend class Rasterizer;
  // Per row, the columns [begin, end) that the last Rasterizer call may have written.
  std::vector<int> written_begin_;
  std::vector<int> written_end_;

  static Eigen::Vector3f Vector3At(const Image<float>& image, int x, int y) {
    return {image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2)};
  }
};

// Renders meshes with fixed options, keeping its scratch memory between calls. Not safe to call
// from several threads at once (it parallelizes internally).
class Rasterizer {
 public:
  // Checks the options (CheckError).
  explicit Rasterizer(RasterizerOptions options = {});
  ~Rasterizer();
  Rasterizer(Rasterizer&&) noexcept;
  Rasterizer& operator=(Rasterizer&&) noexcept;

  const RasterizerOptions& options() const { return options_; }

  // vertices_in_cam: V x 3 (metres, camera frame: x right, y down, z forward).
  // faces: F x 3 rows of vertices_in_cam. Normals are the flat face normals.
  void Rasterize(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                 const Triangles& faces, Rasterization* out);
  // vertex_normals_in_cam: V x 3 (camera frame), interpolated with the barycentrics and
  // normalized.
  void Rasterize(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                 const Triangles& faces, const Points3f& vertex_normals_in_cam,
                 Rasterization* out);

  struct Scratch;  // memory kept between calls (opaque)

 private:
  void Run(const PinholeCamera& camera, const Points3f& vertices_in_cam, const Triangles& faces,
           const Points3f* vertex_normals_in_cam, Rasterization* out);

  RasterizerOptions options_;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace headtrack
