#include "io/obj_io.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/text_parsing.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

using internal::NextLine;
using internal::NextToken;
using internal::ParseNumber;

using RowMajorX2d = Eigen::Matrix<double, Eigen::Dynamic, 2, Eigen::RowMajor>;

class ObjParser {
 public:
  explicit ObjParser(std::string source) : source_(std::move(source)) {}

  ObjData Parse(std::string_view text) {
    // Some exporters pad the end with NUL bytes (LeePerrySmith.obj, from ZBrush, ends in one).
    while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
    if (text.find('\0') != std::string_view::npos) {
      HT_THROW_INPUT(source_, "contains binary data (a NUL byte); expected an OBJ text file");
    }
    for (line_number_ = 1; !text.empty(); ++line_number_) {
      std::string_view line = NextLine(text);
      line = line.substr(0, line.find('#'));
      const std::string_view keyword = NextToken(line);
      if (keyword == "v") {
        ParseVertex(line);
      } else if (keyword == "vt") {
        ParseTexcoord(line);
      } else if (keyword == "vn") {
        ParseNormal(line);
      } else if (keyword == "f") {
        ParseFace(line);
      } else if (keyword == "usemtl") {
        ParseUseMaterial(line);
      }
      // Everything else (o, g, s, mtllib, l, p, free-form geometry) carries nothing we keep.
    }
    if (positions_.empty()) {
      HT_THROW_INPUT(source_, "has no vertices ('v' lines); expected an OBJ mesh");
    }
    const auto rows = [](const std::vector<double>& values, Eigen::Index columns) {
      return static_cast<Eigen::Index>(values.size()) / columns;
    };
    data_.positions = Eigen::Map<const Points3d>(positions_.data(), rows(positions_, 3), 3);
    if (all_colored_) {
      data_.colors = Eigen::Map<const Points3d>(colors_.data(), rows(colors_, 3), 3);
    }
    data_.texcoords = Eigen::Map<const RowMajorX2d>(texcoords_.data(), rows(texcoords_, 2), 2);
    data_.normals = Eigen::Map<const Points3d>(normals_.data(), rows(normals_, 3), 3);
    return std::move(data_);
  }

 private:
  [[noreturn]] void Fail(const std::string& problem) const {
    HT_THROW_INPUT(source_, "line " << line_number_ << ": " << problem);
  }

  // The numbers of the rest of a line, at most values.size() of them; returns how many.
  template <size_t N>
  int ParseNumbers(std::string_view line, std::array<double, N>& values) const {
    int count = 0;
    for (std::string_view token = NextToken(line); !token.empty(); token = NextToken(line)) {
      if (count == static_cast<int>(N)) Fail("too many values");
      if (!ParseNumber(token, values[count])) {
        Fail("expected a number, found '" + std::string(token) + "'");
      }
      ++count;
    }
    return count;
  }

  bool AllFinite(const double* values, int count) const {
    return std::all_of(values, values + count, [](double value) { return std::isfinite(value); });
  }

  void ParseVertex(std::string_view line) {
    std::array<double, 6> values{};
    const int count = ParseNumbers(line, values);
    if (count != 3 && count != 4 && count != 6) {
      Fail("expected 'v x y z', 'v x y z w' or 'v x y z r g b', found " + std::to_string(count) +
           " values");
    }
    const size_t vertex = positions_.size() / 3;
    if (!AllFinite(values.data(), count)) {
      Fail("vertex " + std::to_string(vertex) + " has a non-finite coordinate");
    }
    positions_.insert(positions_.end(), values.begin(), values.begin() + 3);
    // Colors are kept only when every vertex has one; zeros keep the rows aligned until then.
    all_colored_ = all_colored_ && count == 6;
    colors_.insert(colors_.end(), values.begin() + 3, values.end());
  }

  void ParseTexcoord(std::string_view line) {
    std::array<double, 3> values{};
    const int count = ParseNumbers(line, values);
    if (count < 1) Fail("expected 'vt u [v [w]]'");
    if (!AllFinite(values.data(), count)) {
      Fail("texture coordinate " + std::to_string(texcoords_.size() / 2) + " is not finite");
    }
    texcoords_.insert(texcoords_.end(), values.begin(), values.begin() + 2);
  }

  void ParseNormal(std::string_view line) {
    std::array<double, 3> values{};
    if (ParseNumbers(line, values) != 3) Fail("expected 'vn x y z'");
    if (!AllFinite(values.data(), 3)) {
      Fail("normal " + std::to_string(normals_.size() / 3) + " is not finite");
    }
    normals_.insert(normals_.end(), values.begin(), values.end());
  }

  // A 1-based (or, when negative, relative to the end) reference to one of the `defined`
  // elements so far, as a 0-based index.
  int ResolveIndex(std::string_view text, size_t defined, const char* kind,
                   std::string_view corner) const {
    int value = 0;
    if (!ParseNumber(text, value) || value == 0) {
      Fail("bad face corner '" + std::string(corner) + "'; expected v, v/vt, v//vn or v/vt/vn " +
           "with non-zero indices");
    }
    const int64_t index = value > 0 ? int64_t{value} - 1 : static_cast<int64_t>(defined) + value;
    if (index < 0 || index >= static_cast<int64_t>(defined)) {
      Fail("face refers to " + std::string(kind) + " " + std::to_string(value) + " but " +
           std::to_string(defined) + " are defined before it");
    }
    return static_cast<int>(index);
  }

  void ParseFace(std::string_view line) {
    ObjData::Polygon polygon;
    polygon.material = material_;
    for (std::string_view corner = NextToken(line); !corner.empty(); corner = NextToken(line)) {
      // Split "v", "v/vt", "v//vn" or "v/vt/vn" at the slashes.
      std::array<std::string_view, 3> parts;
      int part_count = 0;
      for (std::string_view rest = corner;; ++part_count) {
        if (part_count == 3) Fail("bad face corner '" + std::string(corner) + "'");
        const size_t slash = rest.find('/');
        parts[part_count] = rest.substr(0, slash);
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
      }
      const bool has_texcoord = part_count >= 1 && !parts[1].empty();
      const bool has_normal = part_count == 2;
      if (!polygon.position.empty() &&
          (has_texcoord != !polygon.texcoord.empty() || has_normal != !polygon.normal.empty())) {
        Fail("face mixes corners with and without texture coordinates or normals");
      }
      polygon.position.push_back(ResolveIndex(parts[0], positions_.size() / 3, "vertex", corner));
      if (has_texcoord) {
        polygon.texcoord.push_back(
            ResolveIndex(parts[1], texcoords_.size() / 2, "texture coordinate", corner));
      }
      if (has_normal) {
        polygon.normal.push_back(ResolveIndex(parts[2], normals_.size() / 3, "normal", corner));
      }
    }
    if (polygon.position.size() < 3) {
      Fail("face has " + std::to_string(polygon.position.size()) + " corners; expected at least 3");
    }
    data_.polygons.push_back(std::move(polygon));
  }

  void ParseUseMaterial(std::string_view line) {
    const std::string name(NextToken(line));
    const auto it = std::find(data_.materials.begin(), data_.materials.end(), name);
    material_ = static_cast<int>(it - data_.materials.begin());
    if (it == data_.materials.end()) data_.materials.push_back(name);
  }

  std::string source_;
  int64_t line_number_ = 0;
  std::vector<double> positions_, colors_, texcoords_, normals_;
  bool all_colored_ = true;
  int material_ = -1;
  ObjData data_;
};

template <typename T>
void AppendNumber(std::string& out, T value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.push_back(' ');
  out.append(buffer, result.ptr);
}

}  // namespace

ObjData ReadObjData(const fs::path& path) {
  const std::vector<char> bytes = ReadFileBytes(path);
  return ObjParser(path.string()).Parse(std::string_view(bytes.data(), bytes.size()));
}

TriangleMesh ReadObj(const fs::path& path) {
  const ObjData data = ReadObjData(path);
  TriangleMesh mesh;
  mesh.vertices = data.positions.cast<float>();
  if (data.colors.rows() > 0) {
    mesh.colors = (data.colors.array() * 255.0).round().max(0.0).min(255.0).cast<uint8_t>();
  }

  Eigen::Index triangle_count = 0;
  bool normals_per_vertex = data.normals.rows() == data.positions.rows();
  for (const ObjData::Polygon& polygon : data.polygons) {
    triangle_count += static_cast<Eigen::Index>(polygon.position.size()) - 2;
    normals_per_vertex = normals_per_vertex && polygon.normal == polygon.position;
  }
  mesh.faces.resize(triangle_count, 3);
  Eigen::Index f = 0;
  for (const ObjData::Polygon& polygon : data.polygons) {
    for (size_t k = 1; k + 1 < polygon.position.size(); ++k, ++f) {
      mesh.faces.row(f) << polygon.position[0], polygon.position[k], polygon.position[k + 1];
    }
  }
  if (normals_per_vertex) mesh.normals = data.normals.cast<float>();
  return mesh;
}

void WriteObj(const fs::path& path, const TriangleMesh& mesh) {
  mesh.CheckConsistent();
  std::string out = "# written by headtrack\n";
  for (int v = 0; v < mesh.num_vertices(); ++v) {
    out += 'v';
    for (int c = 0; c < 3; ++c) AppendNumber(out, mesh.vertices(v, c));
    if (mesh.has_colors()) {
      for (int c = 0; c < 3; ++c) AppendNumber(out, mesh.colors(v, c) / 255.0f);
    }
    out += '\n';
  }
  for (int v = 0; v < mesh.num_vertices() && mesh.has_normals(); ++v) {
    out += "vn";
    for (int c = 0; c < 3; ++c) AppendNumber(out, mesh.normals(v, c));
    out += '\n';
  }
  for (int f = 0; f < mesh.num_faces(); ++f) {
    out += 'f';
    for (int c = 0; c < 3; ++c) {
      const std::string index = std::to_string(mesh.faces(f, c) + 1);
      out += ' ' + index;
      if (mesh.has_normals()) out += "//" + index;
    }
    out += '\n';
  }
  WriteFileAtomically(path, [&](std::ostream& stream) { stream.write(out.data(), out.size()); });
}

}  // namespace headtrack
