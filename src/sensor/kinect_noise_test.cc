#include "sensor/kinect_noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "headtrack/rasterizer.h"

namespace headtrack {
namespace {

// Half the Azure Kinect NFOV resolution: enough pixels for tight statistics, fast.
PinholeCamera SmallCamera() {
  return {.fx = 252.0, .fy = 252.0, .cx = 159.5, .cy = 143.5, .width = 320, .height = 288};
}

struct Scene {
  Points3f vertices;  // camera frame, metres
  Triangles faces;
};

// Adds the parallelogram corner, corner + u, corner + u + w, corner + w; its front face (seen
// from the camera) has the normal u x w.
void AddQuad(const Eigen::Vector3f& corner, const Eigen::Vector3f& u, const Eigen::Vector3f& w,
             Scene* scene) {
  const int base = static_cast<int>(scene->vertices.rows());
  scene->vertices.conservativeResize(base + 4, 3);
  scene->vertices.row(base) = corner.transpose();
  scene->vertices.row(base + 1) = (corner + u).transpose();
  scene->vertices.row(base + 2) = (corner + u + w).transpose();
  scene->vertices.row(base + 3) = (corner + w).transpose();
  const int face = static_cast<int>(scene->faces.rows());
  scene->faces.conservativeResize(face + 2, 3);
  scene->faces.row(face) << base, base + 1, base + 2;
  scene->faces.row(face + 1) << base, base + 2, base + 3;
}

// A fronto-parallel square of half-size `half` (metres) centered on the optical axis at depth z.
void AddFrontalSquare(float z, float half, Scene* scene) {
  AddQuad({-half, -half, z}, {0, 2 * half, 0}, {2 * half, 0, 0}, scene);
}

Rasterization Render(const Scene& scene, const PinholeCamera& camera = SmallCamera()) {
  Rasterizer rasterizer;
  Rasterization rasterization;
  rasterizer.Rasterize(camera, scene.vertices, scene.faces, &rasterization);
  return rasterization;
}

struct Statistics {
  int count = 0;
  double mean = 0.0;
  double std = 0.0;
  double within_one_sigma = 0.0;  // fraction with |x - mean| < reference sigma
};

// Statistics of measured - true over the valid pixels.
Statistics ErrorStatistics(const DepthImage& measured, double true_depth, double sigma) {
  std::vector<double> errors;
  for (const float z : measured.pixels) {
    if (z > 0.0f) errors.push_back(z - true_depth);
  }
  Statistics statistics;
  statistics.count = static_cast<int>(errors.size());
  for (const double e : errors) statistics.mean += e / errors.size();
  double squares = 0.0;
  int within = 0;
  for (const double e : errors) {
    squares += (e - statistics.mean) * (e - statistics.mean);
    within += std::abs(e - statistics.mean) < sigma ? 1 : 0;
  }
  statistics.std = std::sqrt(squares / (errors.size() - 1));
  statistics.within_one_sigma = static_cast<double>(within) / errors.size();
  return statistics;
}

TEST(AxialNoiseSigma, GrowsWithTheSquareOfDepth) {
  EXPECT_DOUBLE_EQ(AxialNoiseSigma(0.4, 1.0), 0.001);
  EXPECT_DOUBLE_EQ(AxialNoiseSigma(0.8, 1.0), 0.004);
  EXPECT_DOUBLE_EQ(AxialNoiseSigma(0.2, 2.0), 0.0005);
  EXPECT_DOUBLE_EQ(AxialNoiseSigma(0.6, 0.0), 0.0);
}

TEST(KinectNoiseOptions, ZeroNoiseLevelTurnsEverythingOff) {
  EXPECT_TRUE(KinectNoiseOptions::ForNoiseLevel(0.0).IsOff());
  EXPECT_TRUE(KinectNoiseOptions::Off().IsOff());
  const KinectNoiseOptions options = KinectNoiseOptions::ForNoiseLevel(0.5);
  EXPECT_FALSE(options.IsOff());
  EXPECT_EQ(options.axial_sigma_mm, 0.5);
  EXPECT_EQ(options.max_incidence_deg, KinectNoiseOptions().max_incidence_deg);
  KinectNoiseOptions bad;
  bad.axial_sigma_mm = -1.0;
  EXPECT_THROW(bad.Check(), CheckError);
  bad = {};
  bad.flying_pixel_probability = 1.5;
  EXPECT_THROW(bad.Check(), CheckError);
}

// On a fronto-parallel plane the lateral jitter changes nothing, so the measured depth is the
// true depth plus the axial noise, then rounded: its standard deviation is sigma(z), or with
// 1 mm quantization sqrt(sigma(z)^2 + q^2 / 12) (Sheppard's correction, exact to ~1e-8 here).
TEST(SimulateKinectDepth, NoiseOnAPlaneMatchesTheAxialModel) {
  for (const float z : {0.4f, 0.8f}) {
    for (const bool quantized : {false, true}) {
      Scene scene;
      AddFrontalSquare(z, z, &scene);  // fills the image
      const Rasterization clean = Render(scene);
      KinectNoiseOptions options = KinectNoiseOptions::ForNoiseLevel(1.0);
      if (!quantized) options.quantization_m = 0.0;
      const SimulatedDepth simulated = SimulateKinectDepth(clean, SmallCamera(), options, 7);

      const double sigma = AxialNoiseSigma(z, 1.0);
      const double q = options.quantization_m;
      const double expected_std = std::sqrt(sigma * sigma + q * q / 12.0);
      const Statistics statistics = ErrorStatistics(simulated.depth, z, expected_std);
      SCOPED_TRACE(::testing::Message() << "z " << z << " quantized " << quantized);
      EXPECT_GT(statistics.count, 80000);
      EXPECT_EQ(statistics.count, simulated.summary.valid_pixels);
      EXPECT_NEAR(statistics.std / expected_std, 1.0, 0.02);
      EXPECT_NEAR(statistics.mean, 0.0, 4.0 * expected_std / std::sqrt(statistics.count));
      if (!quantized) {
        EXPECT_NEAR(statistics.within_one_sigma, 0.6827, 0.01);  // Gaussian
      } else {
        for (const float measured : simulated.depth.pixels) {
          if (measured == 0.0f) continue;
          ASSERT_NEAR(measured * 1000.0, std::round(measured * 1000.0), 1e-3) << measured;
        }
      }
    }
  }
}

TEST(SimulateKinectDepth, OffReproducesTheCleanDepthExactly) {
  Scene scene;
  AddFrontalSquare(0.6f, 0.3f, &scene);
  AddFrontalSquare(0.4f, 0.05f, &scene);
  AddQuad({0.02f, 0.02f, 0.35f}, {0.0f, 0.05f, 0.04f}, {0.05f, 0.0f, 0.0f}, &scene);  // tilted
  const Rasterization clean = Render(scene);
  const SimulatedDepth simulated =
      SimulateKinectDepth(clean, SmallCamera(), KinectNoiseOptions::ForNoiseLevel(0.0), 3);
  EXPECT_EQ(simulated.depth.pixels, clean.depth.pixels);
  EXPECT_EQ(simulated.summary.valid_pixels, clean.num_covered_pixels);
  EXPECT_EQ(simulated.summary.covered_pixels, clean.num_covered_pixels);
}

TEST(SimulateKinectDepth, SameSeedSameOutputOtherSeedOtherOutput) {
  Scene scene;
  AddFrontalSquare(0.6f, 0.3f, &scene);
  AddFrontalSquare(0.4f, 0.05f, &scene);
  const Rasterization clean = Render(scene);
  KinectNoiseOptions options;
  options.flying_pixel_probability = 0.5;
  const SimulatedDepth a = SimulateKinectDepth(clean, SmallCamera(), options, 11);
  const SimulatedDepth b = SimulateKinectDepth(clean, SmallCamera(), options, 11);
  const SimulatedDepth c = SimulateKinectDepth(clean, SmallCamera(), options, 12);
  EXPECT_EQ(a.depth.pixels, b.depth.pixels);
  EXPECT_NE(a.depth.pixels, c.depth.pixels);
  int differing = 0;
  for (size_t i = 0; i < a.depth.pixels.size(); ++i) {
    differing += a.depth.pixels[i] != c.depth.pixels[i] ? 1 : 0;
  }
  EXPECT_GT(differing, a.summary.valid_pixels / 2);
}

// A plane tilted by 78 degrees about the camera's x axis: the incidence angle varies across the
// image from well below to well above the threshold. Every pixel is checked against the angle
// computed from the plane's normal and the pixel's view ray.
TEST(SimulateKinectDepth, GrazingDropoutHappensBeyondTheThresholdOnly) {
  const double tilt = 78.0 * std::numbers::pi / 180.0;
  const Eigen::Vector3f along_x(0.2f, 0.0f, 0.0f);
  const Eigen::Vector3f down_slope =
      0.6f *
      Eigen::Vector3f(0.0f, static_cast<float>(std::cos(tilt)), static_cast<float>(std::sin(tilt)));
  Scene scene;
  AddQuad(Eigen::Vector3f(0.0f, 0.0f, 0.4f) - 0.5f * (along_x + down_slope), down_slope, along_x,
          &scene);
  const Eigen::Vector3d normal = down_slope.cross(along_x).normalized().cast<double>();
  const PinholeCamera camera = SmallCamera();
  const Rasterization clean = Render(scene, camera);

  KinectNoiseOptions options = KinectNoiseOptions::Off();
  options.max_incidence_deg = 78.0;
  const SimulatedDepth simulated = SimulateKinectDepth(clean, camera, options, 1);
  int below = 0;
  int beyond = 0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      if (!clean.covered(x, y)) continue;
      const Eigen::Vector3d ray((x - camera.cx) / camera.fx, (y - camera.cy) / camera.fy, 1.0);
      const double angle =
          std::acos(std::abs(normal.dot(ray.normalized()))) * 180.0 / std::numbers::pi;
      if (std::abs(angle - 78.0) < 0.01) continue;  // float normals: too close to call
      const bool valid = simulated.depth.at(x, y) > 0.0f;
      EXPECT_EQ(valid, angle < 78.0) << x << " " << y << " angle " << angle;
      (valid ? below : beyond) += 1;
      if (valid) {
        EXPECT_EQ(simulated.depth.at(x, y), clean.depth.at(x, y));
      }
    }
  }
  EXPECT_GT(below, 1000);
  EXPECT_GT(beyond, 1000);
  EXPECT_EQ(simulated.summary.grazing_pixels + simulated.summary.valid_pixels,
            clean.num_covered_pixels);
}

// A small square in front of a large one: pixels on the silhouette (next to empty pixels) and on
// both sides of the 20 cm step lose their measurement; flying pixels fill the step only.
TEST(SimulateKinectDepth, EdgesAreDroppedOrFlyBetweenTheSurfaces) {
  Scene scene;
  AddFrontalSquare(0.6f, 0.2f, &scene);
  AddFrontalSquare(0.4f, 0.05f, &scene);
  const PinholeCamera camera = SmallCamera();
  const Rasterization clean = Render(scene, camera);

  // Reference: the 8-neighbourhood of every covered pixel.
  auto classify = [&](int x, int y, bool* next_to_empty, bool* on_step) {
    *next_to_empty = *on_step = false;
    for (int ny = y - 1; ny <= y + 1; ++ny) {
      for (int nx = x - 1; nx <= x + 1; ++nx) {
        if (nx < 0 || ny < 0 || nx >= camera.width || ny >= camera.height) continue;
        if (!clean.covered(nx, ny))
          *next_to_empty = true;
        else if (std::abs(clean.depth.at(nx, ny) - clean.depth.at(x, y)) > 0.01f)
          *on_step = true;
      }
    }
  };

  KinectNoiseOptions options = KinectNoiseOptions::Off();
  options.drop_edges = true;
  const SimulatedDepth dropped = SimulateKinectDepth(clean, camera, options, 5);
  options.flying_pixel_probability = 1.0;
  const SimulatedDepth flying = SimulateKinectDepth(clean, camera, options, 5);
  int silhouette = 0;
  int step = 0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      if (!clean.covered(x, y)) continue;
      bool next_to_empty = false;
      bool on_step = false;
      classify(x, y, &next_to_empty, &on_step);
      const float without = dropped.depth.at(x, y);
      const float with = flying.depth.at(x, y);
      if (next_to_empty) {
        ++silhouette;
        EXPECT_EQ(without, 0.0f);
        EXPECT_EQ(with, 0.0f);
      } else if (on_step) {
        ++step;
        EXPECT_EQ(without, 0.0f);
        EXPECT_GE(with, 0.4f);
        EXPECT_LE(with, 0.6f);
      } else {
        EXPECT_EQ(without, clean.depth.at(x, y));
        EXPECT_EQ(with, clean.depth.at(x, y));
      }
    }
  }
  EXPECT_GT(silhouette, 500);
  EXPECT_GT(step, 500);
  EXPECT_EQ(dropped.summary.edge_pixels, silhouette + step);
  EXPECT_EQ(flying.summary.flying_pixels, step);
  EXPECT_EQ(flying.summary.edge_pixels, silhouette);
}

TEST(SimulateKinectDepth, HolesAreSmallDiscs) {
  Scene scene;
  AddFrontalSquare(0.5f, 0.5f, &scene);
  const Rasterization clean = Render(scene);
  KinectNoiseOptions options = KinectNoiseOptions::Off();
  options.holes_per_10k_pixels = 5.0;  // about 46 holes of 5, 13 or 29 pixels
  const SimulatedDepth simulated = SimulateKinectDepth(clean, SmallCamera(), options, 9);
  const KinectNoiseSummary& summary = simulated.summary;
  EXPECT_EQ(summary.covered_pixels, 320 * 288);
  EXPECT_EQ(summary.hole_pixels + summary.valid_pixels, summary.covered_pixels);
  EXPECT_GT(summary.hole_pixels, 200);
  EXPECT_LT(summary.hole_pixels, 2000);
  // Holes are discs, never lone pixels: every hole pixel has a hole pixel next to it.
  for (int y = 0; y < 288; ++y) {
    for (int x = 0; x < 320; ++x) {
      if (simulated.depth.at(x, y) > 0.0f) {
        EXPECT_EQ(simulated.depth.at(x, y), clean.depth.at(x, y));
        continue;
      }
      int neighbours = 0;
      for (int ny = std::max(0, y - 1); ny <= std::min(287, y + 1); ++ny) {
        for (int nx = std::max(0, x - 1); nx <= std::min(319, x + 1); ++nx) {
          neighbours += (nx != x || ny != y) && simulated.depth.at(nx, ny) == 0.0f ? 1 : 0;
        }
      }
      EXPECT_GE(neighbours, 1) << x << " " << y;
    }
  }
}

TEST(KeepRandomPixels, LeavesExactlyTheRequestedNumber) {
  DepthImage depth(40, 30);
  for (size_t i = 0; i < depth.pixels.size(); ++i) depth.pixels[i] = i % 3 == 0 ? 0.0f : 0.3f + i;
  const DepthImage original = depth;
  const int valid = 800;  // 1200 pixels, a third of them empty

  DepthImage sparse = depth;
  EXPECT_EQ(KeepRandomPixels(250, 4, &sparse), 250);
  int kept = 0;
  for (size_t i = 0; i < sparse.pixels.size(); ++i) {
    if (sparse.pixels[i] == 0.0f) continue;
    ++kept;
    EXPECT_EQ(sparse.pixels[i], original.pixels[i]);
  }
  EXPECT_EQ(kept, 250);

  DepthImage other = depth;
  KeepRandomPixels(250, 5, &other);
  EXPECT_NE(other.pixels, sparse.pixels);
  DepthImage same = depth;
  KeepRandomPixels(250, 4, &same);
  EXPECT_EQ(same.pixels, sparse.pixels);

  EXPECT_EQ(KeepRandomPixels(valid + 1, 4, &depth), valid);
  EXPECT_EQ(depth.pixels, original.pixels);
  EXPECT_EQ(KeepRandomPixels(0, 4, &depth), 0);
  for (const float z : depth.pixels) EXPECT_EQ(z, 0.0f);
}

}  // namespace
}  // namespace headtrack
