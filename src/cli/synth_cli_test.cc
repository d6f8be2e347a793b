// End-to-end tests of `headtrack synth`: the sequence it writes reads back, and bad options are
// refused with a message naming what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "headtrack/sequence.h"
#include "cli/testing/run_headtrack.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunResult;

const std::string kShared = HEADTRACK_DATA_DIR;

// headtrack -q synth ARGUMENTS
RunResult RunSynth(const std::string& arguments) {
  return test_support::RunHeadtrack("-q synth " + arguments);
}

class SynthCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("headtrack_synth_cli_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string Path(const std::string& name) const { return (folder_ / name).string(); }
  fs::path folder_;
};

int CountLines(const fs::path& path) {
  std::ifstream stream(path);
  int lines = 0;
  for (std::string line; std::getline(stream, line);) ++lines;
  return lines;
}

TEST_F(SynthCliTest, WritesASequenceThatReadsBack) {
  const std::string output = Path("seq");
  const RunResult result =
      RunSynth("-o " + output + " --frames 3 --motion blink --camera kinect-v1 --seed 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("wrote " + output + ": 3 frames"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("depth_scale 1000"), std::string::npos) << result.output;
  const Sequence sequence = Sequence::Open(output);
  EXPECT_EQ(sequence.num_frames(), 3);
  EXPECT_EQ(sequence.calibration().camera.width, 640);
  EXPECT_EQ(sequence.calibration().camera.height, 480);
  EXPECT_TRUE(sequence.HasColor(0));
  EXPECT_EQ(CountLines(output + "/gt/frames.jsonl"), 3);
  EXPECT_TRUE(fs::exists(output + "/gt/meshes/00002.ply"));
}

TEST_F(SynthCliTest, ScanWithoutNoiseSaysHowItWasScaled) {
  const std::string output = Path("scan");
  const RunResult result = RunSynth("-o " + output + " --frames 2 --noise-mm 0 --mesh " + kShared +
                                    "/data/scans/lee_perry_smith/LeePerrySmith.obj");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("automatic: bounding box 0.25 m tall"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("depth_scale 10000"), std::string::npos) << result.output;
  EXPECT_EQ(Sequence::Open(output).calibration().depth_scale, 10000.0);
}

TEST_F(SynthCliTest, RefusesANonEmptyFolderWithoutOverwrite) {
  const std::string output = Path("seq");
  fs::create_directories(output);
  { std::ofstream(output + "/notes.txt") << "precious"; }
  const RunResult result = RunSynth("-o " + output + " --frames 1");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find(output), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("--overwrite"), std::string::npos) << result.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(output), fs::directory_iterator()), 1);
}

TEST_F(SynthCliTest, BadOptionsAreRefused) {
  EXPECT_EQ(RunSynth("-o " + Path("a") + " --motion dance").exit_code, 2);
  EXPECT_EQ(RunSynth("-o " + Path("a") + " --noise-mm -1").exit_code, 2);
  EXPECT_EQ(RunSynth("-o " + Path("a") + " --model x.npz --mesh y.obj").exit_code, 2);

  const std::string calibration = Path("calibration.json");
  { std::ofstream(calibration) << R"({"fx": 500, "fy": 500, "cx": 320, "cy": 240})"; }
  const RunResult result = RunSynth("-o " + Path("a") + " --camera " + calibration);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find(calibration + ": has no width and height"), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(Path("a")));
}

}  // namespace
}  // namespace headtrack
