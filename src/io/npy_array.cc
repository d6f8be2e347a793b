#include "io/npy_array.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include "headtrack/error.h"

namespace headtrack {
namespace {

static_assert(std::endian::native == std::endian::little,
              "NpyArray keeps little-endian data and copies it with memcpy");

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy aligns the data of .npy files to 64 bytes.
constexpr size_t kHeaderAlignment = 64;
// No array this library reads comes near this many elements; the cap keeps size arithmetic exact.
constexpr int64_t kMaxElements = int64_t{1} << 48;

// A parsed dtype string such as "<f4": byte order, kind letter, item size in bytes.
struct Dtype {
  char order;
  char kind;
  int64_t item_size;
};

Dtype ParseDtype(const std::string& dtype, const std::string& source) {
  const auto bad = [&](const std::string& why) {
    HT_THROW_INPUT(source, "unsupported dtype '" << dtype << "' (" << why
                                                 << "); expected a numeric, bool, '<U' or '|S' "
                                                    "dtype such as '<f4'");
  };
  if (dtype.size() < 2 || std::string_view("<>|=").find(dtype[0]) == std::string_view::npos) {
    bad("no byte-order character");
  }
  const char kind = dtype[1];
  if (kind == 'O') bad("object arrays hold pickled Python objects");
  const std::string digits = dtype.substr(2);
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    bad("no item size");
  }
  const int64_t count = std::stoll(digits);
  switch (kind) {
    case 'b':
      if (count != 1) bad("bool must have size 1");
      return {dtype[0], kind, 1};
    case 'i':
    case 'u':
      if (count != 1 && count != 2 && count != 4 && count != 8) bad("integer size");
      return {dtype[0], kind, count};
    case 'f':
      if (count != 2 && count != 4 && count != 8) bad("float size");
      return {dtype[0], kind, count};
    case 'c':
      if (count != 8 && count != 16) bad("complex size");
      return {dtype[0], kind, count};
    case 'U':
      return {dtype[0], kind, 4 * count};
    case 'S':
      return {dtype[0], kind, count};
    default:
      bad("unknown kind");
  }
  return {};
}

// product(shape), or an InputError for negative extents or absurd sizes.
int64_t ElementCount(const std::vector<int64_t>& shape, const std::string& source) {
  int64_t count = 1;
  for (const int64_t extent : shape) {
    if (extent < 0) HT_THROW_INPUT(source, "negative extent in shape " << ShapeString(shape));
    if (extent > 0 && count > kMaxElements / extent) {
      HT_THROW_INPUT(source, "shape " << ShapeString(shape) << " has too many elements");
    }
    count *= extent;
  }
  return count;
}

// Reorders Fortran-order (first index fastest) elements into C order (last index fastest).
std::vector<char> FortranToC(std::span<const char> data, const std::vector<int64_t>& shape,
                             int64_t item_size) {
  const size_t rank = shape.size();
  std::vector<char> out(data.size());
  if (data.empty() || rank < 2) {
    std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
  std::vector<int64_t> fortran_stride(rank);  // in bytes
  int64_t stride = item_size;
  for (size_t k = 0; k < rank; ++k) {
    fortran_stride[k] = stride;
    stride *= shape[k];
  }
  std::vector<int64_t> index(rank, 0);
  const int64_t count = static_cast<int64_t>(data.size()) / item_size;
  int64_t offset = 0;  // Fortran byte offset of `index`
  for (int64_t c = 0; c < count; ++c) {
    std::memcpy(out.data() + c * item_size, data.data() + offset, item_size);
    for (size_t k = rank; k-- > 0;) {  // increment the C-order multi-index
      offset += fortran_stride[k];
      if (++index[k] < shape[k]) break;
      offset -= fortran_stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// The Python literal subset of .npy headers: {'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  void Parse(std::string* dtype, bool* fortran_order, std::vector<int64_t>* shape) {
    bool has_descr = false, has_order = false, has_shape = false;
    Expect('{');
    while (!Accept('}')) {
      const std::string key = String();
      Expect(':');
      if (key == "descr") {
        if (Peek() == '[') Fail("structured dtypes (a list descr) are not supported");
        *dtype = String();
        has_descr = true;
      } else if (key == "fortran_order") {
        *fortran_order = Bool();
        has_order = true;
      } else if (key == "shape") {
        *shape = Shape();
        has_shape = true;
      } else {
        Fail("unexpected key '" + key + "'");
      }
      if (!Accept(',')) {
        Expect('}');
        break;
      }
    }
    if (!has_descr || !has_order || !has_shape) {
      Fail("missing 'descr', 'fortran_order' or 'shape'");
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    HT_THROW_INPUT(source_, "malformed .npy header: " << what << " in \"" << text_ << "\"");
  }
  char Peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool Accept(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Expect(char c) {
    if (!Accept(c)) Fail(std::string("expected '") + c + "'");
  }
  std::string String() {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Fail("expected a string");
    const size_t end = text_.find(quote, ++pos_);
    if (end == std::string_view::npos) Fail("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }
  bool Bool() {
    Peek();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    Fail("expected True or False");
  }
  int64_t Int() {
    Peek();
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == start || pos_ - start > 18) Fail("expected a non-negative integer extent");
    const int64_t value = std::stoll(std::string(text_.substr(start, pos_ - start)));
    Accept('L');  // Python 2 longs
    return value;
  }
  std::vector<int64_t> Shape() {
    std::vector<int64_t> shape;
    Expect('(');
    while (!Accept(')')) {
      shape.push_back(Int());
      if (!Accept(',')) {
        Expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

template <typename T>
const char* TypeName() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, double>) return "float64";
  if constexpr (std::is_same_v<T, bool>) return "bool";
  if constexpr (std::is_same_v<T, int8_t>) return "int8";
  if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  if constexpr (std::is_same_v<T, int16_t>) return "int16";
  if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  if constexpr (std::is_same_v<T, int32_t>) return "int32";
  if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
  if constexpr (std::is_same_v<T, int64_t>) return "int64";
  if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
}

template <typename T>
std::string DtypeOf() {
  if constexpr (std::is_same_v<T, bool>) return "|b1";
  const char kind = std::is_floating_point_v<T> ? 'f' : std::is_signed_v<T> ? 'i' : 'u';
  return std::string(sizeof(T) == 1 ? "|" : "<") + kind + std::to_string(sizeof(T));
}

// Converts n elements of source type S at `in` to T, with range checks for integer outputs.
template <typename S, typename T>
void ConvertElements(const char* in, int64_t n, T* out, const std::string& dtype,
                     const std::string& source) {
  for (int64_t i = 0; i < n; ++i) {
    S value;
    std::memcpy(&value, in + i * static_cast<int64_t>(sizeof(S)), sizeof(S));
    if constexpr (std::is_floating_point_v<T>) {
      out[i] = static_cast<T>(value);
    } else if constexpr (std::is_floating_point_v<S>) {
      // Exact bounds: [-2^digits, 2^digits) for signed, [0, 2^digits) for unsigned.
      const double upper = std::ldexp(1.0, std::numeric_limits<T>::digits);
      const double lower = std::is_signed_v<T> ? -upper : 0.0;
      const double v = static_cast<double>(value);
      if (!(v >= lower && v < upper) || std::trunc(v) != v) {
        HT_THROW_INPUT(source, "value " << v << " at index " << i << " (dtype '" << dtype
                                        << "') is not an integer that fits " << TypeName<T>());
      }
      out[i] = static_cast<T>(v);
    } else {
      if (!std::in_range<T>(value)) {
        HT_THROW_INPUT(source, "value " << +value << " at index " << i << " (dtype '" << dtype
                                        << "') does not fit " << TypeName<T>());
      }
      out[i] = static_cast<T>(value);
    }
  }
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t count = 1;
  for (const int64_t extent : shape) count *= extent;
  return count;
}

template <typename T>
std::vector<T> NpyArray::ToVector(const std::string& source) const {
  const Dtype d = ParseDtype(dtype, source);
  if (d.order == '>' && d.item_size > 1) {
    HT_THROW_INPUT(source, "array of dtype '" << dtype
                                              << "' is big-endian; expected little-endian data "
                                                 "(save it with .astype('<"
                                              << dtype.substr(1) << "'))");
  }
  const int64_t n = size();
  HT_CHECK(static_cast<int64_t>(data.size()) == n * d.item_size,
           "NpyArray data size " << data.size() << " does not match " << ShapeString(shape));
  std::vector<T> out(n);
  const char* in = data.data();
  const auto unsupported = [&]() {
    HT_THROW_INPUT(source, "array of dtype '" << dtype << "' cannot be converted to "
                                              << TypeName<T>()
                                              << "; expected an integer, bool or float array");
  };
  switch (d.kind) {
    case 'b':
      ConvertElements<uint8_t>(in, n, out.data(), dtype, source);
      break;
    case 'i':
      if (d.item_size == 1) ConvertElements<int8_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 2) ConvertElements<int16_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 4) ConvertElements<int32_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 8) ConvertElements<int64_t>(in, n, out.data(), dtype, source);
      break;
    case 'u':
      if (d.item_size == 1) ConvertElements<uint8_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 2) ConvertElements<uint16_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 4) ConvertElements<uint32_t>(in, n, out.data(), dtype, source);
      if (d.item_size == 8) ConvertElements<uint64_t>(in, n, out.data(), dtype, source);
      break;
    case 'f':
      if (d.item_size == 4) {
        ConvertElements<float>(in, n, out.data(), dtype, source);
      } else if (d.item_size == 8) {
        ConvertElements<double>(in, n, out.data(), dtype, source);
      } else {
        unsupported();  // half floats
      }
      break;
    default:
      unsupported();
  }
  return out;
}

std::vector<std::string> NpyArray::ToStrings(const std::string& source) const {
  const Dtype d = ParseDtype(dtype, source);
  if (d.kind != 'U' && d.kind != 'S') {
    HT_THROW_INPUT(source,
                   "array of dtype '" << dtype << "' does not hold strings; expected '<U' or '|S'");
  }
  if (d.kind == 'U' && d.order == '>') {
    HT_THROW_INPUT(source, "string array of dtype '" << dtype << "' is big-endian; expected '<U'");
  }
  const int64_t n = size();
  HT_CHECK(static_cast<int64_t>(data.size()) == n * d.item_size);
  std::vector<std::string> strings(n);
  for (int64_t i = 0; i < n; ++i) {
    const char* element = data.data() + i * d.item_size;
    if (d.kind == 'S') {
      int64_t length = d.item_size;
      while (length > 0 && element[length - 1] == '\0') --length;
      strings[i].assign(element, length);
      continue;
    }
    std::vector<uint32_t> codes(d.item_size / 4);
    std::memcpy(codes.data(), element, d.item_size);
    while (!codes.empty() && codes.back() == 0) codes.pop_back();
    for (const uint32_t code : codes) {
      if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        HT_THROW_INPUT(source, "invalid code point " << code << " in string " << i);
      }
      internal::AppendUtf8(code, &strings[i]);
    }
  }
  return strings;
}

template <typename T>
NpyArray NpyArray::FromData(const T* data, std::vector<int64_t> shape) {
  NpyArray array;
  array.dtype = DtypeOf<T>();
  array.shape = std::move(shape);
  for (const int64_t extent : array.shape) HT_CHECK(extent >= 0, ShapeString(array.shape));
  const int64_t n = array.size();
  HT_CHECK(n == 0 || data != nullptr);
  array.data.resize(n * sizeof(T));
  if (n > 0) std::memcpy(array.data.data(), data, array.data.size());
  return array;
}

NpyArray NpyArray::FromStrings(const std::vector<std::string>& strings) {
  std::vector<std::vector<uint32_t>> codes;
  size_t longest = 1;
  for (const std::string& text : strings) {
    HT_CHECK(internal::DecodeUtf8(text, &codes.emplace_back()),
             "invalid UTF-8 in \"" << text << "\"");
    longest = std::max(longest, codes.back().size());
  }
  NpyArray array;
  array.dtype = "<U" + std::to_string(longest);
  array.shape = {static_cast<int64_t>(strings.size())};
  array.data.assign(strings.size() * longest * 4, '\0');
  for (size_t i = 0; i < codes.size(); ++i) {
    std::memcpy(array.data.data() + i * longest * 4, codes[i].data(), codes[i].size() * 4);
  }
  return array;
}

int64_t NpyItemSize(const std::string& dtype, const std::string& source) {
  return ParseDtype(dtype, source).item_size;
}

NpyArray MakeNpyArray(std::string dtype, std::vector<int64_t> shape, bool fortran_order,
                      std::span<const char> data, const std::string& source) {
  if (!dtype.empty() && dtype[0] == '=') dtype[0] = '<';
  const Dtype d = ParseDtype(dtype, source);
  const int64_t count = ElementCount(shape, source);
  if (d.item_size > 0 && count > kMaxElements / d.item_size) {
    HT_THROW_INPUT(source, "array " << ShapeString(shape) << " of '" << dtype << "' is too large");
  }
  const int64_t expected = count * d.item_size;
  if (static_cast<int64_t>(data.size()) != expected) {
    HT_THROW_INPUT(source,
                   "array of shape "
                       << ShapeString(shape) << " and dtype '" << dtype << "' needs " << expected
                       << " data bytes, found " << data.size()
                       << (static_cast<int64_t>(data.size()) < expected ? " (truncated?)" : ""));
  }
  NpyArray array;
  array.dtype = std::move(dtype);
  array.shape = std::move(shape);
  if (fortran_order) {
    array.data = FortranToC(data, array.shape, d.item_size);
  } else {
    array.data.assign(data.begin(), data.end());
  }
  return array;
}

NpyArray ParseNpy(std::span<const char> bytes, const std::string& source) {
  const std::string_view view(bytes.data(), bytes.size());
  if (view.substr(0, kMagic.size()) != kMagic || bytes.size() < 10) {
    HT_THROW_INPUT(source, "not a .npy array (expected the magic string \\x93NUMPY)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length = 0, prefix = 0;
  if (major == 1) {
    header_length =
        static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) HT_THROW_INPUT(source, ".npy header is truncated");
    for (int k = 3; k >= 0; --k) {
      header_length = (header_length << 8) | static_cast<unsigned char>(bytes[8 + k]);
    }
    prefix = 12;
  } else {
    HT_THROW_INPUT(source,
                   "unsupported .npy format version " << major << "; expected 1.0, 2.0 or 3.0");
  }
  if (header_length > bytes.size() - prefix) {
    HT_THROW_INPUT(source, ".npy header is truncated (" << header_length << " bytes announced, "
                                                        << bytes.size() - prefix << " present)");
  }
  std::string dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  HeaderParser(view.substr(prefix, header_length), source).Parse(&dtype, &fortran_order, &shape);
  return MakeNpyArray(std::move(dtype), std::move(shape), fortran_order,
                      bytes.subspan(prefix + header_length), source);
}

std::vector<char> SerializeNpy(const NpyArray& array) {
  const int64_t item_size = NpyItemSize(array.dtype, "SerializeNpy");
  HT_CHECK(static_cast<int64_t>(array.data.size()) == array.size() * item_size,
           "NpyArray data size " << array.data.size() << " does not match "
                                 << ShapeString(array.shape) << " of " << array.dtype);
  std::string header = "{'descr': '" + array.dtype +
                       "', 'fortran_order': False, 'shape': " + ShapeString(array.shape) + ", }";
  const bool version1 = header.size() + 11 + kHeaderAlignment <= 0xFFFF;
  const size_t prefix = version1 ? 10 : 12;
  // Spaces, then '\n', so that the data start at a multiple of 64 bytes.
  header.append(kHeaderAlignment - 1 - (prefix + header.size()) % kHeaderAlignment, ' ');
  header.push_back('\n');
  std::vector<char> out(kMagic.begin(), kMagic.end());
  out.push_back(version1 ? 1 : 2);
  out.push_back(0);
  const size_t length = header.size();
  for (size_t k = 0; k < prefix - 8; ++k)
    out.push_back(static_cast<char>((length >> 8 * k) & 0xFF));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k > 0) out << ", ";
    if (shape[k] < 0) {
      out << '*';
    } else {
      out << shape[k];
    }
  }
  if (shape.size() == 1) out << ',';
  out << ')';
  return out.str();
}

template <typename T>
std::vector<T> CheckedArrayValues(const NpyArray& array, const std::string& name,
                                  const std::vector<int64_t>& expected_shape,
                                  const std::string& source) {
  bool matches = array.shape.size() == expected_shape.size();
  for (size_t k = 0; matches && k < expected_shape.size(); ++k) {
    matches = expected_shape[k] < 0 || expected_shape[k] == array.shape[k];
  }
  if (!matches) {
    HT_THROW_INPUT(source, "array '" << name << "' has shape " << ShapeString(array.shape)
                                     << ", expected " << ShapeString(expected_shape));
  }
  std::vector<T> values;
  try {
    values = array.ToVector<T>(source);
  } catch (const InputError& error) {
    throw InputError(source, "array '" + name + "': " + error.problem());
  }
  if constexpr (std::is_floating_point_v<T>) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        HT_THROW_INPUT(source, "array '" << name << "' has a non-finite value (" << values[i]
                                         << ") at flat index " << i);
      }
    }
  }
  return values;
}

namespace internal {

void AppendUtf8(uint32_t code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

bool DecodeUtf8(std::string_view text, std::vector<uint32_t>* codes) {
  codes->clear();
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const size_t length = byte < 0x80           ? 1
                          : (byte >> 5) == 0x6  ? 2
                          : (byte >> 4) == 0xE  ? 3
                          : (byte >> 3) == 0x1E ? 4
                                                : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? byte : byte & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    codes->push_back(code);
    i += length;
  }
  return true;
}

}  // namespace internal

#define HEADTRACK_INSTANTIATE_NPY(T)                                                  \
  template std::vector<T> NpyArray::ToVector<T>(const std::string& source) const;     \
  template NpyArray NpyArray::FromData<T>(const T* data, std::vector<int64_t> shape); \
  template std::vector<T> CheckedArrayValues<T>(const NpyArray&, const std::string&,  \
                                                const std::vector<int64_t>&, const std::string&);
HEADTRACK_INSTANTIATE_NPY(float)
HEADTRACK_INSTANTIATE_NPY(double)
HEADTRACK_INSTANTIATE_NPY(int8_t)
HEADTRACK_INSTANTIATE_NPY(uint8_t)
HEADTRACK_INSTANTIATE_NPY(int16_t)
HEADTRACK_INSTANTIATE_NPY(uint16_t)
HEADTRACK_INSTANTIATE_NPY(int32_t)
HEADTRACK_INSTANTIATE_NPY(uint32_t)
HEADTRACK_INSTANTIATE_NPY(int64_t)
HEADTRACK_INSTANTIATE_NPY(uint64_t)
#undef HEADTRACK_INSTANTIATE_NPY
template NpyArray NpyArray::FromData<bool>(const bool* data, std::vector<int64_t> shape);

}  // namespace headtrack
