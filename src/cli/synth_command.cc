// headtrack synth -o SEQ [--model PATH | --mesh SCAN] [--frames N] [--motion KIND] ...
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "headtrack/calibration.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/mesh_io.h"
#include "headtrack/model_path.h"
#include "headtrack/sequence.h"
#include "sensor/synthesizer.h"

namespace headtrack::cli {
namespace {

struct SynthCommandOptions {
  std::string output;
  std::string model;
  std::string mesh;
  double scan_scale = 0.0;
  int frames = 60;
  double fps = 30.0;
  std::uint64_t seed = 0;
  std::string motion = "mixed";
  double noise_mm = 1.0;
  double flying_pixels = 0.0;
  double distance = 0.35;
  std::string camera = "azure-nfov";
  int points = 0;
  bool overwrite = false;
};

// "azure-nfov", "kinect-v1", or a calibration.json with width and height.
PinholeCamera ResolveCamera(const std::string& camera) {
  if (camera == "azure-nfov") return PinholeCamera::AzureKinectNfovUnbinned();
  if (camera == "kinect-v1") return PinholeCamera::KinectV1();
  const Calibration calibration = ReadCalibration(camera);
  if (!calibration.has_size()) {
    throw InputError(camera, "has no width and height; a simulated camera needs its image size");
  }
  return calibration.camera;
}

void RunSynth(const SynthCommandOptions& command) {
  SequenceWriter::CheckFolder(command.output, command.overwrite);
  SynthOptions options;
  options.output = command.output;
  options.camera = ResolveCamera(command.camera);
  options.num_frames = command.frames;
  options.fps = command.fps;
  options.seed = command.seed;
  options.motion = ParseMotionKind(command.motion, "--motion");
  options.distance_m = command.distance;
  options.noise = KinectNoiseOptions::ForNoiseLevel(command.noise_mm);
  if (!options.noise.IsOff()) options.noise.flying_pixel_probability = command.flying_pixels;
  options.num_points = command.points;
  options.scan_scale = command.scan_scale;
  options.overwrite = command.overwrite;

  SynthSummary summary;
  std::ostringstream subject;
  if (!command.mesh.empty()) {
    const TriangleMesh scan = ReadMesh(command.mesh);
    summary = SynthesizeScanSequence(scan, command.mesh, options);
    subject << "scan " << command.mesh << " moved rigidly, scaled by " << summary.scale;
    if (command.scan_scale > 0.0) {
      subject << " (--scan-scale)";
    } else {
      subject << " (automatic: bounding box " << kScanHeadHeight
              << " m tall; set --scan-scale to change)";
    }
  } else {
    const HeadModel model = HeadModel::Load(ResolveModelPath(command.model));
    summary = SynthesizeModelSequence(model, options);
    subject << model.name() << " (" << model.source().string() << "), random identity of seed "
            << command.seed << ", motion " << command.motion;
    if (!summary.missing_expression_names.empty()) {
      std::cerr << "note: the model lacks " << summary.missing_expression_names.size()
                << " of the motion's expressions (e.g. " << summary.missing_expression_names[0]
                << "); they stay 0\n";
    }
  }

  const PinholeCamera& camera = options.camera;
  const KinectNoiseSummary& pixels = summary.noise;
  const std::string last = SequenceFrameName(summary.num_frames - 1);
  std::printf("wrote %s: %d frames at %g fps, %d x %d (fx %.1f fy %.1f cx %.1f cy %.1f)\n",
              command.output.c_str(), summary.num_frames, command.fps, camera.width, camera.height,
              camera.fx, camera.fy, camera.cx, camera.cy);
  std::printf("  subject       %s, at %.3f m\n", subject.str().c_str(), command.distance);
  std::printf("  depth         depth/00000.png .. %s.png, 16-bit, depth_scale %g (%g mm units)\n",
              last.c_str(), summary.depth_scale, 1000.0 / summary.depth_scale);
  if (options.noise.IsOff()) {
    std::printf("  noise         none (--noise-mm 0)\n");
  } else {
    const double percent = 100.0 / std::max<std::int64_t>(1, pixels.covered_pixels);
    std::printf(
        "  noise         %g mm at 0.4 m; no measurement: %.1f%% holes, %.1f%% edges, %.1f%% "
        "grazing; %lld flying pixels\n",
        command.noise_mm, percent * pixels.hole_pixels, percent * pixels.edge_pixels,
        percent * pixels.grazing_pixels, static_cast<long long>(pixels.flying_pixels));
  }
  std::printf("  valid pixels  %d to %d per frame (mean %lld)", summary.min_points,
              summary.max_points, summary.points / summary.num_frames);
  if (command.points > 0) {
    std::printf(", --points %d: %d frame(s) had fewer", command.points,
                summary.frames_with_fewer_points);
  }
  std::printf("\n  color         color/NNNNN.png (shaded plain albedo, aligned to depth)\n");
  std::printf("  ground truth  gt/frames.jsonl, gt/meshes/00000.ply .. %s.ply (camera frame)\n",
              last.c_str());
  std::printf("  took          %.1f s\n", summary.seconds);
}

}  // namespace

void AddSynthCommand(CLI::App& app) {
  auto options = std::make_shared<SynthCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "synth",
      "Simulate a Kinect-like depth sequence of a moving head with ground truth (DPHM-Kinect "
      "layout; see docs/sensor_simulation.md)");
  command->add_option("-o,--output", options->output, "Sequence folder to write")->required();
  CLI::Option* model =
      command->add_option("--model", options->model,
                          "Head model (.npz/.pkl); default: $HEADTRACK_MODEL or the ICT-FaceKit "
                          "model in the shared data");
  command
      ->add_option("--mesh", options->mesh,
                   "A static scan (OBJ/PLY, +y up, +z out of the face) moved rigidly instead "
                   "of the model")
      ->excludes(model);
  command
      ->add_option("--scan-scale", options->scan_scale,
                   "Scale of the --mesh scan to metres (default: 0.25 m tall)")
      ->check(CLI::PositiveNumber);
  command->add_option("--frames", options->frames, "Number of frames")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  command->add_option("--fps", options->fps, "Frames per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--seed", options->seed, "Seed of identity, motion and noise")
      ->capture_default_str();
  command->add_option("--motion", options->motion, "Expression motion (DPHM-Kinect's kinds)")
      ->capture_default_str()
      ->check(CLI::IsMember(MotionKindNames()));
  command
      ->add_option("--noise-mm", options->noise_mm,
                   "Axial noise sigma at 0.4 m, mm (grows with depth squared); 0 turns off "
                   "every sensor effect")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--flying-pixels", options->flying_pixels,
                   "Probability of a flying pixel at a depth discontinuity")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--distance", options->distance,
                   "Camera to the center of the head's bounding box, metres")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--camera", options->camera,
                   "azure-nfov (Azure Kinect NFOV unbinned, 640 x 576), kinect-v1 (640 x 480) "
                   "or a calibration.json with width and height")
      ->capture_default_str();
  command
      ->add_option("--points", options->points,
                   "Keep this many valid depth pixels per frame, chosen at random (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--overwrite", options->overwrite,
                    "Write into a non-empty folder, replacing the sequence there");
  command->callback([options] { RunSynth(*options); });
}

}  // namespace headtrack::cli
