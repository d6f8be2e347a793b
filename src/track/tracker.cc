#include "headtrack/tracker.h"

#include <cmath>
#include <memory>
#include <utility>

#include "core/stopwatch.h"
#include "fit/face_landmark_detector.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

// The center of the model's fitted regions at rest (head frame): the crop follows it.
Eigen::Vector3d RegionCenter(const HeadModel& model, const std::vector<std::string>& regions) {
  const std::vector<int> triangles = model.RegionTriangles(regions);
  const Points3f& vertices = model.template_vertices();
  Eigen::Vector3d sum = Eigen::Vector3d::Zero();
  for (int t : triangles) {
    for (int c = 0; c < 3; ++c) {
      sum += vertices.row(model.triangles()(t, c)).transpose().cast<double>();
    }
  }
  return triangles.empty() ? sum : Eigen::Vector3d(sum / (3.0 * triangles.size()));
}

}  // namespace

TrackerOptions::TrackerOptions() {
  fit.max_iterations = 2;
  fit.energy.pixel_stride = 3;
  // DPHM's sparsest study has 250 depth points per frame, about 150 on the head.
  fit.min_correspondences = 50;
  initialization.min_inliers = 60;
  fit.energy.temporal_expression_weight = 10.0;
}

void TrackerOptions::Check() const {
  HT_CHECK(subsample >= 1 && subsample <= 8, "TrackerOptions::subsample must be in [1, 8]");
  HT_CHECK(sparse_frame_pixels >= 0, "TrackerOptions::sparse_frame_pixels must be >= 0");
  preprocessing.Check();
  HT_CHECK(crop_radius_m > 0, "TrackerOptions::crop_radius_m must be > 0");
  initialization.Check();
  fit.Check();
  HT_CHECK(identity_frames >= 0, "TrackerOptions::identity_frames must be >= 0");
  HT_CHECK(identity_iterations >= 1, "TrackerOptions::identity_iterations must be >= 1");
  HT_CHECK(max_rms_m > 0, "TrackerOptions::max_rms_m must be > 0");
  HT_CHECK(min_coverage >= 0 && min_coverage <= 1, "TrackerOptions::min_coverage must be in [0, 1]");
  HT_CHECK(num_threads >= 0, "TrackerOptions::num_threads must be >= 0");
}

const char* TrackStatusName(TrackStatus status) {
  return status == TrackStatus::kTracked ? "tracked" : "lost";
}

DepthImage SubsampleDepth(const DepthImage& depth, int subsample) {
  HT_CHECK(subsample >= 1, "subsample must be >= 1");
  if (subsample == 1) return depth;
  DepthImage out((depth.width + subsample - 1) / subsample,
                 (depth.height + subsample - 1) / subsample);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) out.at(x, y) = depth.at(subsample * x, subsample * y);
  }
  return out;
}

struct Tracker::Impl {
  HeadModel model;
  PinholeCamera camera;
  TrackerOptions options;
  // The resolution, camera and fitters of dense frames (subsampled) and of sparse frames (full
  // resolution, every pixel: sparse depth has no pixel to spare), made on first use.
  struct Mode {
    int subsample = 1;
    PinholeCamera camera;
    FrameFitter fitter;
    FrameFitter identity_fitter;
  };
  std::unique_ptr<Mode> dense;
  std::unique_ptr<Mode> sparse;
  PinholeCamera tracking_camera;
  Eigen::Vector3d region_center;  // head frame
  std::unique_ptr<FaceLandmarkDetector> detector;  // loaded with the first color image

  TrackerMemory memory;

  Mode& ModeFor(bool is_sparse) {
    std::unique_ptr<Mode>& mode = is_sparse ? sparse : dense;
    if (!mode) {
      FrameFitOptions fit = options.fit;
      if (is_sparse) fit.energy.pixel_stride = 1;
      FrameFitOptions identity_fit = fit;
      identity_fit.energy.optimize_identity = true;
      identity_fit.max_iterations = options.identity_iterations;
      const int subsample = is_sparse ? 1 : options.subsample;
      mode.reset(new Mode{subsample, camera.Subsampled(subsample), FrameFitter(model, fit),
                          FrameFitter(model, identity_fit)});
    }
    return *mode;
  }

  Impl(const HeadModel& model_in, const PinholeCamera& camera_in, const TrackerOptions& options_in)
      : model(model_in),
        camera(camera_in),
        options(options_in),
        tracking_camera(camera_in.Subsampled(options_in.subsample)),
        region_center(RegionCenter(model_in, options_in.fit.energy.regions)) {
    memory.state = HeadState::Zero(model_in);
    memory.identity_fixed = options.identity_frames == 0;
  }
};

Tracker::Tracker(const HeadModel& model, const PinholeCamera& camera,
                 const TrackerOptions& options) {
  camera.Check();
  options.Check();
  impl_ = std::make_unique<Impl>(model, camera, options);
}

Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

const HeadModel& Tracker::model() const { return impl_->model; }
const TrackerOptions& Tracker::options() const { return impl_->options; }
const PinholeCamera& Tracker::tracking_camera() const { return impl_->tracking_camera; }
const Eigen::VectorXf& Tracker::identity() const { return impl_->memory.state.identity; }
bool Tracker::identity_fixed() const { return impl_->memory.identity_fixed; }

void Tracker::SetIdentity(const Eigen::VectorXf& identity) {
  HT_CHECK(identity.size() == impl_->model.num_identity(),
           "SetIdentity: " << identity.size() << " coefficients, the model has "
                           << impl_->model.num_identity());
  impl_->memory.state.identity = identity;
  impl_->memory.identity_fixed = true;
}

TrackerMemory Tracker::memory() const { return impl_->memory; }

void Tracker::Restore(const TrackerMemory& memory) {
  const HeadModel& model = impl_->model;
  for (const HeadState* state : {&memory.state, &memory.previous}) {
    HT_CHECK(state->identity.size() == model.num_identity() &&
                 state->expression.size() == model.num_expression() &&
                 state->joint_rotations.cols() == model.num_joints(),
             "Tracker::Restore: the memory's states do not match the model");
  }
  impl_->memory = memory;
}

TrackingScan Tracker::PrepareScan(const DepthImage& depth,
                                  const SimilarityTransform* cam_from_head) const {
  const Impl& impl = *impl_;
  HT_CHECK(depth.width == impl.camera.width && depth.height == impl.camera.height,
           "PrepareScan: depth of " << depth.width << "x" << depth.height << ", the camera is "
                                    << impl.camera.width << "x" << impl.camera.height);
  // Sparse frames (DPHM's sparsity study, or a mostly empty view) keep every pixel.
  long valid_pixels = 0;
  for (float d : depth.pixels) valid_pixels += std::isfinite(d) && d > 0.0f;
  TrackingScan scan;
  scan.sparse = valid_pixels < impl.options.sparse_frame_pixels;
  const int subsample = scan.sparse ? 1 : impl.options.subsample;
  scan.camera = impl.camera.Subsampled(subsample);
  DepthImage low = SubsampleDepth(depth, subsample);
  for (float& d : low.pixels) {
    if (!std::isfinite(d)) d = 0.0f;
  }
  DepthPreprocessingOptions preprocessing = impl.options.preprocessing;
  preprocessing.num_threads = impl.options.num_threads;
  if (cam_from_head != nullptr) {
    preprocessing.crop_radius_m = impl.options.crop_radius_m;
    preprocessing.crop_center = *cam_from_head * impl.region_center;
  }
  scan.depth = PreprocessDepth(low, scan.camera, preprocessing);
  return scan;
}

FrameResult Tracker::Track(int frame_number, const DepthImage& depth, const ColorImage& color) {
  Impl& impl = *impl_;
  const Stopwatch total;
  HT_CHECK(depth.width == impl.camera.width && depth.height == impl.camera.height,
           "Track: depth of " << depth.width << "x" << depth.height << ", the camera is "
                              << impl.camera.width << "x" << impl.camera.height);
  FrameResult result;
  result.frame = frame_number;
  result.state = impl.memory.state;

  Stopwatch stage;
  const TrackingScan prepared =
      PrepareScan(depth, impl.memory.tracking ? &impl.memory.state.cam_from_head : nullptr);
  const PreprocessedDepth& scan = prepared.depth;
  Impl::Mode& mode = impl.ModeFor(prepared.sparse);
  result.seconds_preprocess = stage.seconds();

  auto lose = [&](std::string message) {
    impl.memory.tracking = false;
    result.status = TrackStatus::kLost;
    result.message = std::move(message);
    result.state = impl.memory.state;
    result.seconds_total = total.seconds();
    return result;
  };
  if (scan.summary.num_points == 0) return lose("no depth in range");

  // Initialize when not tracking.
  if (!impl.memory.tracking) {
    stage.Restart();
    result.initialized = true;
    const IdentityShape shape = impl.model.ShapeIdentity(impl.memory.state.identity);
    RigidInitOptions init_options = impl.options.initialization;
    init_options.num_threads = impl.options.num_threads;
    RigidInitSummary init;
    if (impl.options.use_color_landmarks && !color.empty() &&
        impl.model.landmark_vertices().size() == 68) {
      if (!impl.detector) {
        impl.detector = std::make_unique<FaceLandmarkDetector>(init_options.landmark_model_path);
      }
      std::vector<Eigen::Vector2d> landmarks = impl.detector->Detect(color);
      // Color pixel -> depth pixel (registered images, pixel centers at integers) -> pixel of
      // the subsampled scan.
      const double sx = static_cast<double>(depth.width) / color.width;
      const double sy = static_cast<double>(depth.height) / color.height;
      for (Eigen::Vector2d& pixel : landmarks) {
        pixel = Eigen::Vector2d((pixel.x() + 0.5) * sx - 0.5, (pixel.y() + 0.5) * sy - 0.5) /
                mode.subsample;
      }
      if (!landmarks.empty()) {
        init = AlignLandmarks(impl.model, shape, landmarks, scan.cloud, mode.camera,
                              init_options);
      }
    }
    if (!init.found) {
      init = InitializeRigidFromDepth(impl.model, shape, scan.cloud, mode.camera,
                                      init_options);
    }
    result.seconds_initialize = stage.seconds();
    if (!init.found) {
      const std::string prefix = "no head found";
      return lose(init.message.rfind(prefix, 0) == 0 ? init.message : prefix + ": " + init.message);
    }
    impl.memory.state.cam_from_head = init.cam_from_head;
    // The initializer's identity estimate is a better start than zero while the identity is
    // still being fitted.
    if (!impl.memory.identity_fixed && init.identity.size() == impl.memory.state.identity.size()) {
      impl.memory.state.identity = init.identity;
    }
    impl.memory.state.expression.setZero();
    impl.memory.state.joint_rotations.setZero();
    impl.memory.has_previous = false;
  }

  // Fit.
  HeadState fitted = impl.memory.state;
  const bool identity_phase = !impl.memory.identity_fixed;
  FrameFitter& fitter = identity_phase ? mode.identity_fitter : mode.fitter;
  result.fit = fitter.Fit(scan.cloud, mode.camera, {},
                          impl.memory.has_previous ? &impl.memory.previous : nullptr, &fitted);
  result.identity_phase = identity_phase;
  const AssociationStats& association = result.fit.association;
  result.rms_m = association.rms_point_to_plane_m;
  // Of the rendered pixels with a scan point, the share that paired (sparse scans have few).
  const int with_scan = association.rendered_pixels - association.no_scan;
  result.coverage = with_scan > 0 ? static_cast<double>(association.accepted) / with_scan : 0.0;
  if (!result.fit.usable()) return lose("too few correspondences");
  if (result.rms_m > impl.options.max_rms_m) {
    return lose("the model does not fit the scan (RMS " + std::to_string(result.rms_m * 1000) +
                " mm)");
  }
  if (result.coverage < impl.options.min_coverage) {
    return lose("the scan covers too little of the model (" +
                std::to_string(static_cast<int>(100 * result.coverage)) + " %)");
  }

  impl.memory.state = fitted;
  impl.memory.previous = fitted;
  impl.memory.has_previous = true;
  impl.memory.tracking = true;
  if (identity_phase && ++impl.memory.identity_frames_done >= impl.options.identity_frames) {
    impl.memory.identity_fixed = true;
  }
  result.status = TrackStatus::kTracked;
  result.state = fitted;
  result.seconds_total = total.seconds();
  return result;
}

}  // namespace headtrack
