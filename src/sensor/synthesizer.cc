#include "sensor/synthesizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <system_error>

#include "core/file_util.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/mesh_io.h"
#include "headtrack/rasterizer.h"
#include "headtrack/sequence.h"
#include "headtrack/triangle_mesh.h"
#include "render/depth_rendering.h"
#include "sensor/seed.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

// Depth units per metre when the depth is not quantized: 0.1 mm.
constexpr double kUnquantizedDepthScale = 10000.0;

// What moves in front of the camera: a model with its identity and expressions, or a scan.
struct Subject {
  const HeadModel* model = nullptr;
  IdentityShape identity_shape;
  ExpressionTrajectory expressions;
  const TriangleMesh* scan = nullptr;
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // head frame: placed at `distance` at rest
  double scale = 1.0;
};

Eigen::Vector3d BoxCenter(const Eigen::Matrix<float, 2, 3>& box) {
  return (0.5f * (box.row(0) + box.row(1))).transpose().cast<double>();
}

SimilarityTransform CamFromHead(const HeadPose& pose, const Subject& subject, double distance) {
  // At rest the head faces the camera: its +y (up) and +z (out of the face) are the camera's -y
  // (image up) and -z (toward the camera).
  const Eigen::Matrix3d cam_from_front = Eigen::Vector3d(1, -1, -1).asDiagonal();
  const double angle = pose.rotation.norm();
  const Eigen::Matrix3d turn =
      angle > 0.0 ? Eigen::AngleAxisd(angle, pose.rotation / angle).toRotationMatrix()
                  : Eigen::Matrix3d::Identity();
  SimilarityTransform cam_from_head;
  cam_from_head.scale = subject.scale;
  cam_from_head.rotation = cam_from_front * turn;
  cam_from_head.translation = Eigen::Vector3d(0.0, 0.0, distance) + pose.translation -
                              subject.scale * (cam_from_head.rotation * subject.center);
  return cam_from_head;
}

// A plain skin albedo lit from the camera (plus ambient light); black background.
ColorImage ShadedAlbedo(const Rasterization& rasterization) {
  return ShadeFromCamera(rasterization, Eigen::Vector3f(225.0f, 180.0f, 155.0f), 0.25f);
}

nlohmann::ordered_json FrameJson(int frame, const Subject& subject,
                                 const SimilarityTransform& cam_from_head) {
  nlohmann::ordered_json json;
  json["frame"] = frame;
  if (subject.model != nullptr) {
    const Eigen::VectorXf& identity = subject.identity_shape.identity;
    json["identity"] = std::vector<float>(identity.data(), identity.data() + identity.size());
    nlohmann::ordered_json expression = nlohmann::ordered_json::object();
    const std::vector<std::string>& names = subject.model->expression_names();
    for (size_t k = 0; k < names.size(); ++k) {
      expression[names[k]] = subject.expressions.weights(frame, static_cast<int>(k));
    }
    json["expression"] = std::move(expression);
  }
  const Eigen::Matrix3d& r = cam_from_head.rotation;
  json["rotation"] = {
      {r(0, 0), r(0, 1), r(0, 2)}, {r(1, 0), r(1, 1), r(1, 2)}, {r(2, 0), r(2, 1), r(2, 2)}};
  const Eigen::Vector3d axis_angle = cam_from_head.AxisAngle();
  json["axis_angle"] = {axis_angle.x(), axis_angle.y(), axis_angle.z()};
  const Eigen::Vector3d& t = cam_from_head.translation;
  json["translation"] = {t.x(), t.y(), t.z()};
  json["scale"] = cam_from_head.scale;
  return json;
}

// Removes the frame meshes (NNNNN.ply) an earlier sequence left in `folder`.
void RemoveStaleMeshes(const fs::path& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".ply" &&
        ParseSequenceFrameName(entry.path().stem().string())) {
      fs::remove(entry.path());
    }
  }
}

SynthSummary Run(const Subject& subject, const Triangles& faces, const SynthOptions& options,
                 const std::vector<HeadPose>& poses) {
  const Stopwatch stopwatch;
  Calibration calibration;
  calibration.camera = options.camera;
  calibration.depth_scale = options.noise.quantization_m > 0.0 ? 1.0 / options.noise.quantization_m
                                                               : kUnquantizedDepthScale;
  SequenceWriter writer(options.output, calibration, options.overwrite);
  const fs::path meshes_folder = options.output / "gt" / "meshes";
  RemoveStaleMeshes(meshes_folder);
  std::error_code error;
  fs::create_directories(meshes_folder, error);
  if (error) {
    throw Error(meshes_folder.string() + ": cannot create folder (" + error.message() + ")");
  }

  SynthSummary summary;
  summary.output = options.output;
  summary.num_frames = options.num_frames;
  summary.depth_scale = calibration.depth_scale;
  summary.scale = subject.scale;
  summary.min_points = std::numeric_limits<int>::max();
  if (subject.model != nullptr) {
    summary.missing_expression_names = subject.expressions.missing_names;
  }

  // Scans may wind their faces either way; the model's winding is known.
  RasterizerOptions rasterizer_options;
  rasterizer_options.cull_back_faces = subject.model != nullptr;
  Rasterizer rasterizer(rasterizer_options);
  Rasterization rasterization;
  TriangleMesh mesh;  // the frame's true mesh, camera frame
  mesh.faces = faces;
  std::string frames_jsonl;
  Progress progress("synth", options.num_frames, "frames");
  for (int f = 0; f < options.num_frames; ++f) {
    const SimilarityTransform cam_from_head = CamFromHead(poses[f], subject, options.distance_m);
    if (subject.model != nullptr) {
      subject.model->Evaluate(subject.identity_shape,
                              subject.expressions.weights.row(f).transpose(), {}, cam_from_head,
                              &mesh.vertices);
    } else {
      mesh.vertices = subject.scan->vertices;
      cam_from_head.TransformPoints(mesh.vertices);
    }
    rasterizer.Rasterize(options.camera, mesh.vertices, mesh.faces, &rasterization);

    SimulatedDepth simulated = SimulateKinectDepth(rasterization, options.camera, options.noise,
                                                   internal::MixSeed(options.seed, 1000000 + f));
    summary.noise.Add(simulated.summary);
    int points = static_cast<int>(simulated.summary.valid_pixels);
    if (options.num_points > 0) {
      points = KeepRandomPixels(options.num_points, internal::MixSeed(options.seed, 2000000 + f),
                                &simulated.depth);
      summary.frames_with_fewer_points += points < options.num_points ? 1 : 0;
    }
    summary.points += points;
    summary.min_points = std::min(summary.min_points, points);
    summary.max_points = std::max(summary.max_points, points);

    writer.WriteFrame(f, QuantizeDepth(simulated.depth, calibration.depth_scale),
                      ShadedAlbedo(rasterization));
    WriteMesh(meshes_folder / (SequenceFrameName(f) + ".ply"), mesh);
    frames_jsonl += FrameJson(f, subject, cam_from_head).dump() + "\n";
    progress.Advance();
  }
  progress.Finish();
  WriteFileAtomically(
      options.output / "gt" / "frames.jsonl", [&](std::ostream& stream) { stream << frames_jsonl; },
      /*binary=*/false);
  summary.seconds = stopwatch.seconds();
  return summary;
}

MotionOptions MakeMotionOptions(const SynthOptions& options) {
  return {.kind = options.motion,
          .num_frames = options.num_frames,
          .fps = options.fps,
          .seed = options.seed,
          .max_rotation_deg = options.max_rotation_deg,
          .max_translation_m = options.max_translation_m};
}

}  // namespace

void SynthOptions::Check() const {
  HT_CHECK(!output.empty(), "no output folder");
  camera.Check();
  HT_CHECK(num_frames >= 1 && num_frames <= 1000000, "num_frames " << num_frames);
  HT_CHECK(distance_m > 0.0 && std::isfinite(distance_m), "distance_m " << distance_m);
  HT_CHECK(num_points >= 0, "num_points " << num_points);
  HT_CHECK(scan_scale >= 0.0 && std::isfinite(scan_scale), "scan_scale " << scan_scale);
  noise.Check();
  MakeMotionOptions(*this).Check();
}

SynthSummary SynthesizeModelSequence(const HeadModel& model, const SynthOptions& options) {
  options.Check();
  SequenceWriter::CheckFolder(options.output, options.overwrite);
  const MotionOptions motion = MakeMotionOptions(options);
  Subject subject;
  subject.model = &model;
  subject.identity_shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), options.seed));
  subject.expressions = MakeExpressionTrajectory(model, motion);
  // The rotation center: the middle of the neutral head's bounding box.
  TriangleMesh neutral;
  neutral.vertices =
      Eigen::Map<const Points3f>(subject.identity_shape.shaped.data(), model.num_vertices(), 3);
  subject.center = BoxCenter(neutral.BoundingBox());
  return Run(subject, model.triangles(), options, HeadPoseTrajectory(motion));
}

SynthSummary SynthesizeScanSequence(const TriangleMesh& scan, const std::string& scan_source,
                                    const SynthOptions& options) {
  options.Check();
  SequenceWriter::CheckFolder(options.output, options.overwrite);
  if (scan.num_faces() == 0) HT_THROW_INPUT(scan_source, "has no triangles to render");
  Subject subject;
  subject.scan = &scan;
  const Eigen::Matrix<float, 2, 3> box = scan.BoundingBox();
  subject.center = BoxCenter(box);
  subject.scale = options.scan_scale;
  if (subject.scale == 0.0) {
    const double height = box(1, 1) - box(0, 1);
    if (!(height > 0.0))
      HT_THROW_INPUT(scan_source, "is flat in y: cannot scale it to a head's height");
    subject.scale = kScanHeadHeight / height;
  }
  return Run(subject, scan.faces, options, HeadPoseTrajectory(MakeMotionOptions(options)));
}

}  // namespace headtrack
