// End-to-end test of `headtrack demo`: it writes every output of an offline reconstruction for a
// simulated sequence and the real Kinect frame, prints the comparison table, and replaces only
// its own folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cli/testing/run_headtrack.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunHeadtrack;
using test_support::RunResult;

TEST(DemoCli, WritesEveryOutputAndPrintsTheTable) {
  const fs::path folder =
      fs::temp_directory_path() / ("headtrack_demo_cli_" + std::to_string(getpid()));
  fs::remove_all(folder);
  const std::string out = (folder / "demo").string();
  const RunResult demo = RunHeadtrack("-q demo -o " + out + " --frames 6");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  for (const char* line : {"vertex error, median (mm)", "neutral identity error, median (mm)",
                           "real Kinect frame (kinect_person)", "report.html"}) {
    EXPECT_NE(demo.output.find(line), std::string::npos) << line << "\n" << demo.output;
  }
  for (const char* name :
       {"sequence/calibration.json", "result/frames.jsonl", "result/online/frames.jsonl",
        "result/params.npz", "result/neutral.obj", "result/arkit.csv", "result/overlay.mp4",
        "result/report.html", "kinect_person/report.html", "kinect_person/arkit.csv"}) {
    EXPECT_TRUE(fs::exists(folder / "demo" / name)) << name;
  }
  // One frame has no curves over time: its report lists the frame's largest coefficients.
  std::ifstream single(folder / "demo" / "kinect_person" / "report.html");
  const std::string report((std::istreambuf_iterator<char>(single)), std::istreambuf_iterator<char>());
  EXPECT_NE(report.find("largest expression coefficients"), std::string::npos);
  EXPECT_EQ(report.find("Per-frame error"), std::string::npos);

  // A second run needs --overwrite, and keeps what is not the demo's.
  std::ofstream(folder / "demo" / "notes.txt") << "mine";
  const RunResult again = RunHeadtrack("-q demo -o " + out + " --frames 6");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--overwrite"), std::string::npos) << again.output;
  const RunResult replaced = RunHeadtrack("-q demo -o " + out + " --frames 4 --overwrite");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.output;
  EXPECT_TRUE(fs::exists(folder / "demo" / "notes.txt"));
  fs::remove_all(folder);
}

}  // namespace
}  // namespace headtrack
