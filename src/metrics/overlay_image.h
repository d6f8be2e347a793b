// Pictures of a fit for people (docs, videos): one RGB image with two panels side by side, both
// cropped to the head and enlarged so that the face is large.
//   left:  the scan shaded in gray, lit from the camera (like ShadedPreview), with the fitted
//          mesh drawn over it in a semi-transparent color where the mesh is in front of the scan
//          or at most occlusion_tolerance_mm behind it;
//   right: the scan colored by its distance to the mesh (viridis, 0 .. max_mm, clipped), with a
//          color bar in millimetres; scan points without a distance stay a pale gray.
// The scan is drawn as a surface: neighbouring pixels are joined into triangles (unless their
// depths jump) and rendered at the panel's resolution, distances interpolated between pixels.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

struct OverlayOptions {
  // The heat map spans 0 .. max_mm millimetres (> 0); larger distances get max_mm's color.
  double max_mm = 3.0;
  // Height of each panel in pixels (>= 64); the width follows the crop (aspect 1:2 to 2:1).
  int panel_height = 480;
  // The crop is the box of the mesh's pixels (of the scan's without a visible mesh), grown by
  // margin times its larger side on every side (>= 0).
  double margin = 0.08;
  // The mesh's color (RGB, 0-255, shaded like the scan) and opacity over the scan, in (0, 1].
  Eigen::Vector3f mesh_color{255.0f, 140.0f, 0.0f};
  float mesh_alpha = 0.5f;
  // The mesh shows where its depth is at most this much behind the scan's (millimetres, >= 0).
  double occlusion_tolerance_mm = 5.0;
  // Neighbouring scan pixels whose depths differ by more than this (metres, > 0) are different
  // surfaces and are not joined.
  double max_depth_jump_m = 0.01;
  // A line of text above the panels (ASCII); empty: none.
  std::string title;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// A rectangle of image pixels: columns [x, x + width), rows [y, y + height).
struct PixelRect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// Where RenderOverlay put things.
struct OverlayLayout {
  PixelRect left_panel;
  PixelRect right_panel;
  PixelRect color_bar;  // the colored bar itself, max_mm at the top row, 0 at the bottom row
  // The camera of each panel: the input camera cropped and enlarged (same frame), so a point
  // x_cam lands at panel_camera.Project(x_cam) plus the panel's (x, y).
  PinholeCamera panel_camera;
};

// camera: the scan's depth camera (OpenCV convention). scan: organized camera.width x
// camera.height cloud, camera frame, metres, NaN rows where invalid, normals optional (rows
// without a finite normal are lit as if facing the camera). mesh_in_cam: the fitted mesh in the
// same frame, metres (may be empty). distances_mm: one per scan row, the distance to the mesh in
// millimetres, NaN where not evaluated. Throws CheckError for inconsistent inputs or options.
// layout (optional) receives where the panels are.
ColorImage RenderOverlay(const PinholeCamera& camera, const PointCloud& scan,
                         const TriangleMesh& mesh_in_cam, const std::vector<double>& distances_mm,
                         const OverlayOptions& options = {}, OverlayLayout* layout = nullptr);

// The viridis colormap (RGB) at t in [0, 1], clipped outside; linear between 9 samples.
std::array<std::uint8_t, 3> ViridisColor(double t);

}  // namespace headtrack
