#include "metrics/sequence_evaluation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "headtrack/closest_point_query.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "headtrack/mesh_io.h"
#include "headtrack/model_path.h"
#include "headtrack/sequence.h"
#include "headtrack/similarity_transform.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;

// One line of a frames.jsonl (a result's or the ground truth's).
struct FrameRecord {
  int line = 0;
  bool lost = false;
  std::optional<SimilarityTransform> cam_from_head;
  bool has_expression = false;
  std::vector<std::pair<std::string, float>> expression;  // in the file's order
  std::optional<std::vector<float>> identity;              // as the file has it
};

std::string Where(int line, int frame) {
  std::ostringstream stream;
  stream << "line " << line << " (frame " << frame << ")";
  return stream.str();
}

double ReadFiniteNumber(const Json& value, const std::string& source, const std::string& where,
                        const std::string& field) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    HT_THROW_INPUT(source, where << ": \"" << field << "\" must be a finite number, found "
                                 << value.dump());
  }
  return value.get<double>();
}

// "rotation" (3 x 3 rows), "translation" (3), "scale" (> 0): all three or none.
std::optional<SimilarityTransform> ReadPose(const Json& json, const std::string& source,
                                            const std::string& where) {
  const bool any = json.contains("rotation") || json.contains("translation") ||
                   json.contains("scale");
  if (!any) return std::nullopt;
  for (const char* key : {"rotation", "translation", "scale"}) {
    if (!json.contains(key)) {
      HT_THROW_INPUT(source, where << ": missing \"" << key
                                   << "\"; a pose needs rotation, translation and scale");
    }
  }
  SimilarityTransform pose;
  const Json& rotation = json["rotation"];
  if (!rotation.is_array() || rotation.size() != 3) {
    HT_THROW_INPUT(source, where << ": \"rotation\" must be 3 rows of 3 numbers (row-major)");
  }
  for (int r = 0; r < 3; ++r) {
    if (!rotation[r].is_array() || rotation[r].size() != 3) {
      HT_THROW_INPUT(source, where << ": \"rotation\" must be 3 rows of 3 numbers (row-major)");
    }
    for (int c = 0; c < 3; ++c) {
      pose.rotation(r, c) = ReadFiniteNumber(rotation[r][c], source, where, "rotation");
    }
  }
  const double orthogonality =
      (pose.rotation * pose.rotation.transpose() - Eigen::Matrix3d::Identity()).norm();
  if (orthogonality > 1e-3 || pose.rotation.determinant() < 0.0) {
    HT_THROW_INPUT(source, where << ": \"rotation\" is not a rotation matrix (|R R^T - I| = "
                                 << orthogonality << ", det " << pose.rotation.determinant()
                                 << ")");
  }
  const Json& translation = json["translation"];
  if (!translation.is_array() || translation.size() != 3) {
    HT_THROW_INPUT(source, where << ": \"translation\" must be 3 numbers (metres)");
  }
  for (int i = 0; i < 3; ++i) {
    pose.translation(i) = ReadFiniteNumber(translation[i], source, where, "translation");
  }
  pose.scale = ReadFiniteNumber(json["scale"], source, where, "scale");
  if (pose.scale <= 0.0) {
    HT_THROW_INPUT(source, where << ": \"scale\" must be positive, found " << pose.scale);
  }
  return pose;
}

// Reads a frames.jsonl into frame number -> record. Throws InputError naming the file and the
// line for malformed lines and repeated frame numbers.
std::map<int, FrameRecord> ReadFramesJsonl(const fs::path& path) {
  const std::vector<char> bytes = ReadFileBytes(path);
  const std::string source = path.string();
  std::map<int, FrameRecord> records;
  std::istringstream stream(std::string(bytes.begin(), bytes.end()));
  int line_number = 0;
  for (std::string line; std::getline(stream, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      HT_THROW_INPUT(source, "line " << line_number << ": not a JSON object");
    }
    const auto frame_it = json.find("frame");
    if (frame_it == json.end() || !frame_it->is_number_integer() || frame_it->get<long>() < 0) {
      HT_THROW_INPUT(source, "line " << line_number
                                     << ": missing \"frame\" (a non-negative integer)");
    }
    const int frame = frame_it->get<int>();
    const std::string where = Where(line_number, frame);
    FrameRecord record;
    record.line = line_number;
    if (const auto status = json.find("status"); status != json.end()) {
      if (*status == "lost") {
        record.lost = true;
      } else if (*status != "tracked") {
        HT_THROW_INPUT(source, where << ": \"status\" must be \"tracked\" or \"lost\", found "
                                     << status->dump());
      }
    }
    if (!record.lost) record.cam_from_head = ReadPose(json, source, where);
    if (const auto expression = json.find("expression"); expression != json.end()) {
      if (!expression->is_object()) {
        HT_THROW_INPUT(source, where << ": \"expression\" must be an object {name: weight}");
      }
      record.has_expression = true;
      for (const auto& [name, value] : expression->items()) {
        record.expression.emplace_back(
            name, static_cast<float>(ReadFiniteNumber(value, source, where, "expression")));
      }
    }
    if (const auto identity = json.find("identity"); identity != json.end()) {
      if (!identity->is_array()) {
        HT_THROW_INPUT(source, where << ": \"identity\" must be an array of coefficients");
      }
      record.identity.emplace();
      for (const Json& value : *identity) {
        record.identity->push_back(
            static_cast<float>(ReadFiniteNumber(value, source, where, "identity")));
      }
    }
    if (!records.emplace(frame, std::move(record)).second) {
      HT_THROW_INPUT(source, where << ": frame " << frame << " appears twice");
    }
  }
  return records;
}

// `values` zero-padded to the model's num_identity coefficients; InputError(source) naming
// `where` when there are more.
Eigen::VectorXf PaddedIdentity(const std::vector<float>& values, int num_identity,
                               const std::string& source, const std::string& where) {
  if (static_cast<int>(values.size()) > num_identity) {
    HT_THROW_INPUT(source, where << "\"identity\" has " << values.size()
                                 << " coefficients, the model " << num_identity);
  }
  Eigen::VectorXf identity = Eigen::VectorXf::Zero(num_identity);
  identity.head(static_cast<Eigen::Index>(values.size())) =
      Eigen::Map<const Eigen::VectorXf>(values.data(), static_cast<Eigen::Index>(values.size()));
  return identity;
}

Eigen::VectorXf ReadIdentity(const fs::path& path, int num_identity) {
  const std::vector<char> bytes = ReadFileBytes(path);
  const std::string source = path.string();
  const Json json = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("identity") ||
      !json["identity"].is_array()) {
    HT_THROW_INPUT(source, "expected a JSON object with \"identity\": [coefficients]");
  }
  std::vector<float> values;
  for (const Json& value : json["identity"]) {
    values.push_back(static_cast<float>(ReadFiniteNumber(value, source, "identity", "identity")));
  }
  return PaddedIdentity(values, num_identity, source, "");
}

// Frame number -> mesh file in `folder` (NNNNN.ply or NNNNNN.ply).
std::map<int, fs::path> ListFrameMeshes(const fs::path& folder) {
  std::map<int, fs::path> meshes;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return meshes;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (LowerExtension(entry.path()) != ".ply") continue;
    if (const auto number = ParseSequenceFrameName(entry.path().stem().string())) {
      meshes[*number] = entry.path();
    }
  }
  return meshes;
}

// Throws InputError(source) unless `mesh` has the model's vertices and triangles.
void CheckModelTopology(const TriangleMesh& mesh, const HeadModel& model,
                        const std::string& source, const std::string& region) {
  if (mesh.num_vertices() == model.num_vertices() && mesh.faces.rows() == model.num_triangles() &&
      mesh.faces == model.triangles()) {
    return;
  }
  HT_THROW_INPUT(source, "has " << mesh.num_vertices() << " vertices and " << mesh.num_faces()
                                << " triangles, not the topology of the model '" << model.name()
                                << "' (" << model.num_vertices() << " vertices, "
                                << model.num_triangles() << " triangles): --region " << region
                                << " needs meshes of the model");
}

// The valid rows of an organized cloud (points and normals).
PointCloud ValidPoints(const PointCloud& organized) {
  PointCloud cloud;
  int count = 0;
  for (int i = 0; i < organized.size(); ++i) count += std::isfinite(organized.points(i, 0));
  cloud.points.resize(count, 3);
  cloud.normals.resize(count, 3);
  for (int i = 0, row = 0; i < organized.size(); ++i) {
    if (!std::isfinite(organized.points(i, 0))) continue;
    cloud.points.row(row) = organized.points.row(i);
    cloud.normals.row(row) = organized.normals.row(i);
    ++row;
  }
  return cloud;
}

// Linear interpolation between order statistics (NumPy's default): q in [0, 1].
double Quantile(const std::vector<double>& sorted, double q) {
  const double position = q * (sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

// Distances between corresponding vertices, millimetres; NaN when there are none.
struct VertexDistances {
  int count = 0;
  double mean_mm = kNoValue;
  double median_mm = kNoValue;
  double p95_mm = kNoValue;
  double max_mm = kNoValue;
};

// |a_v - b_v| over `vertices` (all when empty). a, b: V x 3, one frame, metres.
VertexDistances ComputeVertexDistances(const Points3f& a, const Points3f& b,
                                       const std::vector<int>& vertices) {
  HT_CHECK(a.rows() == b.rows(), a.rows() << " and " << b.rows() << " vertices");
  std::vector<double> errors;
  const auto add = [&](int v) {
    errors.push_back(1000.0 * (a.row(v) - b.row(v)).cast<double>().norm());
  };
  if (vertices.empty()) {
    for (int v = 0; v < a.rows(); ++v) add(v);
  } else {
    for (const int v : vertices) add(v);
  }
  VertexDistances distances;
  if (errors.empty()) return distances;
  std::sort(errors.begin(), errors.end());
  double sum = 0.0;
  for (const double error : errors) sum += error;
  distances.count = static_cast<int>(errors.size());
  distances.mean_mm = sum / errors.size();
  distances.median_mm = Quantile(errors, 0.5);
  distances.p95_mm = Quantile(errors, 0.95);
  distances.max_mm = errors.back();
  return distances;
}

// Distances (mm) between the vertices of `mesh` and `truth` listed in `vertices` (all when
// empty) into frame's vertex_error_* fields; returns how many. Throws InputError(source) when
// the topologies differ.
int ComputeVertexErrors(const TriangleMesh& mesh, const std::string& source,
                        const TriangleMesh& truth, const fs::path& truth_path,
                        const std::vector<int>& vertices, FrameEvaluation* frame) {
  if (mesh.num_vertices() != truth.num_vertices() || mesh.faces.rows() != truth.faces.rows() ||
      mesh.faces != truth.faces) {
    HT_THROW_INPUT(source, "has " << mesh.num_vertices() << " vertices and " << mesh.num_faces()
                                  << " triangles, the ground truth " << truth_path.string() << " "
                                  << truth.num_vertices() << " and " << truth.num_faces()
                                  << (mesh.num_vertices() == truth.num_vertices()
                                          ? " with other triangles"
                                          : "")
                                  << ": per-vertex errors need the same topology (turn them off "
                                     "to compare other meshes: --no-vertex-error)");
  }
  const VertexDistances distances =
      ComputeVertexDistances(mesh.vertices, truth.vertices, vertices);
  frame->vertex_error_mean_mm = distances.mean_mm;
  frame->vertex_error_median_mm = distances.median_mm;
  frame->vertex_error_p95_mm = distances.p95_mm;
  frame->vertex_error_max_mm = distances.max_mm;
  return distances.count;
}

double MeanOf(const std::vector<FrameEvaluation>& frames, double FrameEvaluation::*field) {
  double sum = 0.0;
  int count = 0;
  for (const FrameEvaluation& frame : frames) {
    if (!frame.evaluated || std::isnan(frame.*field)) continue;
    sum += frame.*field;
    ++count;
  }
  return count > 0 ? sum / count : kNoValue;
}

// The model and what the evaluation needs of it.
struct ModelContext {
  std::unique_ptr<HeadModel> model;
  std::vector<std::uint8_t> region_mask;  // per triangle; empty without a region
  std::vector<int> region_vertices;       // empty: all vertices
  IdentityShape identity;                 // for a result of parameters
};

// Where a frame's result mesh comes from.
class ResultSource {
 public:
  ResultSource(const fs::path& folder, const ModelContext* model)
      : folder_(folder), model_(model) {
    meshes_ = ListFrameMeshes(folder / "meshes");
    std::error_code error;
    has_meshes_ = fs::is_directory(folder / "meshes", error);
    has_frames_ = fs::is_regular_file(frames_path(), error);
    if (has_frames_) records_ = ReadFramesJsonl(frames_path());
  }

  bool has_meshes() const { return has_meshes_; }
  bool has_frames() const { return has_frames_; }
  fs::path frames_path() const { return folder_ / "frames.jsonl"; }
  const FrameRecord* Record(int frame) const {
    const auto it = records_.find(frame);
    return it == records_.end() ? nullptr : &it->second;
  }

  // The result mesh of `frame`, or nullopt with the reason in *skip_reason. *source receives
  // the name to use in messages.
  std::optional<TriangleMesh> Mesh(int frame, std::string* skip_reason,
                                   std::string* source) const {
    const FrameRecord* record = Record(frame);
    if (record != nullptr && record->lost) {
      *skip_reason = "lost (" + frames_path().string() + ")";
      return std::nullopt;
    }
    if (has_meshes_) {
      const auto it = meshes_.find(frame);
      if (it == meshes_.end()) {
        *skip_reason = "no result mesh " +
                       (folder_ / "meshes" / (SequenceFrameName(frame) + ".ply")).string();
        return std::nullopt;
      }
      *source = it->second.string();
      return ReadMesh(it->second);
    }
    if (record == nullptr) {
      *skip_reason = "no line for this frame in " + frames_path().string();
      return std::nullopt;
    }
    *source = frames_path().string() + " " + Where(record->line, frame);
    if (!record->cam_from_head) {
      HT_THROW_INPUT(frames_path().string(),
                     Where(record->line, frame)
                         << ": a tracked frame needs \"rotation\", \"translation\" and \"scale\"");
    }
    const HeadModel& model = *model_->model;
    const Eigen::VectorXf expression = model.ExpressionFromWeights(record->expression, *source);
    TriangleMesh mesh;
    mesh.faces = model.triangles();
    model.Evaluate(model_->identity, expression, {}, *record->cam_from_head, &mesh.vertices);
    return mesh;
  }

 private:
  fs::path folder_;
  const ModelContext* model_;
  std::map<int, fs::path> meshes_;
  std::map<int, FrameRecord> records_;
  bool has_meshes_ = false;
  bool has_frames_ = false;
};

// What EvaluateSequence and EvaluateSequenceFrame share: the opened sequence and result, and the
// model when one is needed. Not movable: `results` points into `context`.
struct EvaluationInputs {
  Sequence sequence;
  ModelContext context;
  std::unique_ptr<ResultSource> results;
  ScanMetricsOptions metrics;  // options.metrics with the region's mask
};

// Opens the sequence, the result and (when needed) the model; fills the evaluation's region,
// result_kind, model_name, region_triangles and the warning about gaps in the sequence.
std::unique_ptr<EvaluationInputs> OpenInputs(const SequenceEvaluationOptions& options,
                                             SequenceEvaluation* evaluation) {
  auto inputs = std::make_unique<EvaluationInputs>();
  inputs->sequence = Sequence::Open(options.sequence);
  const Sequence& sequence = inputs->sequence;
  std::error_code error;
  if (!fs::is_directory(options.result, error)) {
    HT_THROW_INPUT(options.result.string(),
                   "is not a folder; expected a tracking result with meshes/NNNNN.ply or "
                   "frames.jsonl");
  }

  evaluation->region = options.region;
  if (!sequence.missing_frame_numbers().empty()) {
    evaluation->warnings.push_back(
        std::to_string(sequence.missing_frame_numbers().size()) + " frame number(s) between " +
        std::to_string(sequence.frame_numbers().front()) + " and " +
        std::to_string(sequence.frame_numbers().back()) + " have no depth image in " +
        (options.sequence / "depth").string() + " (first: " +
        std::to_string(sequence.missing_frame_numbers().front()) + ")");
  }
  ModelContext& context = inputs->context;
  inputs->results = std::make_unique<ResultSource>(options.result, &context);
  const ResultSource& results = *inputs->results;
  if (!results.has_meshes() && !results.has_frames()) {
    HT_THROW_INPUT(options.result.string(),
                   "holds neither meshes/ (NNNNN.ply per frame) nor frames.jsonl; expected a "
                   "tracking result");
  }
  evaluation->result_kind = results.has_meshes() ? "meshes" : "parameters";

  if (!results.has_meshes() || !options.region.empty()) {
    context.model = std::make_unique<HeadModel>(HeadModel::Load(ResolveModelPath(options.model)));
    const HeadModel& model = *context.model;
    evaluation->model_name = model.name();
    if (!options.region.empty()) {
      const std::vector<int> triangles = model.RegionTriangles({options.region});
      evaluation->region_triangles = static_cast<int>(triangles.size());
      context.region_mask = TriangleMask(triangles, model.num_triangles());
      const int region = model.RegionIndex(options.region);
      for (int v = 0; v < model.num_vertices(); ++v) {
        if (model.vertex_regions()[v] == region) context.region_vertices.push_back(v);
      }
    }
    if (!results.has_meshes()) {
      context.identity = model.ShapeIdentity(
          ReadIdentity(options.result / "identity.json", model.num_identity()));
    }
  }
  inputs->metrics = options.metrics;
  inputs->metrics.region_mask = context.region_mask;
  return inputs;
}

// One frame's result mesh, preprocessed scan and scan metrics.
struct FrameScan {
  std::optional<TriangleMesh> mesh;  // camera frame, metres
  std::string source;                // the mesh's name in messages
  PreprocessedDepth scan;
  ScanMetrics metrics;               // of ValidPoints(scan.cloud)
};

// Evaluates the frame of sequence index `index` into *frame (its number, scan_points, points
// and the metrics, or the skip reason) and *out; returns frame->evaluated.
bool EvaluateFrameScan(const EvaluationInputs& inputs, const SequenceEvaluationOptions& options,
                       int index, FrameEvaluation* frame, FrameScan* out) {
  const Sequence& sequence = inputs.sequence;
  const ModelContext& context = inputs.context;
  frame->frame = sequence.frame_numbers()[index];
  out->mesh = inputs.results->Mesh(frame->frame, &frame->skip_reason, &out->source);
  if (!out->mesh) return false;
  if (!context.region_mask.empty()) {
    CheckModelTopology(*out->mesh, *context.model, out->source, options.region);
  }

  const SequenceFrame data = sequence.ReadFrame(index);
  out->scan = PreprocessDepth(data.depth, sequence.calibration().camera, options.preprocessing);
  const DepthPreprocessingSummary& summary = out->scan.summary;
  frame->scan_points = summary.num_points;
  if (summary.valid_pixels == 0) {
    frame->skip_reason =
        "the depth image has no valid pixel (" + sequence.DepthPath(index).string() + ")";
    return false;
  }
  if (summary.num_points == 0) {
    std::ostringstream reason;
    reason << "no depth left after preprocessing: " << summary.valid_pixels
           << " valid pixels, none in the depth range [" << summary.range.min_m << ", "
           << summary.range.max_m << "] m";
    if (summary.cropped_pixels > 0) reason << " and the crop";
    frame->skip_reason = reason.str();
    return false;
  }
  out->metrics = ComputeScanMetrics(ValidPoints(out->scan.cloud), *out->mesh, inputs.metrics);
  const ScanMetrics& metrics = out->metrics;
  frame->points = metrics.num_points;
  if (metrics.num_points == 0) {
    frame->skip_reason = options.region.empty()
                             ? "the result mesh has no usable triangle"
                             : "no scan point is nearest to the region '" + options.region + "'";
    return false;
  }
  frame->evaluated = true;
  frame->l2_mm = metrics.l2_mm;
  frame->nc = metrics.nc;
  frame->precision = metrics.precision;
  frame->wide_precision = metrics.wide_precision;
  return true;
}

// Mean |w_result - w_true| over the names both have; accumulates per name into *sums, *counts
// (indexed like the ground truth's names). NaN when they share no name.
double ExpressionError(const FrameRecord& result, const FrameRecord& truth,
                       std::vector<double>* sums, std::vector<int>* counts) {
  std::map<std::string, float> result_weights(result.expression.begin(), result.expression.end());
  double total = 0.0;
  int shared = 0;
  for (size_t k = 0; k < truth.expression.size(); ++k) {
    const auto it = result_weights.find(truth.expression[k].first);
    if (it == result_weights.end()) continue;
    const double error = std::abs(static_cast<double>(it->second) - truth.expression[k].second);
    (*sums)[k] += error;
    (*counts)[k] += 1;
    total += error;
    ++shared;
  }
  return shared > 0 ? total / shared : kNoValue;
}

// The neutral identity error into evaluation->identity_error_*, when OUT/identity.json exists
// and `truth_records` (of truth_path) have an identity; loads the model when context has none.
void ComputeIdentityError(const SequenceEvaluationOptions& options, const ModelContext& context,
                          const std::map<int, FrameRecord>& truth_records,
                          const fs::path& truth_path, SequenceEvaluation* evaluation) {
  const fs::path result_path = options.result / "identity.json";
  std::error_code error;
  if (!fs::is_regular_file(result_path, error)) return;
  const std::pair<const int, FrameRecord>* first = nullptr;
  std::vector<int> disagreeing;
  for (const auto& entry : truth_records) {
    if (!entry.second.identity) continue;
    if (first == nullptr) {
      first = &entry;
    } else if (*entry.second.identity != *first->second.identity) {
      disagreeing.push_back(entry.first);
    }
  }
  if (first == nullptr) return;
  const auto& [truth_frame, truth_record] = *first;
  if (!disagreeing.empty()) {
    evaluation->warnings.push_back(
        std::to_string(disagreeing.size()) + " frame(s) of " + truth_path.string() +
        " have another \"identity\" than frame " + std::to_string(truth_frame) + " (first: frame " +
        std::to_string(disagreeing.front()) + "); the neutral identity error uses frame " +
        std::to_string(truth_frame) + "'s");
  }

  std::optional<HeadModel> loaded;
  const HeadModel& model = context.model != nullptr
                               ? *context.model
                               : loaded.emplace(HeadModel::Load(ResolveModelPath(options.model)));
  if (evaluation->model_name.empty()) evaluation->model_name = model.name();
  const Eigen::VectorXf truth_identity =
      PaddedIdentity(*truth_record.identity, model.num_identity(), truth_path.string(),
                     Where(truth_record.line, truth_frame) + ": ");
  const Eigen::VectorXf result_identity = ReadIdentity(result_path, model.num_identity());
  // Head frame, no expression, joints at rest: the neutral head a user of the identity gets.
  const TriangleMesh truth = model.EvaluateMesh(truth_identity, model.ZeroExpression(), {},
                                                SimilarityTransform());
  const TriangleMesh result = model.EvaluateMesh(result_identity, model.ZeroExpression(), {},
                                                 SimilarityTransform());
  const VertexDistances distances =
      ComputeVertexDistances(result.vertices, truth.vertices, context.region_vertices);
  evaluation->identity_error_vertices = distances.count;
  evaluation->identity_error_mean_mm = distances.mean_mm;
  evaluation->identity_error_median_mm = distances.median_mm;
  evaluation->identity_error_max_mm = distances.max_mm;
}

}  // namespace

void SequenceEvaluationOptions::Check() const {
  HT_CHECK(!sequence.empty(), "no sequence folder");
  HT_CHECK(!result.empty(), "no result folder");
  preprocessing.Check();
  metrics.Check();
}

namespace {

// The picture inputs of one evaluated (or skipped) frame; takes the scan and the mesh.
FrameScanEvaluation MakeFrameScanEvaluation(const PinholeCamera& camera,
                                            const FrameEvaluation& frame, FrameScan* scan) {
  FrameScanEvaluation result;
  result.frame = frame;
  result.camera = camera;
  if (scan->mesh) result.mesh = std::move(*scan->mesh);
  result.scan = std::move(scan->scan.cloud);
  result.distances_mm.assign(result.scan.size(), kNoValue);
  // ValidPoints keeps the rows with a finite x, in order.
  for (int i = 0, row = 0; i < result.scan.size() && row < scan->metrics.point_distances_mm.size();
       ++i) {
    if (std::isfinite(result.scan.points(i, 0))) {
      result.distances_mm[i] = scan->metrics.point_distances_mm(row++);
    }
  }
  return result;
}

}  // namespace

SequenceEvaluation EvaluateSequence(const SequenceEvaluationOptions& options,
                                    const std::function<void(FrameScanEvaluation&&)>& on_frame) {
  const Stopwatch stopwatch;
  options.Check();
  SequenceEvaluation evaluation;
  const std::unique_ptr<EvaluationInputs> inputs = OpenInputs(options, &evaluation);
  const Sequence& sequence = inputs->sequence;
  const ModelContext& context = inputs->context;
  const ResultSource& results = *inputs->results;
  std::error_code error;

  // Ground truth.
  const fs::path truth_folder = options.sequence / "gt";
  const std::map<int, fs::path> truth_meshes =
      options.vertex_errors ? ListFrameMeshes(truth_folder / "meshes") : std::map<int, fs::path>{};
  std::map<int, FrameRecord> truth_records;
  if (fs::is_regular_file(truth_folder / "frames.jsonl", error)) {
    truth_records = ReadFramesJsonl(truth_folder / "frames.jsonl");
  }
  ComputeIdentityError(options, context, truth_records, truth_folder / "frames.jsonl",
                       &evaluation);
  std::vector<double> expression_sums;
  std::vector<int> expression_counts;
  std::vector<std::string> truth_names;  // of the first ground-truth frame with expressions

  Progress progress("eval", std::max(1, sequence.num_frames()), "frames");
  for (int index = 0; index < sequence.num_frames(); ++index) {
    FrameEvaluation& frame = evaluation.frames.emplace_back();
    progress.Advance();
    FrameScan scan;
    const bool evaluated = EvaluateFrameScan(*inputs, options, index, &frame, &scan);
    if (on_frame && !evaluated) {
      on_frame(MakeFrameScanEvaluation(sequence.calibration().camera, frame, &scan));
    }
    if (!evaluated) continue;
    const TriangleMesh& mesh = *scan.mesh;
    const std::string& source = scan.source;

    if (options.vertex_errors && !truth_meshes.empty()) {
      const auto it = truth_meshes.find(frame.frame);
      if (it == truth_meshes.end()) {
        evaluation.warnings.push_back("no ground-truth mesh for frame " +
                                      std::to_string(frame.frame) + " in " +
                                      (truth_folder / "meshes").string());
      } else {
        evaluation.region_vertices = ComputeVertexErrors(
            mesh, source, ReadMesh(it->second), it->second, context.region_vertices, &frame);
        ++evaluation.num_vertex_error_frames;
      }
    }

    const FrameRecord* result_record = results.Record(frame.frame);
    const auto truth_it = truth_records.find(frame.frame);
    if (result_record != nullptr && result_record->has_expression &&
        truth_it != truth_records.end() && truth_it->second.has_expression) {
      const FrameRecord& truth = truth_it->second;
      if (truth_names.empty()) {
        for (const auto& [name, weight] : truth.expression) truth_names.push_back(name);
        expression_sums.assign(truth_names.size(), 0.0);
        expression_counts.assign(truth_names.size(), 0);
      }
      bool same_names = truth.expression.size() == truth_names.size();
      for (size_t k = 0; same_names && k < truth_names.size(); ++k) {
        same_names = truth.expression[k].first == truth_names[k];
      }
      if (!same_names) {
        HT_THROW_INPUT((truth_folder / "frames.jsonl").string(),
                       Where(truth.line, frame.frame)
                           << ": the expression names differ from the earlier lines'");
      }
      frame.expression_error =
          ExpressionError(*result_record, truth, &expression_sums, &expression_counts);
      if (!std::isnan(frame.expression_error)) ++evaluation.num_expression_frames;
    }
    if (on_frame) on_frame(MakeFrameScanEvaluation(sequence.calibration().camera, frame, &scan));
  }
  progress.Finish();

  for (const FrameEvaluation& frame : evaluation.frames) {
    (frame.evaluated ? evaluation.num_evaluated : evaluation.num_skipped) += 1;
  }
  double points = 0.0;
  for (const FrameEvaluation& frame : evaluation.frames) {
    if (frame.evaluated) points += frame.points;
  }
  evaluation.scan_points =
      evaluation.num_evaluated > 0 ? points / evaluation.num_evaluated : kNoValue;
  evaluation.l2_mm = MeanOf(evaluation.frames, &FrameEvaluation::l2_mm);
  evaluation.nc = MeanOf(evaluation.frames, &FrameEvaluation::nc);
  evaluation.precision = MeanOf(evaluation.frames, &FrameEvaluation::precision);
  evaluation.wide_precision = MeanOf(evaluation.frames, &FrameEvaluation::wide_precision);
  evaluation.vertex_error_mean_mm =
      MeanOf(evaluation.frames, &FrameEvaluation::vertex_error_mean_mm);
  evaluation.vertex_error_median_mm =
      MeanOf(evaluation.frames, &FrameEvaluation::vertex_error_median_mm);
  evaluation.vertex_error_p95_mm =
      MeanOf(evaluation.frames, &FrameEvaluation::vertex_error_p95_mm);
  evaluation.expression_error = MeanOf(evaluation.frames, &FrameEvaluation::expression_error);
  for (size_t k = 0; k < truth_names.size(); ++k) {
    if (expression_counts[k] == 0) continue;
    evaluation.expression_names.push_back(truth_names[k]);
    evaluation.expression_errors.push_back(expression_sums[k] / expression_counts[k]);
  }
  evaluation.seconds = stopwatch.seconds();
  return evaluation;
}

FrameScanEvaluation EvaluateSequenceFrame(const SequenceEvaluationOptions& options,
                                          int frame_number) {
  options.Check();
  SequenceEvaluation evaluation;
  const std::unique_ptr<EvaluationInputs> inputs = OpenInputs(options, &evaluation);
  const std::vector<int>& numbers = inputs->sequence.frame_numbers();
  const auto it = std::find(numbers.begin(), numbers.end(), frame_number);
  if (it == numbers.end()) {
    HT_THROW_INPUT((options.sequence / "depth").string(),
                   "has no frame " << frame_number << " (" << numbers.size()
                                   << " frames, numbered " << numbers.front() << " to "
                                   << numbers.back() << ")");
  }
  FrameEvaluation frame;
  FrameScan scan;
  EvaluateFrameScan(*inputs, options, static_cast<int>(it - numbers.begin()), &frame, &scan);
  return MakeFrameScanEvaluation(inputs->sequence.calibration().camera, frame, &scan);
}

namespace {

Json NumberOrNull(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

// A CSV cell: quoted when it holds a comma, a quote or a line break.
std::string CsvCell(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string CsvNumber(double value) {
  if (!std::isfinite(value)) return "";
  std::ostringstream stream;
  stream.precision(9);
  stream << value;
  return stream.str();
}

}  // namespace

std::string SequenceEvaluationJson(const SequenceEvaluation& evaluation,
                                   const SequenceEvaluationOptions& options) {
  nlohmann::ordered_json json;
  json["sequence"] = options.sequence.string();
  json["result"] = options.result.string();
  json["result_kind"] = evaluation.result_kind;
  json["region"] = evaluation.region.empty() ? Json(nullptr) : Json(evaluation.region);
  json["model"] = evaluation.model_name.empty() ? Json(nullptr) : Json(evaluation.model_name);
  json["aggregation"] = "mean over the evaluated frames";
  json["frames"] = evaluation.num_evaluated;
  json["skipped"] = evaluation.num_skipped;
  json["sequence_frames"] = static_cast<int>(evaluation.frames.size());
  json["scan_points"] = NumberOrNull(evaluation.scan_points);
  json["l2_mm"] = NumberOrNull(evaluation.l2_mm);
  json["nc"] = NumberOrNull(evaluation.nc);
  json["pr_1_5mm"] = NumberOrNull(evaluation.precision);
  json["pr_3mm"] = NumberOrNull(evaluation.wide_precision);
  json["precision_thresholds_mm"] = {options.metrics.precision_threshold_mm,
                                     options.metrics.wide_precision_threshold_mm};
  if (evaluation.num_vertex_error_frames > 0) {
    json["vertex_error_mean_mm"] = NumberOrNull(evaluation.vertex_error_mean_mm);
    json["vertex_error_median_mm"] = NumberOrNull(evaluation.vertex_error_median_mm);
    json["vertex_error_p95_mm"] = NumberOrNull(evaluation.vertex_error_p95_mm);
    json["vertex_error_frames"] = evaluation.num_vertex_error_frames;
    json["vertex_error_vertices"] = evaluation.region_vertices;
  }
  if (evaluation.num_expression_frames > 0) {
    json["expression_error_mean"] = NumberOrNull(evaluation.expression_error);
    json["expression_error_frames"] = evaluation.num_expression_frames;
    nlohmann::ordered_json per_name = nlohmann::ordered_json::object();
    for (size_t k = 0; k < evaluation.expression_names.size(); ++k) {
      per_name[evaluation.expression_names[k]] = evaluation.expression_errors[k];
    }
    json["expression_error"] = std::move(per_name);
  }
  if (evaluation.identity_error_vertices > 0) {
    json["identity_error_mean_mm"] = NumberOrNull(evaluation.identity_error_mean_mm);
    json["identity_error_median_mm"] = NumberOrNull(evaluation.identity_error_median_mm);
    json["identity_error_max_mm"] = NumberOrNull(evaluation.identity_error_max_mm);
    json["identity_error_vertices"] = evaluation.identity_error_vertices;
  }
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  for (const FrameEvaluation& frame : evaluation.frames) {
    if (frame.evaluated) continue;
    skipped.push_back({{"frame", frame.frame}, {"reason", frame.skip_reason}});
  }
  json["skipped_frames"] = std::move(skipped);
  json["warnings"] = evaluation.warnings;
  const DepthPreprocessingOptions& preprocessing = options.preprocessing;
  json["preprocessing"] = {{"min_depth_m", preprocessing.min_depth_m},
                           {"max_depth_m", preprocessing.max_depth_m},
                           {"auto_range", preprocessing.auto_range},
                           {"smooth", preprocessing.smooth},
                           {"smooth_sigma_depth_m", preprocessing.smooth_sigma_depth_m}};
  return json.dump(2) + "\n";
}

std::string SequenceEvaluationCsv(const SequenceEvaluation& evaluation) {
  std::ostringstream csv;
  csv << "frame,status,reason,scan_points,points,l2_mm,nc,pr_1_5mm,pr_3mm,vertex_error_mean_mm,"
         "vertex_error_median_mm,vertex_error_p95_mm,vertex_error_max_mm,expression_error\n";
  for (const FrameEvaluation& frame : evaluation.frames) {
    csv << frame.frame << "," << (frame.evaluated ? "evaluated" : "skipped") << ","
        << CsvCell(frame.skip_reason) << "," << frame.scan_points << "," << frame.points << ","
        << CsvNumber(frame.l2_mm) << "," << CsvNumber(frame.nc) << ","
        << CsvNumber(frame.precision) << "," << CsvNumber(frame.wide_precision) << ","
        << CsvNumber(frame.vertex_error_mean_mm) << "," << CsvNumber(frame.vertex_error_median_mm)
        << "," << CsvNumber(frame.vertex_error_p95_mm) << ","
        << CsvNumber(frame.vertex_error_max_mm) << "," << CsvNumber(frame.expression_error)
        << "\n";
  }
  return csv.str();
}

}  // namespace headtrack
