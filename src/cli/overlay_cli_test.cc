// End-to-end test of `headtrack overlay`: a picture of a tracked frame, never replacing an
// existing file unless asked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/testing/run_headtrack.h"
#include "headtrack/image_io.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunHeadtrack;
using test_support::RunResult;

TEST(OverlayCli, PicturesATrackedFrameAndKeepsAnExistingFile) {
  const fs::path folder =
      fs::temp_directory_path() / ("headtrack_overlay_cli_" + std::to_string(getpid()));
  fs::remove_all(folder);
  fs::create_directories(folder);
  const std::string seq = (folder / "seq").string();
  const std::string out = (folder / "out").string();
  const std::string picture = (folder / "fit.png").string();
  const RunResult synth = RunHeadtrack("-q synth -o " + seq + " --frames 2 --seed 3");
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  const RunResult track = RunHeadtrack("-q track " + seq + " -o " + out + " --online");
  ASSERT_EQ(track.exit_code, 0) << track.output;

  const std::string overlay = "-q overlay --seq " + seq + " --result " + out +
                              " --frame 1 --region face --height 160 -o " + picture;
  const RunResult first = RunHeadtrack(overlay);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("frame 1   L2 "), std::string::npos) << first.output;
  const ColorImage image = ReadColorPng(picture);
  EXPECT_EQ(image.height, 160 + 12);  // the panels and the title line (36 px at height 480)
  EXPECT_GT(image.width, 2 * 80);     // two panels of a head, taller than wide, and the bar
  const auto written = fs::last_write_time(picture);

  const RunResult again = RunHeadtrack(overlay);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find(picture), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("--overwrite"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(picture), written);
  EXPECT_EQ(RunHeadtrack(overlay + " --overwrite").exit_code, 0);

  // Bad input: a frame the sequence does not have, a picture that is not a PNG.
  const RunResult missing = RunHeadtrack("-q overlay --seq " + seq + " --result " + out +
                                         " --frame 7 -o " + (folder / "x.png").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no frame 7"), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(folder / "x.png"));
  EXPECT_EQ(RunHeadtrack("-q overlay --seq " + seq + " --result " + out + " -o " +
                         (folder / "x.jpg").string())
                .exit_code,
            2);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace headtrack
