#include "headtrack/tracker.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "fit/testing/synthetic_frame.h"
#include "headtrack/sequence_tracking.h"
#include "io/testing/scratch_folder.h"
#include "metrics/sequence_evaluation.h"
#include "sensor/synthesizer.h"

namespace headtrack {
namespace {

using testing::DefaultModelPath;
using testing::TypicalCamFromHead;

TEST(SubsampleDepth, PixelsOfTheSubsampledImageSeeTheSamePoints) {
  const PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  const PinholeCamera half = camera.Subsampled(2);
  EXPECT_EQ(half.width, 320);
  EXPECT_EQ(half.height, 288);
  const Eigen::Vector3d point(0.03, -0.05, 0.4);
  const Eigen::Vector2d full = camera.Project(point);
  const Eigen::Vector2d low = half.Project(point);
  EXPECT_NEAR(low.x() * 2, full.x(), 1e-9);
  EXPECT_NEAR(low.y() * 2, full.y(), 1e-9);
  DepthImage depth(5, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) depth.at(x, y) = static_cast<float>(10 * y + x);
  }
  const DepthImage sub = SubsampleDepth(depth, 2);
  ASSERT_EQ(sub.width, 3);
  ASSERT_EQ(sub.height, 2);
  EXPECT_EQ(sub.at(2, 1), 24.0f);
}

class TrackerTest : public test_support::ScratchFolderTest {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(HeadModel::Load(DefaultModelPath())); }
  static void TearDownTestSuite() { delete model_; }

  // Raw depth (metres) of the model at `state`, full resolution, with 1 mm noise.
  static DepthImage RenderDepth(const HeadState& state, const PinholeCamera& camera) {
    Points3f vertices;
    model_->Evaluate(model_->ShapeIdentity(state.identity), state.expression,
                     state.joint_rotations, state.cam_from_head, &vertices);
    Rasterizer rasterizer;
    Rasterization clean;
    rasterizer.Rasterize(camera, vertices, model_->triangles(), &clean);
    return SimulateKinectDepth(clean, camera, KinectNoiseOptions::ForNoiseLevel(1.0), 3).depth;
  }

  static HeadModel* model_;
};

HeadModel* TrackerTest::model_ = nullptr;

TEST_F(TrackerTest, TracksASimulatedSequenceWithinAMillimetre) {
  SynthOptions synth;
  synth.output = Path("seq");
  synth.num_frames = 12;
  synth.seed = 4;
  synth.motion = MotionKind::kMixed;
  SynthesizeModelSequence(*model_, synth);

  SequenceTrackingOptions options;
  options.sequence = Path("seq");
  options.output = Path("out");
  options.progress = false;
  options.save_meshes = true;
  options.offline = false;
  options.report = false;
  const SequenceTrackingSummary summary = TrackSequence(*model_, options);
  EXPECT_EQ(summary.frames, 12);
  EXPECT_EQ(summary.tracked, 12);
  for (const char* name : {"frames.jsonl", "identity.json", "summary.json", "meshes/00011.ply"}) {
    EXPECT_TRUE(std::filesystem::exists(Path("out") / name)) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(Path("out") / "frames.jsonl.part"));

  SequenceEvaluationOptions evaluation_options;
  evaluation_options.sequence = Path("seq");
  evaluation_options.result = Path("out");
  evaluation_options.model = DefaultModelPath();
  evaluation_options.region = "face";
  const SequenceEvaluation evaluation = EvaluateSequence(evaluation_options);
  EXPECT_EQ(evaluation.num_evaluated, 12);
  EXPECT_LT(evaluation.vertex_error_median_mm, 1.0);
  EXPECT_GT(evaluation.precision, 0.9);
}

TEST_F(TrackerTest, FramesWithoutAHeadAreLostAndTrackingResumes) {
  const PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  HeadState truth = HeadState::Zero(*model_);
  truth.cam_from_head = TypicalCamFromHead(*model_, 10.0, 0.35);
  const DepthImage head = RenderDepth(truth, camera);
  DepthImage empty(camera.width, camera.height, 1, 0.0f);
  DepthImage nan(camera.width, camera.height, 1, std::numeric_limits<float>::quiet_NaN());
  DepthImage wall(camera.width, camera.height, 1, 0.45f);

  TrackerOptions options;
  options.identity_frames = 1;
  Tracker tracker(*model_, camera, options);
  const TrackStatus kTracked = TrackStatus::kTracked;
  const TrackStatus kLost = TrackStatus::kLost;
  FrameResult first = tracker.Track(0, head);
  EXPECT_EQ(first.status, kTracked) << first.message;
  EXPECT_TRUE(first.initialized);
  EXPECT_LT((first.state.cam_from_head.translation - truth.cam_from_head.translation).norm(), 0.01);
  FrameResult second = tracker.Track(1, head);
  EXPECT_EQ(second.status, kTracked);
  EXPECT_FALSE(second.initialized);
  for (const DepthImage* bad : {&empty, &nan, &wall}) {
    const FrameResult lost = tracker.Track(2, *bad);
    EXPECT_EQ(lost.status, kLost);
    EXPECT_FALSE(lost.message.empty());
  }
  const FrameResult back = tracker.Track(3, head);
  EXPECT_EQ(back.status, kTracked) << back.message;
  EXPECT_TRUE(back.initialized);
  EXPECT_LT((back.state.cam_from_head.translation - truth.cam_from_head.translation).norm(), 0.01);
}

TEST_F(TrackerTest, SparseDepthIsTrackedWithEveryPoint) {
  // DPHM's sparsity study: 2500 random depth pixels per frame, of which the face has about a
  // quarter; subsampling would throw away three in four of them.
  const PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  HeadState truth = HeadState::Zero(*model_);
  truth.cam_from_head = TypicalCamFromHead(*model_, -10.0, 0.35);
  Tracker tracker(*model_, camera);
  for (int frame = 0; frame < 3; ++frame) {
    DepthImage depth = RenderDepth(truth, camera);
    KeepRandomPixels(2500, 10 + frame, &depth);
    const FrameResult result = tracker.Track(frame, depth);
    ASSERT_EQ(result.status, TrackStatus::kTracked) << result.message;
    EXPECT_GT(result.fit.num_correspondences, 300);
    EXPECT_LT((result.state.cam_from_head.translation - truth.cam_from_head.translation).norm(),
              0.005);
  }
}

TEST_F(TrackerTest, WrongDepthSizeIsACheckError) {
  Tracker tracker(*model_, PinholeCamera::AzureKinectNfovUnbinned());
  EXPECT_THROW(tracker.Track(0, DepthImage(10, 10)), CheckError);
}

TEST_F(TrackerTest, OutputFolderIsNeverReplacedWithoutOverwrite) {
  SynthOptions synth;
  synth.output = Path("seq");
  synth.num_frames = 2;
  SynthesizeModelSequence(*model_, synth);
  std::filesystem::create_directories(Path("out"));
  WriteFile("out/notes.txt", "mine");
  SequenceTrackingOptions options;
  options.sequence = Path("seq");
  options.output = Path("out");
  options.progress = false;
  test_support::ExpectInputError([&] { TrackSequence(*model_, options); }, Path("out").string(),
                               "--overwrite");
  // An empty frame range says which frames exist.
  options.output = Path("out2");
  options.first_frame = 50;
  test_support::ExpectInputError([&] { TrackSequence(*model_, options); }, Path("seq").string(),
                               "0 to 1");
  EXPECT_FALSE(std::filesystem::exists(Path("out2")));
}

}  // namespace
}  // namespace headtrack
