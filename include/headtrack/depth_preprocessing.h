// Depth preprocessing (DPHM, supplement C): from a depth image to an organized, oriented point
// map in the camera frame. The tracker and `headtrack eval` both use it, so the scan points a
// result is measured against are the ones it was fitted to. In this order:
//   1. Range cut: keep depths in [min_depth_m, max_depth_m] (DPHM: 0.1 to 0.6 m). When that keeps
//      fewer than auto_range_min_pixels pixels or would cut through the subject (it sits
//      farther, e.g. at 0.7 m), and auto_range is on, keep instead a band of auto_band_m behind
//      the front (nearest depth) of the nearest large connected surface (ChooseDepthRange).
//   2. Head crop (optional): keep the pixels whose back-projected point lies in a ball around a
//      head estimate. Done before smoothing because it is cheap and shrinks the work; it only
//      removes pixels, and removed pixels influence nothing.
//   3. Bilateral smoothing (optional, SmoothDepthBilateral): edge-preserving.
//   4. Normals from the cross product of neighbour differences, oriented toward the camera, and
//      back-projection (DepthToOrientedPoints).
// A pixel is invalid when its depth is 0, negative or not finite. Invalid pixels stay invalid
// through every step and never influence a valid pixel; no step makes an invalid pixel valid.
#pragma once

#include <limits>

#include <Eigen/Core>

#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"

namespace headtrack {

struct DepthPreprocessingOptions {
  // 1. Range cut, metres along the optical axis: 0 < min_depth_m < max_depth_m, inclusive and
  // compared in float (a depth of 600 mm is kept by max_depth_m = 0.6).
  double min_depth_m = 0.1;
  double max_depth_m = 0.6;
  // Choose the range automatically when [min_depth_m, max_depth_m] keeps fewer than
  // auto_range_min_pixels pixels, or when there are depths within auto_band_m beyond
  // max_depth_m and the front of the nearest large surface lies less than auto_head_depth_m
  // before max_depth_m (the fixed range would cut the subject). Automatic: the nearest connected
  // surface (neighbouring pixels closer than auto_connect_jump_m in depth) of at least
  // auto_min_surface_m2 square metres (about a 7 cm square: a face, not a flying pixel or a
  // strand of hair), and auto_band_m behind its front. Never nearer than min_depth_m.
  bool auto_range = true;
  int auto_range_min_pixels = 100;
  double auto_band_m = 0.3;
  double auto_head_depth_m = 0.25;
  double auto_min_surface_m2 = 0.005;
  double auto_connect_jump_m = 0.02;

  // 2. Head crop: when crop_radius_m > 0, keep the points within crop_radius_m (metres) of
  // crop_center (camera frame, metres): a ball around the current head estimate.
  double crop_radius_m = 0.0;
  Eigen::Vector3d crop_center = Eigen::Vector3d::Zero();

  // 3. Bilateral smoothing of depth over a (2 radius + 1)^2 window: spatial Gaussian of
  // smooth_sigma_px pixels; range weight Tukey's biweight (1 - (d / 3 sigma)^2)^2 of the depth
  // difference d, with sigma = smooth_sigma_depth_m (close to a Gaussian of sigma, and exactly 0
  // beyond 3 sigma: a neighbour across a step never contributes, steps stay sharp). Rather than
  // the weighted mean, the weighted least-squares plane through the neighbours' inverse depths is
  // evaluated at the pixel: inverse depth is affine in the pixel coordinates on a plane, so a
  // plane is reproduced exactly even next to holes and silhouettes, where a window is one-sided.
  // With a full window the two coincide. Invalid neighbours are left out; a pixel whose
  // neighbours do not span a plane keeps its depth.
  bool smooth = true;
  int smooth_radius_px = 2;
  double smooth_sigma_px = 1.5;
  double smooth_sigma_depth_m = 0.002;

  // 4. Normals: a neighbour whose depth differs by more than normal_max_jump_m (metres) is
  // another surface and is not used. Central differences where both neighbours of an axis are
  // usable, one-sided where one is. Pixels without usable neighbours on both axes (sparse depth,
  // e.g. the sparsity study, or a 1-pixel sliver) get the normal of a plane fitted to the usable
  // valid pixels of a window of radius 2, 4, 8 ... up to sparse_normal_max_radius_px pixels
  // (the first with enough points); 0 disables this and leaves them without normal.
  double normal_max_jump_m = 0.01;
  int sparse_normal_max_radius_px = 32;

  // OpenMP threads; 0 uses omp_get_max_threads(). The result does not depend on it.
  int num_threads = 0;

  // Throws CheckError naming the bad option.
  void Check() const;
};

// A depth range, metres along the optical axis, inclusive.
struct DepthRange {
  double min_m = 0.0;
  double max_m = 0.0;
  bool automatic = false;  // chosen by the automatic rule, not the fixed range
};

struct DepthPreprocessingSummary {
  DepthRange range;           // the range applied
  int valid_pixels = 0;       // input pixels with a depth
  int in_range_pixels = 0;    // after the range cut
  int cropped_pixels = 0;     // removed by the head crop
  int num_points = 0;         // valid points of the output
  int num_normals = 0;        // output points with a normal
  int num_sparse_normals = 0; // of these, from the window plane fit
  double seconds = 0.0;
};

struct PreprocessedDepth {
  // Organized width x height cloud (row-major by pixel), camera frame, metres. Points and normals
  // are NaN rows where the pixel is invalid; normals are unit, point toward the camera
  // (n . p < 0), and NaN where a valid point has no normal.
  PointCloud cloud;
  // The depth after cut, crop and smoothing, metres, 0 where invalid.
  DepthImage depth;
  DepthPreprocessingSummary summary;
};

// The whole pipeline. depth: metres, the camera's size (CheckError otherwise).
PreprocessedDepth PreprocessDepth(const DepthImage& depth, const PinholeCamera& camera,
                                  const DepthPreprocessingOptions& options = {});

// Step 1's choice. The fixed range, or the automatic one as described in the options; when no
// surface qualifies, the fixed range (which then keeps little or nothing).
DepthRange ChooseDepthRange(const DepthImage& depth, const PinholeCamera& camera,
                            const DepthPreprocessingOptions& options = {});

// Step 3 with the options' smooth_* parameters (applied even when options.smooth is false).
// depth: metres, 0 invalid; the result is valid exactly where the input is.
DepthImage SmoothDepthBilateral(const DepthImage& depth,
                                const DepthPreprocessingOptions& options = {});

// Step 4: normals and back-projection of every valid pixel (see PreprocessedDepth::cloud).
// depth: metres, the camera's size. num_sparse_normals (optional) receives how many normals
// came from the window plane fit.
PointCloud DepthToOrientedPoints(const DepthImage& depth, const PinholeCamera& camera,
                                 const DepthPreprocessingOptions& options = {},
                                 int* num_sparse_normals = nullptr);

}  // namespace headtrack
