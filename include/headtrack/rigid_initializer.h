// Rigid initialization of a head: where the head is in a depth scan and how it is turned, before
// a non-rigid tracker takes over. Two entry points:
//   - InitializeRigidFromDepth: depth only. Finds the head (the top of the nearest large surface),
//     tries a few rotation hypotheses, refines each by robust point-to-plane ICP, keeps the one
//     with the most (Tukey-weighted) inliers and refines it with the leading identity components
//     free (a rigid fit of the wrong face tilts the head by several degrees).
//   - InitializeRigidFromLandmarks: with color. dlib's 68 facial landmarks, lifted to 3D with the
//     scan, give a similarity to the model's landmark vertices (robust Umeyama), then the same
//     ICP refines it. AlignLandmarks is that path without the detector.
//
// ICP moves the scan points into the head frame and matches them to the exact closest points of
// the model's surface (ClosestPointQuery, built once in the head frame). The model surface is
// `regions` (the face) plus `context_regions` (scalp and neck): scan points nearest to a context
// triangle (hair, neck, the back of the head) are not matches, so they never drag the face's
// border. A match also needs compatible normals and lies within a distance that shrinks from
// initial_inlier_distance_m to inlier_distance_m; its weight is Tukey's biweight of the distance.
// The camera is assumed roughly upright (image up is about the head's up) for the depth-only path.
// Whether a head was found is judged on the final alignment, including a rendered comparison of
// the model's face with the scan (face agreement), which tells a face from a face-sized patch of
// a wall.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "headtrack/head_model.h"
#include "headtrack/image.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"
#include "headtrack/similarity_transform.h"

namespace headtrack {

// Where Debian's libdlib-data installs the iBUG-68 shape predictor.
inline constexpr const char* kDefaultShapePredictorPath =
    "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

struct RigidInitOptions {
  // Model regions (HeadModel::region_names) whose surface the scan is aligned to; a model
  // without regions uses its whole mesh. An unknown name is an InputError.
  std::vector<std::string> regions = {"face"};
  // Regions searched for closest points but never counted as matches (names the model lacks are
  // skipped): scan points on them are left out instead of pulling the border of `regions`.
  std::vector<std::string> context_regions = {"head_neck"};
  // Estimate cam_from_head.scale too; otherwise it stays 1 (the model is metric).
  bool estimate_scale = false;

  // Head localization (depth only). Neighbouring pixels closer than connect_jump_m in depth are
  // one surface; of the surfaces of at least min_surface_m2 square metres near the nearest one,
  // the one reaching highest in the image is the body, and the head is its top. head_radius_m:
  // the scan points within this distance (metres) of the head center are aligned.
  double connect_jump_m = 0.02;
  double min_surface_m2 = 0.01;
  double head_radius_m = 0.14;

  // Rotation hypotheses of the depth-only path: (yaw, pitch) in degrees away from facing the
  // camera upright (yaw about the head's +y, pitch about its +x, as FromYawPitchRoll).
  std::vector<Eigen::Vector2d> hypotheses_yaw_pitch_deg = {{0, 0},  {-40, 0}, {40, 0}, {-80, 0},
                                                           {80, 0}, {0, -20}, {0, 20}};

  // ICP. Each hypothesis runs hypothesis_iterations on at most hypothesis_points scan points
  // (an even subsample); the best is refined by refine_iterations on at most refine_points.
  int hypothesis_iterations = 12;
  int hypothesis_points = 1000;
  int refine_iterations = 15;
  int refine_points = 5000;
  // Match distance, metres: from initial_inlier_distance_m down to inlier_distance_m (halved
  // every few iterations), which also defines the inliers of the summary.
  double initial_inlier_distance_m = 0.04;
  double inlier_distance_m = 0.01;
  // Largest angle between the scan normal and the model normal of a match, degrees.
  double max_normal_angle_deg = 60.0;
  // The identity is unknown at first and a rigid fit of the wrong face tilts the head by several
  // degrees. The final refinement therefore also fits this many leading identity components
  // (added to identity_shape's; RigidInitSummary::identity; 0: rigid only), with a Gaussian
  // prior: a coefficient of one standard deviation costs as much as raising the RMS
  // point-to-plane distance to identity_prior_m metres.
  int identity_components = 20;
  double identity_prior_m = 0.0002;

  // A head is found when the final alignment has at least min_inliers inliers, an inlier
  // fraction (of the scan points near the head) of at least min_inlier_fraction, an inlier RMS
  // point-to-plane distance of at most max_rms_m metres and a face agreement (see the summary)
  // of at least min_face_agreement: heads reach 0.95 and more, a face flattened onto a wall 0.77.
  int min_inliers = 200;
  double min_inlier_fraction = 0.3;
  double max_rms_m = 0.006;
  double min_face_agreement = 0.85;

  // Landmarks. The shape predictor file (dlib's iBUG-68 model).
  std::filesystem::path landmark_model_path = kDefaultShapePredictorPath;
  // dlib's jaw line (landmarks 0-16) follows the silhouette, not fixed points of the face, so it
  // is left out unless this is set.
  bool use_jaw_landmarks = false;
  // After a fit, landmarks farther than max(landmark_outlier_m, 3 x median residual) (metres)
  // from the model landmark are dropped and the fit repeated; at least min_landmarks with depth
  // must remain.
  double landmark_outlier_m = 0.015;
  int min_landmarks = 8;

  // OpenMP threads of the closest-point queries and the rendering; 0 uses omp_get_max_threads().
  int num_threads = 0;

  // Throws CheckError naming the bad option.
  void Check() const;
};

struct RigidInitSummary {
  bool found = false;  // a head was found and aligned well enough (see RigidInitOptions)
  // x_cam = scale * rotation * x_head + translation (metres).
  SimilarityTransform cam_from_head;
  // identity_shape's coefficients with the leading identity_components refitted (a start for a
  // tracker; empty when no head was found to refine); the statistics below are of the model
  // with this identity.
  Eigen::VectorXf identity;
  double rms_m = 0.0;            // RMS point-to-plane distance of the inliers, metres
  double inlier_fraction = 0.0;  // inliers / scan points near the head
  int num_inliers = 0;
  int num_scan_points = 0;  // scan points near the head used by the final refinement
  // Of the pixels where the aligned model shows `regions` and the scan has a point, the fraction
  // whose depths differ by at most inlier_distance_m; -1 when the scan is not organized like the
  // camera.
  double face_agreement = -1.0;
  int hypotheses_tried = 0;
  int landmarks_used = 0;  // landmark path: landmarks kept by the robust fit
  std::string message;     // why not found (or what was done), for a log line
  double seconds = 0.0;
};

// Depth only. model, identity_shape: the model and its shape (zero identity at first).
// scan: organized oriented cloud in the camera frame, metres (PreprocessDepth's output; NaN rows
// invalid; normals toward the camera). An unorganized cloud is taken as one surface. Returns
// found = false with a message for a scan without a head (empty, all invalid, too small).
RigidInitSummary InitializeRigidFromDepth(const HeadModel& model,
                                          const IdentityShape& identity_shape,
                                          const PointCloud& scan, const PinholeCamera& camera,
                                          const RigidInitOptions& options = {});

// With color: detects the largest face (loads options.landmark_model_path on every call, about
// a second; InputError naming the file when it is missing or not a shape predictor), lifts its
// landmarks with the organized scan and aligns. color: RGB (or gray), registered to the depth;
// when its size differs from the scan's, pixel positions are scaled by the size ratio.
RigidInitSummary InitializeRigidFromLandmarks(const HeadModel& model,
                                              const IdentityShape& identity_shape,
                                              const ColorImage& color, const PointCloud& scan,
                                              const PinholeCamera& camera,
                                              const RigidInitOptions& options = {});

// The landmark path after detection. landmarks_px: the 68 iBUG landmarks in pixels of the scan's
// grid (u right, v down). Each is lifted to the scan point at its pixel (or the nearest valid one
// within 2 pixels; skipped otherwise), a similarity (Umeyama; scale only with estimate_scale) to
// the model's landmark vertices is fitted robustly, then refined by ICP. found = false with a
// message when the model has no landmarks or too few landmarks have depth.
RigidInitSummary AlignLandmarks(const HeadModel& model, const IdentityShape& identity_shape,
                                const std::vector<Eigen::Vector2d>& landmarks_px,
                                const PointCloud& scan, const PinholeCamera& camera,
                                const RigidInitOptions& options = {});

}  // namespace headtrack
