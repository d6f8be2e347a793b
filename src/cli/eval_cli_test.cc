// End-to-end tests of `headtrack eval`: it reads what `headtrack synth` writes, prints a table,
// writes the JSON summary and the per-frame CSV, and refuses bad input with a clear message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/testing/run_headtrack.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::RunResult;

// headtrack -q ARGUMENTS
RunResult RunHeadtrack(const std::string& arguments) {
  return test_support::RunHeadtrack("-q " + arguments);
}

std::string ReadText(const fs::path& path) {
  std::ifstream stream(path);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

// A noiseless two-frame sequence, simulated once for the suite; the ground truth as the result.
class EvalCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = fs::temp_directory_path() / ("headtrack_eval_cli_shared_" + std::to_string(getpid()));
    fs::remove_all(shared_);
    fs::create_directories(shared_);
    const RunResult synth = RunHeadtrack("synth -o " + (shared_ / "seq").string() +
                                " --frames 2 --noise-mm 0 --camera kinect-v1 --seed 4");
    if (synth.exit_code != 0) {
      setup_error_ = synth.output;  // reported by every test's SetUp
      return;
    }
    fs::create_directories(shared_ / "out");
    fs::copy(shared_ / "seq" / "gt" / "meshes", shared_ / "out" / "meshes");
  }
  static void TearDownTestSuite() { fs::remove_all(shared_); }

  void SetUp() override {
    // A failure in SetUpTestSuite would only skip the tests: fail each of them instead.
    ASSERT_TRUE(setup_error_.empty()) << "synth failed: " << setup_error_;
    folder_ = fs::temp_directory_path() /
              ("headtrack_eval_cli_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  std::string Path(const std::string& name) const { return (folder_ / name).string(); }
  static std::string Seq() { return (shared_ / "seq").string(); }
  static std::string Out() { return (shared_ / "out").string(); }

  static fs::path shared_;
  static std::string setup_error_;
  fs::path folder_;
};

fs::path EvalCliTest::shared_;
std::string EvalCliTest::setup_error_;

TEST_F(EvalCliTest, TruthAgainstItsNoiselessDepthPrintsAndWritesExactMetrics) {
  const std::string json_path = Path("summary.json");
  const std::string csv_path = Path("frames.csv");
  const RunResult result = RunHeadtrack("eval --seq " + Seq() + " --result " + Out() +
                               " --region face --json " + json_path + " --csv " + csv_path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("frames: 2 evaluated, 0 skipped"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("region face"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("   mean "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("wrote " + json_path), std::string::npos) << result.output;

  const nlohmann::json json = nlohmann::json::parse(ReadText(json_path));
  EXPECT_EQ(json["frames"], 2);
  EXPECT_EQ(json["region"], "face");
  EXPECT_LT(json["l2_mm"].get<double>(), 0.05);
  EXPECT_EQ(json["pr_1_5mm"].get<double>(), 1.0);
  EXPECT_EQ(json["pr_3mm"].get<double>(), 1.0);
  EXPECT_GT(json["nc"].get<double>(), 0.99);
  EXPECT_EQ(json["vertex_error_mean_mm"].get<double>(), 0.0);
  EXPECT_EQ(json["vertex_error_median_mm"].get<double>(), 0.0);
  EXPECT_EQ(json["vertex_error_p95_mm"].get<double>(), 0.0);
  // Meshes without identity.json: no identity error.
  EXPECT_FALSE(json.contains("identity_error_mean_mm"));
  EXPECT_EQ(result.output.find("neutral identity"), std::string::npos) << result.output;

  std::istringstream csv(ReadText(csv_path));
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 3);  // header and two frames
}

TEST_F(EvalCliTest, IdentityJsonBesideTheMeshesGivesTheNeutralIdentityError) {
  // An offline result: the true meshes and the true identity.
  fs::copy(Out(), Path("offline"), fs::copy_options::recursive);
  std::ifstream truth(Seq() + "/gt/frames.jsonl");
  std::string first_line;
  std::getline(truth, first_line);
  const nlohmann::json identity = nlohmann::json::parse(first_line)["identity"];
  std::ofstream(Path("offline/identity.json")) << nlohmann::json{{"identity", identity}}.dump();

  const std::string json_path = Path("summary.json");
  const RunResult result = RunHeadtrack("eval --seq " + Seq() + " --result " + Path("offline") +
                                        " --region face --json " + json_path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("neutral identity vs truth (face, 9409 vertices): mean 0.000, "
                               "median 0.000, max 0.000 mm"),
            std::string::npos)
      << result.output;
  const nlohmann::json json = nlohmann::json::parse(ReadText(json_path));
  for (const char* key :
       {"identity_error_mean_mm", "identity_error_median_mm", "identity_error_max_mm"}) {
    ASSERT_TRUE(json.contains(key)) << key;
    EXPECT_EQ(json[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(json["identity_error_vertices"], 9409);
}

TEST_F(EvalCliTest, EveryMotionKindWritesASequenceThatEvalReads) {
  for (const std::string motion : {"smile", "blink", "talk", "random", "mouth", "mixed"}) {
    const std::string seq = Path("seq_" + motion);
    const RunResult synth =
        RunHeadtrack("synth -o " + seq + " --frames 1 --camera kinect-v1 --motion " + motion);
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    fs::create_directories(Path("out_" + motion));
    fs::copy(seq + "/gt/meshes", Path("out_" + motion) + "/meshes");
    const RunResult eval = RunHeadtrack("eval --seq " + seq + " --result " + Path("out_" + motion));
    EXPECT_EQ(eval.exit_code, 0) << motion << ": " << eval.output;
    EXPECT_NE(eval.output.find("frames: 1 evaluated"), std::string::npos) << eval.output;
  }
}

TEST_F(EvalCliTest, RefusesToReplaceOutputFilesWithoutOverwrite) {
  const std::string json_path = Path("summary.json");
  { std::ofstream(json_path) << "precious"; }
  const RunResult refused =
      RunHeadtrack("eval --seq " + Seq() + " --result " + Out() + " --json " + json_path);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find(json_path), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--overwrite"), std::string::npos) << refused.output;
  EXPECT_EQ(ReadText(json_path), "precious");

  const RunResult replaced =
      RunHeadtrack("eval --seq " + Seq() + " --result " + Out() + " --json " + json_path +
                   " --overwrite");
  EXPECT_EQ(replaced.exit_code, 0) << replaced.output;
  EXPECT_EQ(nlohmann::json::parse(ReadText(json_path))["frames"], 2);
}

TEST_F(EvalCliTest, ResultWithoutAnyFrameIsAnErrorThatSaysWhy) {
  fs::create_directories(Path("empty/meshes"));
  const std::string json_path = Path("summary.json");
  const RunResult result =
      RunHeadtrack("eval --seq " + Seq() + " --result " + Path("empty") + " --json " + json_path);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("no frame of"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("no result mesh"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("skipped frame 1:"), std::string::npos) << result.output;
  // The summary still says so.
  const nlohmann::json json = nlohmann::json::parse(ReadText(json_path));
  EXPECT_EQ(json["frames"], 0);
  EXPECT_EQ(json["skipped"], 2);
}

TEST_F(EvalCliTest, BadArgumentsAreRefused) {
  EXPECT_EQ(RunHeadtrack("eval --result " + Out()).exit_code, 2);  // --seq is required
  const RunResult missing = RunHeadtrack("eval --seq " + Seq() + " --result " + Path("nowhere"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find(Path("nowhere") + ": is not a folder"), std::string::npos)
      << missing.output;
  const RunResult region =
      RunHeadtrack("eval --seq " + Seq() + " --result " + Out() + " --region chin");
  EXPECT_EQ(region.exit_code, 1);
  EXPECT_NE(region.output.find("no region 'chin'"), std::string::npos) << region.output;
  const RunResult same =
      RunHeadtrack("eval --seq " + Seq() + " --result " + Out() + " --json " + Path("a") +
                   " --csv " + Path("a"));
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_FALSE(fs::exists(Path("a")));
}

}  // namespace
}  // namespace headtrack
