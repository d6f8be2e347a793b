#include "track/tracking_benchmark.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <system_error>

#include "core/progress.h"
#include "core/stopwatch.h"
#include "fit/ceres_depth_fit_problem.h"
#include "headtrack/depth_fit_energy.h"
#include "headtrack/depth_preprocessing.h"
#include "headtrack/error.h"
#include "headtrack/frame_fitter.h"
#include "headtrack/head_model.h"
#include "headtrack/model_path.h"
#include "headtrack/sequence.h"
#include "headtrack/tracker.h"
#include "sensor/synthesizer.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;

// A fresh folder name under the system's temporary folder, removed with the guard.
class TemporaryFolder {
 public:
  TemporaryFolder()
      : path_(fs::temp_directory_path() /
              ("headtrack_bench_" + std::to_string(getpid()) + "_" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))) {}
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sums the stages of `frames` and divides by their number.
StageMilliseconds MeanStages(const std::vector<const FrameResult*>& frames) {
  StageMilliseconds ms;
  if (frames.empty()) return ms;
  for (const FrameResult* frame : frames) {
    ms.preprocess += frame->seconds_preprocess;
    ms.initialize += frame->seconds_initialize;
    ms.render += frame->fit.seconds_render;
    ms.associate += frame->fit.seconds_associate;
    ms.assemble += frame->fit.seconds_assemble;
    ms.solve += frame->fit.seconds_solve;
    ms.total += frame->seconds_total;
  }
  const double scale = 1000.0 / frames.size();
  for (double* value : {&ms.preprocess, &ms.initialize, &ms.render, &ms.associate, &ms.assemble,
                        &ms.solve, &ms.total}) {
    *value *= scale;
  }
  ms.other = ms.total - (ms.preprocess + ms.initialize + ms.render + ms.associate + ms.assemble +
                         ms.solve);
  return ms;
}

// Nearest-rank percentile (0 < p <= 1) of a non-empty list.
double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * values.size()));
  return values[std::max<size_t>(rank, 1) - 1];
}

// Our solver and Ceres on frame `index`, both from `start` (the fit of the previous frame,
// which also gives the temporal terms), as described in the header.
SolverComparison CompareSolvers(const HeadModel& model, const Tracker& tracker,
                                const Sequence& sequence, int index, const HeadState& start,
                                const TrackingBenchmarkOptions& options) {
  SolverComparison comparison;
  comparison.frame = sequence.frame_numbers()[index];
  DepthPreprocessingOptions preprocessing = tracker.options().preprocessing;
  preprocessing.num_threads = 1;
  const PreprocessedDepth scan =
      PreprocessDepth(SubsampleDepth(sequence.ReadFrame(index).depth, tracker.options().subsample),
                      tracker.tracking_camera(), preprocessing);

  DepthFitOptions energy_options = tracker.options().fit.energy;
  energy_options.num_threads = 1;
  DepthFitEnergy energy(model, energy_options);
  FitTerms terms;
  terms.previous = &start;
  energy.Associate(start, scan.cloud, tracker.tracking_camera(), &terms.correspondences);
  comparison.correspondences = static_cast<int>(terms.correspondences.size());
  comparison.initial_cost = energy.Cost(start, terms);

  constexpr int kMaxIterations = 500;
  HeadState ours = start;
  const Stopwatch ours_stopwatch;
  comparison.ours_cost = SolveWithFixedTerms(energy, terms, kMaxIterations,
                                             options.function_tolerance, &ours,
                                             &comparison.ours_iterations);
  comparison.ours_seconds = ours_stopwatch.seconds();

  CeresFitOptions ceres_options;
  ceres_options.max_iterations = kMaxIterations;
  ceres_options.function_tolerance = options.function_tolerance;
  ceres_options.num_threads = 1;
  const CeresFitResult ceres = SolveWithCeres(model, energy_options, terms, start, ceres_options);
  comparison.ceres_cost = ceres.final_cost;
  comparison.ceres_seconds = ceres.seconds;
  comparison.ceres_iterations = ceres.iterations;
  comparison.ceres_converged = ceres.converged;
  comparison.relative_cost_difference = std::abs(comparison.ours_cost - comparison.ceres_cost) /
                                        std::max(comparison.ceres_cost, 1e-300);
  return comparison;
}

}  // namespace

void TrackingBenchmarkOptions::Check() const {
  HT_CHECK(frames >= 1, "TrackingBenchmarkOptions::frames must be >= 1, got " << frames);
  HT_CHECK(threads >= 0, "TrackingBenchmarkOptions::threads must be >= 0, got " << threads);
  HT_CHECK(ceres_frames >= 0,
           "TrackingBenchmarkOptions::ceres_frames must be >= 0, got " << ceres_frames);
  HT_CHECK(function_tolerance >= 0, "TrackingBenchmarkOptions::function_tolerance must be >= 0");
}

TrackingBenchmarkResult RunTrackingBenchmark(const TrackingBenchmarkOptions& options) {
  options.Check();
  const Stopwatch stopwatch;
  const HeadModel model = HeadModel::Load(ResolveModelPath(options.model_path));

  std::unique_ptr<TemporaryFolder> temporary;
  fs::path folder = options.work_folder;
  if (folder.empty()) {
    temporary = std::make_unique<TemporaryFolder>();
    folder = temporary->path();
  }
  SynthOptions synth;
  synth.output = folder;
  synth.num_frames = options.frames;
  synth.seed = options.seed;
  SynthesizeModelSequence(model, synth);
  const Sequence sequence = Sequence::Open(folder);

  TrackerOptions tracker_options;
  tracker_options.num_threads = options.threads;
  Tracker tracker(model, sequence.calibration().camera, tracker_options);

  TrackingBenchmarkResult result;
  result.model = model.source().string();
  result.width = sequence.calibration().camera.width;
  result.height = sequence.calibration().camera.height;
  result.tracking_width = tracker.tracking_camera().width;
  result.tracking_height = tracker.tracking_camera().height;
  result.frames = sequence.num_frames();
  result.threads = options.threads;

  // Online tracking; only Track is timed (by the tracker), the CPU time around it.
  std::vector<FrameResult> frames;
  frames.reserve(sequence.num_frames());
  double cpu_seconds = 0.0;
  double wall_seconds = 0.0;
  {
    std::unique_ptr<Progress> progress;
    if (options.progress) progress = std::make_unique<Progress>("track", result.frames, "frames");
    for (int index = 0; index < sequence.num_frames(); ++index) {
      const SequenceFrame frame = sequence.ReadFrame(index);
      const std::clock_t cpu_start = std::clock();
      const Stopwatch wall;
      frames.push_back(tracker.Track(frame.number, frame.depth, frame.color));
      wall_seconds += wall.seconds();
      cpu_seconds += static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
      if (progress) progress->Advance();
    }
  }
  result.cpu_per_wall = wall_seconds > 0 ? cpu_seconds / wall_seconds : 0.0;

  std::vector<const FrameResult*> all;
  std::vector<const FrameResult*> steady;
  std::vector<double> steady_ms;
  std::vector<int> candidates;  // steady-state frames after a tracked frame
  for (size_t k = 0; k < frames.size(); ++k) {
    const FrameResult& frame = frames[k];
    all.push_back(&frame);
    (frame.status == TrackStatus::kTracked ? result.tracked : result.lost)++;
    result.initialized_frames += frame.initialized;
    result.identity_frames += frame.identity_phase;
    if (frame.initialized || frame.identity_phase) continue;
    steady.push_back(&frame);
    steady_ms.push_back(1000.0 * frame.seconds_total);
    if (k > 0 && frames[k - 1].status == TrackStatus::kTracked) {
      candidates.push_back(static_cast<int>(k));
    }
  }
  result.steady_frames = static_cast<int>(steady.size());
  result.overall = MeanStages(all);
  result.steady = MeanStages(steady);
  result.fps_overall = result.overall.total > 0 ? 1000.0 / result.overall.total : 0.0;
  result.fps_online = result.steady.total > 0 ? 1000.0 / result.steady.total : 0.0;
  if (!steady_ms.empty()) {
    result.median_ms = Percentile(steady_ms, 0.5);
    result.p95_ms = Percentile(steady_ms, 0.95);
  }

  // Solver comparison on ceres_frames candidates spread over the sequence (the centers of equal
  // bins).
  if (options.ceres_frames > 0) {
    if (model.num_joints() > 0) {
      result.ceres_note = "skipped: the Ceres reference supports models without joints only";
    } else if (candidates.empty()) {
      result.ceres_note = "skipped: no steady-state frame follows a tracked frame";
    } else {
      const int n = static_cast<int>(candidates.size());
      const int count = std::min(options.ceres_frames, n);
      std::unique_ptr<Progress> progress;
      if (options.progress) progress = std::make_unique<Progress>("ceres", count, "frames");
      for (int i = 0; i < count; ++i) {
        const int index = candidates[(2 * i + 1) * n / (2 * count)];
        const SolverComparison comparison = CompareSolvers(
            model, tracker, sequence, index, frames[index - 1].state, options);
        result.ours_seconds += comparison.ours_seconds;
        result.ceres_seconds += comparison.ceres_seconds;
        result.max_relative_cost_difference =
            std::max(result.max_relative_cost_difference, comparison.relative_cost_difference);
        result.comparisons.push_back(comparison);
        if (progress) progress->Advance();
      }
      result.ceres_over_ours =
          result.ours_seconds > 0 ? result.ceres_seconds / result.ours_seconds : 0.0;
    }
  }
  result.seconds = stopwatch.seconds();
  return result;
}

}  // namespace headtrack
