// The floating-point arithmetic that the fast rasterizer (rasterizer.cc) and its reference
// (reference_rasterizer.cc) share, so that their outputs can be compared pixel for pixel: how a
// vertex is snapped to the subpixel grid, where a triangle's planes are anchored, and the
// z-buffer key; also depth and barycentrics at a covered pixel center, from exact edge functions
// (the reference) or from the inverse-depth planes (the fast rasterizer), which agree to float
// rounding. Each rasterizer implements the exact integer coverage test (edge functions and the
// top-left rule) on its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "headtrack/pinhole_camera.h"

namespace headtrack::internal {

// Projected vertices are rounded to 1/4096 pixel: fine enough that the interpolated point lies on
// the pixel's ray to ~1e-7 m at 0.5 m, coarse enough that edge functions fit in 64 bits.
inline constexpr int kSubpixelBits = 12;
inline constexpr std::int64_t kSubpixelScale = std::int64_t{1} << kSubpixelBits;
// Bound on |u| and |v| of a projected vertex (pixels): with 12 subpixel bits, coordinates stay
// below 2^29 and edge functions (products of two coordinate differences) below 2^62.
inline constexpr double kMaxProjectedPixels = 131072.0;

// The integer nearest to v, halves rounded up (|v| < 2^62); inline, unlike std::llround.
inline std::int64_t RoundToInt64(double v) {
  const double shifted = v + 0.5;
  const auto truncated = static_cast<std::int64_t>(shifted);  // toward zero
  return truncated - (static_cast<double>(truncated) > shifted);
}

// Projects point_in_cam (metres, camera frame) and rounds the pixel (u, v) to the subpixel grid:
// (*x, *y) = RoundToInt64((u, v) * kSubpixelScale). Returns false, and leaves x and y alone,
// when the point is nearer than z_near (> 0), not finite, or projects beyond
// kMaxProjectedPixels.
inline bool SnapVertex(const PinholeCamera& camera, double z_near,
                       const Eigen::Vector3f& point_in_cam, std::int64_t* x, std::int64_t* y) {
  if (!(point_in_cam.z() >= z_near)) return false;  // also rejects NaN
  const Eigen::Vector2d pixel = camera.Project(Eigen::Vector3d(point_in_cam.cast<double>()));
  if (!(std::abs(pixel.x()) <= kMaxProjectedPixels && std::abs(pixel.y()) <= kMaxProjectedPixels)) {
    return false;
  }
  *x = RoundToInt64(pixel.x() * static_cast<double>(kSubpixelScale));
  *y = RoundToInt64(pixel.y() * static_cast<double>(kSubpixelScale));
  return true;
}

// The first pixel (index) whose center is at or after subpixel coordinate c, and the last at or
// before it.
inline std::int64_t PixelCeil(std::int64_t c) { return -((-c) >> kSubpixelBits); }
inline std::int64_t PixelFloor(std::int64_t c) { return c >> kSubpixelBits; }

// Where a triangle's planes are anchored, per axis: the first pixel of its bounds, clipped to the
// image's first row or column; min_subpixel is the least vertex coordinate on that axis.
inline std::int64_t PlaneAnchor(std::int64_t min_subpixel) {
  return std::max<std::int64_t>(PixelCeil(min_subpixel), 0);
}

// Per vertex i of a triangle, r_i = l_i / z_i (1 / metres), where l are the screen-space
// barycentrics, as affine functions of the pixel anchored at a pixel (x_ref, y_ref) near the
// triangle (both rasterizers use the first pixel of its bounds, clipped to the image), so that a
// value costs two multiply-adds. Their sum is the inverse depth sum_i l_i / z_i (larger is
// nearer; 0 is no surface); the depth is 1 / sum and the perspective-correct barycentrics are
// r_i / sum. The z-buffer key is that sum evaluated in float arithmetic (KeyRowBase, Key): cheap
// four pixels at a time, and exactly the same in both rasterizers, which z-test on it. The fast
// rasterizer also resolves depth and barycentrics from the r_i planes, the reference from exact
// edge functions (SamplePixel).
struct TrianglePlanes {
  double vertex_at_ref[3], vertex_per_x[3], vertex_per_y[3];  // r_i
  float key_at_ref, key_per_x, key_per_y;  // the key

  // a[i], b[i]: the coefficients of edge i (opposite vertex i) in subpixel units, as
  // a[i] p.x + b[i] p.y + c_i, positive inside and 0 at the other two vertices;
  // edge_at_ref[i]: its exact value at the anchor's pixel center; area (> 0): twice the
  // triangle's area (subpixel units squared); inv_z: 1 / z of the vertices.
  template <typename Int>  // std::int32_t or std::int64_t
  static TrianglePlanes Make(const std::int64_t edge_at_ref[3], const Int a[3], const Int b[3],
                             std::int64_t area, const double inv_z[3]) {
    const double inv_area = 1.0 / static_cast<double>(area);
    TrianglePlanes planes;
    for (int i = 0; i < 3; ++i) {
      const double scale = inv_z[i] * inv_area;
      planes.vertex_at_ref[i] = static_cast<double>(edge_at_ref[i]) * scale;
      planes.vertex_per_x[i] = static_cast<double>(std::int64_t{a[i]} * kSubpixelScale) * scale;
      planes.vertex_per_y[i] = static_cast<double>(std::int64_t{b[i]} * kSubpixelScale) * scale;
    }
    planes.key_at_ref = static_cast<float>(planes.vertex_at_ref[0] + planes.vertex_at_ref[1] +
                                           planes.vertex_at_ref[2]);
    planes.key_per_x = static_cast<float>(planes.vertex_per_x[0] + planes.vertex_per_x[1] +
                                          planes.vertex_per_x[2]);
    planes.key_per_y = static_cast<float>(planes.vertex_per_y[0] + planes.vertex_per_y[1] +
                                          planes.vertex_per_y[2]);
    return planes;
  }
};

// The key of pixel (x, y) is Key(KeyRowBase(key_at_ref, key_per_y, y - y_ref), key_per_x,
// x - x_ref); a row base can be kept for a whole row. Offsets below 2^24 in magnitude are exact
// in float. The rasterizers are compiled with -ffp-contract=off, so no multiply-add is fused.
inline float KeyRowBase(float key_at_ref, float key_per_y, std::int64_t dy) {
  return key_at_ref + key_per_y * static_cast<float>(dy);
}
inline float Key(float row_base, float key_per_x, std::int64_t dx) {
  return row_base + key_per_x * static_cast<float>(dx);
}

// Depth and perspective-correct barycentrics at a covered pixel center, from w: the three edge
// functions there, oriented to be >= 0 inside (w[i] is the one opposite vertex i, so it weighs
// vertex i), not all zero; inv_z: 1 / z of the vertices; area = w[0] + w[1] + w[2]. A quantity
// linear on the 3D triangle has weights b_i = q_i / sum_j q_j with q_i = w_i / z_i, and the depth
// is area / sum_j q_j, a harmonic mean of the vertex depths.
struct PixelSample {
  float depth;                   // metres
  Eigen::Vector3f barycentrics;  // (b0, b1, b2), each in [0, 1], summing to 1
};

inline PixelSample SamplePixel(const std::int64_t w[3], const double inv_z[3], double area) {
  const double q[3] = {static_cast<double>(w[0]) * inv_z[0], static_cast<double>(w[1]) * inv_z[1],
                       static_cast<double>(w[2]) * inv_z[2]};
  const double inv_q_sum = 1.0 / (q[0] + q[1] + q[2]);
  return {static_cast<float>(area * inv_q_sum),
          Eigen::Vector3d(q[0] * inv_q_sum, q[1] * inv_q_sum, q[2] * inv_q_sum).cast<float>()};
}

}  // namespace headtrack::internal
