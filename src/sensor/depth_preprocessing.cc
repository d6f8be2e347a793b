#include "headtrack/depth_preprocessing.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "core/stopwatch.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool IsValid(float depth) { return std::isfinite(depth) && depth > 0.0f; }

// Compared in float, the depth's precision: 0.6f is in [0.1, 0.6].
bool InRange(float depth, const DepthRange& range) {
  return IsValid(depth) && depth >= static_cast<float>(range.min_m) &&
         depth <= static_cast<float>(range.max_m);
}

int ThreadCount(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

void CheckSizes(const DepthImage& depth, const PinholeCamera& camera) {
  HT_CHECK(depth.channels == 1, "depth has " << depth.channels << " channels, expected 1");
  HT_CHECK(depth.width == camera.width && depth.height == camera.height,
           "depth is " << depth.width << " x " << depth.height << " but the camera is "
                       << camera.width << " x " << camera.height);
}

// The valid depths with min_depth_m <= depth, grouped into 4-connected surfaces (neighbours
// closer than auto_connect_jump_m in depth); the nearest front of those of at least
// auto_min_surface_m2 square metres, or NaN when none is.
double NearestLargeSurfaceFront(const DepthImage& depth, const PinholeCamera& camera,
                                const DepthPreprocessingOptions& options) {
  const int width = depth.width;
  const int height = depth.height;
  const auto usable = [&](int index) {
    const float z = depth.pixels[index];
    return IsValid(z) && z >= static_cast<float>(options.min_depth_m);
  };
  std::vector<std::uint8_t> visited(depth.pixels.size(), 0);
  std::vector<int> stack;
  double best_front = std::numeric_limits<double>::quiet_NaN();
  const double pixel_area = 1.0 / (camera.fx * camera.fy);  // times depth^2: square metres
  for (int seed = 0; seed < width * height; ++seed) {
    if (visited[seed] || !usable(seed)) continue;
    double area = 0.0;
    double front = std::numeric_limits<double>::infinity();
    visited[seed] = 1;
    stack.assign(1, seed);
    while (!stack.empty()) {
      const int index = stack.back();
      stack.pop_back();
      const double z = depth.pixels[index];
      area += z * z * pixel_area;
      front = std::min(front, z);
      const int x = index % width;
      const int y = index / width;
      const std::array<std::array<int, 2>, 4> neighbours = {
          {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}}};
      for (const auto& [nx, ny] : neighbours) {
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const int neighbour = ny * width + nx;
        if (visited[neighbour] || !usable(neighbour) ||
            std::abs(depth.pixels[neighbour] - z) > options.auto_connect_jump_m) {
          continue;
        }
        visited[neighbour] = 1;
        stack.push_back(neighbour);
      }
    }
    if (area >= options.auto_min_surface_m2 && (std::isnan(best_front) || front < best_front)) {
      best_front = front;
    }
  }
  return best_front;
}

// The unit normal of the plane fitted to the usable valid pixels around (x, y) in windows of
// growing radius, toward the camera; NaN when no window has enough well-spread points.
Eigen::Vector3f SparseNormal(const DepthImage& depth, const PinholeCamera& camera,
                             const DepthPreprocessingOptions& options, int x, int y) {
  const float z = depth.at(x, y);
  const Eigen::Vector3d center = camera.Unproject<double>(Eigen::Vector2d(x, y), z);
  constexpr int kMinPoints = 5;
  for (int radius = 2;; radius = std::min(2 * radius, options.sparse_normal_max_radius_px)) {
    // Surfaces steeper than about 63 degrees beyond the jump allowance are another surface.
    const double tolerance = options.normal_max_jump_m + 2.0 * radius * z / camera.fx;
    Eigen::Vector3d sum = Eigen::Vector3d::Zero();
    Eigen::Matrix3d sum_outer = Eigen::Matrix3d::Zero();
    int count = 0;
    for (int qy = std::max(0, y - radius); qy <= std::min(depth.height - 1, y + radius); ++qy) {
      for (int qx = std::max(0, x - radius); qx <= std::min(depth.width - 1, x + radius); ++qx) {
        const float qz = depth.at(qx, qy);
        if (!IsValid(qz) || std::abs(qz - z) > tolerance) continue;
        // Relative to the center, for a well-conditioned covariance.
        const Eigen::Vector3d q =
            camera.Unproject<double>(Eigen::Vector2d(qx, qy), qz) - center;
        sum += q;
        sum_outer += q * q.transpose();
        ++count;
      }
    }
    if (count >= kMinPoints) {
      const Eigen::Vector3d mean = sum / count;
      const Eigen::Matrix3d covariance = sum_outer / count - mean * mean.transpose();
      Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> solver;
      solver.computeDirect(covariance);
      const Eigen::Vector3d values = solver.eigenvalues();  // ascending
      // Not collinear: the points span two directions.
      if (values(1) > 1e-4 * values(2) && values(1) > 0.0) {
        Eigen::Vector3d normal = solver.eigenvectors().col(0).normalized();
        if (normal.dot(center) > 0.0) normal = -normal;
        return normal.cast<float>();
      }
    }
    if (radius >= options.sparse_normal_max_radius_px) break;
  }
  return Eigen::Vector3f::Constant(kNaN);
}

// One window offset (dx, dy) of the bilateral fit, for `count` pixels of a row: adds the
// neighbour's weighted terms to the sums of the normal equations of value ~ a + b dx + c dy.
// Separate arrays marked __restrict so that the compiler vectorizes over the pixels.
void AccumulateWindowOffset(int count, float spatial_weight, float dx, float dy,
                            const float* __restrict neighbours, const float* __restrict valid,
                            const float* __restrict center,
                            const float* __restrict scale, float* __restrict s0,
                            float* __restrict sx, float* __restrict sy, float* __restrict sxx,
                            float* __restrict sxy, float* __restrict syy, float* __restrict v0,
                            float* __restrict vx, float* __restrict vy) {
  for (int i = 0; i < count; ++i) {
    const float value = neighbours[i] - center[i];
    // Tukey's biweight (1 - (d / cutoff)^2)^2, 0 beyond the cutoff and for invalid neighbours.
    // max(x, 0) written as (x + |x|) / 2: a comparison would keep GCC from vectorizing (it may
    // trap).
    const float one_minus = 1.0f - value * value * scale[i];
    const float kernel = 0.5f * (one_minus + std::abs(one_minus));
    const float weight = valid[i] * spatial_weight * kernel * kernel;
    const float wx = weight * dx;
    const float wy = weight * dy;
    s0[i] += weight;
    sx[i] += wx;
    sy[i] += wy;
    sxx[i] += wx * dx;
    sxy[i] += wx * dy;
    syy[i] += wy * dy;
    v0[i] += weight * value;
    vx[i] += wx * value;
    vy[i] += wy * value;
  }
}

}  // namespace

void DepthPreprocessingOptions::Check() const {
  HT_CHECK(min_depth_m > 0.0 && min_depth_m < max_depth_m,
           "depth range [" << min_depth_m << ", " << max_depth_m
                           << "] m: need 0 < min_depth_m < max_depth_m");
  HT_CHECK(auto_range_min_pixels >= 0, "auto_range_min_pixels " << auto_range_min_pixels);
  HT_CHECK(auto_band_m > 0.0, "auto_band_m " << auto_band_m << " must be positive");
  HT_CHECK(auto_head_depth_m >= 0.0,
           "auto_head_depth_m " << auto_head_depth_m << " must not be negative");
  HT_CHECK(auto_min_surface_m2 >= 0.0, "auto_min_surface_m2 " << auto_min_surface_m2);
  HT_CHECK(auto_connect_jump_m > 0.0, "auto_connect_jump_m " << auto_connect_jump_m);
  HT_CHECK(crop_radius_m >= 0.0 && std::isfinite(crop_radius_m),
           "crop_radius_m " << crop_radius_m);
  HT_CHECK(crop_radius_m == 0.0 || crop_center.allFinite(), "crop_center is not finite");
  HT_CHECK(smooth_radius_px >= 0 && smooth_radius_px <= 16,
           "smooth_radius_px " << smooth_radius_px << " must be in [0, 16]");
  HT_CHECK(smooth_sigma_px > 0.0, "smooth_sigma_px " << smooth_sigma_px);
  HT_CHECK(smooth_sigma_depth_m > 0.0, "smooth_sigma_depth_m " << smooth_sigma_depth_m);
  HT_CHECK(normal_max_jump_m > 0.0, "normal_max_jump_m " << normal_max_jump_m);
  HT_CHECK(sparse_normal_max_radius_px >= 0 && sparse_normal_max_radius_px <= 256,
           "sparse_normal_max_radius_px " << sparse_normal_max_radius_px);
  HT_CHECK(num_threads >= 0, "num_threads " << num_threads);
}

DepthRange ChooseDepthRange(const DepthImage& depth, const PinholeCamera& camera,
                            const DepthPreprocessingOptions& options) {
  options.Check();
  CheckSizes(depth, camera);
  const DepthRange fixed{options.min_depth_m, options.max_depth_m, false};
  if (!options.auto_range) return fixed;
  const auto in_fixed = std::count_if(depth.pixels.begin(), depth.pixels.end(),
                                      [&](float z) { return InRange(z, fixed); });
  // Enough in the fixed range, and nothing just beyond it that it could cut off: keep it.
  const DepthRange beyond{options.max_depth_m, options.max_depth_m + options.auto_band_m, false};
  const bool anything_beyond = std::any_of(depth.pixels.begin(), depth.pixels.end(), [&](float z) {
    return InRange(z, beyond) && z > static_cast<float>(options.max_depth_m);
  });
  if (in_fixed >= options.auto_range_min_pixels && !anything_beyond) return fixed;
  const double front = NearestLargeSurfaceFront(depth, camera, options);
  if (std::isnan(front)) return fixed;
  // The fixed range holds the subject whole when its front is nearer than max_depth_m by a
  // head's depth.
  if (in_fixed >= options.auto_range_min_pixels &&
      front + options.auto_head_depth_m <= options.max_depth_m) {
    return fixed;
  }
  return {front, front + options.auto_band_m, true};
}

DepthImage SmoothDepthBilateral(const DepthImage& depth, const DepthPreprocessingOptions& options) {
  options.Check();
  HT_CHECK(depth.channels == 1, "depth has " << depth.channels << " channels, expected 1");
  const int width = depth.width;
  const int height = depth.height;
  const int radius = options.smooth_radius_px;
  const int side = 2 * radius + 1;

  // Inverse depth padded by `radius` on every side, 0 for invalid and outside pixels, and 1 for
  // valid pixels, 0 else.
  const int padded_width = width + 2 * radius;
  const size_t padded_size = static_cast<size_t>(padded_width) * (height + 2 * radius);
  std::vector<float> inverse(padded_size, 0.0f);
  std::vector<float> valid(padded_size, 0.0f);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float z = depth.at(x, y);
      if (!IsValid(z)) continue;
      const size_t index = static_cast<size_t>(y + radius) * padded_width + x + radius;
      inverse[index] = 1.0f / z;
      valid[index] = 1.0f;
    }
  }
  std::vector<float> spatial(static_cast<size_t>(side) * side);
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      const double sigma = options.smooth_sigma_px;
      spatial[(dy + radius) * side + dx + radius] =
          static_cast<float>(std::exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma)));
    }
  }
  const double cutoff = 3.0 * options.smooth_sigma_depth_m;

  DepthImage smoothed(width, height, 1, 0.0f);
#pragma omp parallel num_threads(ThreadCount(options.num_threads))
  {
    // Per pixel of a row: the center's inverse depth, the factor turning a squared inverse-depth
    // difference into (depth difference / cutoff)^2, and the sums of the normal equations of the
    // weighted least-squares fit value ~ a + b dx + c dy (values relative to the center's).
    std::vector<float> center, scale;
    std::array<std::vector<float>, 9> sums;
    enum { kS0, kSx, kSy, kSxx, kSxy, kSyy, kV0, kVx, kVy };
#pragma omp for schedule(dynamic, 8)
    for (int y = 0; y < height; ++y) {
      // The row's valid centers lie in [first, last]; work on that span only, branch-free and
      // vectorized over the pixels of the span.
      const float* row = &inverse[static_cast<size_t>(y + radius) * padded_width + radius];
      int first = 0;
      int last = width - 1;
      while (first < width && row[first] == 0.0f) ++first;
      while (last > first && row[last] == 0.0f) --last;
      if (first >= width) continue;
      const int count = last - first + 1;
      center.assign(row + first, row + last + 1);
      scale.resize(count);
      for (int i = 0; i < count; ++i) {
        // Difference of inverse depths times depth^2: the depth difference, symmetric for
        // neighbours on opposite sides of a plane.
        const double ratio = 1.0 / (static_cast<double>(center[i]) * center[i] * cutoff);
        scale[i] = center[i] > 0.0f ? static_cast<float>(ratio * ratio) : 0.0f;
      }
      for (auto& sum : sums) sum.assign(count, 0.0f);
      for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
          const float spatial_weight = spatial[(dy + radius) * side + dx + radius];
          const size_t start =
              static_cast<size_t>(y + dy + radius) * padded_width + radius + first + dx;
          AccumulateWindowOffset(count, spatial_weight, static_cast<float>(dx),
                                 static_cast<float>(dy), &inverse[start], &valid[start],
                                 center.data(), scale.data(),
                                 sums[kS0].data(), sums[kSx].data(), sums[kSy].data(),
                                 sums[kSxx].data(), sums[kSxy].data(), sums[kSyy].data(),
                                 sums[kV0].data(), sums[kVx].data(), sums[kVy].data());
        }
      }
      for (int i = 0; i < count; ++i) {
        if (center[i] == 0.0f) continue;
        const double s0 = sums[kS0][i], sx = sums[kSx][i], sy = sums[kSy][i];
        const double sxx = sums[kSxx][i], sxy = sums[kSxy][i], syy = sums[kSyy][i];
        const double v0 = sums[kV0][i], vx = sums[kVx][i], vy = sums[kVy][i];
        // The fitted plane at the center (Cramer's rule for a). When the neighbours do not span
        // a plane (a lone pixel, a line of pixels) the depth is kept: a mean would be biased on
        // a slope.
        const double minor = sxx * syy - sxy * sxy;
        const double determinant =
            s0 * minor - sx * (sx * syy - sxy * sy) + sy * (sx * sxy - sxx * sy);
        const int x = first + i;
        if (!(determinant > 1e-6 * s0 * s0 * s0)) {
          smoothed.at(x, y) = depth.at(x, y);
          continue;
        }
        const double offset =
            (v0 * minor - sx * (vx * syy - sxy * vy) + sy * (vx * sxy - sxx * vy)) / determinant;
        const float value = static_cast<float>(1.0 / (center[i] + offset));
        smoothed.at(x, y) = IsValid(value) ? value : depth.at(x, y);
      }
    }
  }
  return smoothed;
}

PointCloud DepthToOrientedPoints(const DepthImage& depth, const PinholeCamera& camera,
                                 const DepthPreprocessingOptions& options,
                                 int* num_sparse_normals) {
  options.Check();
  CheckSizes(depth, camera);
  const int width = depth.width;
  const int height = depth.height;
  PointCloud cloud;
  cloud.width = width;
  cloud.height = height;
  cloud.points.setConstant(static_cast<Eigen::Index>(width) * height, 3, kNaN);
  cloud.normals.setConstant(static_cast<Eigen::Index>(width) * height, 3, kNaN);
  const int num_threads = ThreadCount(options.num_threads);

#pragma omp parallel for schedule(static) num_threads(num_threads)
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float z = depth.at(x, y);
      if (!IsValid(z)) continue;
      cloud.points.row(static_cast<Eigen::Index>(y) * width + x) =
          camera.Unproject<float>(Eigen::Vector2f(x, y), z).transpose();
    }
  }

  int sparse = 0;
  const float max_jump = static_cast<float>(options.normal_max_jump_m);
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : sparse) num_threads(num_threads)
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float z = depth.at(x, y);
      if (!IsValid(z)) continue;
      const auto usable = [&](int qx, int qy) {
        if (qx < 0 || qy < 0 || qx >= width || qy >= height) return false;
        const float qz = depth.at(qx, qy);
        return IsValid(qz) && std::abs(qz - z) <= max_jump;
      };
      const auto point = [&](int qx, int qy) -> Eigen::Vector3f {
        return cloud.points.row(static_cast<Eigen::Index>(qy) * width + qx).transpose();
      };
      // Tangent along one image axis (step dx, dy): central difference, else one-sided.
      const auto tangent = [&](int dx, int dy, Eigen::Vector3f* result) {
        const bool forward = usable(x + dx, y + dy);
        const bool backward = usable(x - dx, y - dy);
        if (!forward && !backward) return false;
        *result = (forward ? point(x + dx, y + dy) : point(x, y)) -
                  (backward ? point(x - dx, y - dy) : point(x, y));
        return true;
      };
      Eigen::Vector3f along_x;
      Eigen::Vector3f along_y;
      Eigen::Vector3f normal = Eigen::Vector3f::Constant(kNaN);
      if (tangent(1, 0, &along_x) && tangent(0, 1, &along_y)) {
        // x right, y down, z forward: y x x points toward the camera on a facing surface.
        const Eigen::Vector3f cross = along_y.cross(along_x);
        const float norm = cross.norm();
        if (norm > 0.0f) normal = cross / norm;
      }
      if (!normal.allFinite() && options.sparse_normal_max_radius_px > 0) {
        normal = SparseNormal(depth, camera, options, x, y);
        if (normal.allFinite()) ++sparse;
      }
      if (!normal.allFinite()) continue;
      if (normal.dot(point(x, y)) > 0.0f) normal = -normal;
      cloud.normals.row(static_cast<Eigen::Index>(y) * width + x) = normal.transpose();
    }
  }
  if (num_sparse_normals != nullptr) *num_sparse_normals = sparse;
  return cloud;
}

PreprocessedDepth PreprocessDepth(const DepthImage& depth, const PinholeCamera& camera,
                                  const DepthPreprocessingOptions& options) {
  const Stopwatch stopwatch;
  options.Check();
  CheckSizes(depth, camera);
  PreprocessedDepth result;
  DepthPreprocessingSummary& summary = result.summary;
  summary.range = ChooseDepthRange(depth, camera, options);

  DepthImage cut(depth.width, depth.height, 1, 0.0f);
  const double radius_squared = options.crop_radius_m * options.crop_radius_m;
  for (int y = 0; y < depth.height; ++y) {
    for (int x = 0; x < depth.width; ++x) {
      const float z = depth.at(x, y);
      if (!IsValid(z)) continue;
      ++summary.valid_pixels;
      if (!InRange(z, summary.range)) continue;
      ++summary.in_range_pixels;
      if (options.crop_radius_m > 0.0 &&
          (camera.Unproject<double>(Eigen::Vector2d(x, y), z) - options.crop_center)
                  .squaredNorm() > radius_squared) {
        ++summary.cropped_pixels;
        continue;
      }
      cut.at(x, y) = z;
    }
  }
  result.depth = options.smooth ? SmoothDepthBilateral(cut, options) : std::move(cut);
  result.cloud =
      DepthToOrientedPoints(result.depth, camera, options, &summary.num_sparse_normals);
  summary.num_points = summary.in_range_pixels - summary.cropped_pixels;
  for (Eigen::Index i = 0; i < result.cloud.normals.rows(); ++i) {
    if (std::isfinite(result.cloud.normals(i, 0))) ++summary.num_normals;
  }
  summary.seconds = stopwatch.seconds();
  return result;
}

}  // namespace headtrack
