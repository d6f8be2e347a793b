#include "model/ict_importer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "headtrack/error.h"
#include "io/npz_file.h"
#include "io/obj_io.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kNeutralFile[] = "generic_neutral_mesh.obj";
constexpr char kIndicesFile[] = "vertex_indices.json";
constexpr int kIctObjVertexCount = 26719;  // every ICT-FaceKit OBJ, helper meshes included
constexpr int kLandmarkCount = 68;
constexpr double kCentimetresPerMetre = 100.0;
constexpr int kNameWidth = 24;  // the shipped model stores names as "<U24"

struct Region {
  const char* name;
  int first_vertex;
  int last_vertex;
};

// ICT-FaceKit's documented vertex ranges ("Face Model Topology" in its README), in region id
// order. The vertices after the last range (lacrimal fluid, eye blend, eye occlusion, eyelashes)
// are rendering helpers and are dropped with every polygon that uses them.
constexpr std::array<Region, 9> kRegions = {{{"face", 0, 9408},
                                             {"head_neck", 9409, 11247},
                                             {"mouth_socket", 11248, 13293},
                                             {"eye_socket_left", 13294, 13677},
                                             {"eye_socket_right", 13678, 14061},
                                             {"gums_tongue", 14062, 17038},
                                             {"teeth", 17039, 21450},
                                             {"eyeball_left", 21451, 23020},
                                             {"eyeball_right", 23021, 24590}}};
constexpr int kKeptVertexCount = kRegions.back().last_vertex + 1;

// Strings as NumPy "<U{n}" with n at least kNameWidth, as the shipped model stores them.
NpyArray NameArray(const std::vector<std::string>& names) {
  NpyArray array = NpyArray::FromStrings(names);
  const size_t width = std::stoul(array.dtype.substr(2));
  if (width >= kNameWidth) return array;
  std::vector<char> data(names.size() * kNameWidth * 4, '\0');
  for (size_t i = 0; i < names.size(); ++i) {
    std::memcpy(data.data() + i * kNameWidth * 4, array.data.data() + i * width * 4, width * 4);
  }
  array.dtype = "<U" + std::to_string(kNameWidth);
  array.data = std::move(data);
  return array;
}

template <typename T>
NpyArray Array(const std::vector<T>& values, std::vector<int64_t> shape) {
  return NpyArray::FromData(values.data(), std::move(shape));
}

// The fields of vertex_indices.json that the model keeps.
struct IctIndices {
  std::vector<std::string> expressions;
  std::vector<int32_t> landmarks;
  std::vector<int32_t> fitting_vertices;
  std::vector<int32_t> rigid_vertices;
};

const json& Field(const json& root, const char* field, const std::string& source) {
  if (!root.is_object() || !root.contains(field)) {
    HT_THROW_INPUT(source, "missing field '" << field << "'");
  }
  const json& value = root.at(field);
  if (!value.is_array()) HT_THROW_INPUT(source, "field '" << field << "' is not a list");
  return value;
}

std::vector<int32_t> VertexList(const json& root, const char* field, const std::string& source) {
  std::vector<int32_t> vertices;
  for (const json& item : Field(root, field, source)) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 ||
        item.get<int64_t>() >= kKeptVertexCount) {
      HT_THROW_INPUT(source, "field '" << field << "' holds " << item.dump()
                                       << ", expected vertex indices in [0, " << kKeptVertexCount
                                       << ")");
    }
    vertices.push_back(static_cast<int32_t>(item.get<int64_t>()));
  }
  return vertices;
}

IctIndices ReadIndices(const fs::path& path) {
  const std::string source = path.string();
  if (!fs::is_regular_file(path)) {
    HT_THROW_INPUT(source, "no such file (ICT-FaceKit vertex indices)");
  }
  const std::vector<char> bytes = ReadFileBytes(path);
  json root;
  try {
    root = json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& error) {
    HT_THROW_INPUT(source, "not valid JSON: " << error.what());
  }
  IctIndices indices;
  std::set<std::string> seen;
  for (const json& item : Field(root, "expressions", source)) {
    const std::string name = item.is_string() ? item.get<std::string>() : std::string();
    if (name.empty() || name.find_first_of("/\\") != std::string::npos ||
        !seen.insert(name).second) {
      HT_THROW_INPUT(source,
                     "field 'expressions' holds " << item.dump() << ", expected unique file stems");
    }
    indices.expressions.push_back(name);
  }
  indices.landmarks = VertexList(root, "idx_to_landmark_verts", source);
  if (indices.landmarks.size() != kLandmarkCount) {
    HT_THROW_INPUT(source, "field 'idx_to_landmark_verts' has " << indices.landmarks.size()
                                                                << " entries, expected "
                                                                << kLandmarkCount);
  }
  indices.fitting_vertices = VertexList(root, "idx_to_fitting_verts", source);
  indices.rigid_vertices = VertexList(root, "idx_to_rigid_verts", source);
  return indices;
}

ObjData ReadIctObj(const fs::path& path) {
  ObjData obj = ReadObjData(path);
  if (obj.positions.rows() != kIctObjVertexCount) {
    HT_THROW_INPUT(path.string(), "has " << obj.positions.rows() << " vertices, expected "
                                         << kIctObjVertexCount << " (the ICT-FaceKit topology of "
                                         << kNeutralFile << ")");
  }
  return obj;
}

// Triangles of the kept polygons, fan-triangulated in file order: polygon (p0, p1, ..., pn-1)
// becomes (p0, pj, pj+1) for j = 1 .. n-2. A triangle's region is the largest region id among
// the vertices of its polygon.
struct Triangulation {
  std::vector<int32_t> faces;     // F x 3
  std::vector<int32_t> faces_uv;  // F x 3
  std::vector<int8_t> regions;    // F
};

Triangulation Triangulate(const ObjData& neutral, const std::vector<int8_t>& vertex_region,
                          const std::string& source) {
  Triangulation result;
  for (size_t i = 0; i < neutral.polygons.size(); ++i) {
    const ObjData::Polygon& polygon = neutral.polygons[i];
    const std::vector<int>& p = polygon.position;
    const std::vector<int>& t = polygon.texcoord;
    const auto kept = std::count_if(p.begin(), p.end(), [](int v) { return v < kKeptVertexCount; });
    if (kept == 0) continue;
    if (kept != static_cast<std::ptrdiff_t>(p.size())) {
      HT_THROW_INPUT(source, "polygon " << i << " uses vertices on both sides of "
                                        << kKeptVertexCount
                                        << ", expected the ICT-FaceKit topology");
    }
    if (p.size() < 3 || t.size() != p.size()) {
      HT_THROW_INPUT(source, "polygon " << i << " has " << p.size() << " vertices and " << t.size()
                                        << " texture coordinates, expected at least 3 of each");
    }
    int8_t region = 0;
    for (int v : p) region = std::max(region, vertex_region[v]);
    for (size_t j = 1; j + 1 < p.size(); ++j) {
      result.faces.insert(result.faces.end(), {p[0], p[j], p[j + 1]});
      result.faces_uv.insert(result.faces_uv.end(), {t[0], t[j], t[j + 1]});
      result.regions.push_back(region);
    }
  }
  return result;
}

// One basis column: the OBJ `name`.obj goes to column `column` of a 3V x `columns` matrix.
struct Mode {
  std::string name;
  std::vector<float>* basis;
  int columns;
  int column;
};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

void IctImportOptions::Check() const { HT_CHECK(!folder.empty(), "no FaceXModel folder given"); }

std::string IctImportSummary::Report() const {
  std::ostringstream out;
  out << "imported " << num_vertices << " vertices, " << num_triangles << " triangles, "
      << modes_found.size() << " of " << modes_found.size() + modes_missing.size() << " modes in "
      << std::fixed << std::setprecision(1) << seconds << " s";
  if (!modes_missing.empty()) {
    out << "\nwarning: " << modes_missing.size()
        << " modes missing, their basis columns are zero: " << JoinNames(modes_missing);
  }
  return out.str();
}

IctImportResult ImportIctFaceKit(const IctImportOptions& options) {
  options.Check();
  const Stopwatch stopwatch;
  const fs::path& folder = options.folder;
  if (!fs::is_directory(folder)) {
    HT_THROW_INPUT(folder.string(), "no such folder (expected ICT-FaceKit's FaceXModel folder)");
  }
  const fs::path neutral_path = folder / kNeutralFile;
  if (!fs::is_regular_file(neutral_path)) {
    HT_THROW_INPUT(neutral_path.string(), "no such file (ICT-FaceKit neutral mesh)");
  }
  const IctIndices indices = ReadIndices(folder / kIndicesFile);
  const ObjData neutral = ReadIctObj(neutral_path);
  const std::string neutral_source = neutral_path.string();

  const int num_vertices = kKeptVertexCount;
  std::vector<int8_t> vertex_region(num_vertices);
  for (size_t r = 0; r < kRegions.size(); ++r) {
    std::fill(vertex_region.begin() + kRegions[r].first_vertex,
              vertex_region.begin() + kRegions[r].last_vertex + 1, static_cast<int8_t>(r));
  }
  const Triangulation triangulation = Triangulate(neutral, vertex_region, neutral_source);
  const int64_t num_triangles = static_cast<int64_t>(triangulation.regions.size());

  // Centimetres (OBJ) to metres in double, then rounded once to float.
  std::vector<float> v_template(num_vertices * 3);
  for (int v = 0; v < num_vertices; ++v) {
    for (int c = 0; c < 3; ++c) {
      v_template[v * 3 + c] = static_cast<float>(neutral.positions(v, c) / kCentimetresPerMetre);
    }
  }
  const int64_t num_uv = neutral.texcoords.rows();
  std::vector<float> uv(num_uv * 2);
  for (int64_t i = 0; i < num_uv; ++i) {
    for (int c = 0; c < 2; ++c) uv[i * 2 + c] = static_cast<float>(neutral.texcoords(i, c));
  }

  // Identity and expression bases, 3V x K row-major (NumPy (V, 3, K)); missing modes stay zero.
  const int num_expressions = static_cast<int>(indices.expressions.size());
  std::vector<float> shapedirs(static_cast<size_t>(num_vertices) * 3 * kIctIdentityCount, 0.0f);
  std::vector<float> exprdirs(static_cast<size_t>(num_vertices) * 3 * num_expressions, 0.0f);
  std::vector<Mode> modes;
  for (int k = 0; k < kIctIdentityCount; ++k) {
    char name[16];
    std::snprintf(name, sizeof(name), "identity%03d", k);
    modes.push_back({name, &shapedirs, kIctIdentityCount, k});
  }
  for (int k = 0; k < num_expressions; ++k) {
    modes.push_back({indices.expressions[k], &exprdirs, num_expressions, k});
  }
  IctImportSummary summary;
  std::vector<Mode> found;
  for (const Mode& mode : modes) {
    if (fs::is_regular_file(folder / (mode.name + ".obj"))) {
      found.push_back(mode);
      summary.modes_found.push_back(mode.name);
    } else {
      summary.modes_missing.push_back(mode.name);
    }
  }
  if (!summary.modes_missing.empty() && !options.allow_missing) {
    HT_THROW_INPUT(folder.string(), summary.modes_missing.size()
                                        << " of " << modes.size()
                                        << " mode OBJ files are missing (--allow-missing imports "
                                           "them as zero columns): "
                                        << JoinNames(summary.modes_missing));
  }

  // The deltas, (mode - neutral) / 100 in double, then rounded once to float: this reproduces
  // the shipped model bit for bit (also its -0.0 where a coordinate changes from 0 to -0).
  std::optional<Progress> progress;
  if (!found.empty()) {
    progress.emplace("reading ICT-FaceKit modes", static_cast<long>(found.size()), "meshes");
  }
  std::vector<std::exception_ptr> errors(found.size());
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < static_cast<int>(found.size()); ++i) {
    const Mode& mode = found[i];
    try {
      const ObjData obj = ReadIctObj(folder / (mode.name + ".obj"));
      float* basis = mode.basis->data();
      for (int v = 0; v < num_vertices; ++v) {
        for (int c = 0; c < 3; ++c) {
          const double delta = obj.positions(v, c) - neutral.positions(v, c);
          basis[static_cast<size_t>(v * 3 + c) * mode.columns + mode.column] =
              static_cast<float>(delta / kCentimetresPerMetre);
        }
      }
    } catch (...) {
      errors[i] = std::current_exception();
    }
#pragma omp critical(headtrack_ict_progress)
    progress->Advance();
  }
  if (progress) progress->Finish();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }

  std::vector<std::string> region_names;
  for (const Region& region : kRegions) region_names.push_back(region.name);
  const auto count = [](const auto& values) { return static_cast<int64_t>(values.size()); };

  IctImportResult result;
  result.arrays = {
      {"v_template", Array(v_template, {num_vertices, 3})},
      {"faces", Array(triangulation.faces, {num_triangles, 3})},
      {"uv", Array(uv, {num_uv, 2})},
      {"faces_uv", Array(triangulation.faces_uv, {num_triangles, 3})},
      {"shapedirs", Array(shapedirs, {num_vertices, 3, kIctIdentityCount})},
      {"exprdirs", Array(exprdirs, {num_vertices, 3, num_expressions})},
      {"expr_names", NameArray(indices.expressions)},
      {"region_names", NameArray(region_names)},
      {"vertex_region", Array(vertex_region, {num_vertices})},
      {"face_region", Array(triangulation.regions, {num_triangles})},
      {"landmarks_ibug68", Array(indices.landmarks, {count(indices.landmarks)})},
      {"fitting_vertices", Array(indices.fitting_vertices, {count(indices.fitting_vertices)})},
      {"rigid_vertices", Array(indices.rigid_vertices, {count(indices.rigid_vertices)})},
  };
  summary.num_vertices = num_vertices;
  summary.num_triangles = static_cast<int>(num_triangles);
  summary.seconds = stopwatch.seconds();
  result.summary = std::move(summary);
  return result;
}

void WriteIctModel(const fs::path& path, const IctImportResult& result) {
  WriteNpz(path, result.arrays, /*compress=*/true);
}

}  // namespace headtrack
