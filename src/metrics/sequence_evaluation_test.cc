#include "metrics/sequence_evaluation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "headtrack/calibration.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/image_io.h"
#include "headtrack/mesh_io.h"
#include "headtrack/sequence.h"
#include "io/testing/scratch_folder.h"
#include "sensor/synthesizer.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using test_support::ExpectError;

const std::string kShared = HEADTRACK_DATA_DIR;
const std::string kModelPath = kShared + "/models/ict_facekit_light.npz";
constexpr int kFrames = 3;

// A noiseless simulated sequence of kFrames frames, written once for the whole suite; each test
// copies it into its own scratch folder.
class SequenceEvaluationTest : public test_support::ScratchFolderTest {
 protected:
  static void SetUpTestSuite() {
    Progress::SetQuiet(true);
    source_ = fs::temp_directory_path() /
              ("headtrack_SequenceEvaluationTest_source_" + std::to_string(getpid()));
    fs::remove_all(source_);
    try {
      const HeadModel model = HeadModel::Load(kModelPath);
      SynthOptions options;
      options.output = source_;
      options.num_frames = kFrames;
      options.seed = 7;
      options.noise = KinectNoiseOptions::Off();
      SynthesizeModelSequence(model, options);
    } catch (const std::exception& error) {
      setup_error_ = error.what();  // reported by every test's SetUp
    }
  }
  static void TearDownTestSuite() { fs::remove_all(source_); }

  void SetUp() override {
    ScratchFolderTest::SetUp();
    // A failure in SetUpTestSuite would only skip the tests: fail each of them instead.
    ASSERT_TRUE(setup_error_.empty()) << "synth failed: " << setup_error_;
    fs::copy(source_, Path("seq"), fs::copy_options::recursive);
    fs::create_directories(Path("out"));
  }

  // The ground truth as a result of meshes.
  void CopyTruthMeshes() {
    fs::copy(Path("seq") / "gt" / "meshes", Path("out") / "meshes", fs::copy_options::recursive);
  }

  // The ground truth as a result of parameters: frames.jsonl with a status, and identity.json.
  void WriteTruthParameters(int lost_frame = -1) {
    std::ifstream truth(Path("seq") / "gt" / "frames.jsonl");
    std::ofstream frames(Path("out") / "frames.jsonl");
    nlohmann::json identity;
    for (std::string line; std::getline(truth, line);) {
      nlohmann::json json = nlohmann::json::parse(line);
      identity = json["identity"];
      json.erase("identity");
      json["status"] = json["frame"] == lost_frame ? "lost" : "tracked";
      frames << json.dump() << "\n";
    }
    std::ofstream(Path("out") / "identity.json") << nlohmann::json{{"identity", identity}}.dump();
  }

  // Applies `edit` to every line of SEQ/gt/frames.jsonl.
  void EditTruthFrames(const std::function<void(nlohmann::json&)>& edit) {
    const fs::path path = Path("seq") / "gt" / "frames.jsonl";
    std::ifstream in(path);
    std::ostringstream edited;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json json = nlohmann::json::parse(line);
      edit(json);
      edited << json.dump() << "\n";
    }
    in.close();
    std::ofstream(path) << edited.str();
  }

  SequenceEvaluationOptions Options(const std::string& region = "") const {
    SequenceEvaluationOptions options;
    options.sequence = Path("seq");
    options.result = Path("out");
    options.model = kModelPath;
    options.region = region;
    return options;
  }

  static fs::path source_;
  static std::string setup_error_;
};

fs::path SequenceEvaluationTest::source_;
std::string SequenceEvaluationTest::setup_error_;

TEST_F(SequenceEvaluationTest, TruthAgainstItsOwnNoiselessDepthIsExact) {
  CopyTruthMeshes();
  for (const std::string region : {"", "face"}) {
    const SequenceEvaluation evaluation = EvaluateSequence(Options(region));
    ASSERT_EQ(evaluation.num_evaluated, kFrames) << region;
    EXPECT_EQ(evaluation.num_skipped, 0);
    EXPECT_EQ(evaluation.result_kind, "meshes");
    EXPECT_LT(evaluation.l2_mm, 0.05) << region;
    EXPECT_EQ(evaluation.precision, 1.0) << region;
    EXPECT_EQ(evaluation.wide_precision, 1.0) << region;
    EXPECT_GT(evaluation.nc, 0.99) << region;
    EXPECT_GT(evaluation.scan_points, 20000) << region;
    for (const FrameEvaluation& frame : evaluation.frames) {
      EXPECT_LT(frame.l2_mm, 0.05);
      EXPECT_EQ(frame.precision, 1.0);
    }
    EXPECT_EQ(evaluation.num_vertex_error_frames, kFrames);
    EXPECT_EQ(evaluation.vertex_error_mean_mm, 0.0);
    EXPECT_EQ(evaluation.vertex_error_p95_mm, 0.0);
    // No expressions in a result of meshes.
    EXPECT_EQ(evaluation.num_expression_frames, 0);
  }
  // The face region has fewer points than the whole head and every one of its vertices.
  const SequenceEvaluation whole = EvaluateSequence(Options());
  const SequenceEvaluation face = EvaluateSequence(Options("face"));
  EXPECT_LT(face.scan_points, whole.scan_points);
  EXPECT_GT(face.region_triangles, 0);
  EXPECT_EQ(face.region_vertices, 9409);  // the face region's vertices 0..9408
  EXPECT_EQ(whole.region_vertices, HeadModel::Load(kModelPath).num_vertices());
}

TEST_F(SequenceEvaluationTest, ResultOfParametersMatchesTheTruthAndSkipsLostFrames) {
  WriteTruthParameters(/*lost_frame=*/1);
  const SequenceEvaluation evaluation = EvaluateSequence(Options("face"));
  EXPECT_EQ(evaluation.result_kind, "parameters");
  EXPECT_FALSE(evaluation.model_name.empty());
  ASSERT_EQ(evaluation.num_evaluated, kFrames - 1);
  ASSERT_EQ(evaluation.num_skipped, 1);
  EXPECT_FALSE(evaluation.frames[1].evaluated);
  EXPECT_NE(evaluation.frames[1].skip_reason.find("lost"), std::string::npos);
  EXPECT_LT(evaluation.l2_mm, 0.05);
  EXPECT_EQ(evaluation.precision, 1.0);
  // The same model evaluation as the simulator's, up to float rounding of the written pose.
  EXPECT_LT(evaluation.vertex_error_p95_mm, 1e-3);
  EXPECT_EQ(evaluation.num_expression_frames, kFrames - 1);
  EXPECT_EQ(evaluation.expression_error, 0.0);
  EXPECT_EQ(evaluation.expression_names.size(), 53u);
  EXPECT_EQ(evaluation.identity_error_vertices, 9409);
  EXPECT_EQ(evaluation.identity_error_max_mm, 0.0);
}

TEST_F(SequenceEvaluationTest, NeutralIdentityErrorIsTheDisplacementOfTheChangedComponent) {
  // The result's identity is the truth's with component kComponent larger by kDelta: in a
  // linear model, vertex v of the neutral head moves by kDelta times rows 3v..3v+2 of that
  // column of the identity basis.
  constexpr int kComponent = 1;
  constexpr float kDelta = 0.8f;
  const HeadModel model = HeadModel::Load(kModelPath);
  ASSERT_EQ(model.num_joints(), 0);
  const auto expected_distances = [&](const std::vector<int>& vertices) {
    std::vector<double> distances;
    for (const int v : vertices) {
      distances.push_back(
          1000.0 * kDelta *
          model.identity_basis().block(3 * v, kComponent, 3, 1).cast<double>().norm());
    }
    std::sort(distances.begin(), distances.end());
    return distances;
  };
  const auto write_result_identity = [&] {
    std::ifstream truth(Path("seq") / "gt" / "frames.jsonl");
    std::string first_line;
    std::getline(truth, first_line);
    nlohmann::json identity = nlohmann::json::parse(first_line)["identity"];
    identity[kComponent] = identity[kComponent].get<float>() + kDelta;
    std::ofstream(Path("out") / "identity.json") << nlohmann::json{{"identity", identity}}.dump();
  };
  const auto expect_errors = [](const SequenceEvaluation& evaluation,
                                const std::vector<double>& distances) {
    ASSERT_EQ(evaluation.identity_error_vertices, static_cast<int>(distances.size()));
    double sum = 0.0;
    for (const double distance : distances) sum += distance;
    const size_t n = distances.size();
    const double median = n % 2 == 1 ? distances[n / 2]
                                     : (distances[n / 2 - 1] + distances[n / 2]) / 2.0;
    ASSERT_GT(distances.back(), 1.0) << "the change must move the head measurably";
    EXPECT_NEAR(evaluation.identity_error_mean_mm, sum / n, 1e-3);
    EXPECT_NEAR(evaluation.identity_error_median_mm, median, 1e-3);
    EXPECT_NEAR(evaluation.identity_error_max_mm, distances.back(), 1e-3);
  };

  // A result of parameters, over the face region's vertices.
  WriteTruthParameters();
  write_result_identity();
  std::vector<int> face;
  for (int v = 0; v < model.num_vertices(); ++v) {
    if (model.vertex_regions()[v] == model.RegionIndex("face")) face.push_back(v);
  }
  expect_errors(EvaluateSequence(Options("face")), expected_distances(face));

  // An offline result: meshes and identity.json; over all vertices. The model is loaded for
  // the identity alone.
  fs::remove_all(Path("out"));
  fs::create_directories(Path("out"));
  CopyTruthMeshes();
  write_result_identity();
  std::vector<int> all(model.num_vertices());
  for (int v = 0; v < model.num_vertices(); ++v) all[v] = v;
  const SequenceEvaluation evaluation = EvaluateSequence(Options());
  EXPECT_EQ(evaluation.result_kind, "meshes");
  EXPECT_EQ(evaluation.model_name, model.name());
  expect_errors(evaluation, expected_distances(all));
  // The meshes are the truth's: the identity error is independent of the per-frame errors.
  EXPECT_EQ(evaluation.vertex_error_mean_mm, 0.0);
  const nlohmann::json json =
      nlohmann::json::parse(SequenceEvaluationJson(evaluation, Options()));
  EXPECT_DOUBLE_EQ(json["identity_error_mean_mm"].get<double>(),
                   evaluation.identity_error_mean_mm);
  EXPECT_DOUBLE_EQ(json["identity_error_median_mm"].get<double>(),
                   evaluation.identity_error_median_mm);
  EXPECT_DOUBLE_EQ(json["identity_error_max_mm"].get<double>(), evaluation.identity_error_max_mm);
  EXPECT_EQ(json["identity_error_vertices"], model.num_vertices());
}

TEST_F(SequenceEvaluationTest, NoIdentityErrorWithoutBothIdentities) {
  // Meshes only: no identity.json, and the model is not needed.
  CopyTruthMeshes();
  const SequenceEvaluation meshes = EvaluateSequence(Options());
  EXPECT_EQ(meshes.num_evaluated, kFrames);
  EXPECT_EQ(meshes.identity_error_vertices, 0);
  EXPECT_TRUE(std::isnan(meshes.identity_error_mean_mm));
  EXPECT_TRUE(std::isnan(meshes.identity_error_median_mm));
  EXPECT_TRUE(std::isnan(meshes.identity_error_max_mm));
  EXPECT_TRUE(meshes.model_name.empty());
  const nlohmann::json json = nlohmann::json::parse(SequenceEvaluationJson(meshes, Options()));
  EXPECT_FALSE(json.contains("identity_error_mean_mm"));

  // identity.json, but a ground truth without "identity".
  fs::remove_all(Path("out"));
  fs::create_directories(Path("out"));
  WriteTruthParameters();
  EditTruthFrames([](nlohmann::json& json) { json.erase("identity"); });
  const SequenceEvaluation parameters = EvaluateSequence(Options());
  EXPECT_EQ(parameters.num_evaluated, kFrames);
  EXPECT_EQ(parameters.identity_error_vertices, 0);
  EXPECT_TRUE(std::isnan(parameters.identity_error_mean_mm));
}

TEST_F(SequenceEvaluationTest, DisagreeingTruthIdentitiesAreWarnedAboutAndTheFirstIsUsed) {
  WriteTruthParameters();  // the result has the truth's identity
  EditTruthFrames([](nlohmann::json& json) {
    if (json["frame"] == 2) json["identity"][0] = json["identity"][0].get<float>() + 1.0f;
  });
  const fs::path truth_path = Path("seq") / "gt" / "frames.jsonl";
  const SequenceEvaluation evaluation = EvaluateSequence(Options());
  EXPECT_EQ(evaluation.identity_error_max_mm, 0.0);
  ASSERT_EQ(evaluation.warnings.size(), 1u);
  EXPECT_NE(evaluation.warnings[0].find(truth_path.string()), std::string::npos)
      << evaluation.warnings[0];
  EXPECT_NE(evaluation.warnings[0].find("(first: frame 2)"), std::string::npos)
      << evaluation.warnings[0];

  // More coefficients than the model has, and a coefficient that is not a number.
  const int num_identity = HeadModel::Load(kModelPath).num_identity();
  EditTruthFrames([&](nlohmann::json& json) {
    json["identity"] = std::vector<float>(num_identity + 1, 0.0f);
  });
  ExpectError([&] { EvaluateSequence(Options()); }, truth_path,
              {"line 1 (frame 0)", "\"identity\" has"});
  EditTruthFrames([](nlohmann::json& json) { json["identity"][0] = "big"; });
  ExpectError([&] { EvaluateSequence(Options()); }, truth_path, {"line 1", "identity"});
}

TEST_F(SequenceEvaluationTest, ErrorsAgainstAPerturbedResultMatchHandComputedValues) {
  // Every vertex of frame 0 moved by 1 mm along x, frame 2 by 2 mm; frame 1 missing.
  fs::create_directories(Path("out") / "meshes");
  for (const auto& [frame, shift] : {std::pair{0, 0.001f}, std::pair{2, 0.002f}}) {
    const std::string name = SequenceFrameName(frame) + ".ply";
    TriangleMesh mesh = ReadMesh(Path("seq") / "gt" / "meshes" / name);
    mesh.vertices.col(0).array() += shift;
    WriteMesh(Path("out") / "meshes" / name, mesh);
  }
  const SequenceEvaluation evaluation = EvaluateSequence(Options());
  ASSERT_EQ(evaluation.num_evaluated, 2);
  EXPECT_FALSE(evaluation.frames[1].evaluated);
  EXPECT_NE(evaluation.frames[1].skip_reason.find("no result mesh"), std::string::npos);
  EXPECT_NE(evaluation.frames[1].skip_reason.find("00001.ply"), std::string::npos);
  EXPECT_NEAR(evaluation.frames[0].vertex_error_median_mm, 1.0, 1e-4);
  EXPECT_NEAR(evaluation.frames[2].vertex_error_p95_mm, 2.0, 1e-4);
  EXPECT_NEAR(evaluation.vertex_error_mean_mm, 1.5, 1e-4);
  // The summary is the mean over the evaluated frames.
  EXPECT_DOUBLE_EQ(evaluation.l2_mm,
                   (evaluation.frames[0].l2_mm + evaluation.frames[2].l2_mm) / 2.0);
  // A 1 mm shift: no point is farther than 1 mm, and the mean distance is below it.
  EXPECT_GT(evaluation.frames[0].l2_mm, 0.2);
  EXPECT_LT(evaluation.frames[0].l2_mm, 1.0 + 0.05);
  EXPECT_EQ(evaluation.frames[0].precision, 1.0);
  EXPECT_LT(evaluation.frames[2].precision, 1.0);
}

TEST_F(SequenceEvaluationTest, EmptyAndOutOfRangeDepthFramesAreSkippedWithAReason) {
  CopyTruthMeshes();
  const Calibration calibration = ReadCalibration(Path("seq") / "calibration.json");
  const int width = calibration.camera.width;
  const int height = calibration.camera.height;
  WriteDepthPng(Path("seq") / "depth" / "00001.png", DepthImage16(width, height, 1, 0));
  // Everything at 1 m: outside [0.1, 0.6] m, and the automatic range is turned off.
  const auto one_metre = static_cast<std::uint16_t>(calibration.depth_scale);
  WriteDepthPng(Path("seq") / "depth" / "00002.png", DepthImage16(width, height, 1, one_metre));
  SequenceEvaluationOptions options = Options();
  options.preprocessing.auto_range = false;
  const SequenceEvaluation evaluation = EvaluateSequence(options);
  EXPECT_EQ(evaluation.num_evaluated, 1);
  EXPECT_EQ(evaluation.num_skipped, 2);
  EXPECT_NE(evaluation.frames[1].skip_reason.find("no valid pixel"), std::string::npos)
      << evaluation.frames[1].skip_reason;
  EXPECT_NE(evaluation.frames[2].skip_reason.find("depth range"), std::string::npos)
      << evaluation.frames[2].skip_reason;
  EXPECT_TRUE(std::isnan(evaluation.frames[1].l2_mm));
  EXPECT_EQ(evaluation.l2_mm, evaluation.frames[0].l2_mm);
}

TEST_F(SequenceEvaluationTest, GapsAreWarnedAboutAndFramesWithoutALineAreSkipped) {
  WriteTruthParameters();
  fs::remove(Path("seq") / "depth" / "00001.png");
  // The result has no line for frame 2.
  std::ifstream in(Path("out") / "frames.jsonl");
  std::string line0, line1;
  std::getline(in, line0);
  std::getline(in, line1);
  in.close();
  std::ofstream(Path("out") / "frames.jsonl") << line0 << "\n" << line1 << "\n";
  const SequenceEvaluation evaluation = EvaluateSequence(Options());
  ASSERT_EQ(evaluation.frames.size(), 2u);
  EXPECT_EQ(evaluation.frames[1].frame, 2);
  EXPECT_FALSE(evaluation.frames[1].evaluated);
  EXPECT_NE(evaluation.frames[1].skip_reason.find("no line for this frame"), std::string::npos)
      << evaluation.frames[1].skip_reason;
  EXPECT_EQ(evaluation.num_evaluated, 1);
  ASSERT_EQ(evaluation.warnings.size(), 1u);
  EXPECT_NE(evaluation.warnings[0].find("have no depth image"), std::string::npos)
      << evaluation.warnings[0];
}

TEST_F(SequenceEvaluationTest, NothingEvaluatedGivesNaNSummaryAndNullJson) {
  fs::create_directories(Path("out") / "meshes");
  const SequenceEvaluationOptions options = Options();
  const SequenceEvaluation evaluation = EvaluateSequence(options);
  EXPECT_EQ(evaluation.num_evaluated, 0);
  EXPECT_EQ(evaluation.num_skipped, kFrames);
  EXPECT_TRUE(std::isnan(evaluation.l2_mm));
  const nlohmann::json json = nlohmann::json::parse(SequenceEvaluationJson(evaluation, options));
  EXPECT_EQ(json["frames"], 0);
  EXPECT_EQ(json["skipped"], kFrames);
  EXPECT_TRUE(json["l2_mm"].is_null());
  EXPECT_EQ(json["skipped_frames"].size(), static_cast<size_t>(kFrames));
}

TEST_F(SequenceEvaluationTest, JsonAndCsvHoldTheSummaryAndOneLinePerFrame) {
  CopyTruthMeshes();
  fs::remove(Path("out") / "meshes" / "00001.ply");
  const SequenceEvaluationOptions options = Options();
  const SequenceEvaluation evaluation = EvaluateSequence(options);
  const nlohmann::json json = nlohmann::json::parse(SequenceEvaluationJson(evaluation, options));
  for (const char* key : {"frames", "l2_mm", "nc", "pr_1_5mm", "pr_3mm", "vertex_error_mean_mm",
                          "vertex_error_median_mm", "vertex_error_p95_mm"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_EQ(json["frames"], 2);
  EXPECT_EQ(json["skipped"], 1);
  EXPECT_EQ(json["sequence_frames"], kFrames);
  EXPECT_DOUBLE_EQ(json["l2_mm"].get<double>(), evaluation.l2_mm);
  EXPECT_EQ(json["pr_1_5mm"].get<double>(), 1.0);
  EXPECT_EQ(json["skipped_frames"][0]["frame"], 1);

  std::istringstream csv(SequenceEvaluationCsv(evaluation));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("frame,status,reason,scan_points,points,l2_mm,nc,pr_1_5mm,pr_3mm", 0), 0u);
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(lines[0].rfind("0,evaluated,,", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("1,skipped,no result mesh", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(",,,,"), std::string::npos) << "empty cells for missing values";
}

TEST_F(SequenceEvaluationTest, MeshWithOtherTopologyIsAClearError) {
  CopyTruthMeshes();
  const fs::path mesh_path = Path("out") / "meshes" / "00000.ply";
  TriangleMesh mesh = ReadMesh(mesh_path);
  mesh.faces.conservativeResize(mesh.faces.rows() - 1, 3);
  WriteMesh(mesh_path, mesh);
  // Against the ground truth: the error names the mesh and says how to go on.
  ExpectError([&] { EvaluateSequence(Options()); }, mesh_path,
              {"ground truth", "same topology", "--no-vertex-error"});
  // With a region: the model's topology is needed.
  ExpectError([&] { EvaluateSequence(Options("face")); }, mesh_path,
              {"--region face", "model"});
  // Without vertex errors and region, any mesh is evaluated.
  SequenceEvaluationOptions options = Options();
  options.vertex_errors = false;
  EXPECT_EQ(EvaluateSequence(options).num_evaluated, kFrames);
}

TEST_F(SequenceEvaluationTest, BadSequenceFilesAreClearErrors) {
  CopyTruthMeshes();
  // A depth PNG of 8 bits.
  const fs::path depth_path = Path("seq") / "depth" / "00001.png";
  WriteColorPng(depth_path, ColorImage(8, 8, 1, 0));
  ExpectError([&] { EvaluateSequence(Options()); }, depth_path, {"16-bit"});
  // A 16-bit depth PNG of another size than the calibration's.
  WriteDepthPng(depth_path, DepthImage16(320, 240, 1, 0));
  ExpectError([&] { EvaluateSequence(Options()); }, depth_path, {"320"});
  // A calibration without fx.
  const fs::path calibration_path = Path("seq") / "calibration.json";
  std::ofstream(calibration_path) << R"({"fy": 504, "cx": 319.5, "cy": 287.5})";
  ExpectError([&] { EvaluateSequence(Options()); }, calibration_path, {"fx"});
}

TEST_F(SequenceEvaluationTest, BadResultFoldersAreClearErrors) {
  // Neither meshes/ nor frames.jsonl.
  ExpectError([&] { EvaluateSequence(Options()); }, Path("out"), {"meshes/", "frames.jsonl"});
  // A malformed line: the error names the file, the line and the field.
  WriteTruthParameters();
  const fs::path frames_path = Path("out") / "frames.jsonl";
  std::ofstream(frames_path, std::ios::app) << R"({"frame": 9, "rotation": [[1, 0, 0]]})" << "\n";
  ExpectError([&] { EvaluateSequence(Options()); }, frames_path, {"line 4", "translation"});
  std::ofstream(frames_path) << R"({"frame": 0, "status": "found"})" << "\n";
  ExpectError([&] { EvaluateSequence(Options()); }, frames_path, {"line 1", "status"});
  // An unknown expression name.
  std::ofstream(frames_path)
      << R"({"frame": 0, "rotation": [[1,0,0],[0,1,0],[0,0,1]], "translation": [0,0,0.4],)"
      << R"( "scale": 1, "expression": {"smileBig": 0.5}})" << "\n";
  ExpectError([&] { EvaluateSequence(Options()); }, frames_path, {"smileBig"});
  // No identity.json.
  fs::remove(Path("out") / "identity.json");
  ExpectError([&] { EvaluateSequence(Options()); }, Path("out") / "identity.json", {},
              /*input_error=*/false);
  // An unknown region.
  WriteTruthParameters();
  ExpectError([&] { EvaluateSequence(Options("cheek")); }, kModelPath, {"cheek"});
}

}  // namespace
}  // namespace headtrack
