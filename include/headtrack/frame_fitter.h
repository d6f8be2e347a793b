// Fits the model to one depth frame: rounds of projective association (render, pair pixels)
// followed by a bounded Levenberg-Marquardt step on the energy of DepthFitEnergy.
#pragma once

#include <string>
#include <vector>

#include "headtrack/depth_fit_energy.h"
#include "headtrack/head_model.h"
#include "headtrack/head_state.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"

namespace headtrack {

struct FrameFitOptions {
  DepthFitOptions energy;
  int max_iterations = 3;           // association rounds, each one Levenberg-Marquardt step
  int min_correspondences = 100;    // fewer: termination kTooFewCorrespondences
  double function_tolerance = 1e-5; // relative cost decrease that counts as converged
  double initial_damping = 1e-4;    // Levenberg-Marquardt lambda, relative to diag(H)
  int max_damping_retries = 6;      // rejected steps before giving up an iteration

  void Check() const;
};

enum class FitTermination {
  // The cost stopped decreasing: its relative decrease fell below function_tolerance, or no
  // damped step reduces it (a minimum up to numerical precision).
  kConverged,
  kMaxIterations,          // ran all iterations
  kTooFewCorrespondences,  // the model does not meet the scan (lost)
};

const char* FitTerminationName(FitTermination termination);

struct FrameFitSummary {
  FitTermination termination = FitTermination::kMaxIterations;
  int iterations = 0;
  double initial_cost = 0.0;              // at the first association
  double final_cost = 0.0;                // at the last association, after its step
  std::vector<double> cost_per_iteration; // after each iteration's step (its association)
  int num_correspondences = 0;            // of the last association
  AssociationStats association;           // of the last association
  // Seconds per stage, summed over iterations.
  double seconds_render = 0.0;     // model evaluation and rasterization
  double seconds_associate = 0.0;  // pairing pixels
  double seconds_assemble = 0.0;   // normal equations
  double seconds_solve = 0.0;      // bounded solve and cost of the trial steps
  double seconds_total = 0.0;

  bool usable() const { return termination != FitTermination::kTooFewCorrespondences; }
};

class FrameFitter {
 public:
  FrameFitter(const HeadModel& model, const FrameFitOptions& options);

  const FrameFitOptions& options() const { return options_; }
  const DepthFitEnergy& energy() const { return energy_; }

  // scan: organized oriented cloud of `camera`'s size (PreprocessDepth). landmarks: optional 3D
  // targets. previous: the previous frame's state for the temporal terms, or null. *state:
  // the initial guess in, the fit out (unchanged when too few correspondences).
  FrameFitSummary Fit(const PointCloud& scan, const PinholeCamera& camera,
                      const std::vector<LandmarkTarget>& landmarks, const HeadState* previous,
                      HeadState* state);

 private:
  FrameFitOptions options_;
  DepthFitEnergy energy_;
};

// One Levenberg-Marquardt step on fixed terms: linearizes at *state, tries damped bounded
// steps (raising *damping until the cost drops, lowering it after a success). Returns whether a
// step was taken; *cost_before / *cost_after receive the costs.
struct LevenbergMarquardtStep {
  bool accepted = false;
  double cost_before = 0.0;
  double cost_after = 0.0;
  double seconds_assemble = 0.0;
  double seconds_solve = 0.0;
};
LevenbergMarquardtStep TakeLevenbergMarquardtStep(const DepthFitEnergy& energy,
                                                  const FitTerms& terms, int max_retries,
                                                  double* damping, HeadState* state);

// Minimizes the energy with the terms fixed (no re-association) until the relative cost
// decrease falls below `function_tolerance`: the reference problem that the Ceres comparison
// solves too. Returns the final cost.
double SolveWithFixedTerms(const DepthFitEnergy& energy, const FitTerms& terms,
                           int max_iterations, double function_tolerance, HeadState* state,
                           int* iterations = nullptr);

}  // namespace headtrack
