#include "metrics/overlay_image.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "headtrack/error.h"
#include "headtrack/rasterizer.h"
#include "render/depth_rendering.h"

namespace headtrack {
namespace {

using Rgb = std::array<std::uint8_t, 3>;

// Viridis (matplotlib's, by van der Walt and Smith) sampled at 0, 1/8, ..., 1.
constexpr std::array<Rgb, 9> kViridis = {{{0x44, 0x01, 0x54},
                                          {0x47, 0x2d, 0x7b},
                                          {0x3b, 0x52, 0x8b},
                                          {0x2c, 0x72, 0x8e},
                                          {0x21, 0x90, 0x8c},
                                          {0x27, 0xad, 0x81},
                                          {0x5d, 0xc8, 0x63},
                                          {0xaa, 0xdc, 0x32},
                                          {0xfd, 0xe7, 0x25}}};

constexpr std::uint8_t kBackground = 255;  // white, for pages
constexpr std::uint8_t kInk = 20;          // text and ticks
constexpr float kScanGray = 230.0f;        // albedo of the scan, below the background's white
constexpr float kScanAmbient = 0.15f;
constexpr float kMeshAmbient = 0.3f;

// A box of the camera image: edges in camera pixel coordinates (pixel centers at integers).
struct CropBox {
  double u0 = 0.0, v0 = 0.0, u1 = 0.0, v1 = 0.0;
  double width() const { return u1 - u0; }
  double height() const { return v1 - v0; }
};

// The scan as a surface: its valid points joined with their grid neighbours.
struct ScanSurface {
  Points3f vertices;  // camera frame, metres
  Points3f normals;   // unit, camera frame
  Triangles faces;
  std::vector<int> rows;  // the scan row of each vertex
};

bool IsFinite(const PointCloud& cloud, int row) { return cloud.points.row(row).allFinite(); }

ScanSurface MakeScanSurface(const PointCloud& scan, int width, int height, double max_jump_m) {
  std::vector<int> vertex_of(scan.size(), -1);
  ScanSurface surface;
  for (int i = 0; i < scan.size(); ++i) {
    if (IsFinite(scan, i)) {
      vertex_of[i] = static_cast<int>(surface.rows.size());
      surface.rows.push_back(i);
    }
  }
  const int num_vertices = static_cast<int>(surface.rows.size());
  surface.vertices.resize(num_vertices, 3);
  surface.normals.resize(num_vertices, 3);
  const bool has_normals = scan.normals.rows() == scan.points.rows();
  for (int v = 0; v < num_vertices; ++v) {
    const int i = surface.rows[v];
    surface.vertices.row(v) = scan.points.row(i);
    Eigen::Vector3f normal = Eigen::Vector3f::Zero();
    if (has_normals && scan.normals.row(i).allFinite()) normal = scan.normals.row(i).transpose();
    if (!(normal.norm() > 0.0f)) normal = -scan.points.row(i).transpose();  // facing the camera
    surface.normals.row(v) = normal.normalized().transpose();
  }

  std::vector<Eigen::Vector3i> faces;
  // A triangle of three valid pixels whose depths lie within max_jump_m.
  const auto joinable = [&](int a, int b, int c) {
    if (vertex_of[a] < 0 || vertex_of[b] < 0 || vertex_of[c] < 0) return false;
    const float za = scan.points(a, 2), zb = scan.points(b, 2), zc = scan.points(c, 2);
    return std::max({za, zb, zc}) - std::min({za, zb, zc}) <= max_jump_m;
  };
  const auto add = [&](int a, int b, int c) {
    faces.emplace_back(vertex_of[a], vertex_of[b], vertex_of[c]);
  };
  for (int y = 0; y + 1 < height; ++y) {
    for (int x = 0; x + 1 < width; ++x) {
      const int a = y * width + x, b = a + 1, c = a + width, d = c + 1;
      const bool upper = joinable(a, c, b), lower = joinable(b, c, d);
      if (upper) add(a, c, b);
      if (lower) add(b, c, d);
      // Three valid corners across the other diagonal.
      if (!upper && !lower) {
        if (joinable(a, c, d)) {
          add(a, c, d);
        } else if (joinable(a, d, b)) {
          add(a, d, b);
        }
      }
    }
  }
  surface.faces.resize(static_cast<Eigen::Index>(faces.size()), 3);
  for (size_t f = 0; f < faces.size(); ++f) {
    surface.faces.row(static_cast<Eigen::Index>(f)) = faces[f].transpose();
  }
  return surface;
}

// The box of the pixels where keep(pixel index) holds; false when there is none.
template <typename Keep>
bool PixelBox(int width, int height, const Keep& keep, CropBox* box) {
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      if (!keep(y * width + x)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  if (x1 < 0) return false;
  *box = {x0 - 0.5, y0 - 0.5, x1 + 0.5, y1 + 0.5};
  return true;
}

// The part of the camera image to show: around the mesh's pixels, else the evaluated scan
// points, else any scan point, else everything; grown by the margin, aspect within 1:2 .. 2:1.
CropBox ChooseCrop(const PinholeCamera& camera, const PointCloud& scan,
                   const TriangleMesh& mesh_in_cam, const std::vector<double>& distances_mm,
                   double margin) {
  CropBox box{-0.5, -0.5, camera.width - 0.5, camera.height - 0.5};
  bool found = false;
  if (mesh_in_cam.num_faces() > 0) {
    RasterizerOptions options;
    options.compute_points_and_normals = false;
    Rasterization raster;
    Rasterizer(options).Rasterize(camera, mesh_in_cam.vertices, mesh_in_cam.faces, &raster);
    found = PixelBox(camera.width, camera.height,
                     [&](int i) { return raster.triangle_id.pixels[i] >= 0; }, &box);
  }
  if (!found) {
    found = PixelBox(camera.width, camera.height,
                     [&](int i) { return std::isfinite(distances_mm[i]) && IsFinite(scan, i); },
                     &box);
  }
  if (!found) PixelBox(camera.width, camera.height, [&](int i) { return IsFinite(scan, i); }, &box);

  const double grow = margin * std::max(box.width(), box.height());
  box = {box.u0 - grow, box.v0 - grow, box.u1 + grow, box.v1 + grow};
  const double center_u = 0.5 * (box.u0 + box.u1), center_v = 0.5 * (box.v0 + box.v1);
  const double half_width = 0.5 * std::max(box.width(), 0.5 * box.height());
  const double half_height = 0.5 * std::max(box.height(), 0.5 * box.width());
  return {center_u - half_width, center_v - half_height, center_u + half_width,
          center_v + half_height};
}

Rgb Blend(const Rgb& below, const Rgb& above, float alpha) {
  Rgb out;
  for (int c = 0; c < 3; ++c) {
    out[c] = static_cast<std::uint8_t>(std::lround((1.0f - alpha) * below[c] + alpha * above[c]));
  }
  return out;
}

Rgb PixelOf(const ColorImage& image, int x, int y) {
  return {image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2)};
}

void SetPixel(ColorImage* image, int x, int y, const Rgb& color) {
  for (int c = 0; c < 3; ++c) image->at(x, y, c) = color[c];
}

// The scan's distance at a rendered pixel: interpolated between the triangle's pixels when all
// three have one, else the nearest corner's (NaN when it has none).
double DistanceAt(const Rasterization& raster, const ScanSurface& surface,
                  const std::vector<double>& distances_mm, int x, int y) {
  const int triangle = raster.triangle_id.at(x, y);
  const Eigen::Vector3f weights = raster.barycentrics_at(x, y);
  double corner[3];
  for (int k = 0; k < 3; ++k) corner[k] = distances_mm[surface.rows[surface.faces(triangle, k)]];
  if (std::isfinite(corner[0]) && std::isfinite(corner[1]) && std::isfinite(corner[2])) {
    return weights(0) * corner[0] + weights(1) * corner[1] + weights(2) * corner[2];
  }
  Eigen::Index nearest = 0;
  weights.maxCoeff(&nearest);
  return corner[nearest];
}

// The smallest of 1, 2, 5 times a power of ten that is at least `raw`.
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (factor * power >= raw * (1.0 - 1e-9)) return factor * power;
  }
  return 10.0 * power;
}

std::string FormatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

}  // namespace

void OverlayOptions::Check() const {
  HT_CHECK(std::isfinite(max_mm) && max_mm > 0.0, "OverlayOptions::max_mm must be positive, got "
                                                       << max_mm);
  HT_CHECK(panel_height >= 64 && panel_height <= 8192,
           "OverlayOptions::panel_height must be in [64, 8192], got " << panel_height);
  HT_CHECK(std::isfinite(margin) && margin >= 0.0,
           "OverlayOptions::margin must be >= 0, got " << margin);
  HT_CHECK(mesh_color.minCoeff() >= 0.0f && mesh_color.maxCoeff() <= 255.0f,
           "OverlayOptions::mesh_color must be RGB in [0, 255], got " << mesh_color.transpose());
  HT_CHECK(mesh_alpha > 0.0f && mesh_alpha <= 1.0f,
           "OverlayOptions::mesh_alpha must be in (0, 1], got " << mesh_alpha);
  HT_CHECK(std::isfinite(occlusion_tolerance_mm) && occlusion_tolerance_mm >= 0.0,
           "OverlayOptions::occlusion_tolerance_mm must be >= 0, got " << occlusion_tolerance_mm);
  HT_CHECK(std::isfinite(max_depth_jump_m) && max_depth_jump_m > 0.0,
           "OverlayOptions::max_depth_jump_m must be positive, got " << max_depth_jump_m);
}

std::array<std::uint8_t, 3> ViridisColor(double t) {
  if (!(t > 0.0)) return kViridis.front();  // also NaN
  if (t >= 1.0) return kViridis.back();
  const double position = t * (kViridis.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const double fraction = position - below;
  Rgb color;
  for (int c = 0; c < 3; ++c) {
    color[c] = static_cast<std::uint8_t>(std::lround(
        (1.0 - fraction) * kViridis[below][c] + fraction * kViridis[below + 1][c]));
  }
  return color;
}

ColorImage RenderOverlay(const PinholeCamera& camera, const PointCloud& scan,
                         const TriangleMesh& mesh_in_cam, const std::vector<double>& distances_mm,
                         const OverlayOptions& options, OverlayLayout* layout) {
  options.Check();
  camera.Check();
  HT_CHECK(scan.size() == camera.width * camera.height,
           "the scan has " << scan.size() << " points, not one per pixel of the " << camera.width
                           << " x " << camera.height << " camera");
  HT_CHECK(scan.normals.rows() == 0 || scan.normals.rows() == scan.points.rows(),
           "the scan has " << scan.normals.rows() << " normals for " << scan.size() << " points");
  HT_CHECK(static_cast<int>(distances_mm.size()) == scan.size(),
           distances_mm.size() << " distances for " << scan.size() << " scan points");
  mesh_in_cam.CheckConsistent();

  // The panels' camera: the crop enlarged to panel_height rows.
  const CropBox crop = ChooseCrop(camera, scan, mesh_in_cam, distances_mm, options.margin);
  const int panel_height = options.panel_height;
  const double scale = panel_height / crop.height();
  const int panel_width = std::max(1, static_cast<int>(std::lround(crop.width() * scale)));
  PinholeCamera panel = camera;
  panel.fx = camera.fx * scale;
  panel.fy = camera.fy * scale;
  panel.cx = scale * (camera.cx - crop.u0) - 0.5;
  panel.cy = scale * (camera.cy - crop.v0) - 0.5;
  panel.width = panel_width;
  panel.height = panel_height;

  const ScanSurface surface =
      MakeScanSurface(scan, camera.width, camera.height, options.max_depth_jump_m);
  RasterizerOptions scan_options;
  scan_options.cull_back_faces = false;  // grid triangles wind either way
  Rasterization scan_raster;
  Rasterizer(scan_options)
      .Rasterize(panel, surface.vertices, surface.faces, surface.normals, &scan_raster);
  const ColorImage scan_gray =
      ShadeFromCamera(scan_raster, Eigen::Vector3f::Constant(kScanGray), kScanAmbient);

  Rasterization mesh_raster;
  ColorImage mesh_shaded;
  if (mesh_in_cam.num_faces() > 0) {
    const Points3f normals =
        mesh_in_cam.has_normals() ? mesh_in_cam.normals : mesh_in_cam.ComputeVertexNormals();
    Rasterizer().Rasterize(panel, mesh_in_cam.vertices, mesh_in_cam.faces, normals,
                           &mesh_raster);
    mesh_shaded = ShadeFromCamera(mesh_raster, options.mesh_color, kMeshAmbient);
  }

  // Layout: [title] over [left panel | gap | right panel | gap | bar, ticks, labels].
  const double text_scale = panel_height / 480.0;
  const double font_scale = 0.6 * text_scale;
  const int thickness = std::max(1, static_cast<int>(std::lround(1.2 * text_scale)));
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const int gap = std::max(2, panel_height / 50);
  const int title_height =
      options.title.empty() ? 0 : static_cast<int>(std::lround(36 * text_scale));
  const double step = NiceStep(options.max_mm / 4.0);
  std::vector<std::pair<double, std::string>> ticks;
  for (int k = 0; k * step <= options.max_mm * (1.0 + 1e-9); ++k) {
    ticks.emplace_back(k * step, FormatNumber(k * step));
  }
  int label_width = 0;
  int baseline = 0;
  for (const auto& [value, text] : ticks) {
    label_width = std::max(label_width, cv::getTextSize(text, font, font_scale, thickness,
                                                        &baseline).width);
  }
  const cv::Size unit_size = cv::getTextSize("mm", font, font_scale, thickness, &baseline);
  label_width = std::max(label_width, unit_size.width);
  const int bar_width = std::max(8, panel_height / 24);
  const int tick_length = std::max(3, bar_width / 3);

  OverlayLayout where;
  where.left_panel = {0, title_height, panel_width, panel_height};
  where.right_panel = {panel_width + gap, title_height, panel_width, panel_height};
  where.color_bar = {where.right_panel.x + panel_width + 2 * gap,
                     title_height + static_cast<int>(std::lround(0.12 * panel_height)), bar_width,
                     static_cast<int>(std::lround(0.76 * panel_height))};
  where.panel_camera = panel;
  const int image_width =
      where.color_bar.x + bar_width + tick_length + gap + label_width + 2 * gap;
  ColorImage image(image_width, title_height + panel_height, 3, kBackground);
  const Rgb background{kBackground, kBackground, kBackground};

  for (int y = 0; y < panel_height; ++y) {
    for (int x = 0; x < panel_width; ++x) {
      const bool scan_covered = scan_raster.covered(x, y);
      const Rgb gray = scan_covered ? PixelOf(scan_gray, x, y) : background;
      // Left: the mesh over the scan where it is not hidden behind it.
      Rgb left = gray;
      if (!mesh_raster.triangle_id.empty() && mesh_raster.covered(x, y) &&
          (!scan_covered || mesh_raster.depth.at(x, y) <=
                                scan_raster.depth.at(x, y) + 1e-3 * options.occlusion_tolerance_mm)) {
        left = Blend(gray, PixelOf(mesh_shaded, x, y), options.mesh_alpha);
      }
      SetPixel(&image, where.left_panel.x + x, where.left_panel.y + y, left);
      // Right: the distance, or pale gray without one.
      Rgb right = background;
      if (scan_covered) {
        const double distance = DistanceAt(scan_raster, surface, distances_mm, x, y);
        right = std::isfinite(distance) ? ViridisColor(distance / options.max_mm)
                                        : Blend(gray, background, 0.5f);
      }
      SetPixel(&image, where.right_panel.x + x, where.right_panel.y + y, right);
    }
  }

  // The color bar, its ticks and labels.
  const PixelRect& bar = where.color_bar;
  for (int row = 0; row < bar.height; ++row) {
    const Rgb color = ViridisColor(1.0 - row / std::max(1.0, bar.height - 1.0));
    for (int x = bar.x; x < bar.x + bar.width; ++x) SetPixel(&image, x, bar.y + row, color);
  }
  cv::Mat canvas(image.height, image.width, CV_8UC3, image.pixels.data());
  const cv::Scalar ink(kInk, kInk, kInk);
  for (const auto& [value, text] : ticks) {
    const int y = bar.y + static_cast<int>(std::lround((1.0 - value / options.max_mm) *
                                                       (bar.height - 1)));
    cv::line(canvas, {bar.x + bar.width, y}, {bar.x + bar.width + tick_length - 1, y}, ink,
             thickness);
    const cv::Size size = cv::getTextSize(text, font, font_scale, thickness, &baseline);
    cv::putText(canvas, text, {bar.x + bar.width + tick_length + gap, y + size.height / 2}, font,
                font_scale, ink, thickness, cv::LINE_AA);
  }
  cv::putText(canvas, "mm", {bar.x, bar.y - gap - baseline}, font, font_scale, ink, thickness,
              cv::LINE_AA);
  if (!options.title.empty()) {
    const cv::Size size = cv::getTextSize(options.title, font, font_scale, thickness, &baseline);
    cv::putText(canvas, options.title, {gap, (title_height + size.height) / 2}, font, font_scale,
                ink, thickness, cv::LINE_AA);
  }
  if (layout != nullptr) *layout = where;
  return image;
}

}  // namespace headtrack
