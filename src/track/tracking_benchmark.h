// The tracking benchmark behind `headtrack bench` (issue 4): a simulated Azure Kinect sequence
// (sensor/synthesizer.h) is tracked online frame by frame, and on a few of its frames our solver
// and Ceres minimize the same fixed-correspondence energy from the same start.
//
// Online speed: Tracker::Track per frame, timed with std::chrono::steady_clock (reading the
// PNGs is not timed). The steady state is the frames after the identity phase that ran no
// rigid initialization: what a long recording costs per frame.
//
// Solver comparison, on each chosen steady-state frame k whose previous frame was tracked: the
// frame is preprocessed as the tracker does (without its head crop, which only removes pixels
// far from the face and does not change the correspondences), one association at the tracker's
// state before the fit of frame k (the fit of frame k - 1) gives the correspondences, the
// previous frame's fit gives the temporal terms; then SolveWithFixedTerms and SolveWithCeres
// (one thread each) run from that state to the same relative cost decrease.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace headtrack {

struct TrackingBenchmarkOptions {
  int frames = 120;        // length of the simulated sequence
  std::uint64_t seed = 0;  // identity, expressions, motion and noise of the sequence
  int threads = 1;         // Tracker's threads (0: all cores); the solver comparison uses 1
  int ceres_frames = 5;    // steady-state frames of the solver comparison (0: none)
  // Relative cost decrease at which both solvers stop.
  double function_tolerance = 1e-10;
  std::string model_path;  // empty: the default model (ResolveModelPath)
  // Where the sequence is written and kept (must not hold files); empty: a temporary folder,
  // removed at the end.
  std::filesystem::path work_folder;
  bool progress = true;  // progress bars on standard error

  void Check() const;  // CheckError naming the bad option
};

// The solver comparison on one frame.
struct SolverComparison {
  int frame = 0;
  int correspondences = 0;
  double initial_cost = 0.0;    // at the common start (ours)
  double ours_cost = 0.0;       // final costs, 0.5 sum rho as DepthFitEnergy::Cost
  double ceres_cost = 0.0;
  double relative_cost_difference = 0.0;  // |ours - ceres| / max(ceres, tiny)
  double ours_seconds = 0.0;    // SolveWithFixedTerms, whole call
  double ceres_seconds = 0.0;   // Ceres' own solve time (its problem construction excluded)
  int ours_iterations = 0;
  int ceres_iterations = 0;
  bool ceres_converged = false;
};

// Milliseconds per frame of each stage (mean over the frames counted).
struct StageMilliseconds {
  double preprocess = 0.0, initialize = 0.0, render = 0.0, associate = 0.0, assemble = 0.0,
         solve = 0.0;
  double other = 0.0;  // the rest of Tracker::Track (checks, bookkeeping)
  double total = 0.0;
};

struct TrackingBenchmarkResult {
  // The sequence.
  std::string model;  // the model file
  int width = 0, height = 0;  // depth resolution
  int tracking_width = 0, tracking_height = 0;  // after the tracker's subsampling
  int frames = 0;
  int threads = 1;

  // Tracking.
  int tracked = 0;
  int lost = 0;
  int initialized_frames = 0;    // frames that ran a rigid initialization
  int identity_frames = 0;       // frames of the identity phase
  int steady_frames = 0;         // neither of these: the online steady state
  double fps_online = 0.0;       // 1000 / steady.total
  double fps_overall = 0.0;      // all frames / their summed time
  StageMilliseconds steady;      // per steady-state frame
  StageMilliseconds overall;     // per frame, all frames
  double median_ms = 0.0;        // per steady-state frame
  double p95_ms = 0.0;
  // Process CPU time / wall time while tracking: about 1 when one core did the work.
  double cpu_per_wall = 0.0;

  // Solver comparison (empty when ceres_frames is 0, no steady-state frame qualified, or the
  // model has joints, which the Ceres reference does not support: see ceres_note).
  std::vector<SolverComparison> comparisons;
  std::string ceres_note;
  double ours_seconds = 0.0;   // summed over the comparisons
  double ceres_seconds = 0.0;
  double ceres_over_ours = 0.0;                // ceres_seconds / ours_seconds
  double max_relative_cost_difference = 0.0;   // over the comparisons

  double seconds = 0.0;  // the whole benchmark, synthesis included
};

// Runs the benchmark. Throws InputError when the model cannot be read or work_folder holds
// files, Error when the sequence cannot be written; CheckError for bad options.
TrackingBenchmarkResult RunTrackingBenchmark(const TrackingBenchmarkOptions& options);

}  // namespace headtrack
