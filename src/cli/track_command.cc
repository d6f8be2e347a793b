// headtrack track SEQ -o OUT [--model PATH] [--online] [--frames A:B] [--save-meshes] ...
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/model_path.h"
#include "headtrack/sequence_tracking.h"

namespace headtrack::cli {
namespace {

struct TrackCommandOptions {
  std::string sequence;
  std::string output;
  std::string model;
  std::string frames;
  bool online = false;
  bool resume = false;
  bool no_report = false;
  bool no_video = false;
  bool png = false;
  double fps = 30.0;
  int keyframes = OfflineOptions().keyframes;
  int joint_rounds = OfflineOptions().joint_rounds;
  bool save_meshes = false;
  bool overwrite = false;
  int threads = 1;
  int subsample = 2;
  int iterations = 2;
  int stride = 3;
  int identity_frames = 5;
};

// "A:B", "A:", ":B" or "A" -> inclusive frame numbers (-1 = open end).
void ParseFrameRange(const std::string& text, int* first, int* last) {
  auto number = [&](const std::string& part) {
    if (part.empty()) return -1;
    size_t used = 0;
    int value = -1;
    try {
      value = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || value < 0) {
      throw CLI::ValidationError("--frames", "expected A:B with frame numbers >= 0, got \"" + text + "\"");
    }
    return value;
  };
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    *first = *last = number(text);
  } else {
    *first = number(text.substr(0, colon));
    *last = number(text.substr(colon + 1));
  }
  if (*first >= 0 && *last >= 0 && *last < *first) {
    throw CLI::ValidationError("--frames", "the range " + text + " is empty");
  }
}

void RunTrack(const TrackCommandOptions& command) {
  SequenceTrackingOptions options;
  options.sequence = command.sequence;
  options.output = command.output;
  options.save_meshes = command.save_meshes;
  options.overwrite = command.overwrite;
  if (!command.frames.empty()) ParseFrameRange(command.frames, &options.first_frame, &options.last_frame);
  options.tracker.num_threads = command.threads;
  options.tracker.subsample = command.subsample;
  options.tracker.fit.max_iterations = command.iterations;
  options.tracker.fit.energy.pixel_stride = command.stride;
  options.tracker.identity_frames = command.identity_frames;
  options.offline = !command.online;
  options.resume = command.resume;
  options.report = !command.no_report;
  options.video = !command.no_video;
  options.png_frames = command.png;
  options.frames_per_second = command.fps;
  options.offline_options.num_threads = command.threads;
  options.offline_options.keyframes = command.keyframes;
  options.offline_options.joint_rounds = command.joint_rounds;
  const HeadModel model = HeadModel::Load(ResolveModelPath(command.model));
  const SequenceTrackingSummary summary = TrackSequence(model, options);
  const double ms = summary.frames > 0 ? 1000.0 * summary.seconds / summary.frames : 0.0;
  auto stage_ms = [&](double seconds) { return summary.frames > 0 ? 1000.0 * seconds / summary.frames : 0.0; };
  std::printf("tracked %d of %d frames (%d lost) in %.2f s: %.1f frames/s, %.2f ms per frame on "
              "%d thread(s)\n",
              summary.tracked, summary.frames, summary.lost, summary.seconds,
              summary.frames_per_second, ms, command.threads);
  std::printf("ms per frame: preprocess %.2f, initialize %.2f, render %.2f, associate %.2f, "
              "assemble %.2f, solve %.2f\n",
              stage_ms(summary.seconds_preprocess), stage_ms(summary.seconds_initialize),
              stage_ms(summary.seconds_render), stage_ms(summary.seconds_associate),
              stage_ms(summary.seconds_assemble), stage_ms(summary.seconds_solve));
  if (!summary.report.written.empty()) {
    std::printf("wrote %s/arkit.csv", command.output.c_str());
    for (const auto& path : summary.report.written) std::printf(", %s", path.filename().c_str());
    if (!summary.report.video_codec.empty()) {
      std::printf(" (video: %d frames, %s)", summary.report.video_frames,
                  summary.report.video_codec.c_str());
    }
    std::printf("\n");
  }
  if (summary.resumed) {
    std::printf("resumed after %d frames of the online pass\n", summary.resumed_frames);
  }
  if (summary.offline) {
    std::printf("offline: %d frames tracked; keyframes %zu; identity phase cost %.4g -> %.4g; "
                "joint refinement cost %.4g -> %.4g; %.1f s (identity %.1f, expression %.1f, "
                "joint %.1f)\n",
                summary.offline_tracked, summary.keyframes.size(), summary.identity_cost_before,
                summary.identity_cost_after, summary.joint_cost_before, summary.joint_cost_after,
                summary.seconds_offline, summary.seconds_identity, summary.seconds_expression,
                summary.seconds_joint);
    std::printf("wrote %s/{frames.jsonl, identity.json, summary.json, params.npz, neutral.obj, "
                "online/%s}\n",
                command.output.c_str(), command.save_meshes ? ", meshes/" : "");
  } else {
    std::printf("wrote %s/{frames.jsonl, identity.json, summary.json%s}\n",
                command.output.c_str(), command.save_meshes ? ", meshes/" : "");
  }
}

}  // namespace

void AddTrackCommand(CLI::App& app) {
  auto options = std::make_shared<TrackCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "track", "Track the head model through a depth sequence: offline reconstruction (default) or online tracking");
  command->add_option("sequence", options->sequence, "Sequence folder (calibration.json, depth/)")
      ->required();
  command->add_option("-o,--output", options->output, "Output folder")->required();
  command->add_option("--model", options->model,
                      "Head model; default: $HEADTRACK_MODEL or the ICT-FaceKit model in the "
                      "shared data");
  command->add_flag("--online", options->online,
                    "Online tracking only: identity from the first frames, then a few "
                    "iterations per frame warm-started from the previous one (default: offline "
                    "reconstruction after the online pass)");
  command->add_flag("--resume", options->resume,
                    "Continue an interrupted run in OUT from its checkpoint (same options)");
  command->add_option("--keyframes", options->keyframes,
                      "Offline: keyframes of the identity phase")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--joint-rounds", options->joint_rounds,
                      "Offline: association rounds of the joint refinement")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command->add_flag("--no-report", options->no_report,
                    "Write only the result files: no arkit.csv, overlay.mp4 or report.html");
  command->add_flag("--no-video", options->no_video, "No overlay.mp4");
  command->add_flag("--png", options->png, "Also write the overlay of every frame to OUT/overlay/");
  command->add_option("--fps", options->fps,
                      "Frames per second of the recording (arkit.csv timecodes, the video)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--frames", options->frames, "Frame numbers A:B (inclusive; A: or :B)");
  command->add_flag("--save-meshes", options->save_meshes,
                    "Write OUT/meshes/NNNNN.ply (camera coordinates)");
  command->add_flag("--overwrite", options->overwrite, "Replace the results of an earlier run");
  command->add_option("--threads", options->threads, "Threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  command->add_option("--subsample", options->subsample,
                      "Track at 1/N of the depth resolution (every N-th pixel and row)")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  command->add_option("--stride", options->stride,
                      "Pair every N-th pixel (in x and y) of the tracking resolution with the "
                      "model (dense frames; sparse frames use every pixel)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  command->add_option("--iterations", options->iterations,
                      "Gauss-Newton iterations (associations) per frame")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  command->add_option("--identity-frames", options->identity_frames,
                      "Frames on which the identity is fitted before it is fixed")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command->callback([options] { RunTrack(*options); });
}

}  // namespace headtrack::cli
