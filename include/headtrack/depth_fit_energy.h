// The per-frame energy of model-to-depth fitting (OptiHead; DPHM, supplement C), its
// correspondences by projective association, and its Gauss-Newton linearization.
//
// Correspondences. The model is rendered into the scan's camera (region triangles only); each
// rendered pixel pairs the visible model point p = sum_i b_i v_i (barycentrics b fixed, vertex
// positions v_i differentiated) with the scan point q and normal n at the same pixel. Pairs
// farther than max_distance_m or whose normals disagree (n_model . n_scan < min_normal_dot) are
// rejected.
//
// Cost, in the convention of Ceres (0.5 * sum of rho(squared residual norms)):
//   data       0.5 sum_k w_k [ l_plane rho(r_k^2) + l_point rho(|s_k|^2) ],
//              r_k = n_k . (p_k - q_k) / sigma,  s_k = (p_k - q_k) / sigma,
//              rho the robust loss (Huber or Tukey with threshold loss_threshold, in sigmas)
//   landmarks  0.5 l_landmark sum_l |v_l - L_l|^2 / landmark_sigma^2
//   priors     0.5 l_identity |identity|^2 + 0.5 l_expression |expression|^2
//   temporal   0.5 l_temporal_expression |expression - previous|^2
//              + 0.5 l_temporal_joints |joint rotations - previous|^2
//              + 0.5 l_temporal_rotation |vee(M - M^T) / 2|^2 / rotation_sigma^2,
//                M = R R_previous^T (vee(M - M^T)/2 = sin(angle) axis)
//              + 0.5 l_temporal_translation |t - t_previous|^2 / translation_sigma^2
// Blendshape expressions (ExpressionKind::kBlendshapes) are bounded to [0, 1].
//
// Parameters of one Gauss-Newton step (ParameterLayout), in this order:
//   rotation   3  left increment in the camera frame: R <- exp([d]x) R
//   translation 3 t <- t + d (metres, camera frame)
//   log scale  1  s <- s exp(d)                                   (estimate_scale)
//   identity   K  additive                                         (optimize_identity)
//   expression E  additive, then kept in bounds                    (optimize_expression)
//   joints     3J' additive on the axis-angle vectors of the optimized joints (FLAME; the root
//              joint is never optimized: cam_from_head carries the head's rigid motion)
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "headtrack/head_model.h"
#include "headtrack/head_state.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"
#include "headtrack/rasterizer.h"

namespace headtrack {

enum class RobustLoss { kNone, kHuber, kTukey };

struct DepthFitOptions {
  // Which unknowns move.
  bool optimize_pose = true;
  bool estimate_scale = false;
  bool optimize_identity = false;
  bool optimize_expression = true;
  bool optimize_joints = true;  // models with joints; all but the root

  // Association.
  std::vector<std::string> regions = {"face"};  // model regions rendered and fitted
  double max_distance_m = 0.02;
  double min_normal_dot = 0.9;
  int pixel_stride = 1;  // use every pixel_stride-th rendered pixel in x and y

  // Data term.
  double sigma_m = 0.001;
  double point_to_plane_weight = 1.0;
  // Point-to-point pulls the model toward the scan point of the same pixel, which biases motion
  // along the surface under projective association (it slows convergence and costs accuracy
  // in our measurements); off by default.
  double point_to_point_weight = 0.0;
  RobustLoss loss = RobustLoss::kHuber;
  double loss_threshold = 3.0;  // in sigmas

  // Landmark term (used when landmark targets are given).
  double landmark_weight = 1.0;
  double landmark_sigma_m = 0.005;

  // Priors.
  double identity_weight = 1.0;
  double expression_weight = 1.0;

  // Temporal smoothness against the previous frame (used when one is given).
  double temporal_expression_weight = 0.0;
  double temporal_joints_weight = 0.0;
  double temporal_rotation_weight = 0.0;
  double temporal_translation_weight = 0.0;
  double temporal_rotation_sigma = 0.01;     // radians
  double temporal_translation_sigma_m = 0.001;

  int num_threads = 1;  // OpenMP threads for association and assembly; 0: all

  void Check() const;  // CheckError naming the bad option
};

// One pair of model point and scan point, camera frame.
struct Correspondence {
  std::array<int, 3> vertices{};     // model vertex ids
  Eigen::Vector3f barycentrics;      // weights of the vertices, sum 1
  Eigen::Vector3f scan_point;        // metres
  Eigen::Vector3f scan_normal;       // unit
  float weight = 1.0f;               // multiplies both data terms
};

// A 3D target for one model vertex (camera frame, metres).
struct LandmarkTarget {
  int vertex = 0;
  Eigen::Vector3f point;
};

// What the energy of one frame is made of, besides the state.
struct FitTerms {
  std::vector<Correspondence> correspondences;
  std::vector<LandmarkTarget> landmarks;
  const HeadState* previous = nullptr;  // temporal terms when set
};

// Indices of the unknowns of one step.
struct ParameterLayout {
  int rotation = -1, translation = -1, log_scale = -1, identity = -1, expression = -1, joints = -1;
  int num_identity = 0, num_expression = 0;
  std::vector<int> joint_ids;  // optimized joints, 3 parameters each from `joints`
  int size = 0;
};

// Normal equations of one linearization: H = J^T W J (lower triangle filled, and mirrored),
// g = J^T W r, cost as above, at the linearization point.
struct NormalEquations {
  Eigen::MatrixXd hessian;
  Eigen::VectorXd gradient;
  double cost = 0.0;
};

struct AssociationStats {
  int rendered_pixels = 0;  // sampled rendered pixels
  int no_scan = 0;          // scan invalid at the pixel
  int too_far = 0;
  int normal_mismatch = 0;
  int accepted = 0;
  double rms_point_to_plane_m = 0.0;  // of the accepted pairs
  double seconds_render = 0.0;     // model evaluation and rasterization
  double seconds_associate = 0.0;  // pairing
};

class DepthFitEnergy {
 public:
  DepthFitEnergy(const HeadModel& model, const DepthFitOptions& options);
  ~DepthFitEnergy();
  DepthFitEnergy(DepthFitEnergy&&) noexcept;
  DepthFitEnergy& operator=(DepthFitEnergy&&) noexcept;

  const HeadModel& model() const;
  const DepthFitOptions& options() const;
  const ParameterLayout& layout() const;

  // Renders the model at `state` into `camera` and pairs it with `scan` (organized, camera's
  // size, from PreprocessDepth: NaN where invalid, normals toward the camera). Appends to
  // *correspondences.
  AssociationStats Associate(const HeadState& state, const PointCloud& scan,
                             const PinholeCamera& camera,
                             std::vector<Correspondence>* correspondences);

  // The cost at `state` (correspondences fixed).
  double Cost(const HeadState& state, const FitTerms& terms) const;

  // Gauss-Newton normal equations at `state`, robust losses by iteratively reweighted least
  // squares (the same stationary points as Ceres' loss functions). Assembled in parallel.
  void Linearize(const HeadState& state, const FitTerms& terms, NormalEquations* equations) const;

  // Slow reference: every residual, scaled by the square root of its weight but without the
  // robust loss (so cost = 0.5 |residuals|^2 exactly when loss is kNone), and its dense Jacobian
  // (rows x layout().size) at `state`. For tests against finite differences.
  void EvaluateResiduals(const HeadState& state, const FitTerms& terms, Eigen::VectorXd* residuals,
                         Eigen::MatrixXd* jacobian) const;

  // `state` moved by a step `delta` (layout().size); expressions clamped to their bounds.
  HeadState Step(const HeadState& state, const Eigen::VectorXd& delta) const;

  // Lower and upper bounds of every parameter relative to `state` (what delta may be); +-inf for
  // unbounded ones.
  void StepBounds(const HeadState& state, Eigen::VectorXd* lower, Eigen::VectorXd* upper) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace headtrack
