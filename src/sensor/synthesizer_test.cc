#include "sensor/synthesizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "headtrack/head_model.h"
#include "headtrack/mesh_io.h"
#include "headtrack/rasterizer.h"
#include "headtrack/sequence.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using test_support::ExpectError;
using SynthesizerTest = test_support::ScratchFolderTest;

const std::string kShared = HEADTRACK_DATA_DIR;

const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(kShared + "/models/ict_facekit_light.npz");
  return model;
}

// Half the Azure Kinect NFOV resolution: the same field of view, four times fewer pixels.
PinholeCamera HalfAzure() {
  return {.fx = 252.0, .fy = 252.0, .cx = 159.5, .cy = 143.5, .width = 320, .height = 288};
}

SynthOptions SmallOptions(const fs::path& output) {
  SynthOptions options;
  options.output = output;
  options.camera = HalfAzure();
  options.num_frames = 3;
  options.seed = 4;
  return options;
}

std::vector<nlohmann::json> ReadJsonLines(const fs::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream stream(path);
  for (std::string line; std::getline(stream, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

SimilarityTransform PoseFromJson(const nlohmann::json& json) {
  SimilarityTransform pose;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) pose.rotation(r, c) = json["rotation"][r][c].get<double>();
    pose.translation[r] = json["translation"][r].get<double>();
  }
  pose.scale = json["scale"].get<double>();
  return pose;
}

// Exact distance from p to the triangle (a, b, c): the closest point by Voronoi regions
// (Ericson, Real-Time Collision Detection, 5.1.5).
double PointTriangleDistance(const Eigen::Vector3d& p, const Eigen::Vector3d& a,
                             const Eigen::Vector3d& b, const Eigen::Vector3d& c) {
  const Eigen::Vector3d ab = b - a, ac = c - a, ap = p - a;
  const double d1 = ab.dot(ap), d2 = ac.dot(ap);
  if (d1 <= 0 && d2 <= 0) return (p - a).norm();
  const Eigen::Vector3d bp = p - b;
  const double d3 = ab.dot(bp), d4 = ac.dot(bp);
  if (d3 >= 0 && d4 <= d3) return (p - b).norm();
  const double vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) return (p - (a + d1 / (d1 - d3) * ab)).norm();
  const Eigen::Vector3d cp = p - c;
  const double d5 = ab.dot(cp), d6 = ac.dot(cp);
  if (d6 >= 0 && d5 <= d6) return (p - c).norm();
  const double vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) return (p - (a + d2 / (d2 - d6) * ac)).norm();
  const double va = d3 * d6 - d5 * d4;
  if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
    return (p - (b + (d4 - d3) / ((d4 - d3) + (d5 - d6)) * (c - b))).norm();
  }
  const double denominator = 1.0 / (va + vb + vc);
  return (p - (a + ab * (vb * denominator) + ac * (vc * denominator))).norm();
}

// Every valid depth pixel of a noiseless frame, back-projected, lies on the true mesh: on the
// triangle the true mesh shows at that pixel, within the 0.05 mm of 0.1 mm depth units. And the
// frame has depth exactly where the true mesh covers a pixel.
void ExpectDepthOnMesh(const Sequence& sequence, int index, const TriangleMesh& mesh,
                       bool cull_back_faces) {
  const PinholeCamera& camera = sequence.calibration().camera;
  RasterizerOptions options;
  options.cull_back_faces = cull_back_faces;
  Rasterizer rasterizer(options);
  Rasterization truth;
  rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, &truth);
  const SequenceFrame frame = sequence.ReadFrame(index);
  int valid = 0;
  double largest = 0.0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const float depth = frame.depth.at(x, y);
      ASSERT_EQ(depth > 0.0f, truth.covered(x, y)) << x << " " << y;
      if (depth == 0.0f) continue;
      ++valid;
      const Eigen::Vector3d point =
          camera.Unproject(Eigen::Vector2d(x, y), static_cast<double>(depth));
      const auto face = mesh.faces.row(truth.triangle_id.at(x, y));
      largest = std::max(largest, PointTriangleDistance(
                                      point, mesh.vertices.row(face[0]).transpose().cast<double>(),
                                      mesh.vertices.row(face[1]).transpose().cast<double>(),
                                      mesh.vertices.row(face[2]).transpose().cast<double>()));
    }
  }
  EXPECT_GT(valid, 5000);
  EXPECT_LT(largest, 1e-4) << "metres, frame " << index;
}

TEST_F(SynthesizerTest, NoiselessModelFramesLieOnTheTrueMesh) {
  const HeadModel& model = DefaultModel();
  SynthOptions options = SmallOptions(Path("seq"));
  options.motion = MotionKind::kTalk;
  options.noise = KinectNoiseOptions::ForNoiseLevel(0.0);
  const SynthSummary summary = SynthesizeModelSequence(model, options);
  EXPECT_EQ(summary.depth_scale, 10000.0);
  EXPECT_EQ(summary.noise.valid_pixels, summary.noise.covered_pixels);
  EXPECT_EQ(summary.points, summary.noise.valid_pixels);

  const Sequence sequence = Sequence::Open(Path("seq"));
  ASSERT_EQ(sequence.num_frames(), 3);
  EXPECT_EQ(sequence.frame_numbers(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(sequence.calibration().depth_scale, 10000.0);
  EXPECT_EQ(sequence.calibration().camera.fx, 252.0);
  EXPECT_EQ(sequence.calibration().camera.height, 288);
  EXPECT_TRUE(sequence.HasColor(2));

  const std::vector<nlohmann::json> truth = ReadJsonLines(Path("seq/gt/frames.jsonl"));
  ASSERT_EQ(truth.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    const nlohmann::json& json = truth[f];
    EXPECT_EQ(json["frame"], f);
    ASSERT_EQ(json["identity"].size(), static_cast<size_t>(model.num_identity()));
    ASSERT_EQ(json["expression"].size(), static_cast<size_t>(model.num_expression()));
    const SimilarityTransform cam_from_head = PoseFromJson(json);
    EXPECT_EQ(cam_from_head.scale, 1.0);
    EXPECT_TRUE((cam_from_head.rotation * cam_from_head.rotation.transpose())
                    .isApprox(Eigen::Matrix3d::Identity(), 1e-12));
    EXPECT_NEAR(cam_from_head.rotation.determinant(), 1.0, 1e-12);
    Eigen::Vector3d axis_angle(json["axis_angle"][0], json["axis_angle"][1], json["axis_angle"][2]);
    EXPECT_TRUE(Eigen::AngleAxisd(axis_angle.norm(), axis_angle.normalized())
                    .toRotationMatrix()
                    .isApprox(cam_from_head.rotation, 1e-9));

    // The true mesh is the model evaluated with the recorded parameters.
    Eigen::VectorXf identity(model.num_identity());
    for (int k = 0; k < model.num_identity(); ++k) identity[k] = json["identity"][k].get<float>();
    Eigen::VectorXf expression = model.ZeroExpression();
    for (const auto& [name, weight] : json["expression"].items()) {
      ASSERT_GE(model.ExpressionIndex(name), 0) << name;
      expression[model.ExpressionIndex(name)] = weight.get<float>();
      EXPECT_GE(weight.get<float>(), 0.0f);
      EXPECT_LE(weight.get<float>(), 1.0f);
    }
    const TriangleMesh mesh = ReadMesh(Path("seq/gt/meshes/0000" + std::to_string(f) + ".ply"));
    ASSERT_EQ(mesh.num_vertices(), model.num_vertices());
    ASSERT_EQ(mesh.faces, model.triangles());
    Points3f expected;
    model.Evaluate(model.ShapeIdentity(identity), expression, {}, cam_from_head, &expected);
    EXPECT_LT((expected - mesh.vertices).cwiseAbs().maxCoeff(), 1e-6f);

    // Facing the camera: the nose (largest head-frame z) is nearer than the head's center and
    // the top of the head (largest y) is up in the image (camera -y).
    Eigen::Index nose = 0;
    Eigen::Index top = 0;
    model.template_vertices().col(2).maxCoeff(&nose);
    model.template_vertices().col(1).maxCoeff(&top);
    EXPECT_LT(mesh.vertices(nose, 2), options.distance_m - 0.05);
    EXPECT_LT(mesh.vertices(top, 1), -0.05);

    ExpectDepthOnMesh(sequence, f, mesh, /*cull_back_faces=*/true);
  }
}

TEST_F(SynthesizerTest, ScanIsScaledToHeadHeightAndMovedRigidly) {
  const fs::path scan_path = kShared + "/data/scans/lee_perry_smith/LeePerrySmith.obj";
  const TriangleMesh scan = ReadMesh(scan_path);
  SynthOptions options = SmallOptions(Path("seq"));
  options.num_frames = 2;
  options.noise = KinectNoiseOptions::Off();
  const SynthSummary summary = SynthesizeScanSequence(scan, scan_path.string(), options);
  const Eigen::Matrix<float, 2, 3> box = scan.BoundingBox();
  EXPECT_NEAR(summary.scale * (box(1, 1) - box(0, 1)), kScanHeadHeight, 1e-6);

  const Sequence sequence = Sequence::Open(Path("seq"));
  const std::vector<nlohmann::json> truth = ReadJsonLines(Path("seq/gt/frames.jsonl"));
  ASSERT_EQ(truth.size(), 2u);
  for (int f = 0; f < 2; ++f) {
    EXPECT_FALSE(truth[f].contains("identity"));
    EXPECT_FALSE(truth[f].contains("expression"));
    const SimilarityTransform cam_from_scan = PoseFromJson(truth[f]);
    EXPECT_NEAR(cam_from_scan.scale, summary.scale, 1e-12);
    const TriangleMesh mesh = ReadMesh(Path("seq/gt/meshes/0000" + std::to_string(f) + ".ply"));
    Points3f expected = scan.vertices;
    cam_from_scan.TransformPoints(expected);
    EXPECT_LT((expected - mesh.vertices).cwiseAbs().maxCoeff(), 1e-6f);
    ExpectDepthOnMesh(sequence, f, mesh, /*cull_back_faces=*/false);
  }

  options.scan_scale = 0.5;
  options.overwrite = true;
  EXPECT_EQ(SynthesizeScanSequence(scan, scan_path.string(), options).scale, 0.5);
}

TEST_F(SynthesizerTest, PointsKeepsExactlyThatManyPixelsAndSeedsRepeat) {
  const HeadModel& model = DefaultModel();
  SynthOptions options = SmallOptions(Path("a"));
  options.num_frames = 2;
  options.num_points = 700;
  const SynthSummary summary = SynthesizeModelSequence(model, options);
  EXPECT_EQ(summary.depth_scale, 1000.0);
  EXPECT_EQ(summary.points, 2 * 700);
  EXPECT_EQ(summary.frames_with_fewer_points, 0);
  EXPECT_GT(summary.noise.valid_pixels, 2 * 700);
  EXPECT_GT(summary.noise.edge_pixels, 0);
  EXPECT_GT(summary.noise.grazing_pixels, 0);

  options.output = Path("b");
  SynthesizeModelSequence(model, options);
  options.output = Path("c");
  options.seed = 5;
  SynthesizeModelSequence(model, options);

  const Sequence a = Sequence::Open(Path("a"));
  const Sequence b = Sequence::Open(Path("b"));
  const Sequence c = Sequence::Open(Path("c"));
  EXPECT_EQ(a.calibration().depth_scale, 1000.0);
  for (int f = 0; f < 2; ++f) {
    const DepthImage16 depth = a.ReadDepthUnits(f);
    EXPECT_EQ(std::count_if(depth.pixels.begin(), depth.pixels.end(),
                            [](std::uint16_t units) { return units != 0; }),
              700);
    EXPECT_EQ(depth.pixels, b.ReadDepthUnits(f).pixels);
    EXPECT_NE(depth.pixels, c.ReadDepthUnits(f).pixels);
  }
}

TEST_F(SynthesizerTest, RefusesAFolderInUseAndOverwriteReplacesTheSequence) {
  const HeadModel& model = DefaultModel();
  SynthOptions options = SmallOptions(Path("seq"));
  options.noise = KinectNoiseOptions::Off();
  SynthesizeModelSequence(model, options);
  ExpectError([&] { SynthesizeModelSequence(model, options); }, Path("seq"),
              {"not empty", "--overwrite"});

  options.num_frames = 2;
  options.overwrite = true;
  SynthesizeModelSequence(model, options);
  EXPECT_EQ(Sequence::Open(Path("seq")).num_frames(), 2);
  EXPECT_FALSE(fs::exists(Path("seq/gt/meshes/00002.ply")));
  EXPECT_EQ(ReadJsonLines(Path("seq/gt/frames.jsonl")).size(), 2u);
}

}  // namespace
}  // namespace headtrack
