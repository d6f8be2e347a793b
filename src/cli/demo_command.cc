// headtrack demo [-o out/demo] [--frames 90] [--seed 1] [--threads 0] [--overwrite]
// What headtrack does, in one command: simulate a short sequence of the default model, track it
// online and offline, evaluate both, write every output, do the same for the real Kinect frame in
// the shared data, and print a summary table.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/stopwatch.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/model_path.h"
#include "headtrack/sequence_tracking.h"
#include "sensor/synthesizer.h"

namespace headtrack::cli {
namespace {

namespace fs = std::filesystem;

struct DemoCommandOptions {
  std::string output = "out/demo";
  std::string model;
  int frames = 90;
  unsigned seed = 1;
  int threads = 0;
  bool overwrite = false;
};

// The folders the demo writes inside OUT; --overwrite replaces only these.
constexpr const char* kDemoFolders[] = {"sequence", "result", "kinect_person"};

std::string Value(double value, const char* format) {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

void PrintRow(const char* name, const std::string& online, const std::string& offline) {
  std::printf("  %-34s %14s %14s\n", name, online.c_str(), offline.c_str());
}

void RunDemo(const DemoCommandOptions& command) {
  const fs::path out = command.output;
  if (fs::exists(out) && !fs::is_directory(out)) {
    HT_THROW_INPUT(out, "the output must be a folder; this is a file");
  }
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (!command.overwrite) {
      HT_THROW_INPUT(out, "the output folder is not empty; pass --overwrite to replace the "
                          "demo's results there (sequence/, result/, kinect_person/)");
    }
    for (const char* name : kDemoFolders) fs::remove_all(out / name);
  }
  fs::create_directories(out);
  const Stopwatch total;
  const HeadModel model = HeadModel::Load(ResolveModelPath(command.model));

  std::printf("== 1/3 simulating %d frames (%.1f s) of mixed expressions and head motion, 1 mm "
              "noise -> %s\n",
              command.frames, command.frames / 30.0, (out / "sequence").c_str());
  std::fflush(stdout);
  SynthOptions synth;
  synth.output = out / "sequence";
  synth.num_frames = command.frames;
  synth.seed = command.seed;
  synth.motion = MotionKind::kMixed;
  SynthesizeModelSequence(model, synth);

  std::printf("== 2/3 tracking it online, then offline (identity on keyframes, expressions, "
              "joint refinement) -> %s\n",
              (out / "result").c_str());
  std::fflush(stdout);
  SequenceTrackingOptions tracking;
  tracking.sequence = synth.output;
  tracking.output = out / "result";
  tracking.tracker.num_threads = command.threads;
  tracking.offline_options.num_threads = command.threads;
  const SequenceTrackingSummary simulated = TrackSequence(model, tracking);

  const fs::path kinect = fs::path(HEADTRACK_DATA_DIR) / "data" / "kinect_person";
  SequenceTrackingSummary real;
  const bool has_kinect = fs::exists(kinect / "calibration.json");
  if (has_kinect) {
    std::printf("== 3/3 the real Kinect frame %s -> %s\n", kinect.c_str(),
                (out / "kinect_person").c_str());
    std::fflush(stdout);
    SequenceTrackingOptions real_options = tracking;
    real_options.sequence = kinect;
    real_options.output = out / "kinect_person";
    real = TrackSequence(model, real_options);
  } else {
    std::printf("== 3/3 skipped: no real Kinect frame at %s\n", kinect.c_str());
  }

  const ReportedMetrics& online = simulated.report.online;
  const ReportedMetrics& offline = simulated.report.result;
  std::printf("\nheadtrack demo: %d simulated frames with ground truth, face region\n",
              simulated.frames);
  PrintRow("", "online", "offline");
  PrintRow("speed", Value(simulated.frames_per_second, "%.1f frames/s"),
           Value(simulated.seconds_offline, "%.1f s"));
  PrintRow("frames tracked", std::to_string(simulated.tracked),
           std::to_string(simulated.offline_tracked));
  PrintRow("vertex error, median (mm)", Value(online.vertex_error_median_mm, "%.3f"),
           Value(offline.vertex_error_median_mm, "%.3f"));
  PrintRow("neutral identity error, median (mm)", Value(online.identity_error_median_mm, "%.3f"),
           Value(offline.identity_error_median_mm, "%.3f"));
  PrintRow("scan-to-mesh L2 (mm)", Value(online.l2_mm, "%.3f"), Value(offline.l2_mm, "%.3f"));
  PrintRow("PR@1.5mm", Value(100 * online.pr_1_5mm, "%.1f %%"),
           Value(100 * offline.pr_1_5mm, "%.1f %%"));
  if (has_kinect) {
    const ReportedMetrics& r = real.report.result;
    std::printf("real Kinect frame (kinect_person), offline: L2 %s mm, NC %s, PR@1.5mm %s, "
                "PR@3mm %s\n",
                Value(r.l2_mm, "%.2f").c_str(), Value(r.nc, "%.3f").c_str(),
                Value(100 * r.pr_1_5mm, "%.1f %%").c_str(), Value(100 * r.pr_3mm, "%.1f %%").c_str());
  }
  std::printf("\nfiles (%.0f s in all):\n", total.seconds());
  const fs::path result = out / "result";
  std::printf("  %s   open in a browser: metrics, plots, overlays\n",
              (result / "report.html").c_str());
  std::printf("  %s   the fit of every frame over the scan, with a distance heat map\n",
              (result / "overlay.mp4").c_str());
  std::printf("  %s   ARKit blendshapes per frame (Live Link Face CSV)\n",
              (result / "arkit.csv").c_str());
  std::printf("  %s   the person's neutral identity mesh\n", (result / "neutral.obj").c_str());
  std::printf("  %s   per-frame pose, expression and identity (NumPy)\n",
              (result / "params.npz").c_str());
  std::printf("  %s   per frame (JSON lines); online/ holds the online pass\n",
              (result / "frames.jsonl").c_str());
  if (has_kinect) {
    std::printf("  %s   the same for the real frame\n", (out / "kinect_person").c_str());
  }
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto options = std::make_shared<DemoCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "demo", "Simulate a short sequence, track it online and offline, evaluate both and write "
              "every output (report.html, overlay.mp4, arkit.csv, ...); then the real Kinect frame");
  command->add_option("-o,--output", options->output, "Output folder")->capture_default_str();
  command->add_option("--model", options->model,
                      "Head model; default: $HEADTRACK_MODEL or the ICT-FaceKit model in the "
                      "shared data");
  command->add_option("--frames", options->frames, "Simulated frames (30 per second)")
      ->check(CLI::Range(2, 10000))
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Seed of the simulated person and motion")
      ->capture_default_str();
  command->add_option("--threads", options->threads, "Threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  command->add_flag("--overwrite", options->overwrite,
                    "Replace the results of an earlier demo in the output folder");
  command->callback([options] { RunDemo(*options); });
}

}  // namespace headtrack::cli
