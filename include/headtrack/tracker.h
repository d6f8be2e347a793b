// Online tracking of a head in depth video (OptiHead's schedule on a CPU): each frame is
// subsampled to the tracking resolution, preprocessed (range cut, crop around the last head
// position, bilateral smoothing, normals), and fitted by a few projective-ICP Gauss-Newton
// iterations warm-started from the previous frame. The identity is estimated on the first
// tracked frames and then fixed. A frame without a head (empty, occluded, out of view, NaN) is
// `lost`; the next frame is initialized again (rigid initialization from depth, or from dlib
// landmarks when there is a color image).
#pragma once

#include <string>

#include <Eigen/Core>

#include "headtrack/frame_fitter.h"
#include "headtrack/head_model.h"
#include "headtrack/head_state.h"
#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/rigid_initializer.h"
#include "headtrack/depth_preprocessing.h"

namespace headtrack {

struct TrackerOptions {
  // Tracking resolution: every subsample-th pixel of every subsample-th row (1 = full). Frames
  // with fewer than sparse_frame_pixels valid depth pixels (sparse depth) are tracked at full
  // resolution with every pixel.
  int subsample = 2;
  int sparse_frame_pixels = 40000;
  // Preprocessing at the tracking resolution; the crop is set by the tracker.
  DepthPreprocessingOptions preprocessing;
  // While tracking, keep the scan points within this distance (metres) of the last head center.
  double crop_radius_m = 0.2;

  // Rigid initialization (first frame and after a lost frame). Landmarks from the color image
  // are tried first when use_color_landmarks and the frame has color; depth otherwise.
  RigidInitOptions initialization;
  bool use_color_landmarks = true;

  // Per-frame fit of pose and expression (identity fixed). Defaults: 2 iterations, every 3rd
  // pixel of the tracking resolution paired (fit.energy.pixel_stride), temporal expression
  // weight 10, at least 50 pairs.
  FrameFitOptions fit;
  // Identity: fitted jointly with pose and expression on the first identity_frames tracked
  // frames, with identity_iterations association rounds each, then fixed. 0 keeps the initial
  // identity (e.g. a known one).
  int identity_frames = 5;
  int identity_iterations = 10;

  // A fitted frame counts as tracked when the RMS point-to-plane distance of its
  // correspondences is at most max_rms_m and at least min_coverage of the rendered pixels that
  // have a scan point pair with it.
  double max_rms_m = 0.004;
  double min_coverage = 0.4;

  // OpenMP threads for preprocessing, association and assembly (0: all).
  int num_threads = 1;

  TrackerOptions();
  void Check() const;  // CheckError naming the bad option
};

// What the tracker carries from one frame to the next. A run that saves it after every frame
// can stop and resume with Restore exactly where it was.
struct TrackerMemory {
  bool tracking = false;         // the last frame was tracked
  HeadState state;               // the last tracked state (the identity estimate in any case)
  HeadState previous;            // the temporal terms' previous frame
  bool has_previous = false;
  int identity_frames_done = 0;  // frames of the identity phase so far
  bool identity_fixed = false;
};

// A frame as the tracker fits it: preprocessed at the tracking resolution (or at full
// resolution for sparse depth), with the camera of that resolution.
struct TrackingScan {
  PreprocessedDepth depth;
  PinholeCamera camera;
  bool sparse = false;  // full resolution, every pixel paired
};

enum class TrackStatus { kTracked, kLost };
const char* TrackStatusName(TrackStatus status);

struct FrameResult {
  int frame = 0;  // the frame's number
  TrackStatus status = TrackStatus::kLost;
  std::string message;    // why the frame is lost
  bool initialized = false;  // a rigid initialization ran on this frame
  bool identity_phase = false;  // the identity was fitted on this frame
  HeadState state;        // the fit (for a lost frame: the last tracked state)
  FrameFitSummary fit;
  double rms_m = 0.0;     // RMS point-to-plane distance of the last association, metres
  double coverage = 0.0;  // accepted correspondences / rendered pixels with a scan point
  double seconds_preprocess = 0.0;
  double seconds_initialize = 0.0;
  double seconds_total = 0.0;
};

class Tracker {
 public:
  // camera: the depth camera (full resolution).
  Tracker(const HeadModel& model, const PinholeCamera& camera, const TrackerOptions& options = {});
  ~Tracker();
  Tracker(Tracker&&) noexcept;
  Tracker& operator=(Tracker&&) noexcept;

  // depth: metres, 0 (or NaN) = no measurement, the camera's size (InputError otherwise).
  // color: RGB of any size registered to the depth, or empty.
  FrameResult Track(int frame_number, const DepthImage& depth, const ColorImage& color = {});

  const HeadModel& model() const;
  const TrackerOptions& options() const;
  const PinholeCamera& tracking_camera() const;  // the camera at the (dense) tracking resolution
  const Eigen::VectorXf& identity() const;       // the current identity estimate
  bool identity_fixed() const;
  // Sets a known identity and fixes it.
  void SetIdentity(const Eigen::VectorXf& identity);

  TrackerMemory memory() const;
  void Restore(const TrackerMemory& memory);

  // Preprocesses a frame as Track does: cropped around the head at `cam_from_head` (its fitted
  // regions' center), or not cropped when null. depth: as for Track.
  TrackingScan PrepareScan(const DepthImage& depth, const SimilarityTransform* cam_from_head) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every subsample-th pixel of every subsample-th row: pixel (x, y) of the result is pixel
// (subsample x, subsample y) of the input, as PinholeCamera::Subsampled sees it.
DepthImage SubsampleDepth(const DepthImage& depth, int subsample);

}  // namespace headtrack
