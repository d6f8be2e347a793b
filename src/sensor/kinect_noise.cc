#include "sensor/kinect_noise.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "headtrack/error.h"
#include "headtrack/rasterizer.h"
#include "sensor/seed.h"

namespace headtrack {
namespace {

constexpr double kReferenceDepth = 0.4;  // metres: axial_sigma_mm is sigma there

// Marks the pixels of a disc of `radius` pixels around (cx, cy) in `mask` (width x height).
void MarkDisc(int cx, int cy, int radius, int width, int height, std::vector<std::uint8_t>* mask) {
  for (int y = std::max(0, cy - radius); y <= std::min(height - 1, cy + radius); ++y) {
    for (int x = std::max(0, cx - radius); x <= std::min(width - 1, cx + radius); ++x) {
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius) {
        (*mask)[static_cast<size_t>(y) * width + x] = 1;
      }
    }
  }
}

}  // namespace

KinectNoiseOptions KinectNoiseOptions::Off() {
  return {.axial_sigma_mm = 0.0,
          .lateral_jitter_px = 0.0,
          .quantization_m = 0.0,
          .max_incidence_deg = 90.0,
          .drop_edges = false,
          .holes_per_10k_pixels = 0.0,
          .flying_pixel_probability = 0.0};
}

KinectNoiseOptions KinectNoiseOptions::ForNoiseLevel(double axial_sigma_mm) {
  HT_CHECK(axial_sigma_mm >= 0.0 && std::isfinite(axial_sigma_mm),
           "axial sigma " << axial_sigma_mm << " mm");
  if (axial_sigma_mm == 0.0) return Off();
  KinectNoiseOptions options;
  options.axial_sigma_mm = axial_sigma_mm;
  return options;
}

bool KinectNoiseOptions::IsOff() const {
  return axial_sigma_mm == 0.0 && lateral_jitter_px == 0.0 && quantization_m == 0.0 &&
         max_incidence_deg >= 90.0 && !drop_edges && holes_per_10k_pixels == 0.0;
}

void KinectNoiseOptions::Check() const {
  HT_CHECK(axial_sigma_mm >= 0.0 && std::isfinite(axial_sigma_mm),
           "axial_sigma_mm " << axial_sigma_mm);
  HT_CHECK(lateral_jitter_px >= 0.0 && std::isfinite(lateral_jitter_px),
           "lateral_jitter_px " << lateral_jitter_px);
  HT_CHECK(quantization_m >= 0.0 && std::isfinite(quantization_m),
           "quantization_m " << quantization_m);
  HT_CHECK(max_incidence_deg > 0.0 && max_incidence_deg <= 90.0,
           "max_incidence_deg " << max_incidence_deg);
  HT_CHECK(edge_jump_m > 0.0, "edge_jump_m " << edge_jump_m);
  HT_CHECK(holes_per_10k_pixels >= 0.0 && std::isfinite(holes_per_10k_pixels),
           "holes_per_10k_pixels " << holes_per_10k_pixels);
  HT_CHECK(max_hole_radius_px >= 1, "max_hole_radius_px " << max_hole_radius_px);
  HT_CHECK(flying_pixel_probability >= 0.0 && flying_pixel_probability <= 1.0,
           "flying_pixel_probability " << flying_pixel_probability);
}

double AxialNoiseSigma(double depth_m, double axial_sigma_mm) {
  const double relative = depth_m / kReferenceDepth;
  return axial_sigma_mm * 1e-3 * relative * relative;
}

void KinectNoiseSummary::Add(const KinectNoiseSummary& other) {
  covered_pixels += other.covered_pixels;
  hole_pixels += other.hole_pixels;
  edge_pixels += other.edge_pixels;
  grazing_pixels += other.grazing_pixels;
  flying_pixels += other.flying_pixels;
  valid_pixels += other.valid_pixels;
}

SimulatedDepth SimulateKinectDepth(const Rasterization& clean, const PinholeCamera& camera,
                                   const KinectNoiseOptions& options, std::uint64_t seed) {
  options.Check();
  const int width = clean.width();
  const int height = clean.height();
  HT_CHECK(width == camera.width && height == camera.height,
           "rasterization " << width << " x " << height << ", camera " << camera.width << " x "
                            << camera.height);
  const bool uses_normals = options.max_incidence_deg < 90.0 || options.lateral_jitter_px > 0.0;
  HT_CHECK(!uses_normals || !clean.normals.empty(),
           "the rasterization has no normals: enable compute_points_and_normals");

  SimulatedDepth result{.depth = DepthImage(width, height, 1, 0.0f), .summary = {}};
  KinectNoiseSummary& summary = result.summary;
  std::vector<int> covered;  // pixel indices, row-major
  for (int i = 0; i < width * height; ++i) {
    if (clean.triangle_id.pixels[i] >= 0) covered.push_back(i);
  }
  summary.covered_pixels = static_cast<std::int64_t>(covered.size());
  if (options.IsOff()) {
    for (const int i : covered) result.depth.pixels[i] = clean.depth.pixels[i];
    summary.valid_pixels = summary.covered_pixels;
    return result;
  }

  std::mt19937_64 random(internal::MixSeed(seed, 0));
  std::normal_distribution<double> gaussian(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  // 1. Holes: discs around random covered pixels.
  std::vector<std::uint8_t> in_hole(static_cast<size_t>(width) * height, 0);
  if (options.holes_per_10k_pixels > 0.0 && !covered.empty()) {
    std::poisson_distribution<int> hole_count(options.holes_per_10k_pixels * 1e-4 *
                                              static_cast<double>(covered.size()));
    std::uniform_int_distribution<size_t> center(0, covered.size() - 1);
    std::uniform_int_distribution<int> radius(1, options.max_hole_radius_px);
    for (int n = hole_count(random); n > 0; --n) {
      const int i = covered[center(random)];
      MarkDisc(i % width, i / width, radius(random), width, height, &in_hole);
    }
  }

  const double min_cos_incidence = std::cos(options.max_incidence_deg * std::numbers::pi / 180.0);
  // Axial noise and quantization of a depth in metres.
  auto measure = [&](double z) {
    if (options.axial_sigma_mm > 0.0) {
      z += AxialNoiseSigma(z, options.axial_sigma_mm) * gaussian(random);
    }
    if (options.quantization_m > 0.0) {
      z = std::round(z / options.quantization_m) * options.quantization_m;
    }
    return static_cast<float>(std::max(z, 0.0));
  };

  for (const int i : covered) {
    const int x = i % width;
    const int y = i / width;
    const double z = clean.depth.pixels[i];
    if (in_hole[i]) {
      ++summary.hole_pixels;
      continue;
    }

    // 2. Edges: an empty 8-neighbour (silhouette) or a depth jump (the largest one is kept for
    // a flying pixel). Pixels outside the image are not empty: the border is not a silhouette.
    if (options.drop_edges) {
      bool next_to_empty = false;
      double far_depth = z;
      for (int ny = std::max(0, y - 1); ny <= std::min(height - 1, y + 1); ++ny) {
        for (int nx = std::max(0, x - 1); nx <= std::min(width - 1, x + 1); ++nx) {
          if (clean.triangle_id.at(nx, ny) < 0) {
            next_to_empty = true;
            continue;
          }
          const double neighbour = clean.depth.at(nx, ny);
          if (std::abs(neighbour - z) > options.edge_jump_m &&
              std::abs(neighbour - z) > std::abs(far_depth - z)) {
            far_depth = neighbour;
          }
        }
      }
      if (next_to_empty || far_depth != z) {
        if (!next_to_empty && options.flying_pixel_probability > 0.0 &&
            uniform(random) < options.flying_pixel_probability) {
          result.depth.pixels[i] = measure(z + uniform(random) * (far_depth - z));
          ++summary.flying_pixels;
        } else {
          ++summary.edge_pixels;
        }
        continue;
      }
    }

    // 3. Grazing angles. ray: the view ray through the pixel center, z component 1.
    const Eigen::Vector3d ray((x - camera.cx) / camera.fx, (y - camera.cy) / camera.fy, 1.0);
    const Eigen::Vector3d normal = uses_normals
                                       ? Eigen::Vector3d(clean.normal_at(x, y).cast<double>())
                                       : Eigen::Vector3d::Zero();
    if (options.max_incidence_deg < 90.0 &&
        std::abs(normal.dot(ray)) < min_cos_incidence * ray.norm()) {
      ++summary.grazing_pixels;
      continue;
    }

    // 4. Lateral jitter: the surface plane through the pixel's point, seen along a shifted ray
    // (z' = z * (n . ray) / (n . shifted ray)). Shifts that change the depth by more than 10 %
    // (only near grazing incidence, where the plane is no longer the surface) are not applied.
    double jittered = z;
    if (options.lateral_jitter_px > 0.0) {
      const double dx = std::clamp(options.lateral_jitter_px * gaussian(random), -0.5, 0.5);
      const double dy = std::clamp(options.lateral_jitter_px * gaussian(random), -0.5, 0.5);
      const Eigen::Vector3d shifted = ray + Eigen::Vector3d(dx / camera.fx, dy / camera.fy, 0.0);
      const double ratio = normal.dot(ray) / normal.dot(shifted);
      if (ratio > 0.9 && ratio < 1.1) jittered = z * ratio;
    }

    // 5. and 6.
    result.depth.pixels[i] = measure(jittered);
  }
  for (const int i : covered) summary.valid_pixels += result.depth.pixels[i] > 0.0f ? 1 : 0;
  return result;
}

int KeepRandomPixels(int count, std::uint64_t seed, DepthImage* depth) {
  HT_CHECK(depth != nullptr && count >= 0, "count " << count);
  std::vector<size_t> valid;
  for (size_t i = 0; i < depth->pixels.size(); ++i) {
    if (depth->pixels[i] != 0.0f) valid.push_back(i);
  }
  if (static_cast<size_t>(count) >= valid.size()) return static_cast<int>(valid.size());
  // A partial Fisher-Yates shuffle: the first `count` entries are a uniform random subset.
  std::mt19937_64 random(internal::MixSeed(seed, 1));
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    std::swap(valid[i], valid[std::uniform_int_distribution<size_t>(i, valid.size() - 1)(random)]);
  }
  for (size_t i = count; i < valid.size(); ++i) depth->pixels[valid[i]] = 0.0f;
  return count;
}

}  // namespace headtrack
