#include "headtrack/depth_preprocessing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "headtrack/calibration.h"
#include "headtrack/error.h"
#include "headtrack/sequence.h"

namespace headtrack {
namespace {

const std::string kShared = HEADTRACK_DATA_DIR;

PinholeCamera SmallCamera() {
  PinholeCamera camera;
  camera.fx = 200.0;
  camera.fy = 200.0;
  camera.cx = 79.5;
  camera.cy = 59.5;
  camera.width = 160;
  camera.height = 120;
  return camera;
}

// The ray through pixel (x, y) with z component 1.
Eigen::Vector3d Ray(const PinholeCamera& camera, int x, int y) {
  return {(x - camera.cx) / camera.fx, (y - camera.cy) / camera.fy, 1.0};
}

// Depth of a surface given by its ray intersection (depth along z, or nullopt).
DepthImage RenderDepth(const PinholeCamera& camera,
                       const std::function<std::optional<double>(const Eigen::Vector3d&)>& hit) {
  DepthImage depth(camera.width, camera.height, 1, 0.0f);
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      if (const auto z = hit(Ray(camera, x, y))) depth.at(x, y) = static_cast<float>(*z);
    }
  }
  return depth;
}

// The plane n . p = offset (n unit, toward the camera: n . p < 0 in front, so offset < 0).
std::function<std::optional<double>(const Eigen::Vector3d&)> Plane(const Eigen::Vector3d& normal,
                                                                   double offset) {
  return [=](const Eigen::Vector3d& ray) -> std::optional<double> {
    const double denominator = normal.dot(ray);
    if (std::abs(denominator) < 1e-12) return std::nullopt;
    const double z = offset / denominator;
    return z > 0.0 ? std::optional<double>(z) : std::nullopt;
  };
}

std::function<std::optional<double>(const Eigen::Vector3d&)> Sphere(const Eigen::Vector3d& center,
                                                                    double radius) {
  return [=](const Eigen::Vector3d& ray) -> std::optional<double> {
    // |t ray - c|^2 = r^2, nearest t.
    const double a = ray.squaredNorm();
    const double b = -2.0 * ray.dot(center);
    const double c = center.squaredNorm() - radius * radius;
    const double discriminant = b * b - 4.0 * a * c;
    if (discriminant < 0.0) return std::nullopt;
    return (-b - std::sqrt(discriminant)) / (2.0 * a);
  };
}

double AngleDeg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  return std::acos(std::clamp(a.normalized().dot(b.normalized()), -1.0, 1.0)) * 180.0 / M_PI;
}

Eigen::Vector3d Row(const Points3f& points, int index) {
  return points.row(index).transpose().cast<double>();
}

bool SameOrBothNaN(const Points3f& a, const Points3f& b) {
  return a.rows() == b.rows() &&
         (a.array() == b.array() || (a.array().isNaN() && b.array().isNaN())).all();
}

// Tilted plane: normal rotated 40 degrees about y and 20 about x, through (0, 0, 0.4).
Eigen::Vector3d TiltedNormal() {
  return (Eigen::AngleAxisd(40.0 * M_PI / 180.0, Eigen::Vector3d::UnitY()) *
          Eigen::AngleAxisd(20.0 * M_PI / 180.0, Eigen::Vector3d::UnitX()) *
          Eigen::Vector3d(0.0, 0.0, -1.0))
      .normalized();
}

TEST(DepthPreprocessing, PlaneNormalsEqualThePlaneNormalAndPointsStayOnThePlane) {
  const PinholeCamera camera = SmallCamera();
  const Eigen::Vector3d normal = TiltedNormal();
  const double offset = normal.dot(Eigen::Vector3d(0.0, 0.0, 0.4));
  DepthImage depth = RenderDepth(camera, Plane(normal, offset));
  // Holes: smoothing and normals next to them must still be exact on a plane.
  for (int y = 30; y < 40; ++y) {
    for (int x = 50; x < 57; ++x) depth.at(x, y) = 0.0f;
  }
  DepthPreprocessingOptions options;
  options.max_depth_m = 2.0;
  const PreprocessedDepth result = PreprocessDepth(depth, camera, options);
  ASSERT_TRUE(result.cloud.is_organized());
  int checked = 0;
  for (int i = 0; i < result.cloud.size(); ++i) {
    if (depth.pixels[i] == 0.0f) {
      EXPECT_TRUE(std::isnan(result.cloud.points(i, 0))) << i;
      continue;
    }
    ASSERT_TRUE(std::isfinite(result.cloud.normals(i, 0))) << i;
    EXPECT_LT(AngleDeg(Row(result.cloud.normals, i), normal), 0.01) << i;
    EXPECT_NEAR(normal.dot(Row(result.cloud.points, i)) - offset, 0.0, 2e-6) << i;
    ++checked;
  }
  EXPECT_EQ(checked, result.summary.num_normals);
  EXPECT_EQ(result.summary.num_sparse_normals, 0);
}

TEST(DepthPreprocessing, SphereNormalsAreRadialAndFaceTheCamera) {
  const PinholeCamera camera = SmallCamera();
  const Eigen::Vector3d center(0.01, -0.02, 0.45);
  const double radius = 0.1;
  const DepthImage depth = RenderDepth(camera, Sphere(center, radius));
  DepthPreprocessingOptions options;
  options.smooth = false;
  const PointCloud cloud = DepthToOrientedPoints(depth, camera, options);
  int checked = 0;
  for (int i = 0; i < cloud.size(); ++i) {
    if (depth.pixels[i] == 0.0f) continue;
    const Eigen::Vector3d point = Row(cloud.points, i);
    const Eigen::Vector3d radial = (point - center).normalized();
    EXPECT_NEAR((point - center).norm(), radius, 1e-6);
    // Exclude the silhouette ring, where the view ray grazes the sphere.
    if (-radial.dot(point.normalized()) < 0.3) continue;
    ASSERT_TRUE(std::isfinite(cloud.normals(i, 0)));
    EXPECT_LT(Row(cloud.normals, i).dot(point), 0.0) << "normal faces away from the camera";
    EXPECT_LT(AngleDeg(Row(cloud.normals, i), radial), 1.0) << i;
    ++checked;
  }
  EXPECT_GT(checked, 2000);
}

TEST(DepthPreprocessing, RangeCutIsExactAndInclusive) {
  const PinholeCamera camera = SmallCamera();
  DepthImage depth(camera.width, camera.height, 1, 0.0f);
  const float depths[] = {0.05f, 0.0999f, 0.1f, 0.3f, 0.6f, 0.6001f, 0.9f};
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) depth.at(x, y) = depths[(x / 4 + y) % 7];
  }
  DepthPreprocessingOptions options;
  options.smooth = false;
  const PreprocessedDepth result = PreprocessDepth(depth, camera, options);
  EXPECT_FALSE(result.summary.range.automatic);
  int kept = 0;
  for (size_t i = 0; i < depth.pixels.size(); ++i) {
    const float z = depth.pixels[i];
    const bool expected = z >= 0.1f && z <= 0.6f;
    EXPECT_EQ(result.depth.pixels[i] != 0.0f, expected) << z;
    EXPECT_EQ(std::isfinite(result.cloud.points(static_cast<int>(i), 2)), expected) << z;
    if (expected) {
      EXPECT_EQ(result.depth.pixels[i], z);
      EXPECT_EQ(result.cloud.points(static_cast<int>(i), 2), z);
    }
    kept += expected;
  }
  EXPECT_EQ(result.summary.in_range_pixels, kept);
  EXPECT_EQ(result.summary.num_points, kept);
  EXPECT_EQ(result.summary.valid_pixels, camera.width * camera.height);
}

TEST(DepthPreprocessing, InvalidPixelsStayInvalidAndNeverBleed) {
  const PinholeCamera camera = SmallCamera();
  const DepthImage clean = RenderDepth(camera, Plane(TiltedNormal(), -0.35));
  DepthImage depth = clean;
  std::mt19937 random(5);
  std::uniform_int_distribution<int> pixel(0, camera.width * camera.height - 1);
  const float invalid[] = {0.0f, -0.2f, std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::infinity()};
  for (int i = 0; i < 3000; ++i) depth.pixels[pixel(random)] = invalid[i % 4];
  DepthPreprocessingOptions options;
  options.max_depth_m = 2.0;
  const PreprocessedDepth result = PreprocessDepth(depth, camera, options);
  for (size_t i = 0; i < depth.pixels.size(); ++i) {
    const bool valid = std::isfinite(depth.pixels[i]) && depth.pixels[i] > 0.0f;
    EXPECT_EQ(result.depth.pixels[i] != 0.0f, valid) << i;
    EXPECT_EQ(std::isfinite(result.cloud.points(static_cast<int>(i), 0)), valid) << i;
    if (!valid) {
      EXPECT_TRUE(std::isnan(result.cloud.normals(static_cast<int>(i), 0))) << i;
    } else {
      // An invalid pixel read as depth 0 (or NaN) would drag its neighbours far off the plane.
      EXPECT_NEAR(result.depth.pixels[i], clean.pixels[i], 1e-5f) << i;
    }
  }
}

// Two fronto-parallel planes, 0.40 m left of column 80 and 0.42 m right of it, with noise.
struct StepScene {
  DepthImage depth;
  DepthImage truth;
};
StepScene NoisyStep(const PinholeCamera& camera, double sigma_m, std::uint32_t seed) {
  StepScene scene{DepthImage(camera.width, camera.height, 1, 0.0f),
                  DepthImage(camera.width, camera.height, 1, 0.0f)};
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, sigma_m);
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const double z = x < 80 ? 0.40 : 0.42;
      scene.truth.at(x, y) = static_cast<float>(z);
      scene.depth.at(x, y) = static_cast<float>(z + noise(random));
    }
  }
  return scene;
}

TEST(DepthPreprocessing, BilateralKeepsAStepEdgeSharp) {
  const PinholeCamera camera = SmallCamera();
  const StepScene scene = NoisyStep(camera, 0.0005, 1);
  DepthPreprocessingOptions options;
  const DepthImage smoothed = SmoothDepthBilateral(scene.depth, options);
  // The columns next to the edge keep their own plane's depth on average (a 2 cm step is 10
  // range sigmas: the other side never contributes). Each column's mean error must stay far
  // below the 1 mm a plain Gaussian blur of the same width gives there.
  for (int x = 77; x <= 82; ++x) {
    double error = 0.0;
    for (int y = 0; y < camera.height; ++y) error += smoothed.at(x, y) - scene.truth.at(x, y);
    EXPECT_LT(std::abs(error / camera.height), 1e-4) << "column " << x;
  }
  // The same filter with a range sigma far above the step blurs it: the test can fail.
  options.smooth_sigma_depth_m = 1.0;
  const DepthImage blurred = SmoothDepthBilateral(scene.depth, options);
  double error = 0.0;
  for (int y = 0; y < camera.height; ++y) error += blurred.at(79, y) - scene.truth.at(79, y);
  EXPECT_GT(std::abs(error / camera.height), 1e-3);
}

TEST(DepthPreprocessing, BilateralReducesNoiseOnAPlane) {
  const PinholeCamera camera = SmallCamera();
  const double sigma = 0.001;
  const StepScene scene = NoisyStep(camera, sigma, 2);
  const DepthImage smoothed = SmoothDepthBilateral(scene.depth, {});
  double sum = 0.0;
  double sum_squares = 0.0;
  int count = 0;
  for (int y = 5; y < camera.height - 5; ++y) {
    for (int x = 5; x < 70; ++x) {  // the left plane, away from the step and the border
      const double error = smoothed.at(x, y) - scene.truth.at(x, y);
      sum += error;
      sum_squares += error * error;
      ++count;
    }
  }
  const double mean = sum / count;
  const double deviation = std::sqrt(sum_squares / count - mean * mean);
  EXPECT_LT(std::abs(mean), 0.05 * sigma);
  EXPECT_LT(deviation, 0.35 * sigma);
}

TEST(DepthPreprocessing, AutomaticRangeKeepsTheNearestLargeSurfaceWhenTheHeadIsFar) {
  const PinholeCamera camera = SmallCamera();
  // A head-sized sphere whose front is at 0.7 m before a wall at 2 m, and a small speck at 0.5 m.
  const auto sphere = Sphere(Eigen::Vector3d(0.0, 0.0, 0.8), 0.1);
  const auto wall = Plane(Eigen::Vector3d(0.0, 0.0, -1.0), -2.0);
  DepthImage depth = RenderDepth(camera, [&](const Eigen::Vector3d& ray) {
    const auto z = sphere(ray);
    return z ? z : wall(ray);
  });
  for (int y = 5; y < 8; ++y) {
    for (int x = 5; x < 8; ++x) depth.at(x, y) = 0.5f;
  }
  float front = 1e9f;
  for (const float z : depth.pixels) {
    if (z > 0.6f) front = std::min(front, z);
  }
  const DepthRange range = ChooseDepthRange(depth, camera);
  EXPECT_TRUE(range.automatic);
  EXPECT_EQ(range.min_m, front);
  EXPECT_DOUBLE_EQ(range.max_m, front + 0.3);

  // The fixed range when it keeps enough, and when asked to.
  DepthPreprocessingOptions options;
  options.max_depth_m = 1.0;
  EXPECT_FALSE(ChooseDepthRange(depth, camera, options).automatic);
  options.max_depth_m = 0.6;
  options.auto_range = false;
  EXPECT_FALSE(ChooseDepthRange(depth, camera, options).automatic);
}

TEST(DepthPreprocessing, RealKinectFrameAtSeventyCentimetresGetsAnAutomaticRange) {
  const Sequence sequence = Sequence::Open(kShared + "/data/kinect_person");
  const SequenceFrame frame = sequence.ReadFrame(0);
  const PreprocessedDepth result = PreprocessDepth(frame.depth, sequence.calibration().camera);
  EXPECT_TRUE(result.summary.range.automatic);
  // The person (from about 0.6 m) is kept, the room behind (from 1.2 m) is not.
  EXPECT_GT(result.summary.range.min_m, 0.55);
  EXPECT_LT(result.summary.range.min_m, 0.7);
  EXPECT_LT(result.summary.range.max_m, 1.2);
  EXPECT_GT(result.summary.num_points, 20000);
  EXPECT_GT(result.summary.num_normals, 0.95 * result.summary.num_points);
}

TEST(DepthPreprocessing, CropKeepsExactlyThePointsInTheBall) {
  const PinholeCamera camera = SmallCamera();
  const DepthImage depth = RenderDepth(camera, Plane(TiltedNormal(), -0.35));
  DepthPreprocessingOptions options;
  options.smooth = false;
  options.max_depth_m = 2.0;
  options.crop_center = camera.Unproject<double>(Eigen::Vector2d(90, 50), depth.at(90, 50));
  options.crop_radius_m = 0.05;
  const PreprocessedDepth result = PreprocessDepth(depth, camera, options);
  int kept = 0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const Eigen::Vector3d point =
          camera.Unproject<double>(Eigen::Vector2d(x, y), depth.at(x, y));
      const bool inside = (point - options.crop_center).norm() <= options.crop_radius_m;
      EXPECT_EQ(std::isfinite(result.cloud.points(y * camera.width + x, 0)), inside);
      kept += inside;
    }
  }
  EXPECT_GT(kept, 100);
  EXPECT_EQ(result.summary.num_points, kept);
  EXPECT_EQ(result.summary.cropped_pixels, result.summary.in_range_pixels - kept);
}

TEST(DepthPreprocessing, SparseDepthGetsNormalsFromAWindowPlaneFit) {
  const PinholeCamera camera = SmallCamera();
  const Eigen::Vector3d normal = TiltedNormal();
  const DepthImage dense = RenderDepth(camera, Plane(normal, -0.35));
  const Eigen::Vector3d center(0.0, 0.0, 0.5);
  const DepthImage dense_sphere = RenderDepth(camera, Sphere(center, 0.15));
  DepthImage sparse(camera.width, camera.height, 1, 0.0f);
  DepthImage sparse_sphere = sparse;
  std::mt19937 random(3);
  std::uniform_int_distribution<int> pixel(0, camera.width * camera.height - 1);
  for (int i = 0; i < 400; ++i) {  // 2 % of the pixels
    const int index = pixel(random);
    sparse.pixels[index] = dense.pixels[index];
    sparse_sphere.pixels[index] = dense_sphere.pixels[index];
  }
  int sparse_normals = 0;
  const PointCloud plane = DepthToOrientedPoints(sparse, camera, {}, &sparse_normals);
  const PointCloud sphere = DepthToOrientedPoints(sparse_sphere, camera, {});
  int plane_checked = 0;
  int sphere_checked = 0;
  double sphere_error = 0.0;
  for (int i = 0; i < plane.size(); ++i) {
    if (sparse.pixels[i] == 0.0f) continue;
    ASSERT_TRUE(std::isfinite(plane.normals(i, 0))) << i;
    EXPECT_LT(AngleDeg(Row(plane.normals, i), normal), 0.01);
    ++plane_checked;
    if (sparse_sphere.pixels[i] == 0.0f) continue;
    const Eigen::Vector3d point = Row(sphere.points, i);
    const Eigen::Vector3d radial = (point - center).normalized();
    if (-radial.dot(point.normalized()) < 0.5 || !std::isfinite(sphere.normals(i, 0))) continue;
    // A plane fitted to a patch of the sphere: approximate.
    const double error = AngleDeg(Row(sphere.normals, i), radial);
    EXPECT_LT(error, 15.0);
    sphere_error += error;
    ++sphere_checked;
  }
  EXPECT_GT(sparse_normals, 0.95 * plane_checked);  // a few pixels happen to have neighbours
  EXPECT_GT(plane_checked, 350);
  EXPECT_GT(sphere_checked, 100);
  EXPECT_LT(sphere_error / sphere_checked, 5.0);
  // Turned off, sparse pixels keep their points but have no normal.
  DepthPreprocessingOptions options;
  options.sparse_normal_max_radius_px = 0;
  const PointCloud without = DepthToOrientedPoints(sparse, camera, options);
  for (int i = 0; i < without.size(); ++i) {
    if (sparse.pixels[i] == 0.0f) continue;
    EXPECT_TRUE(std::isfinite(without.points(i, 0)));
  }
}

TEST(DepthPreprocessing, ResultDoesNotDependOnTheThreadCount) {
  const PinholeCamera camera = SmallCamera();
  const StepScene scene = NoisyStep(camera, 0.001, 4);
  DepthPreprocessingOptions options;
  options.num_threads = 1;
  const PreprocessedDepth one = PreprocessDepth(scene.depth, camera, options);
  options.num_threads = 3;
  const PreprocessedDepth three = PreprocessDepth(scene.depth, camera, options);
  EXPECT_EQ(one.depth.pixels, three.depth.pixels);
  EXPECT_TRUE(SameOrBothNaN(one.cloud.points, three.cloud.points));
  EXPECT_TRUE(SameOrBothNaN(one.cloud.normals, three.cloud.normals));
}

TEST(DepthPreprocessing, BadOptionsAndSizesAreProgrammerErrors) {
  const PinholeCamera camera = SmallCamera();
  DepthPreprocessingOptions options;
  options.min_depth_m = 0.7;
  EXPECT_THROW(options.Check(), CheckError);
  options = {};
  options.smooth_sigma_depth_m = 0.0;
  EXPECT_THROW(options.Check(), CheckError);
  const DepthImage wrong_size(10, 10, 1, 0.5f);
  EXPECT_THROW(PreprocessDepth(wrong_size, camera), CheckError);
}

}  // namespace
}  // namespace headtrack
