// The floating-point arithmetic that the fast rasterizer (rasterizer.cc) and its reference
// (reference_rasterizer.cc) share, so that their outputs can be compared pixel for pixel: how a
// vertex is snapped to the subpixel grid and the z-buffer key; also depth and barycentrics at a
// covered pixel center, from exact edge functions (the reference) or from the inverse-depth
// planes (the fast rasterizer), which agree to float rounding. Each rasterizer implements the
// exact integer coverage test (edge functions and the top-left rule) on its own.
#pragma once

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

// Per vertex i of a triangle, r_i = l_i / z_i (1 / metres), where l are the screen-space
// barycentrics, written as affine functions of the pixel anchored at a pixel near vertex 0, so that
// a value costs a multiply-add. Their sum is the z-buffer key, the inverse depth sum_i l_i / z_i
// (larger is nearer; 0 is no surface); the depth is 1 / key and the perspective-correct
// barycentrics are r_i / key. Both rasterizers z-test on Key(); the fast one also resolves depth
// and barycentrics from the vertex planes, the reference from exact edge functions (SamplePixel).
struct InverseDepthPlane {
  std::int64_t x_ref = 0, y_ref = 0;  // the anchor pixel
  double at_ref = 0, per_x = 0, per_y = 0;  // the key
  double vertex_at_ref[3] = {}, vertex_per_x[3] = {}, vertex_per_y[3] = {};  // r_i

  // x, y: the snapped vertices (subpixel units), not collinear; inv_z: 1 / z of the vertices.
  static InverseDepthPlane Make(const std::int64_t x[3], const std::int64_t y[3],
                                const double inv_z[3]) {
    const std::int64_t signed_area = (x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0]);
    const std::int64_t sign = signed_area > 0 ? 1 : -1;
    std::int64_t a[3], b[3];
    for (int i = 0; i < 3; ++i) {  // edge i, opposite vertex i, as a x + b y + c >= 0 inside
      const int j = (i + 1) % 3;
      const int k = (i + 2) % 3;
      a[i] = -sign * (y[k] - y[j]);
      b[i] = sign * (x[k] - x[j]);
    }
    return FromEdges(x, y, a, b, sign * signed_area, inv_z);
  }

  // Make, given the edge coefficients it computes: edge i (opposite vertex i) is
  // a[i] p.x + b[i] p.y + c_i, positive inside and 0 at vertices (i + 1) % 3 and (i + 2) % 3;
  // area (> 0) is twice the triangle's area (subpixel units squared).
  static InverseDepthPlane FromEdges(const std::int64_t x[3], const std::int64_t y[3],
                                     const std::int64_t a[3], const std::int64_t b[3],
                                     std::int64_t area, const double inv_z[3]) {
    const double inv_area = 1.0 / static_cast<double>(area);
    InverseDepthPlane plane;
    plane.x_ref = x[0] >> kSubpixelBits;
    plane.y_ref = y[0] >> kSubpixelBits;
    for (int i = 0; i < 3; ++i) {
      const int j = (i + 1) % 3;
      const std::int64_t edge_at_ref = a[i] * (plane.x_ref * kSubpixelScale - x[j]) +
                                       b[i] * (plane.y_ref * kSubpixelScale - y[j]);
      const double scale = inv_z[i] * inv_area;
      plane.vertex_at_ref[i] = static_cast<double>(edge_at_ref) * scale;
      plane.vertex_per_x[i] = static_cast<double>(a[i] * kSubpixelScale) * scale;
      plane.vertex_per_y[i] = static_cast<double>(b[i] * kSubpixelScale) * scale;
    }
    plane.at_ref = plane.vertex_at_ref[0] + plane.vertex_at_ref[1] + plane.vertex_at_ref[2];
    plane.per_x = plane.vertex_per_x[0] + plane.vertex_per_x[1] + plane.vertex_per_x[2];
    plane.per_y = plane.vertex_per_y[0] + plane.vertex_per_y[1] + plane.vertex_per_y[2];
    return plane;
  }

  // Key(RowBase(y), x) is the key of pixel (x, y); RowBase can be kept for a whole row.
  double RowBase(std::int64_t y) const { return at_ref + per_y * static_cast<double>(y - y_ref); }
  float Key(double row_base, std::int64_t x) const {
    return static_cast<float>(row_base + per_x * static_cast<double>(x - x_ref));
  }
};

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
