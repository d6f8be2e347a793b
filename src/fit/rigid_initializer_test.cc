#include "headtrack/rigid_initializer.h"

#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/rasterizer.h"
#include "headtrack/sequence.h"
#include "render/depth_rendering.h"
#include "headtrack/depth_preprocessing.h"
#include "sensor/kinect_noise.h"

namespace headtrack {
namespace {

const std::string kShared = HEADTRACK_DATA_DIR;

const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(kShared + "/models/ict_facekit_light.npz");
  return model;
}

// Kinect v1 at half resolution: the same field of view, four times fewer pixels.
PinholeCamera HalfKinectV1() {
  return {.fx = 262.5, .fy = 262.5, .cx = 159.5, .cy = 119.5, .width = 320, .height = 240};
}

const IdentityShape& ZeroShape() {
  static const IdentityShape shape = DefaultModel().ShapeIdentity(DefaultModel().ZeroIdentity());
  return shape;
}

double RotationErrorDeg(const SimilarityTransform& a, const SimilarityTransform& b) {
  return Eigen::AngleAxisd(a.rotation.transpose() * b.rotation).angle() * 180.0 / std::numbers::pi;
}

double TranslationError(const SimilarityTransform& a, const SimilarityTransform& b) {
  return (a.translation - b.translation).norm();
}

// The head facing the camera upright, turned by yaw and pitch (degrees), its head-frame origin at
// `position` (camera frame, metres).
SimilarityTransform HeadPose(double yaw_deg, double pitch_deg, const Eigen::Vector3d& position) {
  SimilarityTransform pose =
      SimilarityTransform::FromYawPitchRoll(yaw_deg, pitch_deg, 0.0, Eigen::Vector3d::Zero());
  pose.rotation = Eigen::Vector3d(1, -1, -1).asDiagonal() * pose.rotation;
  pose.translation = position;
  return pose;
}

// Appends a closed axis-aligned box (camera frame, metres), wound counter-clockwise from outside.
void AppendBox(const Eigen::Vector3d& lo, const Eigen::Vector3d& hi, TriangleMesh* mesh) {
  const int base = mesh->num_vertices();
  mesh->vertices.conservativeResize(base + 8, 3);
  for (int k = 0; k < 8; ++k) {
    mesh->vertices.row(base + k) =
        Eigen::Vector3d(k & 1 ? hi.x() : lo.x(), k & 2 ? hi.y() : lo.y(), k & 4 ? hi.z() : lo.z())
            .transpose()
            .cast<float>();
  }
  const int quads[6][4] = {{0, 2, 3, 1}, {4, 5, 7, 6}, {0, 1, 5, 4},
                           {2, 6, 7, 3}, {0, 4, 6, 2}, {1, 3, 7, 5}};
  const long f = mesh->num_faces();
  mesh->faces.conservativeResize(f + 12, 3);
  for (int q = 0; q < 6; ++q) {
    mesh->faces.row(f + 2 * q) << base + quads[q][0], base + quads[q][1], base + quads[q][2];
    mesh->faces.row(f + 2 * q + 1) << base + quads[q][0], base + quads[q][2], base + quads[q][3];
  }
}

struct SyntheticFrame {
  Points3f vertices;  // the true head mesh, camera frame
  PointCloud scan;    // PreprocessDepth's cloud of the simulated depth
  ColorImage color;   // shaded rendering by color_camera
};

// The model with identity_shape at cam_from_head, optionally above a torso-sized box, as the
// simulated Kinect measures it (noise may be Off()), preprocessed as the tracker does.
SyntheticFrame RenderFrame(const IdentityShape& identity_shape,
                           const SimilarityTransform& cam_from_head, const PinholeCamera& camera,
                           const KinectNoiseOptions& noise, std::uint64_t seed, bool with_torso,
                           const PinholeCamera& color_camera = {}) {
  const HeadModel& model = DefaultModel();
  SyntheticFrame frame;
  model.Evaluate(identity_shape, model.ZeroExpression(), {}, cam_from_head, &frame.vertices);
  TriangleMesh mesh;
  mesh.vertices = frame.vertices;
  mesh.faces = model.triangles();
  if (with_torso) {
    // Shoulders: 44 cm wide, from 8 cm below the chin out of the picture, a little behind it.
    const Eigen::Vector3d chin = cam_from_head * Eigen::Vector3d(0.0, -0.1, 0.0);
    AppendBox(chin + Eigen::Vector3d(-0.22, 0.08, 0.02), chin + Eigen::Vector3d(0.22, 0.6, 0.25),
              &mesh);
  }
  Rasterizer rasterizer;
  Rasterization rasterization;
  rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, &rasterization);
  const DepthImage depth = SimulateKinectDepth(rasterization, camera, noise, seed).depth;
  DepthPreprocessingOptions preprocessing;
  preprocessing.max_depth_m = 1.5;  // heads up to 0.8 m and the torso behind them
  frame.scan = PreprocessDepth(depth, camera, preprocessing).cloud;
  if (color_camera.width > 0) {
    rasterizer.Rasterize(color_camera, mesh.vertices, mesh.faces, &rasterization);
    frame.color = ShadeFromCamera(rasterization, Eigen::Vector3f(225.0f, 180.0f, 155.0f), 0.25f);
  }
  return frame;
}

std::vector<Eigen::Vector2d> ProjectedLandmarks(const Points3f& vertices,
                                                const PinholeCamera& camera) {
  std::vector<Eigen::Vector2d> landmarks;
  for (int v : DefaultModel().landmark_vertices()) {
    landmarks.push_back(camera.Project(Eigen::Vector3d(vertices.row(v).cast<double>())));
  }
  return landmarks;
}

// An organized cloud of camera's size with every point invalid.
PointCloud InvalidScan(const PinholeCamera& camera) {
  PointCloud scan;
  scan.width = camera.width;
  scan.height = camera.height;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  scan.points = Points3f::Constant(camera.width * camera.height, 3, static_cast<float>(nan));
  scan.normals = scan.points;
  return scan;
}

TEST(InitializeRigidFromDepth, RecoversRandomPosesOfAnUnknownIdentity) {
  // Yaw in [-70, 70], pitch in [-20, 20] degrees, 0.3 to 0.8 m; a random identity, found with
  // the zero identity. Alternately with and without noise, every third with a torso below.
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = HalfKinectV1();
  std::mt19937 random(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int trial = 0; trial < 6; ++trial) {
    const double yaw = -70.0 + 140.0 * uniform(random);
    const double pitch = -20.0 + 40.0 * uniform(random);
    const double distance = 0.3 + 0.5 * uniform(random);
    const Eigen::Vector3d position(0.1 * (uniform(random) - 0.5) * distance,
                                   0.1 * (uniform(random) - 0.5) * distance, distance);
    const SimilarityTransform truth = HeadPose(yaw, pitch, position);
    const IdentityShape shape =
        model.ShapeIdentity(SampleIdentity(model.num_identity(), 100 + trial));
    const bool noisy = trial % 2 == 0;
    const SyntheticFrame frame =
        RenderFrame(shape, truth, camera,
                    noisy ? KinectNoiseOptions::ForNoiseLevel(1.0) : KinectNoiseOptions::Off(),
                    trial, trial % 3 == 0);

    const RigidInitSummary summary =
        InitializeRigidFromDepth(model, ZeroShape(), frame.scan, camera);
    SCOPED_TRACE(testing::Message() << "trial " << trial << ": yaw " << yaw << " pitch " << pitch
                                    << " at " << distance << " m; " << summary.message);
    EXPECT_TRUE(summary.found);
    EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 5.0);
    EXPECT_LT(TranslationError(summary.cam_from_head, truth), 0.015);
    EXPECT_EQ(summary.cam_from_head.scale, 1.0);
    EXPECT_EQ(summary.hypotheses_tried, 7);
    EXPECT_EQ(summary.identity.size(), model.num_identity());
    EXPECT_GT(summary.inlier_fraction, 0.6);
    EXPECT_LT(summary.rms_m, 0.004);
  }
}

TEST(InitializeRigidFromDepth, KnownIdentityWithoutNoiseIsExact) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = HalfKinectV1();
  const SimilarityTransform truth = HeadPose(-50.0, 10.0, {0.02, -0.01, 0.5});
  const IdentityShape shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), 7));
  const SyntheticFrame frame =
      RenderFrame(shape, truth, camera, KinectNoiseOptions::Off(), 0, /*with_torso=*/true);
  RigidInitOptions options;
  options.identity_components = 0;  // the identity is right: nothing to refit
  const RigidInitSummary summary =
      InitializeRigidFromDepth(model, shape, frame.scan, camera, options);
  ASSERT_TRUE(summary.found) << summary.message;
  EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 0.2);
  EXPECT_LT(TranslationError(summary.cam_from_head, truth), 0.0005);
  EXPECT_LT(summary.rms_m, 0.0005);
  EXPECT_EQ(summary.identity, shape.identity);
}

TEST(InitializeRigidFromDepth, EstimatesScaleWhenAsked) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = HalfKinectV1();
  SimilarityTransform truth = HeadPose(20.0, 0.0, {0.0, 0.0, 0.45});
  truth.scale = 1.1;
  const SyntheticFrame frame =
      RenderFrame(ZeroShape(), truth, camera, KinectNoiseOptions::Off(), 0, false);
  RigidInitOptions options;
  options.estimate_scale = true;
  options.identity_components = 0;
  const RigidInitSummary summary =
      InitializeRigidFromDepth(model, ZeroShape(), frame.scan, camera, options);
  ASSERT_TRUE(summary.found) << summary.message;
  EXPECT_NEAR(summary.cam_from_head.scale, 1.1, 0.002);
  EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 0.2);
}

TEST(InitializeRigidFromDepth, RealKinectFrameLiesOnTheScan) {
  // A three-quarter profile at 0.7 m, the face turned toward the image's right (+x).
  const HeadModel& model = DefaultModel();
  const Sequence sequence = Sequence::Open(kShared + "/data/kinect_person");
  const PinholeCamera camera = sequence.calibration().camera;
  const PointCloud scan = PreprocessDepth(sequence.ReadFrame(0).depth, camera).cloud;
  const RigidInitSummary summary = InitializeRigidFromDepth(model, ZeroShape(), scan, camera);
  ASSERT_TRUE(summary.found) << summary.message;

  // Face vertices facing the camera that project onto valid scan pixels: point-to-plane distance
  // to the scan point of their pixel.
  const TriangleMesh mesh =
      model.EvaluateMesh(summary.identity, model.ZeroExpression(), {}, summary.cam_from_head);
  const int face = model.RegionIndex("face");
  std::vector<double> distances;
  for (int v = 0; v < mesh.num_vertices(); ++v) {
    const Eigen::Vector3d p = mesh.vertices.row(v).transpose().cast<double>();
    const Eigen::Vector3d n = mesh.normals.row(v).transpose().cast<double>();
    if (model.vertex_regions()[v] != face || n.dot(p) >= 0.0) continue;
    const Eigen::Vector2d pixel = camera.Project(p);
    if (!camera.Contains(pixel.x(), pixel.y())) continue;
    const int i = static_cast<int>(std::lround(pixel.y()) * camera.width + std::lround(pixel.x()));
    if (!scan.points.row(i).allFinite() || !scan.normals.row(i).allFinite()) continue;
    distances.push_back(std::abs(scan.normals.row(i).cast<double>().dot(
        (p - scan.points.row(i).transpose().cast<double>()).transpose())));
  }
  ASSERT_GT(distances.size(), 1000u);
  std::nth_element(distances.begin(), distances.begin() + distances.size() / 2, distances.end());
  EXPECT_LT(distances[distances.size() / 2], 0.008);

  // The nose (+z of the head) points to the image's right and toward the camera; the head is
  // upright (its +y is image up, -y in the camera).
  const Eigen::Vector3d nose = summary.cam_from_head.rotation.col(2);
  const Eigen::Vector3d up = summary.cam_from_head.rotation.col(1);
  EXPECT_GT(nose.x(), 0.6);
  EXPECT_LT(nose.z(), -0.2);
  EXPECT_LT(up.y(), -0.9);
  EXPECT_NEAR(summary.cam_from_head.translation.z(), 0.84, 0.05);
}

TEST(InitializeRigidFromDepth, EmptyOrInvalidScanIsNotFound) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = PinholeCamera::KinectV1();
  for (const PointCloud& scan : {PointCloud(), InvalidScan(camera)}) {
    const RigidInitSummary summary = InitializeRigidFromDepth(model, ZeroShape(), scan, camera);
    EXPECT_FALSE(summary.found);
    EXPECT_NE(summary.message.find("no valid points"), std::string::npos) << summary.message;
  }
  // A few valid points: no surface large enough.
  PointCloud scan = InvalidScan(camera);
  for (int i = 1000; i < 1010; ++i) {
    scan.points.row(i) << 0.0f, 0.0f, 0.5f;
    scan.normals.row(i) << 0.0f, 0.0f, -1.0f;
  }
  const RigidInitSummary summary = InitializeRigidFromDepth(model, ZeroShape(), scan, camera);
  EXPECT_FALSE(summary.found);
  EXPECT_NE(summary.message.find("no surface"), std::string::npos) << summary.message;
}

TEST(InitializeRigidFromDepth, AWallIsNotAHead) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = HalfKinectV1();
  TriangleMesh wall;
  AppendBox({-1.0, -1.0, 0.6}, {1.0, 1.0, 0.7}, &wall);
  Rasterizer rasterizer;
  Rasterization rasterization;
  rasterizer.Rasterize(camera, wall.vertices, wall.faces, &rasterization);
  DepthPreprocessingOptions preprocessing;
  preprocessing.max_depth_m = 1.5;
  const PointCloud scan = PreprocessDepth(rasterization.depth, camera, preprocessing).cloud;
  const RigidInitSummary summary = InitializeRigidFromDepth(model, ZeroShape(), scan, camera);
  EXPECT_FALSE(summary.found) << summary.message;
  EXPECT_NE(summary.message.find("not a head alignment"), std::string::npos) << summary.message;
}

TEST(RigidInitOptions, CheckNamesTheBadOption) {
  RigidInitOptions options;
  options.inlier_distance_m = 0.05;  // above initial_inlier_distance_m
  EXPECT_THROW(options.Check(), CheckError);
  options = {};
  options.hypotheses_yaw_pitch_deg.clear();
  try {
    options.Check();
    FAIL() << "no CheckError";
  } catch (const CheckError& error) {
    EXPECT_NE(std::string(error.what()).find("hypotheses"), std::string::npos) << error.what();
  }
}

TEST(AlignLandmarks, ProjectedModelLandmarksRecoverThePose) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = HalfKinectV1();
  const SimilarityTransform truth = HeadPose(35.0, -10.0, {-0.03, 0.02, 0.6});
  const IdentityShape shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), 3));
  const SyntheticFrame frame =
      RenderFrame(shape, truth, camera, KinectNoiseOptions::ForNoiseLevel(1.0), 1, false);
  std::vector<Eigen::Vector2d> landmarks = ProjectedLandmarks(frame.vertices, camera);

  RigidInitSummary summary = AlignLandmarks(model, ZeroShape(), landmarks, frame.scan, camera);
  ASSERT_TRUE(summary.found) << summary.message;
  EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 3.0);
  EXPECT_LT(TranslationError(summary.cam_from_head, truth), 0.01);
  EXPECT_EQ(summary.hypotheses_tried, 1);

  // Five landmarks 30 pixels off (onto the background or elsewhere on the face) are dropped.
  for (int k : {30, 36, 45, 48, 54}) landmarks[k] += Eigen::Vector2d(30.0, -30.0);
  RigidInitOptions options;
  options.refine_iterations = 0;  // the landmark fit alone
  summary = AlignLandmarks(model, shape, landmarks, frame.scan, camera, options);
  EXPECT_LE(summary.landmarks_used, 51 - 5);
  EXPECT_GE(summary.landmarks_used, 51 - 5 - 5);
  EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 3.0);
  EXPECT_LT(TranslationError(summary.cam_from_head, truth), 0.01);
}

TEST(AlignLandmarks, TooFewLandmarksWithDepthIsNotFound) {
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = PinholeCamera::KinectV1();
  const std::vector<Eigen::Vector2d> landmarks(68, Eigen::Vector2d(320.0, 240.0));
  const RigidInitSummary summary =
      AlignLandmarks(model, ZeroShape(), landmarks, InvalidScan(camera), camera);
  EXPECT_FALSE(summary.found);
  EXPECT_NE(summary.message.find("only 0 of 51 landmarks have depth"), std::string::npos)
      << summary.message;
}

TEST(InitializeRigidFromLandmarks, RenderedFaceRecoversThePose) {
  // Color at twice the depth resolution: landmarks are scaled to the depth grid.
  const HeadModel& model = DefaultModel();
  const PinholeCamera camera = PinholeCamera::KinectV1();
  PinholeCamera color_camera = camera;
  color_camera.fx *= 2.0;
  color_camera.fy *= 2.0;
  color_camera.cx = 2.0 * camera.cx + 0.5;
  color_camera.cy = 2.0 * camera.cy + 0.5;
  color_camera.width *= 2;
  color_camera.height *= 2;
  const SimilarityTransform truth = HeadPose(-20.0, 5.0, {0.02, 0.0, 0.65});
  const IdentityShape shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), 11));
  const SyntheticFrame frame = RenderFrame(
      shape, truth, camera, KinectNoiseOptions::ForNoiseLevel(1.0), 2, true, color_camera);
  const RigidInitSummary summary =
      InitializeRigidFromLandmarks(model, ZeroShape(), frame.color, frame.scan, camera);
  ASSERT_TRUE(summary.found) << summary.message;
  EXPECT_GE(summary.landmarks_used, 30);
  EXPECT_LT(RotationErrorDeg(summary.cam_from_head, truth), 5.0);
  EXPECT_LT(TranslationError(summary.cam_from_head, truth), 0.015);
}

TEST(InitializeRigidFromLandmarks, NoFaceIsNotFound) {
  const PinholeCamera camera = PinholeCamera::KinectV1();
  const ColorImage black(camera.width, camera.height, 3);
  const RigidInitSummary summary =
      InitializeRigidFromLandmarks(DefaultModel(), ZeroShape(), black, InvalidScan(camera), camera);
  EXPECT_FALSE(summary.found);
  EXPECT_NE(summary.message.find("no face detected"), std::string::npos) << summary.message;
}

TEST(InitializeRigidFromLandmarks, MissingShapePredictorThrowsInputErrorNamingIt) {
  const PinholeCamera camera = PinholeCamera::KinectV1();
  RigidInitOptions options;
  options.landmark_model_path = "/nonexistent/shape_predictor_68_face_landmarks.dat";
  try {
    InitializeRigidFromLandmarks(DefaultModel(), ZeroShape(), ColorImage(8, 8, 3), PointCloud(),
                                 camera, options);
    FAIL() << "no InputError";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), options.landmark_model_path.string());
  }
}

}  // namespace
}  // namespace headtrack
