#include "io/pcd_io.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/lzf.h"
#include "io/text_parsing.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

using internal::NextLine;
using internal::NextToken;
using internal::ParseNumber;

static_assert(std::endian::native == std::endian::little,
              "binary PCD data (host byte order, in practice little-endian) is read with memcpy");

constexpr uint64_t kMaxDataBytes = uint64_t{1} << 40;

struct PcdField {
  std::string name;
  int size = 0;       // bytes per value: 1, 2, 4 or 8
  char type = 0;      // 'F' float, 'I' signed, 'U' unsigned
  int count = 1;      // values per point
  size_t offset = 0;  // bytes before this field in a point record
};

enum class PcdData { kAscii, kBinary, kBinaryCompressed };

struct PcdHeader {
  std::vector<PcdField> fields;
  int64_t width = 0;
  int64_t height = 1;
  int64_t points = -1;  // -1 until read; defaults to width * height
  PcdData data = PcdData::kAscii;
  size_t point_size = 0;        // bytes per point record
  size_t values_per_point = 0;  // sum of COUNT
};

[[noreturn]] void ThrowHeaderError(const std::string& source, int line_number,
                                   const std::string& expected) {
  HT_THROW_INPUT(source, "PCD header line " << line_number << ": expected " << expected);
}

// Parses the header off the front of `text`, which then holds the data.
PcdHeader ParseHeader(std::string_view& text, const std::string& source) {
  PcdHeader header;
  std::vector<std::string_view> names, sizes, types, counts;
  bool has_width = false, has_data = false;
  for (int line_number = 1; !has_data; ++line_number) {
    if (text.empty()) HT_THROW_INPUT(source, "the PCD header has no DATA line (truncated file?)");
    std::string_view line = NextLine(text);
    const std::string_view keyword = NextToken(line);
    const auto rest = [&] {
      std::vector<std::string_view> tokens;
      for (std::string_view token = NextToken(line); !token.empty(); token = NextToken(line)) {
        tokens.push_back(token);
      }
      return tokens;
    };
    const auto count = [&](int64_t minimum) {
      int64_t value = 0;
      if (!ParseNumber(NextToken(line), value) || value < minimum ||
          value > std::numeric_limits<int32_t>::max()) {
        ThrowHeaderError(source, line_number,
                         std::string(keyword) + " <integer from " + std::to_string(minimum) +
                             " to 2^31 - 1>");
      }
      return value;
    };
    if (keyword.empty() || keyword[0] == '#' || keyword == "VERSION" || keyword == "VIEWPOINT") {
      continue;
    } else if (keyword == "FIELDS") {
      names = rest();
    } else if (keyword == "SIZE") {
      sizes = rest();
    } else if (keyword == "TYPE") {
      types = rest();
    } else if (keyword == "COUNT") {
      counts = rest();
    } else if (keyword == "WIDTH") {
      header.width = count(0);
      has_width = true;
    } else if (keyword == "HEIGHT") {
      header.height = count(1);
    } else if (keyword == "POINTS") {
      header.points = count(0);
    } else if (keyword == "DATA") {
      const std::string_view name = NextToken(line);
      if (name == "ascii") {
        header.data = PcdData::kAscii;
      } else if (name == "binary") {
        header.data = PcdData::kBinary;
      } else if (name == "binary_compressed") {
        header.data = PcdData::kBinaryCompressed;
      } else {
        ThrowHeaderError(
            source, line_number,
            "DATA ascii, binary or binary_compressed, found '" + std::string(name) + "'");
      }
      has_data = true;
    } else {
      ThrowHeaderError(
          source, line_number,
          "VERSION, FIELDS, SIZE, TYPE, COUNT, WIDTH, HEIGHT, VIEWPOINT, POINTS or DATA, found '" +
              std::string(keyword) + "'");
    }
  }

  if (names.empty() || !has_width) {
    HT_THROW_INPUT(source, "the PCD header lacks FIELDS or WIDTH");
  }
  if (sizes.size() != names.size() || types.size() != names.size() ||
      (!counts.empty() && counts.size() != names.size())) {
    HT_THROW_INPUT(source, "the PCD header's SIZE, TYPE and COUNT must have one entry per field ("
                               << names.size() << " FIELDS)");
  }
  for (size_t f = 0; f < names.size(); ++f) {
    PcdField field;
    field.name = names[f];
    field.type = types[f].size() == 1 ? types[f][0] : '?';
    const bool valid_size = ParseNumber(sizes[f], field.size) &&
                            (field.type == 'F' ? (field.size == 4 || field.size == 8)
                                               : (field.size == 1 || field.size == 2 ||
                                                  field.size == 4 || field.size == 8));
    if (std::string_view("FIU").find(field.type) == std::string_view::npos || !valid_size) {
      HT_THROW_INPUT(source, "field '" << field.name << "' has TYPE " << types[f] << " SIZE "
                                       << sizes[f]
                                       << "; expected F with 4 or 8, or I/U with 1, "
                                          "2, 4 or 8");
    }
    if (!counts.empty() && (!ParseNumber(counts[f], field.count) || field.count < 1)) {
      HT_THROW_INPUT(source, "field '" << field.name << "' has COUNT " << counts[f]
                                       << "; expected a positive integer");
    }
    field.offset = header.point_size;
    header.point_size += static_cast<size_t>(field.size) * field.count;
    header.values_per_point += field.count;
    header.fields.push_back(std::move(field));
  }
  if (header.points < 0) header.points = header.width * header.height;
  if (header.points != header.width * header.height) {
    HT_THROW_INPUT(source, "POINTS " << header.points << " is not WIDTH x HEIGHT = " << header.width
                                     << " x " << header.height);
  }
  // The caps keep every size computed from the header exact.
  if (header.points > std::numeric_limits<int32_t>::max() ||
      (header.point_size > 0 &&
       static_cast<uint64_t>(header.points) > kMaxDataBytes / header.point_size)) {
    HT_THROW_INPUT(source, "implausible size: " << header.points << " points of "
                                                << header.point_size << " bytes");
  }
  return header;
}

// One value of `field` at `bytes` as a double.
double LoadValue(const char* bytes, const PcdField& field) {
  const auto load = [bytes]<typename T>(T) {
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return static_cast<double>(value);
  };
  switch (field.type) {
    case 'F':
      return field.size == 4 ? load(float()) : load(double());
    case 'I':
      switch (field.size) {
        case 1:
          return load(int8_t());
        case 2:
          return load(int16_t());
        case 4:
          return load(int32_t());
        default:
          return load(int64_t());
      }
    default:
      switch (field.size) {
        case 1:
          return load(uint8_t());
        case 2:
          return load(uint16_t());
        case 4:
          return load(uint32_t());
        default:
          return load(uint64_t());
      }
  }
}

// The binary values of every field, in point-major records (binary) or field-major blocks
// (binary_compressed, after decompression); ASCII values are converted to this layout first.
class PcdValues {
 public:
  PcdValues(std::vector<char> bytes, const PcdHeader& header, bool field_major)
      : bytes_(std::move(bytes)), header_(header), field_major_(field_major) {}

  // The first value of `field` for point `i`.
  const char* At(const PcdField& field, int64_t i) const {
    const size_t offset = field_major_
                              ? header_.points * field.offset + i * field.size * field.count
                              : i * header_.point_size + field.offset;
    return bytes_.data() + offset;
  }

 private:
  std::vector<char> bytes_;
  const PcdHeader& header_;
  bool field_major_;
};

bool IsPackedColor(const PcdField& field) {
  return (field.name == "rgb" || field.name == "rgba") && field.size == 4;
}

// ASCII data as point-major binary records.
std::vector<char> ParseAsciiData(std::string_view text, const PcdHeader& header,
                                 const std::string& source) {
  std::vector<char> bytes(header.points * header.point_size);
  for (int64_t i = 0; i < header.points; ++i) {
    for (const PcdField& field : header.fields) {
      for (int k = 0; k < field.count; ++k) {
        const std::string_view token = NextToken(text);
        char* out = bytes.data() + i * header.point_size + field.offset + k * field.size;
        const auto fail = [&](const std::string& problem) {
          HT_THROW_INPUT(source, "point " << i << " field '" << field.name << "': " << problem);
        };
        if (token.empty()) fail("the data ends early (truncated file?)");
        // PCL writes packed colors as the integer even when their TYPE is F.
        uint32_t packed = 0;
        if (IsPackedColor(field) && ParseNumber(token, packed)) {
          std::memcpy(out, &packed, sizeof(packed));
          continue;
        }
        double value = 0.0;
        if (!ParseNumber(token, value))
          fail("expected a number, found '" + std::string(token) + "'");
        if (field.type == 'F') {
          const float single = static_cast<float>(value);
          if (field.size == 4) {
            std::memcpy(out, &single, sizeof(single));
          } else {
            std::memcpy(out, &value, sizeof(value));
          }
        } else {
          if (!(std::abs(value) < 9e18)) fail("integer out of range: " + std::string(token));
          // The low bytes of the 64-bit integer, right for either sign.
          const int64_t integer = static_cast<int64_t>(value);
          std::memcpy(out, &integer, field.size);
        }
      }
    }
  }
  return bytes;
}

std::vector<char> ReadBinaryData(std::string_view data, const PcdHeader& header,
                                 const std::string& source) {
  const size_t expected = header.points * header.point_size;
  if (data.size() < expected) {
    HT_THROW_INPUT(source, "binary data has " << data.size() << " bytes; expected " << expected
                                              << " (" << header.points << " points of "
                                              << header.point_size << " bytes; truncated file?)");
  }
  return std::vector<char>(data.begin(), data.begin() + expected);
}

std::vector<char> ReadCompressedData(std::string_view data, const PcdHeader& header,
                                     const std::string& source) {
  uint32_t sizes[2];  // compressed, uncompressed
  if (data.size() < sizeof(sizes)) {
    HT_THROW_INPUT(source, "binary_compressed data has no size fields (truncated file?)");
  }
  std::memcpy(sizes, data.data(), sizeof(sizes));
  data.remove_prefix(sizeof(sizes));
  const size_t expected = header.points * header.point_size;
  if (sizes[1] != expected) {
    HT_THROW_INPUT(source, "binary_compressed data decompresses to "
                               << sizes[1] << " bytes; expected " << expected << " ("
                               << header.points << " points of " << header.point_size << " bytes)");
  }
  if (data.size() < sizes[0]) {
    HT_THROW_INPUT(source, "binary_compressed data has " << data.size() << " bytes; the header "
                                                         << "says " << sizes[0]
                                                         << " (truncated file?)");
  }
  return LzfDecompress(std::span<const char>(data.data(), sizes[0]), expected, source);
}

}  // namespace

PointCloud ReadPcd(const fs::path& path) {
  const std::string source = path.string();
  const std::vector<char> file = ReadFileBytes(path);
  std::string_view text(file.data(), file.size());
  const PcdHeader header = ParseHeader(text, source);

  const auto find = [&](std::string_view name) -> const PcdField* {
    const auto it = std::find_if(header.fields.begin(), header.fields.end(),
                                 [&](const PcdField& field) { return field.name == name; });
    return it == header.fields.end() ? nullptr : &*it;
  };
  const PcdField* xyz[3] = {find("x"), find("y"), find("z")};
  const PcdField* normal[3] = {find("normal_x"), find("normal_y"), find("normal_z")};
  const PcdField* rgb = find("rgb") ? find("rgb") : find("rgba");
  if (!xyz[0] || !xyz[1] || !xyz[2]) {
    HT_THROW_INPUT(source, "the PCD file has no x, y and z fields");
  }
  const bool has_normals = normal[0] && normal[1] && normal[2];
  if (rgb && !IsPackedColor(*rgb)) {
    HT_THROW_INPUT(source, "field '" << rgb->name << "' has SIZE " << rgb->size
                                     << "; expected 4 (packed 0x00RRGGBB)");
  }

  std::vector<char> bytes;
  switch (header.data) {
    case PcdData::kAscii:
      // Every value takes at least one byte: a cheap bound against a corrupt POINTS or COUNT.
      if (header.points * header.values_per_point > text.size()) {
        HT_THROW_INPUT(source, "POINTS " << header.points << " of " << header.values_per_point
                                         << " values but only " << text.size()
                                         << " bytes of data (truncated file?)");
      }
      bytes = ParseAsciiData(text, header, source);
      break;
    case PcdData::kBinary:
      bytes = ReadBinaryData(text, header, source);
      break;
    case PcdData::kBinaryCompressed:
      bytes = ReadCompressedData(text, header, source);
      break;
  }
  const PcdValues values(std::move(bytes), header, header.data == PcdData::kBinaryCompressed);

  PointCloud cloud;
  const Eigen::Index n = header.points;
  cloud.width = static_cast<int>(header.width);
  cloud.height = static_cast<int>(header.height);
  cloud.points.resize(n, 3);
  if (has_normals) cloud.normals.resize(n, 3);
  if (rgb) cloud.colors.resize(n, 3);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) {
      cloud.points(i, c) = static_cast<float>(LoadValue(values.At(*xyz[c], i), *xyz[c]));
    }
    if (cloud.points.row(i).hasNaN()) {
      cloud.points.row(i).setConstant(std::numeric_limits<float>::quiet_NaN());
    } else if (!cloud.points.row(i).allFinite()) {
      HT_THROW_INPUT(source, "point " << i
                                      << " has an infinite coordinate; expected finite "
                                         "values, or NaN for a missing point");
    }
    if (has_normals) {
      for (int c = 0; c < 3; ++c) {
        cloud.normals(i, c) = static_cast<float>(LoadValue(values.At(*normal[c], i), *normal[c]));
      }
    }
    if (rgb) {
      uint32_t packed;  // 0x00RRGGBB: the bits of the 4-byte field, whatever its TYPE
      std::memcpy(&packed, values.At(*rgb, i), sizeof(packed));
      cloud.colors.row(i) << static_cast<uint8_t>(packed >> 16), static_cast<uint8_t>(packed >> 8),
          static_cast<uint8_t>(packed);
    }
  }
  return cloud;
}

}  // namespace headtrack
