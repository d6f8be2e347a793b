#include "fit/face_landmark_detector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "headtrack/head_model.h"
#include "headtrack/rasterizer.h"
#include "headtrack/rigid_initializer.h"
#include "io/testing/scratch_folder.h"
#include "render/depth_rendering.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using test_support::ExpectError;
using FaceLandmarkDetectorTest = test_support::ScratchFolderTest;

const std::string kShared = HEADTRACK_DATA_DIR;

struct RenderedFace {
  ColorImage image;                    // RGB, skin albedo lit from the camera
  std::vector<Eigen::Vector2d> truth;  // the model's landmark vertices projected, pixels
};

// The default model (zero identity and expression) facing the camera, turned by yaw degrees.
RenderedFace RenderFace(double yaw_deg, double distance_m) {
  const HeadModel model = HeadModel::Load(kShared + "/models/ict_facekit_light.npz");
  const PinholeCamera camera = PinholeCamera::KinectV1();
  SimilarityTransform cam_from_head =
      SimilarityTransform::FromYawPitchRoll(yaw_deg, 0.0, 0.0, Eigen::Vector3d::Zero());
  cam_from_head.rotation = Eigen::Vector3d(1, -1, -1).asDiagonal() * cam_from_head.rotation;
  cam_from_head.translation = {0.0, 0.0, distance_m};
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(model.ZeroIdentity()), model.ZeroExpression(), {},
                 cam_from_head, &vertices);
  Rasterizer rasterizer;
  Rasterization rasterization;
  rasterizer.Rasterize(camera, vertices, model.triangles(), &rasterization);
  RenderedFace face;
  face.image = ShadeFromCamera(rasterization, Eigen::Vector3f(225.0f, 180.0f, 155.0f), 0.25f);
  for (int v : model.landmark_vertices()) {
    face.truth.push_back(camera.Project(Eigen::Vector3d(vertices.row(v).cast<double>())));
  }
  return face;
}

// Mean distance (pixels) of landmarks [first, 68) to the truth.
double MeanError(const std::vector<Eigen::Vector2d>& landmarks,
                 const std::vector<Eigen::Vector2d>& truth, int first) {
  double sum = 0.0;
  for (int k = first; k < 68; ++k) sum += (landmarks[k] - truth[k]).norm();
  return sum / (68 - first);
}

// dlib's predictor is trained on photographs; on these untextured renderings it is accurate to a
// few pixels up to about 20 degrees of yaw (at 25 degrees the brows and eyes drift by 10-20 px).
TEST(FaceLandmarkDetector, FindsTheLandmarksOfARenderedFace) {
  FaceLandmarkDetector detector(kDefaultShapePredictorPath);
  for (const double yaw : {0.0, 20.0}) {
    const RenderedFace face = RenderFace(yaw, 0.7);
    const std::vector<Eigen::Vector2d> landmarks = detector.Detect(face.image);
    ASSERT_EQ(landmarks.size(), 68u) << "yaw " << yaw;
    EXPECT_LT(MeanError(landmarks, face.truth, 17), 6.0) << "yaw " << yaw << ", without the jaw";
    if (yaw == 0.0) {
      EXPECT_LT(MeanError(landmarks, face.truth, 0), 6.0) << "frontal, all 68";
    }
  }
}

TEST(FaceLandmarkDetector, GrayAndUpsampledImagesWorkToo) {
  FaceLandmarkDetector detector(kDefaultShapePredictorPath);
  const RenderedFace face = RenderFace(0.0, 0.7);
  ColorImage gray(face.image.width, face.image.height, 1);
  for (int y = 0; y < gray.height; ++y) {
    for (int x = 0; x < gray.width; ++x) gray.at(x, y) = face.image.at(x, y, 1);
  }
  const std::vector<Eigen::Vector2d> from_gray = detector.Detect(gray);
  ASSERT_EQ(from_gray.size(), 68u);
  EXPECT_LT(MeanError(from_gray, face.truth, 17), 6.0);
  const std::vector<Eigen::Vector2d> upsampled = detector.Detect(face.image, 1);
  ASSERT_EQ(upsampled.size(), 68u);
  EXPECT_LT(MeanError(upsampled, face.truth, 17), 6.0);
}

TEST(FaceLandmarkDetector, NoFaceGivesNoLandmarks) {
  FaceLandmarkDetector detector(kDefaultShapePredictorPath);
  EXPECT_TRUE(detector.Detect(ColorImage(320, 240, 3, 90)).empty());
  EXPECT_TRUE(detector.Detect(ColorImage()).empty());
}

TEST_F(FaceLandmarkDetectorTest, MissingFileThrowsInputErrorNamingIt) {
  const fs::path path = Path("shape_predictor_68_face_landmarks.dat");
  ExpectError([&] { FaceLandmarkDetector detector(path); }, path, {"no such file", "libdlib-data"});
}

TEST_F(FaceLandmarkDetectorTest, FileThatIsNotAShapePredictorThrowsInputErrorNamingIt) {
  const fs::path path = WriteFile("predictor.dat", "not a dlib model, just text\n");
  ExpectError([&] { FaceLandmarkDetector detector(path); }, path, {"not a dlib shape predictor"});
}

}  // namespace
}  // namespace headtrack
