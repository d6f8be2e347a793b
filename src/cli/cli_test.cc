// End-to-end tests of the headtrack binary: exit codes, messages, and the files written (and
// not written).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "headtrack/image_io.h"
#include "headtrack/mesh_io.h"
#include "cli/testing/run_headtrack.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunHeadtrack;
using test_support::RunResult;

const std::string kShared = HEADTRACK_DATA_DIR;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("headtrack_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string Path(const std::string& name) const { return (folder_ / name).string(); }
  fs::path folder_;
};

TEST_F(CliTest, ModelInfoJsonReportsDefaultModel) {
  const RunResult result = RunHeadtrack("model info --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_EQ(json["vertices"], 24591);
  EXPECT_EQ(json["triangles"], 48836);
  EXPECT_EQ(json["identity_components"], 100);
  EXPECT_EQ(json["expression_components"], 53);
  EXPECT_EQ(json["expression_names"].size(), 53u);
  EXPECT_EQ(json["regions"].size(), 9u);
  EXPECT_TRUE(json["joints"].empty());
}

TEST_F(CliTest, ModelSampleWritesMeshThatReadsBack) {
  const std::string output = Path("smile.ply");
  const RunResult result =
      RunHeadtrack("model sample --identity-seed 3 --expr mouthSmile_L=1,mouthSmile_R=1 -o " + output);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const TriangleMesh mesh = ReadMesh(output);
  EXPECT_EQ(mesh.num_vertices(), 24591);
  EXPECT_EQ(mesh.num_faces(), 48836);
}

TEST_F(CliTest, ModelSampleRefusesToOverwrite) {
  const std::string output = Path("mesh.obj");
  { std::ofstream(output) << "precious"; }
  RunResult result = RunHeadtrack("model sample -o " + output);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--overwrite"), std::string::npos) << result.output;
  std::ifstream in(output);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious");
  result = RunHeadtrack("model sample --overwrite -o " + output);
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST_F(CliTest, UnknownExpressionIsExitOneWithoutOutput) {
  const std::string output = Path("bad.ply");
  const RunResult result = RunHeadtrack("model sample --expr jawOpn=1 -o " + output);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("unknown expression 'jawOpn'"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(CliTest, MissingModelListsWhereItLooked) {
  const RunResult result = RunHeadtrack("model info --model " + Path("none.npz"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("none.npz"), std::string::npos) << result.output;
}

TEST_F(CliTest, RenderGivesHeadShapedDepthOfRealScan) {
  const std::string output = Path("lee_depth.png");
  const std::string preview = Path("lee_preview.png");
  const RunResult result =
      RunHeadtrack("render " + kShared + "/data/scans/lee_perry_smith/LeePerrySmith.obj --calib " +
          std::string(HEADTRACK_SOURCE_DIR) + "/configs/azure_kinect_nfov_unbinned.json" +
          " --distance 0.6 -o " + output + " --preview " + preview);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const DepthImage16 depth = ReadDepthPng(output);
  ASSERT_EQ(depth.width, 640);
  ASSERT_EQ(depth.height, 576);
  long valid = 0;
  double sum = 0.0;
  int min_x = depth.width, max_x = -1, min_y = depth.height, max_y = -1;
  for (int y = 0; y < depth.height; ++y) {
    for (int x = 0; x < depth.width; ++x) {
      const int d = depth.at(x, y);
      if (d == 0) continue;
      EXPECT_GT(d, 400);  // millimetres: the bust is about 0.27 m deep around 0.6 m
      EXPECT_LT(d, 800);
      ++valid;
      sum += d;
      min_x = std::min(min_x, x), max_x = std::max(max_x, x);
      min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    }
  }
  EXPECT_GT(valid, 640 * 576 / 10);
  EXPECT_LT(valid, 640 * 576 * 9 / 10);
  // Centered on the optical axis and roughly symmetric left to right.
  EXPECT_NEAR((min_x + max_x) / 2.0, 319.5, 20.0);
  // The face (nose) in the middle is nearer than the average surface.
  const int center = depth.at(320, (min_y + max_y) / 2);
  EXPECT_GT(center, 0);
  EXPECT_LT(center, sum / valid);
  const ColorImage shaded = ReadColorPng(preview);
  EXPECT_EQ(shaded.width, 640);
}

TEST_F(CliTest, CalibrationWithoutFxIsExitOneNamingFileAndKey) {
  const std::string calibration = Path("calibration.json");
  { std::ofstream(calibration) << R"({"fy": 500, "cx": 320, "cy": 240, "width": 640, "height": 480})"; }
  const std::string output = Path("depth.png");
  const RunResult result =
      RunHeadtrack("render " + kShared + "/data/scans/fran/fran_cut.obj --calib " + calibration + " -o " + output);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("calibration.json"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("fx"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(CliTest, CorruptMeshIsExitOneWithoutOutput) {
  const std::string mesh = Path("broken.ply");
  { std::ofstream(mesh) << "ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\n"; }
  const std::string output = Path("depth.png");
  const RunResult result = RunHeadtrack("render " + mesh + " --calib " + std::string(HEADTRACK_SOURCE_DIR) +
                               "/configs/azure_kinect_nfov_unbinned.json -o " + output);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("broken.ply"), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(CliTest, BadCommandLineIsExitTwo) {
  EXPECT_EQ(RunHeadtrack("model frobnicate").exit_code, 2);
  EXPECT_EQ(RunHeadtrack("").exit_code, 2);
}

}  // namespace
}  // namespace headtrack
