// NpyArray: one NumPy array as raw bytes plus its dtype and shape, and the .npy format
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace headtrack {

// A NumPy array held as raw bytes. The dtype is NumPy's descr string with its byte order:
// "<f4" "<f8" "<i4" "<i8" "|i1" "|u1" "<u4" "|b1" "<U24" (UTF-32 strings of 24 code points)
// "|S8" (byte strings). Data are in C order; Fortran-order input is converted on read.
// Big-endian arrays (">f8") can be held but not converted by ToVector.
struct NpyArray {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> data;  // size() * item size bytes

  int64_t size() const;  // number of elements (1 for a 0-d array)

  // The elements converted to T (float, double, or a signed/unsigned integer of 8-64 bits) from
  // any integer, unsigned, bool or float dtype. Throws InputError(source, ...) for non-numeric or
  // big-endian dtypes, when an integer value does not fit T, or when a float value is converted
  // to an integer type and is not an integer.
  template <typename T>
  std::vector<T> ToVector(const std::string& source) const;

  // The elements of a "<U" (UTF-32) or "|S" (bytes) array as UTF-8 strings without the trailing
  // NUL padding. Throws InputError(source, ...) for other dtypes or invalid code points.
  std::vector<std::string> ToStrings(const std::string& source) const;

  // An array of `shape` copying product(shape) elements from `data`. T is float, double, bool,
  // or a signed/unsigned integer of 8-64 bits.
  template <typename T>
  static NpyArray FromData(const T* data, std::vector<int64_t> shape);

  // A 1-d "<U{longest}" array (at least "<U1") of UTF-8 strings.
  static NpyArray FromStrings(const std::vector<std::string>& strings);
};

// ToVector<T> after checking the shape (one entry per dimension, -1 matching any extent) and,
// for float T, that every value is finite. Errors read "<source>: array '<name>' has shape
// (10, 2), expected (*, 3)" or "<source>: array '<name>': <what ToVector found>".
template <typename T>
std::vector<T> CheckedArrayValues(const NpyArray& array, const std::string& name,
                                  const std::vector<int64_t>& expected_shape,
                                  const std::string& source);

// Bytes per element of a dtype ("<f4" -> 4, "<U24" -> 96, "|S8" -> 8). Throws
// InputError(source, ...) for dtypes this reader does not hold: object ("|O"), structured,
// datetime, or malformed.
int64_t NpyItemSize(const std::string& dtype, const std::string& source);

// Builds an array from raw element bytes, checking the dtype, that the extents are non-negative
// and that `data` holds exactly product(shape) elements; converts Fortran order to C order.
// "=" (native) byte order becomes "<". Throws InputError(source, ...) naming what is wrong.
NpyArray MakeNpyArray(std::string dtype, std::vector<int64_t> shape, bool fortran_order,
                      std::span<const char> data, const std::string& source);

// Parses a whole .npy file (format versions 1.0, 2.0 and 3.0). Throws InputError(source, ...)
// for a bad magic string, a malformed header, an unsupported dtype, or too few/many data bytes.
NpyArray ParseNpy(std::span<const char> bytes, const std::string& source);

// A .npy file (format 1.0; 2.0 only if the header would not fit 1.0) that numpy.load reads.
std::vector<char> SerializeNpy(const NpyArray& array);

// "(10, 2)" or "(5,)" as NumPy prints shapes; -1 extents print as "*".
std::string ShapeString(const std::vector<int64_t>& shape);

namespace internal {
// UTF-8 helpers shared with the pickle reader.
void AppendUtf8(uint32_t code_point, std::string* utf8);
// False for invalid UTF-8.
bool DecodeUtf8(std::string_view utf8, std::vector<uint32_t>* code_points);
}  // namespace internal

}  // namespace headtrack
