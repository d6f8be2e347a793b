#include "io/ply_io.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/text_parsing.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

using internal::NextLine;
using internal::NextToken;
using internal::ParseNumber;

static_assert(std::endian::native == std::endian::little,
              "binary PLY data is copied with memcpy on a little-endian host");

enum class PlyType { kInt8, kUint8, kInt16, kUint16, kInt32, kUint32, kFloat32, kFloat64 };

size_t TypeSize(PlyType type) {
  switch (type) {
    case PlyType::kInt8:
    case PlyType::kUint8:
      return 1;
    case PlyType::kInt16:
    case PlyType::kUint16:
      return 2;
    case PlyType::kInt32:
    case PlyType::kUint32:
    case PlyType::kFloat32:
      return 4;
    case PlyType::kFloat64:
      return 8;
  }
  return 0;
}

bool IsFloat(PlyType type) { return type == PlyType::kFloat32 || type == PlyType::kFloat64; }

// The original type names and the sized ones that later writers use.
std::optional<PlyType> ParseType(std::string_view name) {
  static constexpr std::pair<std::string_view, PlyType> kNames[] = {
      {"char", PlyType::kInt8},      {"int8", PlyType::kInt8},       {"uchar", PlyType::kUint8},
      {"uint8", PlyType::kUint8},    {"short", PlyType::kInt16},     {"int16", PlyType::kInt16},
      {"ushort", PlyType::kUint16},  {"uint16", PlyType::kUint16},   {"int", PlyType::kInt32},
      {"int32", PlyType::kInt32},    {"uint", PlyType::kUint32},     {"uint32", PlyType::kUint32},
      {"float", PlyType::kFloat32},  {"float32", PlyType::kFloat32}, {"double", PlyType::kFloat64},
      {"float64", PlyType::kFloat64}};
  for (const auto& [type_name, type] : kNames) {
    if (name == type_name) return type;
  }
  return std::nullopt;
}

struct PlyProperty {
  std::string name;
  PlyType type = PlyType::kFloat32;        // the value type, or the item type of a list
  std::optional<PlyType> list_count_type;  // set for list properties
};

struct PlyElement {
  std::string name;
  int64_t count = 0;
  std::vector<PlyProperty> properties;
};

enum class PlyEncoding { kAscii, kBinaryLittleEndian, kBinaryBigEndian };

struct PlyHeader {
  PlyEncoding encoding = PlyEncoding::kAscii;
  std::vector<PlyElement> elements;
};

[[noreturn]] void ThrowHeaderError(const std::string& source, int line_number,
                                   const std::string& problem) {
  HT_THROW_INPUT(source, "PLY header line " << line_number << ": " << problem);
}

PlyType ParseTypeOrThrow(std::string_view name, const std::string& source, int line_number) {
  const std::optional<PlyType> type = ParseType(name);
  if (!type) {
    ThrowHeaderError(source, line_number,
                     "unknown property type '" + std::string(name) +
                         "'; expected char, uchar, short, ushort, int, uint, float, double or "
                         "their sized names (int8 ... float64)");
  }
  return *type;
}

// Parses the header off the front of `text`, which then holds the data.
PlyHeader ParseHeader(std::string_view& text, const std::string& source) {
  if (NextLine(text) != "ply") {
    HT_THROW_INPUT(source, "not a PLY file (the first line is not 'ply')");
  }
  PlyHeader header;
  bool has_format = false;
  for (int line_number = 2;; ++line_number) {
    if (text.empty()) {
      HT_THROW_INPUT(source, "the PLY header has no 'end_header' line (truncated file?)");
    }
    std::string_view line = NextLine(text);
    const std::string_view keyword = NextToken(line);
    if (keyword == "end_header") break;
    if (keyword.empty() || keyword == "comment" || keyword == "obj_info") continue;
    if (keyword == "format") {
      const std::string_view name = NextToken(line);
      if (name == "ascii") {
        header.encoding = PlyEncoding::kAscii;
      } else if (name == "binary_little_endian") {
        header.encoding = PlyEncoding::kBinaryLittleEndian;
      } else if (name == "binary_big_endian") {
        header.encoding = PlyEncoding::kBinaryBigEndian;
      } else {
        ThrowHeaderError(source, line_number,
                         "unknown format '" + std::string(name) +
                             "'; expected ascii, binary_little_endian or binary_big_endian");
      }
      if (NextToken(line) != "1.0") ThrowHeaderError(source, line_number, "expected version 1.0");
      has_format = true;
    } else if (keyword == "element") {
      PlyElement element;
      element.name = NextToken(line);
      if (!ParseNumber(NextToken(line), element.count) || element.count < 0 ||
          element.name.empty()) {
        ThrowHeaderError(source, line_number, "expected 'element <name> <count >= 0>'");
      }
      header.elements.push_back(std::move(element));
    } else if (keyword == "property") {
      if (header.elements.empty()) {
        ThrowHeaderError(source, line_number, "'property' before any 'element'");
      }
      PlyProperty property;
      std::string_view type_name = NextToken(line);
      if (type_name == "list") {
        property.list_count_type = ParseTypeOrThrow(NextToken(line), source, line_number);
        if (IsFloat(*property.list_count_type)) {
          ThrowHeaderError(source, line_number, "a list count must have an integer type");
        }
        type_name = NextToken(line);
      }
      property.type = ParseTypeOrThrow(type_name, source, line_number);
      property.name = NextToken(line);
      if (property.name.empty()) ThrowHeaderError(source, line_number, "property without a name");
      header.elements.back().properties.push_back(std::move(property));
    } else {
      ThrowHeaderError(source, line_number,
                       "unknown keyword '" + std::string(keyword) +
                           "'; expected format, element, property, comment or end_header");
    }
  }
  if (!has_format) HT_THROW_INPUT(source, "the PLY header has no 'format' line");
  return header;
}

// Reads the values of the data section one at a time, as ASCII tokens or binary numbers, and
// names the element and row in its errors.
class PlyDataCursor {
 public:
  PlyDataCursor(std::string_view data, PlyEncoding encoding, const std::string& source)
      : data_(data), encoding_(encoding), source_(source) {}

  void SetRow(const PlyElement& element, int64_t row) {
    element_ = &element;
    row_ = row;
  }

  size_t bytes_left() const { return data_.size(); }

  // In ASCII files, values left after the last element mean the rows were not what the header
  // says (binary files may carry padding).
  void CheckNothingLeft() {
    if (encoding_ == PlyEncoding::kAscii && !NextToken(data_).empty()) {
      HT_THROW_INPUT(source_, "more values than the header declares (a row with extra values?)");
    }
  }

  double Read(PlyType type) {
    if (encoding_ == PlyEncoding::kAscii) {
      const std::string_view token = NextToken(data_);
      if (token.empty()) Fail("the data ends early (truncated file?)");
      double value = 0.0;
      if (!ParseNumber(token, value)) Fail("expected a number, found '" + std::string(token) + "'");
      return value;
    }
    const size_t size = TypeSize(type);
    if (data_.size() < size) Fail("the data ends early (truncated file?)");
    std::array<char, 8> bytes;
    std::memcpy(bytes.data(), data_.data(), size);
    data_.remove_prefix(size);
    if (encoding_ == PlyEncoding::kBinaryBigEndian) std::reverse(bytes.data(), bytes.data() + size);
    switch (type) {
      case PlyType::kInt8:
        return Load<int8_t>(bytes);
      case PlyType::kUint8:
        return Load<uint8_t>(bytes);
      case PlyType::kInt16:
        return Load<int16_t>(bytes);
      case PlyType::kUint16:
        return Load<uint16_t>(bytes);
      case PlyType::kInt32:
        return Load<int32_t>(bytes);
      case PlyType::kUint32:
        return Load<uint32_t>(bytes);
      case PlyType::kFloat32:
        return Load<float>(bytes);
      case PlyType::kFloat64:
        return Load<double>(bytes);
    }
    return 0.0;
  }

  // The length of a list: a non-negative integer.
  int64_t ReadCount(PlyType type) {
    const double count = Read(type);
    if (!(count >= 0 && count <= std::numeric_limits<int32_t>::max()) ||
        count != std::floor(count)) {
      Fail("invalid list length " + std::to_string(count));
    }
    return static_cast<int64_t>(count);
  }

  void Skip(const PlyProperty& property) {
    const int64_t count = property.list_count_type ? ReadCount(*property.list_count_type) : 1;
    for (int64_t i = 0; i < count; ++i) Read(property.type);
  }

  [[noreturn]] void Fail(const std::string& problem) const {
    HT_THROW_INPUT(source_, "element '" << (element_ ? element_->name : "") << "' row " << row_
                                        << ": " << problem);
  }

 private:
  template <typename T>
  static double Load(const std::array<char, 8>& bytes) {
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return static_cast<double>(value);
  }

  std::string_view data_;
  PlyEncoding encoding_;
  const std::string& source_;
  const PlyElement* element_ = nullptr;
  int64_t row_ = 0;
};

// What the readers keep of a PLY file.
struct PlyContents {
  Points3f vertices;
  Points3f normals;
  Colors3u8 colors;
  std::vector<int32_t> triangles;  // 3 indices per triangle
};

uint8_t ToColor(double value, PlyType type) {
  if (IsFloat(type)) value *= 255.0;
  if (!std::isfinite(value)) return 0;
  return static_cast<uint8_t>(std::clamp(std::round(value), 0.0, 255.0));
}

void ReadVertices(const PlyElement& element, PlyDataCursor& cursor, PlyContents& contents) {
  // Each property's slot: 0-2 position, 3-5 normal, 6-8 color, -1 skipped.
  static constexpr std::array<std::string_view, 9> kSlotNames = {"x",  "y",   "z",     "nx",  "ny",
                                                                 "nz", "red", "green", "blue"};
  std::vector<int> slots(element.properties.size(), -1);
  std::array<const PlyProperty*, 9> by_slot{};
  for (size_t p = 0; p < slots.size(); ++p) {
    const PlyProperty& property = element.properties[p];
    const auto it = std::find(kSlotNames.begin(), kSlotNames.end(), property.name);
    if (it == kSlotNames.end() || property.list_count_type) continue;
    slots[p] = static_cast<int>(it - kSlotNames.begin());
    by_slot[slots[p]] = &property;
  }
  const auto has_group = [&](int first) {
    return by_slot[first] && by_slot[first + 1] && by_slot[first + 2];
  };
  if (!has_group(0)) cursor.Fail("the vertex element has no x, y and z properties");
  const bool has_normals = has_group(3);
  const bool has_colors = has_group(6);
  for (int& slot : slots) {
    if ((slot >= 3 && slot < 6 && !has_normals) || (slot >= 6 && !has_colors)) slot = -1;
  }

  const Eigen::Index n = element.count;
  contents.vertices.resize(n, 3);
  if (has_normals) contents.normals.resize(n, 3);
  if (has_colors) contents.colors.resize(n, 3);
  std::array<double, 9> values{};
  for (Eigen::Index row = 0; row < n; ++row) {
    cursor.SetRow(element, row);
    for (size_t p = 0; p < slots.size(); ++p) {
      if (slots[p] < 0) {
        cursor.Skip(element.properties[p]);
      } else {
        values[slots[p]] = cursor.Read(element.properties[p].type);
      }
    }
    for (int c = 0; c < 3; ++c) {
      contents.vertices(row, c) = static_cast<float>(values[c]);
      if (has_normals) contents.normals(row, c) = static_cast<float>(values[3 + c]);
      if (has_colors) contents.colors(row, c) = ToColor(values[6 + c], by_slot[6 + c]->type);
    }
    if (!contents.vertices.row(row).allFinite()) {
      cursor.Fail("vertex " + std::to_string(row) + " has a non-finite coordinate");
    }
    if (has_normals && !contents.normals.row(row).allFinite()) {
      cursor.Fail("vertex " + std::to_string(row) + " has a non-finite normal");
    }
  }
}

void ReadFaces(const PlyElement& element, int64_t vertex_count, PlyDataCursor& cursor,
               PlyContents& contents) {
  const auto is_index_list = [](const PlyProperty& property) {
    return property.list_count_type && !IsFloat(property.type) &&
           (property.name == "vertex_indices" || property.name == "vertex_index");
  };
  const auto index_list =
      std::find_if(element.properties.begin(), element.properties.end(), is_index_list);
  if (index_list == element.properties.end()) {
    cursor.Fail("the face element has no integer list property 'vertex_indices' or 'vertex_index'");
  }
  contents.triangles.reserve(3 * element.count);
  std::vector<int32_t> polygon;
  for (int64_t row = 0; row < element.count; ++row) {
    cursor.SetRow(element, row);
    for (const PlyProperty& property : element.properties) {
      if (&property != &*index_list) {
        cursor.Skip(property);
        continue;
      }
      const int64_t corners = cursor.ReadCount(*property.list_count_type);
      if (corners < 3) {
        cursor.Fail("face " + std::to_string(row) + " has " + std::to_string(corners) +
                    " vertices; expected at least 3");
      }
      polygon.clear();
      for (int64_t k = 0; k < corners; ++k) {
        const double index = cursor.Read(property.type);
        if (!(index >= 0 && index < static_cast<double>(vertex_count))) {
          cursor.Fail("face " + std::to_string(row) + " refers to vertex " +
                      std::to_string(static_cast<int64_t>(index)) + " but the file has " +
                      std::to_string(vertex_count) + " vertices");
        }
        polygon.push_back(static_cast<int32_t>(index));
      }
      for (size_t k = 1; k + 1 < polygon.size(); ++k) {
        contents.triangles.insert(contents.triangles.end(),
                                  {polygon[0], polygon[k], polygon[k + 1]});
      }
    }
  }
}

PlyContents ParsePly(const fs::path& path) {
  const std::string source = path.string();
  const std::vector<char> bytes = ReadFileBytes(path);
  std::string_view text(bytes.data(), bytes.size());
  const PlyHeader header = ParseHeader(text, source);
  const auto vertex_element =
      std::find_if(header.elements.begin(), header.elements.end(),
                   [](const PlyElement& element) { return element.name == "vertex"; });
  if (vertex_element == header.elements.end()) {
    HT_THROW_INPUT(source, "the PLY file has no 'vertex' element");
  }
  if (vertex_element->count > std::numeric_limits<int32_t>::max()) {
    HT_THROW_INPUT(source, "too many vertices (" << vertex_element->count << ")");
  }

  PlyContents contents;
  PlyDataCursor cursor(text, header.encoding, source);
  for (const PlyElement& element : header.elements) {
    cursor.SetRow(element, 0);
    // Every row of an element with properties takes at least one byte: a cheap check that
    // keeps a corrupt count from allocating gigabytes.
    if (!element.properties.empty() && static_cast<uint64_t>(element.count) > cursor.bytes_left()) {
      cursor.Fail("the header declares " + std::to_string(element.count) + " rows but only " +
                  std::to_string(cursor.bytes_left()) +
                  " bytes of data are left (truncated file?)");
    }
    if (&element == &*vertex_element) {
      ReadVertices(element, cursor, contents);
    } else if (element.name == "face") {
      ReadFaces(element, vertex_element->count, cursor, contents);
    } else {
      for (int64_t row = 0; row < element.count; ++row) {
        cursor.SetRow(element, row);
        for (const PlyProperty& property : element.properties) cursor.Skip(property);
      }
    }
  }
  cursor.CheckNothingLeft();
  return contents;
}

template <typename T>
void AppendBinary(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Floats in the shortest form that reads back exactly; bytes as numbers, not characters.
template <typename T>
void AppendText(std::string& out, T value, char separator) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), +value);
  out.append(buffer, result.ptr);
  out.push_back(separator);
}

// Writes the vertices (with normals and colors when present) and, with `with_faces`, a face
// element.
void WritePlyContents(const fs::path& path, const TriangleMesh& mesh, PlyFormat format,
                      bool with_faces) {
  const bool ascii = format == PlyFormat::kAscii;
  std::string out = "ply\nformat ";
  out += ascii ? "ascii" : "binary_little_endian";
  out += " 1.0\ncomment written by headtrack\nelement vertex " +
         std::to_string(mesh.num_vertices()) +
         "\nproperty float x\nproperty float y\nproperty float z\n";
  if (mesh.has_normals()) out += "property float nx\nproperty float ny\nproperty float nz\n";
  if (mesh.has_colors()) out += "property uchar red\nproperty uchar green\nproperty uchar blue\n";
  if (with_faces) {
    out += "element face " + std::to_string(mesh.num_faces()) +
           "\nproperty list uchar int vertex_indices\n";
  }
  out += "end_header\n";

  // ASCII values end with `separator`; binary ones are little-endian like the host.
  const auto append = [&](auto value, char separator) {
    if (ascii) {
      AppendText(out, value, separator);
    } else {
      AppendBinary(out, value);
    }
  };
  for (int v = 0; v < mesh.num_vertices(); ++v) {
    for (int c = 0; c < 3; ++c) append(mesh.vertices(v, c), ' ');
    if (mesh.has_normals()) {
      for (int c = 0; c < 3; ++c) append(mesh.normals(v, c), ' ');
    }
    if (mesh.has_colors()) {
      for (int c = 0; c < 3; ++c) append(mesh.colors(v, c), ' ');
    }
    if (ascii) out.back() = '\n';
  }
  if (with_faces) {
    for (int f = 0; f < mesh.num_faces(); ++f) {
      append(uint8_t{3}, ' ');
      for (int c = 0; c < 3; ++c) append(mesh.faces(f, c), c < 2 ? ' ' : '\n');
    }
  }
  WriteFileAtomically(path, [&](std::ostream& stream) { stream.write(out.data(), out.size()); });
}

}  // namespace

TriangleMesh ReadPly(const fs::path& path) {
  PlyContents contents = ParsePly(path);
  TriangleMesh mesh;
  mesh.vertices = std::move(contents.vertices);
  mesh.normals = std::move(contents.normals);
  mesh.colors = std::move(contents.colors);
  mesh.faces = Eigen::Map<const Triangles>(
      contents.triangles.data(), static_cast<Eigen::Index>(contents.triangles.size() / 3), 3);
  return mesh;
}

void WritePly(const fs::path& path, const TriangleMesh& mesh, PlyFormat format) {
  mesh.CheckConsistent();
  WritePlyContents(path, mesh, format, /*with_faces=*/true);
}

PointCloud ReadPlyPointCloud(const fs::path& path) {
  PlyContents contents = ParsePly(path);
  PointCloud cloud;
  cloud.points = std::move(contents.vertices);
  cloud.normals = std::move(contents.normals);
  cloud.colors = std::move(contents.colors);
  return cloud;
}

void WritePlyPointCloud(const fs::path& path, const PointCloud& cloud, PlyFormat format) {
  const Eigen::Index n = cloud.size();
  HT_CHECK(cloud.normals.rows() == 0 || cloud.normals.rows() == n,
           "normals " << cloud.normals.rows());
  HT_CHECK(cloud.colors.rows() == 0 || cloud.colors.rows() == n, "colors " << cloud.colors.rows());
  std::vector<Eigen::Index> kept;
  kept.reserve(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (cloud.points.row(i).allFinite()) kept.push_back(i);
  }
  TriangleMesh points;  // the finite points as a mesh without faces
  points.vertices = cloud.points(kept, Eigen::all);
  if (cloud.normals.rows() > 0) points.normals = cloud.normals(kept, Eigen::all);
  if (cloud.colors.rows() > 0) points.colors = cloud.colors(kept, Eigen::all);
  WritePlyContents(path, points, format, /*with_faces=*/false);
}

}  // namespace headtrack
