// headtrack overlay --seq SEQ --result OUT [--frame N] [--model PATH] [--region face]
//                   [--max-mm MM] [--height PX] -o PICTURE.png [--overwrite]
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/file_util.h"
#include "headtrack/error.h"
#include "headtrack/image_io.h"
#include "headtrack/sequence.h"
#include "metrics/overlay_image.h"
#include "metrics/sequence_evaluation.h"

namespace headtrack::cli {
namespace {

struct OverlayCommandOptions {
  std::string sequence;
  std::string result;
  int frame = -1;  // -1: the sequence's first frame
  std::string model;
  std::string region = "face";
  double max_mm = 3.0;
  int height = 480;
  std::string output;
  bool overwrite = false;
};

// "frame 12   L2 1.09 mm   PR@1.5 82%   PR@3 97%   region face"
std::string Title(const FrameEvaluation& frame, const std::string& region) {
  char text[160];
  std::snprintf(text, sizeof(text), "frame %d   L2 %.2f mm   PR@1.5 %.0f%%   PR@3 %.0f%%",
                frame.frame, frame.l2_mm, 100.0 * frame.precision, 100.0 * frame.wide_precision);
  return region.empty() ? text : std::string(text) + "   region " + region;
}

void RunOverlay(const OverlayCommandOptions& command) {
  CheckOutputPath(command.output, command.overwrite);
  SequenceEvaluationOptions options;
  options.sequence = command.sequence;
  options.result = command.result;
  options.model = command.model;
  options.region = command.region;
  const int frame_number =
      command.frame >= 0 ? command.frame : Sequence::Open(command.sequence).frame_numbers().front();
  const FrameScanEvaluation evaluated = EvaluateSequenceFrame(options, frame_number);
  if (!evaluated.frame.evaluated) {
    throw Error("frame " + std::to_string(frame_number) + " of " + command.sequence +
                " could not be evaluated against " + command.result + ": " +
                evaluated.frame.skip_reason);
  }
  OverlayOptions overlay;
  overlay.max_mm = command.max_mm;
  overlay.panel_height = command.height;
  overlay.title = Title(evaluated.frame, command.region);
  const ColorImage image = RenderOverlay(evaluated.camera, evaluated.scan, evaluated.mesh,
                                         evaluated.distances_mm, overlay);
  WriteColorPng(command.output, image);
  std::printf("wrote %s (%d x %d; %s)\n", command.output.c_str(), image.width, image.height,
              overlay.title.c_str());
}

}  // namespace

void AddOverlayCommand(CLI::App& app) {
  auto options = std::make_shared<OverlayCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "overlay",
      "Picture of one frame's fit: the scan with the fitted mesh over it, and the scan colored by "
      "its distance to the mesh (the distances of headtrack eval)");
  command->add_option("--seq", options->sequence, "Sequence folder (calibration.json, depth/)")
      ->required();
  command
      ->add_option("--result", options->result,
                   "Tracking result: meshes/NNNNN.ply (camera frame) or frames.jsonl + "
                   "identity.json")
      ->required();
  command->add_option("--frame", options->frame, "Frame number; default: the first frame")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--model", options->model,
                      "Head model (for a result of parameters, and --region); default: "
                      "$HEADTRACK_MODEL or the ICT-FaceKit model in the shared data");
  command->add_option("--region", options->region,
                      "Color only the scan points nearest to this region of the model, as "
                      "headtrack eval --region measures them; \"\" for the whole mesh")
      ->capture_default_str();
  command->add_option("--max-mm", options->max_mm, "Distance of the color scale's top, mm")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--height", options->height, "Height of each panel, pixels")
      ->check(CLI::Range(64, 8192))
      ->capture_default_str();
  command->add_option("-o,--output", options->output, "The picture, a .png file")
      ->required()
      ->check([](const std::string& path) {
        return LowerExtension(path) == ".png" ? std::string() : "the picture must be a .png file";
      });
  command->add_flag("--overwrite", options->overwrite, "Replace an existing picture");
  command->callback([options] { RunOverlay(*options); });
}

}  // namespace headtrack::cli
