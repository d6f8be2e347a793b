// headtrack model info | sample | import-ict
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/mesh_io.h"
#include "headtrack/model_path.h"
#include "model/ict_importer.h"

namespace headtrack::cli {
namespace fs = std::filesystem;
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

void RunModelInfo(const InfoOptions& options) {
  const HeadModel model = HeadModel::Load(ResolveModelPath(options.model));
  std::vector<int> region_vertices(model.region_names().size(), 0);
  std::vector<int> region_triangles(model.region_names().size(), 0);
  for (auto region : model.vertex_regions()) if (region >= 0) ++region_vertices[region];
  for (auto region : model.triangle_regions()) if (region >= 0) ++region_triangles[region];
  const bool blendshapes = model.expression_kind() == ExpressionKind::kBlendshapes;

  if (options.json) {
    nlohmann::ordered_json json;
    json["model"] = model.name();
    json["path"] = model.source().string();
    json["vertices"] = model.num_vertices();
    json["triangles"] = model.num_triangles();
    json["identity_components"] = model.num_identity();
    json["expression_components"] = model.num_expression();
    json["expression_kind"] = blendshapes ? "blendshapes" : "pca";
    json["expression_names"] = model.expression_names();
    json["regions"] = model.region_names();
    json["region_vertices"] = region_vertices;
    json["region_triangles"] = region_triangles;
    json["joints"] = model.joint_names();
    json["landmarks"] = model.landmark_vertices().size();
    json["units"] = "metres";
    std::cout << json.dump(2) << "\n";
    return;
  }
  std::cout << "model                 " << model.name() << " (" << model.source().string() << ")\n"
            << "vertices              " << model.num_vertices() << "\n"
            << "triangles             " << model.num_triangles() << "\n"
            << "identity components   " << model.num_identity() << " (N(0, 1) coefficients)\n"
            << "expression components " << model.num_expression()
            << (blendshapes ? " (blendshape weights in [0, 1])" : " (N(0, 1) coefficients)")
            << "\n"
            << "joints                ";
  if (model.num_joints() == 0) std::cout << "none";
  for (const auto& name : model.joint_names()) std::cout << name << " ";
  std::cout << "\nlandmarks             " << model.landmark_vertices().size()
            << (model.landmark_vertices().size() == 68 ? " (iBUG 68)" : "") << "\n"
            << "units                 metres; head frame +x to the subject's left, +y up, +z out "
               "of the face\n"
            << "regions\n";
  for (size_t r = 0; r < model.region_names().size(); ++r) {
    std::printf("  %-20s %6d vertices %6d triangles\n", model.region_names()[r].c_str(),
                region_vertices[r], region_triangles[r]);
  }
  std::cout << "expressions\n ";
  int column = 1;
  for (const auto& name : model.expression_names()) {
    if (column + name.size() + 1 > 100) {
      std::cout << "\n ";
      column = 1;
    }
    std::cout << " " << name;
    column += static_cast<int>(name.size()) + 1;
  }
  std::cout << "\n";
}

struct SampleOptions {
  std::string model;
  long identity_seed = -1;
  std::vector<std::string> expressions;  // NAME=VALUE
  std::string output;
  bool overwrite = false;
};

std::vector<std::pair<std::string, float>> ParseNamedWeights(
    const std::vector<std::string>& items) {
  std::vector<std::pair<std::string, float>> weights;
  for (const std::string& item : items) {
    const size_t equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw InputError("--expr", "'" + item + "' is not NAME=VALUE");
    }
    const std::string value = item.substr(equals + 1);
    size_t used = 0;
    float weight = 0.0f;
    try {
      weight = std::stof(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) {
      throw InputError("--expr", "'" + value + "' in '" + item + "' is not a number");
    }
    weights.emplace_back(item.substr(0, equals), weight);
  }
  return weights;
}

void RunModelSample(const SampleOptions& options) {
  CheckOutputPath(options.output, options.overwrite);
  const HeadModel model = HeadModel::Load(ResolveModelPath(options.model));
  const Eigen::VectorXf identity = options.identity_seed >= 0
                                       ? SampleIdentity(model.num_identity(), options.identity_seed)
                                       : model.ZeroIdentity();
  const Eigen::VectorXf expression =
      model.ExpressionFromWeights(ParseNamedWeights(options.expressions), "--expr");
  const TriangleMesh mesh = model.EvaluateMesh(identity, expression);
  WriteMesh(options.output, mesh);
  std::cout << "wrote " << options.output << " (" << mesh.num_vertices() << " vertices, "
            << mesh.num_faces() << " triangles, head frame, metres)\n";
}

struct ImportOptions {
  std::string folder;
  std::string output;
  bool allow_missing = false;
  bool overwrite = false;
};

void RunImportIct(const ImportOptions& options) {
  CheckOutputPath(options.output, options.overwrite);
  IctImportOptions import_options;
  import_options.folder = options.folder;
  import_options.allow_missing = options.allow_missing;
  const IctImportResult result = ImportIctFaceKit(import_options);
  WriteIctModel(options.output, result);
  std::cerr << result.summary.Report() << "\n";
  std::cout << "wrote " << options.output << "\n";
}

}  // namespace

void CheckOutputPath(const fs::path& path, bool overwrite) {
  if (path.empty()) throw Error("no output path given (-o)");
  if (fs::exists(path) && !overwrite) {
    throw InputError(path.string(), "already exists; pass --overwrite to replace it");
  }
}

void AddModelCommands(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "Inspect, sample and import head models");
  model->require_subcommand(1);
  const std::string model_help =
      "Model file (.npz or FLAME .pkl); default $HEADTRACK_MODEL, else the shared default model";

  auto info = std::make_shared<InfoOptions>();
  CLI::App* info_command = model->add_subcommand("info", "Sizes, expressions, regions, joints");
  info_command->add_option("--model", info->model, model_help);
  info_command->add_flag("--json", info->json, "Print JSON");
  info_command->callback([info] { RunModelInfo(*info); });

  auto sample = std::make_shared<SampleOptions>();
  CLI::App* sample_command =
      model->add_subcommand("sample", "Write a mesh of an identity and an expression");
  sample_command->add_option("--model", sample->model, model_help);
  sample_command->add_option("--identity-seed", sample->identity_seed,
                             "Random identity (N(0, 1) coefficients) from this seed; default the "
                             "mean identity")
      ->check(CLI::NonNegativeNumber);
  sample_command->add_option("--expr", sample->expressions,
                             "Expression weights NAME=VALUE[,NAME=VALUE...]")
      ->delimiter(',');
  sample_command->add_option("-o,--output", sample->output, "Output mesh (.ply or .obj)")
      ->required();
  sample_command->add_flag("--overwrite", sample->overwrite, "Replace an existing output file");
  sample_command->callback([sample] { RunModelSample(*sample); });

  auto import = std::make_shared<ImportOptions>();
  CLI::App* import_command = model->add_subcommand(
      "import-ict", "Build the default model's .npz from ICT-FaceKit's FaceXModel OBJ folder");
  import_command->add_option("folder", import->folder, "ICT-FaceKit FaceXModel folder")
      ->required();
  import_command->add_option("-o,--output", import->output, "Output .npz")->required();
  import_command->add_flag("--allow-missing", import->allow_missing,
                           "Write zero deltas for identity/expression OBJs missing from the folder");
  import_command->add_flag("--overwrite", import->overwrite, "Replace an existing output file");
  import_command->callback([import] { RunImportIct(*import); });
}

}  // namespace headtrack::cli
