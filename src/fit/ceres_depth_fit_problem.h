// The per-frame energy of DepthFitEnergy (fixed terms), written a second time with Ceres
// Solver's automatic differentiation: the slow reference that tests compare our cost and our
// solver with, and the baseline of the benchmarks. Not used by the tracker.
//
// Ceres problem: one residual block per correspondence and data term (point-to-plane: 1
// residual; point-to-point: 3), each with the robust loss scaled by its weight; one block per
// landmark; the priors and temporal terms as linear blocks. Parameter blocks: a rotation
// increment w (axis-angle, R = exp([w]x) R_initial), the translation, the log scale (when
// estimated), the identity and the expression coefficients (in [0, 1] for blendshapes);
// blocks of unknowns the options hold fixed are constant. Linear models only (no joints).
#pragma once

#include <string>

#include "headtrack/depth_fit_energy.h"
#include "headtrack/head_model.h"
#include "headtrack/head_state.h"

namespace headtrack {

struct CeresFitOptions {
  int max_iterations = 200;
  double function_tolerance = 1e-12;  // Ceres' relative cost decrease for convergence
  int num_threads = 1;                // Ceres' threads for evaluation and the linear solver

  void Check() const;
};

struct CeresFitResult {
  HeadState state;            // the fit
  double initial_cost = 0.0;  // Ceres' summary: 0.5 sum rho, as DepthFitEnergy::Cost
  double final_cost = 0.0;
  double seconds = 0.0;       // sum of Ceres' solve times (problem construction and the
                              // active-set gradients excluded: Ceres' own time only)
  int iterations = 0;         // Ceres' iterations, accepted and rejected steps
  bool converged = false;     // Ceres' CONVERGENCE, with a stable active set when bounded
  std::string report;         // Ceres' BriefReport of the last solve, and the number of solves
};

// The cost of `state` as Ceres evaluates it (Problem::Evaluate): equals DepthFitEnergy::Cost
// up to rounding. Model without joints; terms' vertex ids in range.
double EvaluateCostWithCeres(const HeadModel& model, const DepthFitOptions& options,
                             const FitTerms& terms, const HeadState& state);

// Minimizes the energy with the terms fixed by Ceres' Levenberg-Marquardt (dense normal
// Cholesky), starting at `initial` (expressions within their bounds). Ceres projects its steps
// onto the bounds, which stalls above the minimum when many blendshapes rest on a bound; for
// bounded expressions, Ceres therefore runs inside an active-set loop: hold the coefficients on
// a bound that the gradient pushes outward (SubsetManifold), one Ceres iteration, repeat, until
// Ceres converges with that set unchanged.
CeresFitResult SolveWithCeres(const HeadModel& model, const DepthFitOptions& options,
                              const FitTerms& terms, const HeadState& initial,
                              const CeresFitOptions& ceres_options = {});

}  // namespace headtrack
