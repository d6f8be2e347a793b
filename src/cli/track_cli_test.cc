// End-to-end tests of `headtrack track`: it writes the result folder that `headtrack eval` reads,
// never replaces an earlier result unless asked, and refuses bad options.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// arkit.csv: the Live Link Face header (63 columns) and one row of 63 fields per frame.
void ExpectArkitCsv(const std::string& path, int frames) {
  std::ifstream csv(path);
  std::string line;
  int rows = 0;
  for (; std::getline(csv, line); ++rows) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 62) << "line " << rows + 1;
    if (rows == 0) {
      EXPECT_EQ(line.rfind("Timecode,BlendShapeCount,EyeBlinkLeft,", 0), 0u) << line;
    }
  }
  EXPECT_EQ(rows, frames + 1);
}

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
  ExpectArkitCsv(Path("out/arkit.csv"), 4);
  EXPECT_TRUE(fs::exists(Path("out/overlay.mp4")));
  EXPECT_TRUE(fs::exists(Path("out/report.html")));

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

TEST_F(TrackCliTest, OfflineWritesEveryOutput) {
  const RunResult track = RunHeadtrack("-q track " + Path("seq") + " -o " + Path("offline") +
                                       " --keyframes 2 --joint-rounds 1 --png");
  ASSERT_EQ(track.exit_code, 0) << track.output;
  for (const char* name : {"frames.jsonl", "identity.json", "summary.json", "params.npz",
                           "neutral.obj", "online/frames.jsonl", "online/identity.json",
                           "arkit.csv", "overlay.mp4", "report.html", "overlay/00003.png"}) {
    EXPECT_TRUE(fs::exists(Path("offline/") + name)) << name;
  }
  EXPECT_FALSE(fs::exists(Path("offline/checkpoint.jsonl")));
  ExpectArkitCsv(Path("offline/arkit.csv"), 4);
  const auto summary = nlohmann::json::parse(std::ifstream(Path("offline/summary.json")));
  EXPECT_EQ(summary["offline"]["tracked"], 4);
  EXPECT_EQ(summary["offline"]["keyframes"].size(), 2u);
  EXPECT_GT(summary["offline"]["joint_cost_before"].get<double>(), 0.0);
  const std::string report = ReadText(Path("offline/report.html"));
  EXPECT_NE(report.find("<svg"), std::string::npos);
  EXPECT_NE(report.find("overlay.mp4"), std::string::npos);
}

// Killed while it works (in the expression phase, then in the joint refinement), a run resumed
// with --resume writes the same frames.jsonl as an uninterrupted run.
TEST_F(TrackCliTest, ResumeAfterAKillGivesTheSameFrames) {
  const std::string options = " --keyframes 3 --joint-rounds 2 --no-report --threads 1";
  const RunResult full = RunHeadtrack("-q track " + Path("seq") + " -o " + Path("full") + options);
  ASSERT_EQ(full.exit_code, 0) << full.output;
  for (const std::string kind : {"expression", "joint"}) {
    const std::string out = Path("killed_" + kind);
    const std::string pid_file = Path("pid_" + kind);
    ASSERT_EQ(std::system((std::string(HEADTRACK_BINARY) + " -q track " + Path("seq") + " -o " +
                           out + options + " > /dev/null 2>&1 & echo $! > " + pid_file)
                              .c_str()),
              0);
    const pid_t pid = std::stoi(ReadText(pid_file));
    // Kill as soon as the checkpoint holds a record of that phase.
    const std::string record = "{\"kind\":\"" + kind + "\"";
    bool seen = false;
    for (int wait = 0; wait < 6000 && !seen; ++wait) {
      seen = ReadText(out + "/checkpoint.jsonl").find(record) != std::string::npos;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(seen) << kind;
    kill(pid, SIGKILL);
    for (int wait = 0; wait < 500 && kill(pid, 0) == 0; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(fs::exists(out + "/frames.jsonl")) << kind << ": the run finished before the kill";

    const RunResult resumed = RunHeadtrack("-q track " + Path("seq") + " -o " + out + options +
                                           " --resume");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resumed after 4 frames"), std::string::npos) << resumed.output;
    EXPECT_TRUE(ReadText(out + "/frames.jsonl") == ReadText(Path("full/frames.jsonl"))) << kind;
  }
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
