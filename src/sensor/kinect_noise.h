// A Kinect-like depth sensor model: turns a clean rendered depth image into what a consumer
// depth camera measures. docs/sensor_simulation.md describes the model, its defaults and the
// literature behind them. Per covered pixel of the clean rendering, in this order:
//   1. no measurement in random holes (discs of 1..max_hole_radius_px pixels);
//   2. no measurement on edges: a pixel with an 8-neighbour that is empty or whose depth differs
//      by more than edge_jump_m (optionally a flying pixel between the two surfaces instead);
//   3. no measurement at grazing angles (view ray to normal above max_incidence_deg);
//   4. lateral jitter: the depth is that of the pixel's surface plane along a ray shifted by a
//      Gaussian sub-pixel offset;
//   5. axial Gaussian noise, sigma(z) = sigma_0.4 * (z / 0.4 m)^2;
//   6. quantization to the depth unit.
// Deterministic: the same clean rendering, options and seed give the same output.
#pragma once

#include <cstdint>

#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"

namespace headtrack {

struct Rasterization;

struct KinectNoiseOptions {
  // Standard deviation of the axial noise at 0.4 m, millimetres; it grows with the square of
  // the depth. 0: no axial noise.
  double axial_sigma_mm = 1.0;
  // Standard deviation of the sub-pixel shift of the sampling position, pixels (clamped to
  // half a pixel per axis). 0: none.
  double lateral_jitter_px = 0.3;
  // Measured depths are multiples of this step, metres (the depth unit). 0: not quantized.
  double quantization_m = 0.001;
  // No measurement where the angle between the view ray and the surface normal is larger,
  // degrees. 90: never.
  double max_incidence_deg = 78.0;
  // No measurement on silhouettes and depth discontinuities larger than edge_jump_m (metres).
  bool drop_edges = true;
  double edge_jump_m = 0.01;
  // Random holes: on average this many per 10 000 covered pixels, each a disc of radius 1 to
  // max_hole_radius_px pixels. 0: none.
  double holes_per_10k_pixels = 1.0;
  int max_hole_radius_px = 3;
  // Probability that an edge pixel between two surfaces (not next to an empty pixel) measures a
  // depth between them instead of nothing. 0: no flying pixels.
  double flying_pixel_probability = 0.0;

  // Every effect off: the output is the clean depth.
  static KinectNoiseOptions Off();
  // The defaults with the given axial sigma at 0.4 m (millimetres); 0 gives Off(): `--noise-mm 0`
  // disables every effect, not only the axial noise.
  static KinectNoiseOptions ForNoiseLevel(double axial_sigma_mm);
  bool IsOff() const;
  // Throws CheckError naming the bad option.
  void Check() const;
};

// sigma(z) of the axial noise, metres, at depth_m metres: axial_sigma_mm / 1000 * (z / 0.4)^2.
double AxialNoiseSigma(double depth_m, double axial_sigma_mm);

// Pixels of simulated frames. Every covered pixel is counted once: valid, or under the first
// reason it has no measurement (hole, edge, grazing).
// 64-bit counts, so that they can be summed over long sequences.
struct KinectNoiseSummary {
  std::int64_t covered_pixels = 0;  // with a surface in the clean rendering
  std::int64_t hole_pixels = 0;     // no measurement: random holes
  std::int64_t edge_pixels = 0;     // no measurement: silhouette or depth discontinuity
  std::int64_t grazing_pixels = 0;  // no measurement: incidence beyond max_incidence_deg
  std::int64_t flying_pixels = 0;   // edge pixels measuring a depth between two surfaces (valid)
  std::int64_t valid_pixels = 0;    // with a measurement

  void Add(const KinectNoiseSummary& other);
};

struct SimulatedDepth {
  DepthImage depth;  // metres, 0 = no measurement; the clean rendering's size
  KinectNoiseSummary summary;
};

// clean: a rasterization by `camera` with normals (RasterizerOptions::compute_points_and_normals).
// Lateral jitter follows the plane of the pixel's normal, so flat face normals (Rasterize without
// vertex normals) make it exact for a triangle mesh.
SimulatedDepth SimulateKinectDepth(const Rasterization& clean, const PinholeCamera& camera,
                                   const KinectNoiseOptions& options, std::uint64_t seed);

// The sparsity study: keeps `count` (>= 0) of the valid (non-zero) pixels of *depth, chosen
// uniformly at random by seed, and sets the others to 0. Returns the number kept: `count`, or
// all valid pixels when there are fewer.
int KeepRandomPixels(int count, std::uint64_t seed, DepthImage* depth);

}  // namespace headtrack
