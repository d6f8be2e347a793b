// End-to-end tests of `headtrack track`: it writes the result folder that `headtrack eval` reads,
// never replaces an earlier result unless asked, and refuses bad options.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/testing/run_headtrack.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunHeadtrack;
using test_support::RunResult;

class TrackCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new fs::path(fs::temp_directory_path() /
                           ("headtrack_track_cli_" + std::to_string(getpid())));
    fs::remove_all(*folder_);
    fs::create_directories(*folder_);
    synth_ = new RunResult(RunHeadtrack("-q synth -o " + Path("seq") + " --frames 4 --seed 2"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*folder_);
    delete folder_;
    delete synth_;
  }
  void SetUp() override { ASSERT_EQ(synth_->exit_code, 0) << synth_->output; }
  static std::string Path(const std::string& name) { return (*folder_ / name).string(); }

  static fs::path* folder_;
  static RunResult* synth_;
};

fs::path* TrackCliTest::folder_ = nullptr;
RunResult* TrackCliTest::synth_ = nullptr;

TEST_F(TrackCliTest, WritesAResultThatEvalReads) {
  const RunResult track =
      RunHeadtrack("-q track " + Path("seq") + " -o " + Path("out") + " --online --save-meshes");
  ASSERT_EQ(track.exit_code, 0) << track.output;
  EXPECT_NE(track.output.find("tracked 4 of 4 frames"), std::string::npos) << track.output;
  std::ifstream frames(Path("out/frames.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(frames, line); ++lines) {
    const auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["frame"], lines);
    EXPECT_EQ(json["status"], "tracked");
    EXPECT_EQ(json["expression"].size(), 53u);
    EXPECT_EQ(json["rotation"].size(), 3u);
  }
  EXPECT_EQ(lines, 4);
  const auto summary = nlohmann::json::parse(std::ifstream(Path("out/summary.json")));
  EXPECT_EQ(summary["frames"], 4);
  EXPECT_EQ(summary["tracked"], 4);
  EXPECT_GT(summary["frames_per_second"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(Path("out/meshes/00003.ply")));

  const RunResult eval = RunHeadtrack("-q eval --seq " + Path("seq") + " --result " +
                                      Path("out") + " --region face --json " + Path("eval.json"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto metrics = nlohmann::json::parse(std::ifstream(Path("eval.json")));
  EXPECT_LT(metrics["vertex_error_median_mm"].get<double>(), 1.0);

  // A second run does not replace the first without --overwrite.
  const RunResult again = RunHeadtrack("-q track " + Path("seq") + " -o " + Path("out") + " --online");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--overwrite"), std::string::npos) << again.output;
  const RunResult replaced = RunHeadtrack("-q track " + Path("seq") + " -o " + Path("out") +
                                          " --online --overwrite --frames 1:2");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.output;
  EXPECT_NE(replaced.output.find("tracked 2 of 2 frames"), std::string::npos) << replaced.output;
  EXPECT_FALSE(fs::exists(Path("out/meshes/00003.ply")));  // the earlier run's meshes are gone
}

TEST_F(TrackCliTest, BadArgumentsAreRefused) {
  EXPECT_EQ(RunHeadtrack("-q track " + Path("seq") + " -o " + Path("x") + " --frames 5:2").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("-q track " + Path("seq") + " -o " + Path("x") + " --frames a:b").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("-q track " + Path("seq") + " -o " + Path("x") + " --subsample 0").exit_code, 2);
  const RunResult missing = RunHeadtrack("-q track " + Path("nothing") + " -o " + Path("x"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find(Path("nothing")), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(Path("x")));
}

}  // namespace
}  // namespace headtrack
