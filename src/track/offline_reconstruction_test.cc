#include "headtrack/offline_reconstruction.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fit/testing/synthetic_frame.h"
#include "headtrack/image_io.h"
#include "headtrack/mesh_io.h"
#include "headtrack/sequence_tracking.h"
#include "io/npz_file.h"
#include "io/testing/scratch_folder.h"
#include "metrics/sequence_evaluation.h"
#include "sensor/synthesizer.h"

namespace headtrack {
namespace {

using testing::DefaultModelPath;
using testing::TypicalCamFromHead;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class OfflineReconstructionTest : public test_support::ScratchFolderTest {
 protected:
  static void SetUpTestSuite() { model_ = new HeadModel(HeadModel::Load(DefaultModelPath())); }
  static void TearDownTestSuite() { delete model_; }

  void Synthesize(int frames, std::uint32_t seed) const {
    SynthOptions synth;
    synth.output = Path("seq");
    synth.num_frames = frames;
    synth.seed = seed;
    synth.motion = MotionKind::kMixed;
    SynthesizeModelSequence(*model_, synth);
  }

  // Offline options light enough for tests: fewer keyframes and rounds than the defaults.
  SequenceTrackingOptions LightOptions(const std::string& output) const {
    SequenceTrackingOptions options;
    options.sequence = Path("seq");
    options.output = Path(output);
    options.progress = false;
    options.report = false;
    options.offline_options.keyframes = 4;
    options.offline_options.identity_rounds = 3;
    options.offline_options.joint_rounds = 2;
    options.offline_options.joint_iterations = 2;
    return options;
  }

  SequenceEvaluation Evaluate(const std::string& result) const {
    SequenceEvaluationOptions options;
    options.sequence = Path("seq");
    options.result = Path(result);
    options.model = DefaultModelPath();
    options.region = "face";
    return EvaluateSequence(options);
  }

  // Face vertices of the neutral identity: largest distance between the fitted and the true one
  // (head frame, millimetres).
  double NeutralFaceErrorMm(const Eigen::VectorXf& fitted) const {
    std::ifstream in(Path("seq") / "gt" / "frames.jsonl");
    std::string line;
    std::getline(in, line);
    const std::vector<float> truth = nlohmann::json::parse(line).at("identity").get<std::vector<float>>();
    const Eigen::VectorXf a = model_->ShapeIdentity(fitted).shaped;
    const Eigen::VectorXf b =
        model_->ShapeIdentity(Eigen::Map<const Eigen::VectorXf>(truth.data(), truth.size())).shaped;
    const int face = model_->RegionIndex("face");
    std::vector<double> errors;
    for (int v = 0; v < model_->num_vertices(); ++v) {
      if (model_->vertex_regions()[v] == face) {
        errors.push_back(1000.0 * (a.segment<3>(3 * v) - b.segment<3>(3 * v)).norm());
      }
    }
    std::sort(errors.begin(), errors.end());
    return errors[errors.size() / 2];
  }

  static HeadModel* model_;
};

HeadModel* OfflineReconstructionTest::model_ = nullptr;

TEST_F(OfflineReconstructionTest, KeyframesStartNeutralAndSpreadOverPoseAndExpression) {
  OfflineOptions options;
  options.keyframes = 3;
  const OfflineReconstructor reconstructor(*model_, options);
  std::vector<OfflineFrame> frames(7);
  const int smile = model_->ExpressionIndex("mouthSmile_L");
  for (int i = 0; i < 7; ++i) {
    frames[i].number = i;
    frames[i].tracked = i != 5;
    frames[i].state = HeadState::Zero(*model_);
    frames[i].state.cam_from_head = TypicalCamFromHead(*model_, i <= 3 ? 0.0 : 40.0);
    frames[i].state.expression[smile] = 0.1f;
  }
  frames[2].state.expression[smile] = 0.0f;  // the most neutral
  frames[3].state.expression[smile] = 1.0f;  // the strongest expression
  frames[5].state.expression[smile] = 1.0f;  // far from everything, but lost
  // Frames 4 and 6 are turned by 40 degrees: one of them is chosen.
  const std::vector<int> keyframes = reconstructor.ChooseKeyframes(frames);
  ASSERT_EQ(keyframes.size(), 3u);
  EXPECT_EQ(keyframes[0], 2);
  EXPECT_EQ(keyframes[1], 3);
  EXPECT_TRUE(keyframes[2] == 4 || keyframes[2] == 6) << keyframes[2];
}

// The three phases beat the online pass they start from, in vertex error against the ground
// truth and in the neutral identity, and write the files the header promises.
TEST_F(OfflineReconstructionTest, OfflineBeatsOnlineOnASimulatedSequence) {
  Synthesize(16, 4);
  const SequenceTrackingSummary summary = TrackSequence(*model_, LightOptions("out"));
  EXPECT_TRUE(summary.offline);
  EXPECT_EQ(summary.offline_tracked, 16);
  EXPECT_EQ(summary.keyframes.size(), 4u);
  EXPECT_GT(summary.joint_cost_before, 0.0);
  EXPECT_EQ(summary.joint_round_costs.size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(Path("out") / "checkpoint.jsonl"));

  const SequenceEvaluation offline = Evaluate("out");
  const SequenceEvaluation online = Evaluate("out/online");
  ASSERT_EQ(offline.num_evaluated, 16);
  ASSERT_EQ(online.num_evaluated, 16);
  EXPECT_LT(offline.vertex_error_median_mm, 0.8 * online.vertex_error_median_mm)
      << "online " << online.vertex_error_median_mm;
  EXPECT_LT(offline.vertex_error_median_mm, 0.5);

  const NpzFile params = NpzFile::Read(Path("out") / "params.npz");
  const std::vector<float> identity =
      params.GetArray<float>("identity", {model_->num_identity()});
  EXPECT_EQ(params.GetArray<float>("rotation", {16, 3, 3}).size(), 144u);
  EXPECT_EQ(params.GetArray<float>("expression", {16, model_->num_expression()}).size(),
            16u * model_->num_expression());
  const Eigen::VectorXf fitted = Eigen::Map<const Eigen::VectorXf>(identity.data(), identity.size());
  std::ifstream online_identity_file(Path("out") / "online" / "identity.json");
  const std::vector<float> online_identity =
      nlohmann::json::parse(online_identity_file).at("identity").get<std::vector<float>>();
  const double offline_error = NeutralFaceErrorMm(fitted);
  const double online_error = NeutralFaceErrorMm(
      Eigen::Map<const Eigen::VectorXf>(online_identity.data(), online_identity.size()));
  EXPECT_LT(offline_error, 1.0);
  EXPECT_LT(offline_error, online_error);

  const TriangleMesh neutral = ReadMesh(Path("out") / "neutral.obj");
  EXPECT_EQ(neutral.vertices.rows(), model_->num_vertices());
  const Eigen::VectorXf shaped = model_->ShapeIdentity(fitted).shaped;
  EXPECT_NEAR(neutral.vertices(100, 1), shaped[3 * 100 + 1], 1e-6);
}

// Frames without depth are lost online and stay lost offline; the frames around them are
// reconstructed (not linked across the gap) and every output is written.
TEST_F(OfflineReconstructionTest, FramesWithoutDepthStayLostAndTheRestIsReconstructed) {
  Synthesize(8, 3);
  const DepthImage16 first = ReadDepthPng(Path("seq") / "depth" / "00000.png");
  for (const char* name : {"00003.png", "00004.png"}) {
    WriteDepthPng(Path("seq") / "depth" / name, DepthImage16(first.width, first.height, 1, 0));
  }
  SequenceTrackingOptions options = LightOptions("out");
  options.report = true;
  options.video = false;
  const SequenceTrackingSummary summary = TrackSequence(*model_, options);
  EXPECT_EQ(summary.lost, 2);
  EXPECT_EQ(summary.offline_tracked, 6);
  std::ifstream frames(Path("out") / "frames.jsonl");
  int line_number = 0;
  for (std::string line; std::getline(frames, line); ++line_number) {
    const nlohmann::json json = nlohmann::json::parse(line);
    const bool lost = line_number == 3 || line_number == 4;
    EXPECT_EQ(json.at("status"), lost ? "lost" : "tracked") << line;
    EXPECT_EQ(json.contains("message"), lost) << line;
  }
  EXPECT_EQ(line_number, 8);
  const SequenceEvaluation offline = Evaluate("out");
  EXPECT_EQ(offline.num_evaluated, 6);
  EXPECT_LT(offline.vertex_error_median_mm, 0.5);
  // arkit.csv: one row per frame; the lost frames repeat frame 2's values.
  std::ifstream csv(Path("out") / "arkit.csv");
  std::vector<std::string> rows;
  for (std::string line; std::getline(csv, line);) rows.push_back(line.substr(line.find(',', 16)));
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[4], rows[3]);
  EXPECT_EQ(rows[5], rows[3]);
  EXPECT_NE(rows[6], rows[3]);
  EXPECT_TRUE(std::filesystem::exists(Path("out") / "report.html"));
}

// An interruption (here in the online pass, with the last checkpoint line cut short) resumes to
// the same result as an uninterrupted run.
TEST_F(OfflineReconstructionTest, ResumeAfterAnInterruptionGivesTheSameResult) {
  Synthesize(8, 6);
  TrackSequence(*model_, LightOptions("full"));

  SequenceTrackingOptions interrupted = LightOptions("cut");
  int seen = 0;
  EXPECT_THROW(TrackSequence(*model_, interrupted,
                             [&](const FrameResult&) {
                               if (++seen == 4) throw std::runtime_error("interrupted");
                             }),
               std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(Path("cut") / "frames.jsonl"));
  ASSERT_TRUE(std::filesystem::exists(Path("cut") / "checkpoint.jsonl"));
  std::ofstream(Path("cut") / "checkpoint.jsonl", std::ios::app) << "{\"kind\": \"onl";

  // Without --resume the folder is refused, and the message says how to continue.
  test_support::ExpectInputError([&] { TrackSequence(*model_, interrupted); },
                                 Path("cut").string(), "--resume");
  // Other options than the interrupted run's are refused.
  SequenceTrackingOptions other = interrupted;
  other.resume = true;
  other.tracker.subsample = 1;
  test_support::ExpectInputError([&] { TrackSequence(*model_, other); },
                                 (Path("cut") / "checkpoint.jsonl").string(), "other options");

  interrupted.resume = true;
  const SequenceTrackingSummary summary = TrackSequence(*model_, interrupted);
  EXPECT_TRUE(summary.resumed);
  EXPECT_EQ(summary.resumed_frames, 4);
  EXPECT_TRUE(ReadText(Path("cut") / "frames.jsonl") == ReadText(Path("full") / "frames.jsonl"));
  // The archives differ in their entries' times only.
  const NpzFile cut = NpzFile::Read(Path("cut") / "params.npz");
  const NpzFile full = NpzFile::Read(Path("full") / "params.npz");
  ASSERT_EQ(cut.names(), full.names());
  for (const std::string& name : full.names()) {
    EXPECT_TRUE(cut.Get(name).data == full.Get(name).data) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(Path("cut") / "checkpoint.jsonl"));

  // A completed run has nothing to resume.
  test_support::ExpectInputError([&] { TrackSequence(*model_, interrupted); },
                                 Path("cut").string(), "nothing to resume");
}

// A checkpoint record that parses but lacks what it must hold is bad input naming the file, not
// an internal error.
TEST_F(OfflineReconstructionTest, DamagedCheckpointRecordIsAnInputErrorNamingIt) {
  Synthesize(4, 6);
  SequenceTrackingOptions options = LightOptions("cut");
  EXPECT_THROW(TrackSequence(*model_, options,
                             [&](const FrameResult& result) {
                               if (result.frame == 1) throw std::runtime_error("interrupted");
                             }),
               std::runtime_error);
  std::ofstream(Path("cut") / "checkpoint.jsonl", std::ios::app)
      << "{\"kind\": \"identity\", \"keyframes\": [0]}\n";
  options.resume = true;
  test_support::ExpectInputError([&] { TrackSequence(*model_, options); },
                                 (Path("cut") / "checkpoint.jsonl").string(),
                                 "does not hold what was expected");
}

}  // namespace
}  // namespace headtrack
