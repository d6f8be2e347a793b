// headtrack eval --seq SEQ --result OUT [--model PATH] [--region NAME] [--json FILE] [--csv FILE]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/file_util.h"
#include "headtrack/error.h"
#include "metrics/sequence_evaluation.h"

namespace headtrack::cli {
namespace {

namespace fs = std::filesystem;

struct EvalCommandOptions {
  std::string sequence;
  std::string result;
  std::string model;
  std::string region;
  std::string json;
  std::string csv;
  bool overwrite = false;
  bool no_vertex_error = false;
  bool no_smoothing = false;
};

// Per-frame rows are printed up to this many frames; longer sequences get --csv.
constexpr int kMaxTableFrames = 30;
constexpr int kMaxListedSkips = 10;

// "  0.123" or "      -" for a value not computed.
std::string Cell(double value, const char* format, int width) {
  char text[64];
  if (std::isfinite(value)) {
    std::snprintf(text, sizeof(text), format, width, value);
  } else {
    std::snprintf(text, sizeof(text), "%*s", width, "-");
  }
  return text;
}

void PrintRow(const char* label, double points, double l2, double nc, double pr, double pr_wide,
              double vertex_mean, double vertex_median, double vertex_p95, double expression,
              bool ground_truth) {
  std::printf("%7s %8s %8s %7s %7s %7s", label, Cell(points, "%*.0f", 8).c_str(),
              Cell(l2, "%*.3f", 8).c_str(), Cell(nc, "%*.4f", 7).c_str(),
              Cell(100.0 * pr, "%*.1f", 7).c_str(), Cell(100.0 * pr_wide, "%*.1f", 7).c_str());
  if (ground_truth) {
    std::printf(" %8s %8s %8s %8s", Cell(vertex_mean, "%*.3f", 8).c_str(),
                Cell(vertex_median, "%*.3f", 8).c_str(), Cell(vertex_p95, "%*.3f", 8).c_str(),
                Cell(expression, "%*.4f", 8).c_str());
  }
  std::printf("\n");
}

void PrintTable(const SequenceEvaluation& evaluation, const EvalCommandOptions& command) {
  std::printf("headtrack eval: %s against %s (%s)", command.result.c_str(),
              command.sequence.c_str(), evaluation.result_kind.c_str());
  if (!evaluation.region.empty()) {
    std::printf(", region %s (%d triangles)", evaluation.region.c_str(),
                evaluation.region_triangles);
  }
  if (!evaluation.model_name.empty()) std::printf(", model %s", evaluation.model_name.c_str());
  std::printf("\nframes: %d evaluated, %d skipped, of %zu; summary = mean over the evaluated "
              "frames\n\n",
              evaluation.num_evaluated, evaluation.num_skipped, evaluation.frames.size());
  const bool ground_truth =
      evaluation.num_vertex_error_frames > 0 || evaluation.num_expression_frames > 0;
  std::printf("%7s %8s %8s %7s %7s %7s", "frame", "points", "L2 mm", "NC", "PR@1.5", "PR@3");
  if (ground_truth) {
    std::printf(" %8s %8s %8s %8s", "vtx mean", "vtx med", "vtx p95", "expr");
  }
  std::printf("\n");
  if (static_cast<int>(evaluation.frames.size()) <= kMaxTableFrames) {
    for (const FrameEvaluation& frame : evaluation.frames) {
      if (!frame.evaluated) continue;
      PrintRow(std::to_string(frame.frame).c_str(), frame.points, frame.l2_mm, frame.nc,
               frame.precision, frame.wide_precision, frame.vertex_error_mean_mm,
               frame.vertex_error_median_mm, frame.vertex_error_p95_mm, frame.expression_error,
               ground_truth);
    }
  }
  PrintRow("mean", evaluation.scan_points, evaluation.l2_mm, evaluation.nc, evaluation.precision,
           evaluation.wide_precision, evaluation.vertex_error_mean_mm,
           evaluation.vertex_error_median_mm, evaluation.vertex_error_p95_mm,
           evaluation.expression_error, ground_truth);
  std::printf("\npoints: scan points used (nearest to the region); L2: mean distance to the mesh; "
              "NC: mean |cos| of normals;\nPR@1.5, PR@3: %% of points closer than 1.5 / 3 mm");
  if (ground_truth) {
    std::printf(";\nvtx: per-vertex error against gt/meshes over %d vertices (mm); expr: mean "
                "|expression error| against gt/frames.jsonl",
                evaluation.region_vertices);
  }
  std::printf("\n");
  if (static_cast<int>(evaluation.frames.size()) > kMaxTableFrames) {
    std::printf("(per-frame values: --csv FILE)\n");
  }
  if (evaluation.identity_error_vertices > 0) {
    std::printf("neutral identity vs truth (%s, %d vertices): mean %.3f, median %.3f, max %.3f "
                "mm\n",
                evaluation.region.empty() ? "whole mesh" : evaluation.region.c_str(),
                evaluation.identity_error_vertices, evaluation.identity_error_mean_mm,
                evaluation.identity_error_median_mm, evaluation.identity_error_max_mm);
  }
  int listed = 0;
  for (const FrameEvaluation& frame : evaluation.frames) {
    if (frame.evaluated) continue;
    if (listed++ == kMaxListedSkips) {
      std::printf("... and %d more skipped frames (all in --csv and --json)\n",
                  evaluation.num_skipped - kMaxListedSkips);
      break;
    }
    std::printf("skipped frame %d: %s\n", frame.frame, frame.skip_reason.c_str());
  }
  for (const std::string& warning : evaluation.warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
}

void WriteText(const fs::path& path, const std::string& text) {
  WriteFileAtomically(path, [&](std::ostream& stream) { stream << text; }, /*binary=*/false);
  std::printf("wrote %s\n", path.string().c_str());
}

void RunEval(const EvalCommandOptions& command) {
  if (!command.json.empty()) CheckOutputPath(command.json, command.overwrite);
  if (!command.csv.empty()) CheckOutputPath(command.csv, command.overwrite);
  if (!command.json.empty() && command.json == command.csv) {
    throw Error("--json and --csv name the same file " + command.json);
  }
  SequenceEvaluationOptions options;
  options.sequence = command.sequence;
  options.result = command.result;
  options.model = command.model;
  options.region = command.region;
  options.vertex_errors = !command.no_vertex_error;
  options.preprocessing.smooth = !command.no_smoothing;
  const SequenceEvaluation evaluation = EvaluateSequence(options);

  PrintTable(evaluation, command);
  if (!command.csv.empty()) WriteText(command.csv, SequenceEvaluationCsv(evaluation));
  if (!command.json.empty()) WriteText(command.json, SequenceEvaluationJson(evaluation, options));
  if (evaluation.num_evaluated == 0) {
    const std::string reason =
        evaluation.frames.empty() ? "no frames" : evaluation.frames[0].skip_reason;
    throw Error("no frame of " + command.sequence + " could be evaluated against " +
                command.result + " (frame " +
                std::to_string(evaluation.frames.empty() ? 0 : evaluation.frames[0].frame) +
                ": " + reason + ")");
  }
}

}  // namespace

void AddEvalCommand(CLI::App& app) {
  auto options = std::make_shared<EvalCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "eval",
      "Evaluate a tracking result against a depth sequence: DPHM's L2, NC, PR@1.5 and PR@3 per "
      "frame, and errors against ground truth (see docs/evaluation.md)");
  command->add_option("--seq", options->sequence, "Sequence folder (calibration.json, depth/)")
      ->required();
  command
      ->add_option("--result", options->result,
                   "Tracking result: meshes/NNNNN.ply (camera frame) or frames.jsonl + "
                   "identity.json; with identity.json, also the neutral identity error")
      ->required();
  command->add_option("--model", options->model,
                      "Head model (for a result of parameters, --region and the identity "
                      "error); default: $HEADTRACK_MODEL or the ICT-FaceKit model in the shared "
                      "data");
  command->add_option("--region", options->region,
                      "Only scan points nearest to this region of the model (e.g. face), and "
                      "vertex errors over its vertices; needs meshes of the model");
  command->add_option("--json", options->json, "Write the summary as JSON to this file");
  command->add_option("--csv", options->csv, "Write one line per frame to this CSV file");
  command->add_flag("--overwrite", options->overwrite, "Replace existing --json / --csv files");
  command->add_flag("--no-vertex-error", options->no_vertex_error,
                    "Do not compare with gt/meshes (for meshes of another topology)");
  command->add_flag("--no-smoothing", options->no_smoothing,
                    "Evaluate against the depth without the bilateral smoothing");
  command->callback([options] { RunEval(*options); });
}

}  // namespace headtrack::cli
