#include "metrics/overlay_image.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/progress.h"
#include "headtrack/calibration.h"
#include "headtrack/error.h"
#include "headtrack/mesh_io.h"
#include "headtrack/sequence.h"
#include "io/testing/scratch_folder.h"
#include "metrics/sequence_evaluation.h"

namespace headtrack {
namespace {

using Rgb = std::array<std::uint8_t, 3>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PinholeCamera SmallCamera() {
  PinholeCamera camera;
  camera.fx = camera.fy = 100.0;
  camera.cx = 79.5;
  camera.cy = 59.5;
  camera.width = 160;
  camera.height = 120;
  return camera;
}

// The organized scan of the plane z = depth_m facing the camera, every pixel valid.
PointCloud PlaneScan(const PinholeCamera& camera, float depth_m) {
  PointCloud scan;
  scan.width = camera.width;
  scan.height = camera.height;
  scan.points.resize(camera.width * camera.height, 3);
  scan.normals.resize(camera.width * camera.height, 3);
  for (int v = 0; v < camera.height; ++v) {
    for (int u = 0; u < camera.width; ++u) {
      const int i = v * camera.width + u;
      scan.points.row(i) = camera.Unproject(Eigen::Vector2f(u, v), depth_m).transpose();
      scan.normals.row(i) << 0.0f, 0.0f, -1.0f;
    }
  }
  return scan;
}

// The square |x|, |y| <= half_size_m at z = depth_m, its front toward the camera.
TriangleMesh Square(float half_size_m, float depth_m) {
  TriangleMesh mesh;
  const float a = half_size_m;
  mesh.vertices.resize(4, 3);
  mesh.vertices << -a, -a, depth_m, a, -a, depth_m, a, a, depth_m, -a, a, depth_m;
  mesh.faces.resize(2, 3);
  mesh.faces << 0, 2, 1, 0, 3, 2;
  return mesh;
}

// The pixel of the image where `point_in_cam` appears in `panel`.
Rgb PanelPixel(const ColorImage& image, const OverlayLayout& layout, const PixelRect& panel,
               const Eigen::Vector3d& point_in_cam) {
  const Eigen::Vector2d pixel = layout.panel_camera.Project(point_in_cam);
  const int x = panel.x + static_cast<int>(std::lround(pixel.x()));
  const int y = panel.y + static_cast<int>(std::lround(pixel.y()));
  EXPECT_GE(x, panel.x);
  EXPECT_LT(x, panel.x + panel.width);
  EXPECT_GE(y, panel.y);
  EXPECT_LT(y, panel.y + panel.height);
  return {image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2)};
}

void ExpectColorNear(const Rgb& actual, const Rgb& expected, int tolerance) {
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(actual[c], expected[c], tolerance)
        << "channel " << c << ": (" << int(actual[0]) << ", " << int(actual[1]) << ", "
        << int(actual[2]) << ") vs (" << int(expected[0]) << ", " << int(expected[1]) << ", "
        << int(expected[2]) << ")";
  }
}

bool IsGray(const Rgb& color) { return color[0] == color[1] && color[1] == color[2]; }

// Rows of the bottom half of the camera image have no distance.
std::vector<double> DistancesWithBottomHalfMissing(const PinholeCamera& camera, double mm) {
  std::vector<double> distances(camera.width * camera.height, mm);
  for (int i = camera.width * camera.height / 2; i < camera.width * camera.height; ++i) {
    distances[i] = kNaN;
  }
  return distances;
}

TEST(ViridisColor, EndsAndMiddleAreTheTableAndLuminanceRises) {
  EXPECT_EQ(ViridisColor(0.0), (Rgb{0x44, 0x01, 0x54}));
  EXPECT_EQ(ViridisColor(0.5), (Rgb{0x21, 0x90, 0x8c}));
  EXPECT_EQ(ViridisColor(1.0), (Rgb{0xfd, 0xe7, 0x25}));
  EXPECT_EQ(ViridisColor(-1.0), ViridisColor(0.0));
  EXPECT_EQ(ViridisColor(7.0), ViridisColor(1.0));
  EXPECT_EQ(ViridisColor(kNaN), ViridisColor(0.0));
  // Viridis is perceptually ordered: its luminance grows with t.
  double previous = -1.0;
  for (int k = 0; k <= 64; ++k) {
    const Rgb color = ViridisColor(k / 64.0);
    const double luminance = 0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2];
    EXPECT_GT(luminance, previous) << "t = " << k / 64.0;
    previous = luminance;
  }
}

TEST(RenderOverlay, MeshInFrontIsTintedAndTheScanColoredByDistance) {
  const PinholeCamera camera = SmallCamera();
  const PointCloud scan = PlaneScan(camera, 0.5f);
  const TriangleMesh mesh = Square(0.1f, 0.498f);
  OverlayOptions options;
  options.panel_height = 200;
  options.margin = 0.25;
  OverlayLayout layout;
  const ColorImage image = RenderOverlay(camera, scan, mesh,
                                         DistancesWithBottomHalfMissing(camera, 2.0), options,
                                         &layout);

  // Sizes: the square's crop is square, panels side by side, the bar to their right.
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.height, 200);
  EXPECT_EQ(layout.left_panel.height, 200);
  EXPECT_NEAR(layout.left_panel.width, 200, 1);
  EXPECT_EQ(layout.right_panel.width, layout.left_panel.width);
  EXPECT_GT(layout.right_panel.x, layout.left_panel.x + layout.left_panel.width - 1);
  EXPECT_GT(layout.color_bar.x, layout.right_panel.x + layout.right_panel.width - 1);
  EXPECT_LT(layout.color_bar.x + layout.color_bar.width, image.width);
  // The square (40 camera pixels) grown by a quarter of that on each side fills the 200 rows.
  EXPECT_NEAR(layout.panel_camera.fy, 100.0 * 200.0 / 60.0, 1e-9);

  // Left, on the square: the scan's gray and the shaded orange, half and half. Light at the
  // camera: shade = ambient + (1 - ambient) |cos| of the view ray and the normal (0, 0, -1).
  const Eigen::Vector3d on_mesh(0.03, -0.02, 0.5);
  const double cosine = on_mesh.z() / on_mesh.norm();
  const double gray = 230.0 * (0.15 + 0.85 * cosine);
  const double mesh_shade = 0.3 + 0.7 * cosine;
  const Rgb tinted{static_cast<std::uint8_t>(std::lround(0.5 * gray + 0.5 * 255 * mesh_shade)),
                   static_cast<std::uint8_t>(std::lround(0.5 * gray + 0.5 * 140 * mesh_shade)),
                   static_cast<std::uint8_t>(std::lround(0.5 * gray))};
  ExpectColorNear(PanelPixel(image, layout, layout.left_panel, on_mesh), tinted, 2);
  // Left, beside the square: the scan's gray alone.
  const Rgb beside = PanelPixel(image, layout, layout.left_panel, {0.13, 0.0, 0.5});
  EXPECT_TRUE(IsGray(beside));
  EXPECT_NEAR(beside[0], 230.0 * (0.15 + 0.85 * 0.5 / std::hypot(0.13, 0.5)), 2);

  // Right: 2 mm of 3 where the distance is known (top half), pale gray where not.
  ExpectColorNear(PanelPixel(image, layout, layout.right_panel, on_mesh), ViridisColor(2.0 / 3.0),
                  1);
  ExpectColorNear(PanelPixel(image, layout, layout.right_panel, {0.13, -0.03, 0.5}),
                  ViridisColor(2.0 / 3.0), 1);
  const Rgb missing = PanelPixel(image, layout, layout.right_panel, {0.03, 0.03, 0.5});
  EXPECT_TRUE(IsGray(missing));
  EXPECT_GT(missing[0], 200);
  EXPECT_LT(missing[0], 255);

  // The bar: max_mm at the top, 0 at the bottom.
  const PixelRect& bar = layout.color_bar;
  const int x = bar.x + bar.width / 2;
  const Rgb top{image.at(x, bar.y, 0), image.at(x, bar.y, 1), image.at(x, bar.y, 2)};
  const int bottom_y = bar.y + bar.height - 1;
  const Rgb bottom{image.at(x, bottom_y, 0), image.at(x, bottom_y, 1), image.at(x, bottom_y, 2)};
  EXPECT_EQ(top, ViridisColor(1.0));
  EXPECT_EQ(bottom, ViridisColor(0.0));
}

TEST(RenderOverlay, MeshBehindTheScanIsHiddenUnlessWithinTheTolerance) {
  const PinholeCamera camera = SmallCamera();
  const PointCloud scan = PlaneScan(camera, 0.5f);
  const TriangleMesh mesh = Square(0.1f, 0.52f);  // 2 cm behind
  const std::vector<double> distances(scan.size(), 20.0);
  const Eigen::Vector3d center(0.0, 0.0, 0.5);
  OverlayLayout layout;
  OverlayOptions options;
  options.panel_height = 100;
  ColorImage image = RenderOverlay(camera, scan, mesh, distances, options, &layout);
  EXPECT_TRUE(IsGray(PanelPixel(image, layout, layout.left_panel, center)));
  // Beyond max_mm: clipped to its color.
  EXPECT_EQ(PanelPixel(image, layout, layout.right_panel, center), ViridisColor(1.0));

  options.occlusion_tolerance_mm = 25.0;
  image = RenderOverlay(camera, scan, mesh, distances, options, &layout);
  const Rgb tinted = PanelPixel(image, layout, layout.left_panel, center);
  EXPECT_GT(tinted[0], tinted[2] + 50);
}

TEST(RenderOverlay, WithoutMeshOrDistancesShowsTheScanCroppedToIt) {
  const PinholeCamera camera = SmallCamera();
  PointCloud scan = PlaneScan(camera, 0.5f);
  // Only a 30 x 60 block of pixels (columns 20..49, rows 30..89) is valid.
  for (int v = 0; v < camera.height; ++v) {
    for (int u = 0; u < camera.width; ++u) {
      if (u < 20 || u >= 50 || v < 30 || v >= 90) {
        scan.points.row(v * camera.width + u).setConstant(std::nanf(""));
      }
    }
  }
  const std::vector<double> distances(scan.size(), kNaN);
  OverlayOptions options;
  options.panel_height = 120;
  options.margin = 0.0;
  options.title = "no mesh";
  OverlayLayout layout;
  const ColorImage image = RenderOverlay(camera, scan, TriangleMesh(), distances, options, &layout);
  EXPECT_GT(layout.left_panel.y, 0);  // below the title
  EXPECT_EQ(image.height, layout.left_panel.y + 120);
  // The block's 30 x 60 pixels, twice as tall as wide, fill the panel.
  EXPECT_NEAR(layout.left_panel.width, 60, 1);
  EXPECT_NEAR(layout.panel_camera.fy, 200.0, 1e-9);
  const Eigen::Vector3d inside = camera.Unproject(Eigen::Vector2d(35, 60), 0.5);
  EXPECT_TRUE(IsGray(PanelPixel(image, layout, layout.left_panel, inside)));
  const Rgb right = PanelPixel(image, layout, layout.right_panel, inside);
  EXPECT_TRUE(IsGray(right));
  EXPECT_LT(right[0], 255);
}

TEST(RenderOverlay, InconsistentInputsAreCheckErrors) {
  const PinholeCamera camera = SmallCamera();
  const PointCloud scan = PlaneScan(camera, 0.5f);
  const TriangleMesh mesh = Square(0.1f, 0.498f);
  const std::vector<double> distances(scan.size(), 1.0);
  EXPECT_THROW(RenderOverlay(camera, scan, mesh, std::vector<double>(10, 1.0)), CheckError);
  PinholeCamera other = camera;
  other.width = 100;
  EXPECT_THROW(RenderOverlay(other, scan, mesh, distances), CheckError);
  OverlayOptions options;
  options.max_mm = 0.0;
  EXPECT_THROW(RenderOverlay(camera, scan, mesh, distances, options), CheckError);
  options = {};
  options.panel_height = 10;
  EXPECT_THROW(RenderOverlay(camera, scan, mesh, distances, options), CheckError);
}

// EvaluateSequenceFrame (sequence_evaluation.h) gives the overlay its inputs: a plane seen at
// 0.5 m and a result mesh 2 mm in front of it.
class EvaluateSequenceFrameTest : public test_support::ScratchFolderTest {
 protected:
  void SetUp() override {
    ScratchFolderTest::SetUp();
    Progress::SetQuiet(true);
    Calibration calibration;
    calibration.camera = SmallCamera();
    SequenceWriter writer(Path("seq"), calibration);
    writer.WriteFrame(3, DepthImage16(160, 120, 1, 500));
    std::filesystem::create_directories(Path("out/meshes"));
    WriteMesh(Path("out/meshes/00003.ply"), Square(1.0f, 0.498f));
    options_.sequence = Path("seq");
    options_.result = Path("out");
  }
  SequenceEvaluationOptions options_;
};

TEST_F(EvaluateSequenceFrameTest, DistancesPerPixelMatchTheGeometryAndEval) {
  const FrameScanEvaluation result = EvaluateSequenceFrame(options_, 3);
  ASSERT_TRUE(result.frame.evaluated) << result.frame.skip_reason;
  EXPECT_EQ(result.frame.frame, 3);
  EXPECT_EQ(result.camera.width, 160);
  EXPECT_EQ(result.mesh.num_faces(), 2);
  ASSERT_EQ(result.scan.size(), 160 * 120);
  ASSERT_EQ(static_cast<int>(result.distances_mm.size()), result.scan.size());
  int finite = 0;
  for (const double distance : result.distances_mm) {
    if (!std::isfinite(distance)) continue;
    ++finite;
    EXPECT_NEAR(distance, 2.0, 1e-3);
  }
  EXPECT_EQ(finite, result.frame.points);
  EXPECT_EQ(finite, 160 * 120);

  // EvaluateSequence hands the same inputs to its per-frame callback.
  std::vector<FrameScanEvaluation> seen;
  const SequenceEvaluation evaluation =
      EvaluateSequence(options_, [&](FrameScanEvaluation&& frame) { seen.push_back(std::move(frame)); });
  ASSERT_EQ(evaluation.frames.size(), 1u);
  EXPECT_EQ(evaluation.frames[0].l2_mm, result.frame.l2_mm);
  EXPECT_EQ(evaluation.frames[0].points, result.frame.points);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].frame.l2_mm, result.frame.l2_mm);
  EXPECT_EQ(seen[0].distances_mm, result.distances_mm);
  EXPECT_EQ(seen[0].mesh.vertices, result.mesh.vertices);
}

TEST_F(EvaluateSequenceFrameTest, UnknownFrameNamesTheDepthFolder) {
  test_support::ExpectError([&] { EvaluateSequenceFrame(options_, 4); }, Path("seq") / "depth",
                            {"no frame 4", "numbered 3 to 3"});
}

}  // namespace
}  // namespace headtrack
