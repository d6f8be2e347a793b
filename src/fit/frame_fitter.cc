#include "headtrack/frame_fitter.h"

#include <algorithm>
#include <cmath>

#include "core/stopwatch.h"
#include "fit/bounded_quadratic.h"
#include "headtrack/error.h"

namespace headtrack {

void FrameFitOptions::Check() const {
  energy.Check();
  HT_CHECK(max_iterations >= 1, "FrameFitOptions::max_iterations must be >= 1");
  HT_CHECK(min_correspondences >= 1, "FrameFitOptions::min_correspondences must be >= 1");
  HT_CHECK(function_tolerance >= 0, "FrameFitOptions::function_tolerance must be >= 0");
  HT_CHECK(initial_damping > 0, "FrameFitOptions::initial_damping must be > 0");
  HT_CHECK(max_damping_retries >= 0, "FrameFitOptions::max_damping_retries must be >= 0");
}

const char* FitTerminationName(FitTermination termination) {
  switch (termination) {
    case FitTermination::kConverged: return "converged";
    case FitTermination::kMaxIterations: return "max_iterations";
    case FitTermination::kTooFewCorrespondences: return "too_few_correspondences";
  }
  return "unknown";
}

LevenbergMarquardtStep TakeLevenbergMarquardtStep(const DepthFitEnergy& energy,
                                                  const FitTerms& terms, int max_retries,
                                                  double* damping, HeadState* state) {
  LevenbergMarquardtStep result;
  Stopwatch stopwatch;
  NormalEquations equations;
  energy.Linearize(*state, terms, &equations);
  result.cost_before = equations.cost;
  result.cost_after = equations.cost;
  result.seconds_assemble = stopwatch.seconds();

  stopwatch.Restart();
  Eigen::VectorXd lower, upper;
  energy.StepBounds(*state, &lower, &upper);
  const Eigen::VectorXd diagonal = equations.hessian.diagonal().cwiseMax(1e-9);
  for (int attempt = 0; attempt <= max_retries; ++attempt) {
    Eigen::MatrixXd damped = equations.hessian;
    damped.diagonal() += *damping * diagonal;
    const Eigen::VectorXd step = SolveBoundedQuadratic(damped, equations.gradient, lower, upper);
    const HeadState trial = energy.Step(*state, step);
    const double cost = energy.Cost(trial, terms);
    if (std::isfinite(cost) && cost < equations.cost) {
      *state = trial;
      result.accepted = true;
      result.cost_after = cost;
      *damping = std::max(*damping / 3.0, 1e-12);
      break;
    }
    *damping *= 8.0;
  }
  result.seconds_solve = stopwatch.seconds();
  return result;
}

double SolveWithFixedTerms(const DepthFitEnergy& energy, const FitTerms& terms,
                           int max_iterations, double function_tolerance, HeadState* state,
                           int* iterations) {
  double damping = 1e-4;
  double cost = energy.Cost(*state, terms);
  int done = 0;
  for (; done < max_iterations; ++done) {
    const LevenbergMarquardtStep step = TakeLevenbergMarquardtStep(energy, terms, 10, &damping, state);
    if (!step.accepted) break;
    const double decrease = step.cost_before - step.cost_after;
    cost = step.cost_after;
    if (decrease <= function_tolerance * step.cost_before) {
      ++done;
      break;
    }
  }
  if (iterations) *iterations = done;
  return cost;
}

FrameFitter::FrameFitter(const HeadModel& model, const FrameFitOptions& options)
    : options_(options), energy_(model, options.energy) {
  options_.Check();
}

FrameFitSummary FrameFitter::Fit(const PointCloud& scan, const PinholeCamera& camera,
                                 const std::vector<LandmarkTarget>& landmarks,
                                 const HeadState* previous, HeadState* state) {
  const Stopwatch stopwatch;
  FrameFitSummary summary;
  FitTerms terms;
  terms.landmarks = landmarks;
  terms.previous = previous;
  double damping = options_.initial_damping;
  for (int iteration = 0; iteration < options_.max_iterations; ++iteration) {
    terms.correspondences.clear();
    summary.association = energy_.Associate(*state, scan, camera, &terms.correspondences);
    summary.seconds_render += summary.association.seconds_render;
    summary.seconds_associate += summary.association.seconds_associate;
    summary.num_correspondences = summary.association.accepted;
    if (summary.num_correspondences < options_.min_correspondences) {
      summary.termination = FitTermination::kTooFewCorrespondences;
      break;
    }
    const LevenbergMarquardtStep step = TakeLevenbergMarquardtStep(
        energy_, terms, options_.max_damping_retries, &damping, state);
    summary.seconds_assemble += step.seconds_assemble;
    summary.seconds_solve += step.seconds_solve;
    summary.iterations = iteration + 1;
    if (iteration == 0) summary.initial_cost = step.cost_before;
    summary.cost_per_iteration.push_back(step.cost_after);
    summary.final_cost = step.cost_after;
    if (!step.accepted ||
        step.cost_before - step.cost_after <= options_.function_tolerance * step.cost_before) {
      summary.termination = FitTermination::kConverged;
      break;
    }
    summary.termination = FitTermination::kMaxIterations;
  }
  summary.seconds_total = stopwatch.seconds();
  return summary;
}

}  // namespace headtrack
