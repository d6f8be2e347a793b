// headtrack bench [--frames N] [--seed S] [--threads T] [--ceres-frames K] [--json FILE]
//                 [--overwrite] [--model PATH]
// The tracking benchmarks of issue 4 (track/tracking_benchmark.h): a table of what was measured,
// its value, the target and whether it is met; --json writes the same numbers.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/file_util.h"
#include "track/tracking_benchmark.h"

namespace headtrack::cli {
namespace {

using Json = nlohmann::ordered_json;

// Issue 4's targets.
constexpr double kTargetFpsOnline = 100.0;       // frames/s on one core
constexpr double kTargetCeresOverOurs = 10.0;    // time ratio at the same final cost
constexpr double kMaxRelativeCostDifference = 1e-6;

struct BenchCommandOptions {
  int frames = 120;
  std::uint64_t seed = 0;
  int threads = 1;
  int ceres_frames = 5;
  std::string json;
  bool overwrite = false;
  std::string model;
};

// Whether each target is met; the frame rate target is for one thread.
struct Verdicts {
  bool fps = false;
  bool ceres = false;
  bool cost = false;
};

Verdicts Judge(const TrackingBenchmarkResult& result) {
  const bool compared = !result.comparisons.empty();
  return {result.threads == 1 && result.steady_frames > 0 && result.fps_online >= kTargetFpsOnline,
          compared && result.ceres_over_ours >= kTargetCeresOverOurs,
          compared && result.max_relative_cost_difference <= kMaxRelativeCostDifference};
}

void PrintRow(const char* what, const std::string& value, const std::string& target,
              const std::string& met) {
  std::printf("  %-44s %14s %10s %5s\n", what, value.c_str(), target.c_str(), met.c_str());
}

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

const char* YesNo(bool yes) { return yes ? "yes" : "NO"; }

void PrintTable(const TrackingBenchmarkResult& r, const Verdicts& met) {
  std::printf("headtrack bench: %d frames of %dx%d simulated Azure Kinect depth (tracked at "
              "%dx%d), %d thread(s), model %s\n\n",
              r.frames, r.width, r.height, r.tracking_width, r.tracking_height, r.threads,
              r.model.c_str());
  PrintRow("what", "value", "target", "met?");
  const bool steady = r.steady_frames > 0;
  PrintRow("online frames/s (steady state)", steady ? Format("%.1f", r.fps_online) : "-",
           Format(">= %.0f", kTargetFpsOnline),
           r.threads == 1 && steady ? YesNo(met.fps) : "-");
  PrintRow("overall frames/s (with init. and identity)", Format("%.1f", r.fps_overall), "", "");
  PrintRow("ms per frame, median (steady state)", Format("%.2f", r.median_ms), "", "");
  PrintRow("ms per frame, p95 (steady state)", Format("%.2f", r.p95_ms), "", "");
  const std::pair<const char*, double> stages[] = {
      {"  preprocess", r.steady.preprocess}, {"  render", r.steady.render},
      {"  associate", r.steady.associate},   {"  assemble", r.steady.assemble},
      {"  solve", r.steady.solve},           {"  other", r.steady.other}};
  PrintRow("ms per frame by stage (steady state):", "", "", "");
  for (const auto& [name, ms] : stages) PrintRow(name, Format("%.3f", ms), "", "");
  PrintRow("  total (mean)", Format("%.3f", r.steady.total), "", "");
  PrintRow("CPU time / wall time while tracking", Format("%.2f", r.cpu_per_wall), "", "");
  const std::string frames = std::to_string(r.tracked) + " / " + std::to_string(r.lost);
  PrintRow("frames tracked / lost", frames, "", "");
  const std::string phases = std::to_string(r.initialized_frames) + " / " +
                             std::to_string(r.identity_frames) + " / " +
                             std::to_string(r.steady_frames);
  PrintRow("frames initialized / identity / steady", phases, "", "");
  if (r.comparisons.empty()) {
    std::printf("\n  Ceres comparison: %s\n", r.ceres_note.empty() ? "not run" : r.ceres_note.c_str());
  } else {
    PrintRow("Ceres time / our time (same terms, 1 thread)", Format("%.1f", r.ceres_over_ours),
             Format(">= %.0f", kTargetCeresOverOurs), YesNo(met.ceres));
    PrintRow("final cost |ours - Ceres| / Ceres (max)",
             Format("%.1e", r.max_relative_cost_difference),
             Format("<= %.0e", kMaxRelativeCostDifference), YesNo(met.cost));
    std::printf("\n  %6s %8s %14s %14s %9s %10s %10s %6s %7s\n", "frame", "pairs", "ours cost",
                "Ceres cost", "rel diff", "ours ms", "Ceres ms", "ours i", "Ceres i");
    for (const SolverComparison& c : r.comparisons) {
      std::printf("  %6d %8d %14.6f %14.6f %9.1e %10.2f %10.2f %6d %7d%s\n", c.frame,
                  c.correspondences, c.ours_cost, c.ceres_cost, c.relative_cost_difference,
                  1000.0 * c.ours_seconds, 1000.0 * c.ceres_seconds, c.ours_iterations,
                  c.ceres_iterations, c.ceres_converged ? "" : "  (Ceres did not converge)");
    }
  }
  std::printf("\nsteady state: frames after the identity phase without a rigid initialization. "
              "Ceres: the same fixed-correspondence energy from the same start, both solvers to "
              "the same relative cost decrease; its time is Ceres' own solve time.\n"
              "benchmark time %.1f s\n",
              r.seconds);
}

Json StagesJson(const StageMilliseconds& ms) {
  return {{"preprocess", ms.preprocess}, {"initialize", ms.initialize}, {"render", ms.render},
          {"associate", ms.associate},   {"assemble", ms.assemble},     {"solve", ms.solve},
          {"other", ms.other},           {"total", ms.total}};
}

Json ResultJson(const TrackingBenchmarkResult& r, const BenchCommandOptions& command,
                const Verdicts& met) {
  Json json;
  json["model"] = r.model;
  json["resolution"] = {r.width, r.height};
  json["tracking_resolution"] = {r.tracking_width, r.tracking_height};
  json["frames"] = r.frames;
  json["seed"] = command.seed;
  json["threads"] = r.threads;
  json["tracked"] = r.tracked;
  json["lost"] = r.lost;
  json["initialized_frames"] = r.initialized_frames;
  json["identity_frames"] = r.identity_frames;
  json["steady_frames"] = r.steady_frames;
  json["fps_online"] = r.fps_online;
  json["fps_overall"] = r.fps_overall;
  json["ms_per_frame_median"] = r.median_ms;
  json["ms_per_frame_p95"] = r.p95_ms;
  json["ms_per_stage"] = StagesJson(r.steady);
  json["ms_per_stage_overall"] = StagesJson(r.overall);
  json["cpu_per_wall"] = r.cpu_per_wall;
  Json ceres;
  ceres["frames"] = Json::array();
  for (const SolverComparison& c : r.comparisons) {
    ceres["frames"].push_back({{"frame", c.frame},
                               {"correspondences", c.correspondences},
                               {"initial_cost", c.initial_cost},
                               {"ours_cost", c.ours_cost},
                               {"ceres_cost", c.ceres_cost},
                               {"relative_cost_difference", c.relative_cost_difference},
                               {"ours_seconds", c.ours_seconds},
                               {"ceres_seconds", c.ceres_seconds},
                               {"ours_iterations", c.ours_iterations},
                               {"ceres_iterations", c.ceres_iterations},
                               {"ceres_converged", c.ceres_converged}});
  }
  ceres["ours_seconds"] = r.ours_seconds;
  ceres["ceres_seconds"] = r.ceres_seconds;
  ceres["ceres_over_ours"] = r.ceres_over_ours;
  ceres["max_relative_cost_difference"] = r.max_relative_cost_difference;
  if (!r.ceres_note.empty()) ceres["note"] = r.ceres_note;
  json["ceres"] = ceres;
  json["targets"] = {{"fps_online", kTargetFpsOnline},
                     {"ceres_over_ours", kTargetCeresOverOurs},
                     {"max_relative_cost_difference", kMaxRelativeCostDifference}};
  json["met"] = {{"fps_online", met.fps},
                 {"ceres_over_ours", met.ceres},
                 {"max_relative_cost_difference", met.cost}};
  json["seconds"] = r.seconds;
  return json;
}

void RunBench(const BenchCommandOptions& command) {
  if (!command.json.empty()) CheckOutputPath(command.json, command.overwrite);
  TrackingBenchmarkOptions options;
  options.frames = command.frames;
  options.seed = command.seed;
  options.threads = command.threads;
  options.ceres_frames = command.ceres_frames;
  options.model_path = command.model;
  const TrackingBenchmarkResult result = RunTrackingBenchmark(options);
  const Verdicts met = Judge(result);
  PrintTable(result, met);
  if (!command.json.empty()) {
    const std::string text = ResultJson(result, command, met).dump(2) + "\n";
    WriteFileAtomically(command.json, [&](std::ostream& stream) { stream << text; },
                        /*binary=*/false);
    std::printf("wrote %s\n", command.json.c_str());
  }
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto options = std::make_shared<BenchCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Run the tracking benchmarks on a simulated Azure Kinect sequence: online frames per "
      "second, time per stage, and our solver against Ceres on the same frames");
  command->add_option("--frames", options->frames, "Frames of the simulated sequence")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Seed of the simulated sequence")
      ->capture_default_str();
  command->add_option("--threads", options->threads, "Tracker threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  command->add_option("--ceres-frames", options->ceres_frames,
                      "Steady-state frames on which our solver is compared with Ceres (0: none)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  command->add_option("--json", options->json, "Write the numbers as JSON to this file");
  command->add_flag("--overwrite", options->overwrite, "Replace an existing --json file");
  command->add_option("--model", options->model,
                      "Head model; default: $HEADTRACK_MODEL or the ICT-FaceKit model in the "
                      "shared data");
  command->callback([options] { RunBench(*options); });
}

}  // namespace headtrack::cli
