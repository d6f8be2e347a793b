// The joint fit of several depth frames of one person: one identity shared by all frames, each
// frame's own pose, expression and joints, and temporal smoothness between consecutive frames
// (DPHM section 5, phases 1 and 3). Solved by bounded Levenberg-Marquardt on the whole problem,
// exploiting its structure.
//
// Cost, in the convention of DepthFitEnergy (0.5 * sum of squared, weighted residuals):
//   sum_f E_f(identity, x_f)              each frame's data, landmark and expression-prior terms
//                                         (DepthFitEnergy with identity_weight 0 and no temporal
//                                         terms of its own), correspondences fixed
//   + 0.5 l_identity |identity|^2         the identity prior, once
//   + sum over linked pairs (f-1, f):     DepthFitEnergy's temporal terms between the two
//                                         frames, both of them unknown
//       0.5 l_te |e_f - e_{f-1}|^2 + 0.5 l_tj |j_f - j_{f-1}|^2
//       + 0.5 l_tr |vee(M - M^T)/2|^2 / sigma_r^2,  M = R_f R_{f-1}^T
//       + 0.5 l_tt |t_f - t_{f-1}|^2 / sigma_t^2
//
// Structure. Order the unknowns as [x_1 .. x_N, identity]. The Gauss-Newton matrix is
//   [ A    B ]   A: block tridiagonal (frame blocks; off-diagonal blocks only between linked
//   [ B^T  D ]      frames), B: frame-identity coupling, D: identity block (K x K).
// A step eliminates the frames with a block-tridiagonal Cholesky factorization of A and solves
// the Schur complement S = D - B^T A^-1 B for the identity, then back-substitutes: O(N m^3 +
// N m^2 K + K^3) for N frames of m unknowns, against O((N m + K)^3) for a dense solve.
// Blendshape bounds are kept by fixing, per step, the entries at a bound that the gradient pushes
// outward and projecting the rest of the step onto the box.
#pragma once

#include <vector>

#include <Eigen/Core>

#include "headtrack/depth_fit_energy.h"
#include "headtrack/head_model.h"
#include "headtrack/head_state.h"

namespace headtrack {

// One frame of the joint problem: its fixed terms (correspondences, landmarks; `previous` must
// be null) and whether it is linked to the frame before it in the list by the temporal terms.
struct MultiFrameTerms {
  std::vector<FitTerms> frames;
  std::vector<bool> linked_to_previous;  // one per frame; the first must be false
};

struct MultiFrameStep {
  bool accepted = false;
  double cost_before = 0.0;
  double cost_after = 0.0;
  int fixed_at_bounds = 0;  // entries held at a bound in the last tried step
};

struct MultiFrameSolveSummary {
  int iterations = 0;            // Levenberg-Marquardt steps tried
  double initial_cost = 0.0;
  double final_cost = 0.0;
  std::vector<double> cost_per_iteration;
  bool converged = false;        // relative decrease below the tolerance, or no step decreases
  double seconds = 0.0;
};

class MultiFrameFit {
 public:
  // options: the per-frame energy (regions, data term, robust loss, expression prior) and the
  // weights of the identity prior and of the temporal terms, used as described above. The
  // identity is always optimized; pose, expression and joints as options say.
  MultiFrameFit(const HeadModel& model, const DepthFitOptions& options);

  const DepthFitEnergy& frame_energy() const { return frame_energy_; }
  const DepthFitOptions& options() const { return options_; }
  // Unknowns per frame (all of the frame energy's layout but the identity).
  int frame_size() const { return frame_size_; }
  int identity_size() const { return frame_energy_.layout().num_identity; }

  // Correspondences of one frame at `state` (DepthFitEnergy::Associate of the frame energy).
  AssociationStats Associate(const HeadState& state, const PointCloud& scan,
                             const PinholeCamera& camera,
                             std::vector<Correspondence>* correspondences);

  // The cost above. states: one per frame, all with the same identity (CheckError otherwise).
  double Cost(const std::vector<HeadState>& states, const MultiFrameTerms& terms) const;

  // Slow reference for tests: the gradient and the dense Gauss-Newton matrix of the whole
  // problem (IRLS for the robust losses) in the order [x_1 .. x_N, identity].
  void LinearizeDense(const std::vector<HeadState>& states, const MultiFrameTerms& terms,
                      Eigen::MatrixXd* hessian, Eigen::VectorXd* gradient) const;

  // The structured solve of (H + damping) d = -g without bounds, for tests against a dense
  // solve: d in the order [x_1 .. x_N, identity].
  Eigen::VectorXd SolveStructured(const std::vector<HeadState>& states,
                                  const MultiFrameTerms& terms, double damping) const;

  // One bounded Levenberg-Marquardt step: raises *damping until the cost drops (at most
  // max_retries times), lowers it after a success; *states move only when the step is taken.
  MultiFrameStep Step(const MultiFrameTerms& terms, int max_retries, double* damping,
                      std::vector<HeadState>* states) const;

  // Steps until the relative cost decrease falls below function_tolerance or max_iterations.
  MultiFrameSolveSummary Solve(const MultiFrameTerms& terms, int max_iterations,
                               double function_tolerance, std::vector<HeadState>* states) const;

  // `state` moved by a frame step (frame_size()) and an identity step (identity_size()).
  HeadState Move(const HeadState& state, const Eigen::VectorXd& frame_delta,
                 const Eigen::VectorXd& identity_delta) const;

 private:
  struct Linearization;
  void Linearize(const std::vector<HeadState>& states, const MultiFrameTerms& terms,
                 Linearization* linearization) const;
  Eigen::VectorXd SolveLinearization(const Linearization& linearization, double damping,
                                     const std::vector<std::vector<bool>>* fixed) const;
  double TemporalCost(const HeadState& state, const HeadState& previous) const;
  void CheckProblem(const std::vector<HeadState>& states, const MultiFrameTerms& terms) const;

  DepthFitOptions options_;
  DepthFitEnergy frame_energy_;
  int frame_size_ = 0;
  std::vector<int> frame_columns_;  // frame unknown i -> column of the frame energy's layout
};

}  // namespace headtrack
