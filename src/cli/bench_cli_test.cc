// End-to-end tests of `headtrack bench`: a short run prints the table and writes every number
// as JSON, our solver and Ceres reach the same cost, an existing JSON file is not replaced
// without --overwrite, and bad options are refused. No timing is asserted.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
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

class BenchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("headtrack_bench_cli_" + std::to_string(getpid()));
    fs::remove_all(folder_);
    fs::create_directories(folder_ / "tmp");
    // The benchmark's temporary sequence goes to a folder of this test (the child inherits it).
    const char* tmpdir = std::getenv("TMPDIR");
    saved_tmpdir_ = tmpdir ? tmpdir : "";
    setenv("TMPDIR", Path("tmp").c_str(), 1);
  }
  void TearDown() override {
    if (saved_tmpdir_.empty()) {
      unsetenv("TMPDIR");
    } else {
      setenv("TMPDIR", saved_tmpdir_.c_str(), 1);
    }
    fs::remove_all(folder_);
  }
  std::string Path(const std::string& name) const { return (folder_ / name).string(); }

  fs::path folder_;
  std::string saved_tmpdir_;
};

TEST_F(BenchCliTest, ShortRunWritesEveryNumberAndBothSolversAgree) {
  const RunResult run =
      RunHeadtrack("-q bench --frames 8 --ceres-frames 1 --json " + Path("bench.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("online frames/s"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Ceres time / our time"), std::string::npos) << run.output;

  const auto json = nlohmann::json::parse(std::ifstream(Path("bench.json")));
  EXPECT_EQ(json["frames"], 8);
  EXPECT_EQ(json["threads"], 1);
  EXPECT_EQ(json["resolution"], nlohmann::json::array({640, 576}));
  EXPECT_EQ(json["tracked"], 8) << json.dump(2);
  EXPECT_EQ(json["lost"], 0);
  // Frame 0 is initialized, frames 0-4 fit the identity (5 identity frames), 5-7 are steady.
  EXPECT_EQ(json["initialized_frames"], 1);
  EXPECT_EQ(json["identity_frames"], 5);
  EXPECT_EQ(json["steady_frames"], 3);
  for (const char* key : {"fps_online", "fps_overall", "ms_per_frame_median", "ms_per_frame_p95",
                          "cpu_per_wall", "seconds"}) {
    EXPECT_GT(json.at(key).get<double>(), 0.0) << key;
  }
  for (const char* stage : {"preprocess", "render", "associate", "assemble", "solve", "total"}) {
    EXPECT_GT(json["ms_per_stage"].at(stage).get<double>(), 0.0) << stage;
  }
  EXPECT_EQ(json["ms_per_stage"]["initialize"].get<double>(), 0.0);  // not in the steady state
  EXPECT_GT(json["ms_per_stage_overall"]["initialize"].get<double>(), 0.0);
  // The steady-state mean and the overall mean are consistent with the frame rates.
  EXPECT_NEAR(json["fps_online"].get<double>() * json["ms_per_stage"]["total"].get<double>(),
              1000.0, 1e-6);
  EXPECT_NEAR(json["fps_overall"].get<double>() *
                  json["ms_per_stage_overall"]["total"].get<double>(),
              1000.0, 1e-6);

  const auto& ceres = json["ceres"];
  ASSERT_EQ(ceres["frames"].size(), 1u) << json.dump(2);
  const auto& frame = ceres["frames"][0];
  EXPECT_GE(frame["frame"].get<int>(), 5);
  EXPECT_GT(frame["correspondences"].get<int>(), 500);
  const double ours = frame["ours_cost"].get<double>();
  const double theirs = frame["ceres_cost"].get<double>();
  EXPECT_GT(ours, 0.0);
  EXPECT_LE(ours, frame["initial_cost"].get<double>());
  EXPECT_NEAR(ours, theirs, 1e-6 * theirs);
  EXPECT_TRUE(frame["ceres_converged"].get<bool>());
  for (const char* key : {"ours_seconds", "ceres_seconds", "ceres_over_ours"}) {
    EXPECT_GT(ceres.at(key).get<double>(), 0.0) << key;
  }
  EXPECT_NEAR(ceres["ceres_over_ours"].get<double>(),
              ceres["ceres_seconds"].get<double>() / ceres["ours_seconds"].get<double>(), 1e-9);
  EXPECT_TRUE(json["met"]["max_relative_cost_difference"].get<bool>());
  EXPECT_TRUE(json["targets"].contains("fps_online"));

  // The simulated sequence was written to the temporary folder and removed.
  EXPECT_TRUE(fs::is_empty(Path("tmp")));
}

TEST_F(BenchCliTest, BadOptionsAreRefused) {
  EXPECT_EQ(RunHeadtrack("-q bench --frames 0").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("-q bench --threads -1").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("-q bench --ceres-frames x").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("-q bench --no-such-option").exit_code, 2);
  // An existing JSON file is not replaced, and nothing runs.
  { std::ofstream(Path("old.json")) << "{}"; }
  const RunResult kept = RunHeadtrack("-q bench --frames 1 --json " + Path("old.json"));
  EXPECT_EQ(kept.exit_code, 1);
  EXPECT_NE(kept.output.find("--overwrite"), std::string::npos) << kept.output;
  EXPECT_NE(kept.output.find(Path("old.json")), std::string::npos) << kept.output;
  std::ifstream old(Path("old.json"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(old), {}), "{}");
}

}  // namespace
}  // namespace headtrack
