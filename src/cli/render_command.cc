// headtrack render MESH --calib calibration.json -o DEPTH.png
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "headtrack/calibration.h"
#include "headtrack/error.h"
#include "headtrack/image_io.h"
#include "headtrack/mesh_io.h"
#include "headtrack/rasterizer.h"
#include "render/depth_rendering.h"

namespace headtrack::cli {
namespace {

struct RenderOptions {
  std::string mesh;
  std::string calibration;
  double distance = 0.4;
  double yaw = 0.0;
  double pitch = 0.0;
  double roll = 0.0;
  int width = 0;
  int height = 0;
  std::string output;
  std::string preview;
  bool overwrite = false;
};

void RunRender(const RenderOptions& options) {
  CheckOutputPath(options.output, options.overwrite);
  if (!options.preview.empty()) CheckOutputPath(options.preview, options.overwrite);
  Calibration calibration = ReadCalibration(options.calibration);
  if (options.width > 0) calibration.camera.width = options.width;
  if (options.height > 0) calibration.camera.height = options.height;
  if (!calibration.has_size()) {
    throw InputError(options.calibration,
                     "has no width and height; give them with --width and --height");
  }
  TriangleMesh mesh = ReadMesh(options.mesh);
  if (mesh.num_faces() == 0) throw InputError(options.mesh, "has no triangles to render");
  const SimilarityTransform cam_from_mesh =
      FrontalView(mesh, options.distance, options.yaw, options.pitch, options.roll);
  cam_from_mesh.TransformPoints(mesh.vertices);

  RasterizerOptions rasterizer_options;
  rasterizer_options.compute_points_and_normals = !options.preview.empty();
  Rasterizer rasterizer(rasterizer_options);
  Rasterization rasterization;
  rasterizer.Rasterize(calibration.camera, mesh.vertices, mesh.faces, &rasterization);
  if (rasterization.num_covered_pixels == 0) {
    throw Error("the mesh " + options.mesh + " covers no pixel at --distance " +
                std::to_string(options.distance) + " m: is it in metres and facing +z?");
  }
  WriteDepthPng(options.output, QuantizeDepth(rasterization.depth, calibration.depth_scale));
  std::cout << "wrote " << options.output << " (" << calibration.camera.width << " x "
            << calibration.camera.height << ", " << rasterization.num_covered_pixels
            << " pixels with depth, " << calibration.depth_scale << " units per metre)\n";
  if (!options.preview.empty()) {
    WriteColorPng(options.preview, ShadedPreview(rasterization));
    std::cout << "wrote " << options.preview << " (shaded preview)\n";
  }
}

}  // namespace

void AddRenderCommand(CLI::App& app) {
  auto options = std::make_shared<RenderOptions>();
  CLI::App* command = app.add_subcommand(
      "render", "Render a mesh (OBJ/PLY, +y up, +z toward the camera) to a 16-bit depth PNG");
  command->add_option("mesh", options->mesh, "Mesh file (.obj or .ply)")->required();
  command->add_option("--calib", options->calibration, "calibration.json (fx, fy, cx, cy, ...)")
      ->required();
  command->add_option("--distance", options->distance,
                      "Distance of the mesh's bounding-box center from the camera, metres")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--yaw", options->yaw, "Turn about the mesh's up axis, degrees")
      ->capture_default_str();
  command->add_option("--pitch", options->pitch, "Turn about the mesh's x axis, degrees")
      ->capture_default_str();
  command->add_option("--roll", options->roll, "Turn about the viewing axis, degrees")
      ->capture_default_str();
  command->add_option("--width", options->width, "Image width if the calibration has none")
      ->check(CLI::PositiveNumber);
  command->add_option("--height", options->height, "Image height if the calibration has none")
      ->check(CLI::PositiveNumber);
  command->add_option("-o,--output", options->output, "Output depth PNG (16-bit)")->required();
  command->add_option("--preview", options->preview,
                      "Also write a shaded 8-bit PNG that image viewers show");
  command->add_flag("--overwrite", options->overwrite, "Replace an existing output file");
  command->callback([options] { RunRender(*options); });
}

}  // namespace headtrack::cli
