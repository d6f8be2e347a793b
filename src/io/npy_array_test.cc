#include "io/npy_array.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "headtrack/error.h"

namespace headtrack {
namespace {

const std::string kSource = "test.npy";

// A .npy file with the given header dictionary text, padded the way numpy pads, then `data`.
std::vector<char> NpyBytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  for (size_t k = 0; k < prefix - 8; ++k)
    out += static_cast<char>((header.size() >> (8 * k)) & 0xFF);
  out += header + data;
  return std::vector<char>(out.begin(), out.end());
}

template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

void ExpectInputErrorNaming(const std::function<void()>& run, const std::string& source,
                            const std::string& fragment) {
  try {
    run();
    FAIL() << "expected an InputError mentioning '" << fragment << "'";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), source) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

template <typename T>
void ExpectRoundTrip(const std::vector<T>& values, const std::string& dtype) {
  const NpyArray array = NpyArray::FromData(values.data(), {static_cast<int64_t>(values.size())});
  EXPECT_EQ(array.dtype, dtype);
  const NpyArray parsed = ParseNpy(SerializeNpy(array), kSource);
  EXPECT_EQ(parsed.dtype, dtype);
  EXPECT_EQ(parsed.shape, array.shape);
  EXPECT_EQ(parsed.data, array.data);
  EXPECT_EQ(parsed.ToVector<T>(kSource), values);
}

TEST(NpyArray, SerializeParseRoundTripForEveryNumericType) {
  ExpectRoundTrip<float>({1.5f, -2.25f, std::numeric_limits<float>::max()}, "<f4");
  ExpectRoundTrip<double>({1e300, -0.0, 3.25}, "<f8");
  ExpectRoundTrip<int8_t>({-128, 0, 127}, "|i1");
  ExpectRoundTrip<uint8_t>({0, 255}, "|u1");
  ExpectRoundTrip<int16_t>({-32768, 7}, "<i2");
  ExpectRoundTrip<uint16_t>({65535, 1}, "<u2");
  ExpectRoundTrip<int32_t>({-5, 1 << 30}, "<i4");
  ExpectRoundTrip<uint32_t>({4294967295u, 0}, "<u4");
  ExpectRoundTrip<int64_t>({std::numeric_limits<int64_t>::min(), 42}, "<i8");
  ExpectRoundTrip<uint64_t>({std::numeric_limits<uint64_t>::max()}, "<u8");
}

// The layout numpy.lib.format documents: magic, version 1.0, header length, the dict, spaces and
// '\n' up to a multiple of 64 bytes, then the data.
TEST(NpyArray, SerializesNumpysHeaderLayout) {
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  const std::vector<char> bytes = SerializeNpy(NpyArray::FromData(values.data(), {2, 3}));
  const std::string expected_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8),
            118);
  EXPECT_EQ(std::string(bytes.begin() + 10, bytes.begin() + 10 + expected_dict.size()),
            expected_dict);
  EXPECT_EQ(std::string(bytes.begin() + 10 + expected_dict.size(), bytes.begin() + 127),
            std::string(127 - 10 - expected_dict.size(), ' '));
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(std::string(bytes.begin() + 128, bytes.end()), RawBytes(values));
  // 1-d and 0-d shapes print as Python tuples.
  const std::vector<char> one_d = SerializeNpy(NpyArray::FromData(values.data(), {6}));
  EXPECT_NE(std::string(one_d.begin(), one_d.end()).find("'shape': (6,), }"), std::string::npos);
  const std::vector<char> zero_d = SerializeNpy(NpyArray::FromData(values.data(), {}));
  EXPECT_NE(std::string(zero_d.begin(), zero_d.end()).find("'shape': (), }"), std::string::npos);
}

TEST(NpyArray, ParsesFortranOrderIntoCOrder) {
  // [[0, 1, 2], [10, 11, 12]] stored column by column.
  const std::vector<int32_t> fortran = {0, 10, 1, 11, 2, 12};
  const NpyArray array = ParseNpy(
      NpyBytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", RawBytes(fortran)),
      kSource);
  EXPECT_EQ(array.ToVector<int32_t>(kSource), (std::vector<int32_t>{0, 1, 2, 10, 11, 12}));

  // 2 x 2 x 2: element [i][j][k] = 100i + 10j + k; Fortran order runs i fastest.
  std::vector<int16_t> fortran3;
  for (int k = 0; k < 2; ++k) {
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 2; ++i) fortran3.push_back(static_cast<int16_t>(100 * i + 10 * j + k));
    }
  }
  const NpyArray cube = ParseNpy(
      NpyBytes("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2, 2), }", RawBytes(fortran3)),
      kSource);
  EXPECT_EQ(cube.ToVector<int16_t>(kSource),
            (std::vector<int16_t>{0, 1, 10, 11, 100, 101, 110, 111}));
}

TEST(NpyArray, ParsesFormatVersions2And3AndPython2Longs) {
  const std::vector<double> values = {1, 2, 3, 4};
  for (const int major : {2, 3}) {
    const NpyArray array =
        ParseNpy(NpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                          RawBytes(values), major),
                 kSource);
    EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(array.ToVector<double>(kSource), values);
  }
  // Python 2's numpy printed long extents with an L; keys may come in any order.
  const NpyArray array = ParseNpy(
      NpyBytes("{'shape': (2L, 2L), 'fortran_order': False, \"descr\": '<f8'}", RawBytes(values)),
      kSource);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2}));
}

TEST(NpyArray, ToVectorConvertsBetweenTypesWithRangeChecks) {
  const std::vector<int64_t> wide = {-1, 300};
  const NpyArray array = NpyArray::FromData(wide.data(), {2});
  EXPECT_EQ(array.ToVector<int16_t>(kSource), (std::vector<int16_t>{-1, 300}));
  EXPECT_EQ(array.ToVector<double>(kSource), (std::vector<double>{-1.0, 300.0}));
  ExpectInputErrorNaming([&] { array.ToVector<int8_t>(kSource); }, kSource, "does not fit int8");
  ExpectInputErrorNaming([&] { array.ToVector<uint32_t>(kSource); }, kSource,
                         "does not fit uint32");

  const std::vector<uint32_t> root = {4294967295u};
  ExpectInputErrorNaming([&] { NpyArray::FromData(root.data(), {1}).ToVector<int32_t>(kSource); },
                         kSource, "4294967295");
  EXPECT_EQ(NpyArray::FromData(root.data(), {1}).ToVector<int64_t>(kSource)[0], 4294967295);

  const std::vector<double> floats = {2.0, -3.0, 2.5};
  const NpyArray float_array = NpyArray::FromData(floats.data(), {3});
  ExpectInputErrorNaming([&] { float_array.ToVector<int32_t>(kSource); }, kSource,
                         "is not an integer");
  EXPECT_EQ(NpyArray::FromData(floats.data(), {2}).ToVector<int32_t>(kSource),
            (std::vector<int32_t>{2, -3}));

  const bool flags[] = {true, false};
  EXPECT_EQ(NpyArray::FromData(flags, {2}).dtype, "|b1");
  EXPECT_EQ(NpyArray::FromData(flags, {2}).ToVector<float>(kSource), (std::vector<float>{1, 0}));
}

TEST(NpyArray, BigEndianDataIsRejectedByName) {
  const NpyArray array = ParseNpy(
      NpyBytes("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')),
      kSource);
  EXPECT_EQ(array.dtype, ">f8");
  ExpectInputErrorNaming([&] { array.ToVector<double>(kSource); }, kSource, "big-endian");
}

TEST(NpyArray, StringsRoundTripAsUtf32) {
  const std::vector<std::string> names = {"jawOpen", "\xc3\xbc", "", "\xf0\x9f\x98\x80"};
  const NpyArray array = NpyArray::FromStrings(names);
  EXPECT_EQ(array.dtype, "<U7");
  EXPECT_EQ(array.shape, std::vector<int64_t>{4});
  // 'ü' is U+00FC: one little-endian UTF-32 code unit, then NUL padding.
  EXPECT_EQ(std::string(array.data.begin() + 28, array.data.begin() + 36),
            std::string("\xfc\0\0\0\0\0\0\0", 8));
  const NpyArray parsed = ParseNpy(SerializeNpy(array), kSource);
  EXPECT_EQ(parsed.ToStrings(kSource), names);
  ExpectInputErrorNaming([&] { parsed.ToVector<float>(kSource); }, kSource, "'<U7'");

  const NpyArray bytes =
      ParseNpy(NpyBytes("{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }",
                        std::string("ab\0xyz", 6)),
               kSource);
  EXPECT_EQ(bytes.ToStrings(kSource), (std::vector<std::string>{"ab", "xyz"}));
  const std::vector<float> numbers = {1};
  ExpectInputErrorNaming([&] { NpyArray::FromData(numbers.data(), {1}).ToStrings(kSource); },
                         kSource, "does not hold strings");
}

TEST(NpyArray, MalformedFilesThrowInputErrorNamingTheSource) {
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data(8, '\0');
  ExpectInputErrorNaming([&] { ParseNpy(std::vector<char>{'P', 'K'}, kSource); }, kSource, "magic");
  std::vector<char> truncated = NpyBytes(good_dict, data);
  truncated.resize(40);
  ExpectInputErrorNaming([&] { ParseNpy(truncated, kSource); }, kSource, "truncated");
  ExpectInputErrorNaming([&] { ParseNpy(NpyBytes(good_dict, data.substr(0, 5)), kSource); },
                         kSource, "needs 8 data bytes, found 5");
  ExpectInputErrorNaming([&] { ParseNpy(NpyBytes(good_dict, data + "x"), kSource); }, kSource,
                         "found 9");
  ExpectInputErrorNaming(
      [&] {
        ParseNpy(NpyBytes("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", data),
                 kSource);
      },
      kSource, "malformed .npy header");
  ExpectInputErrorNaming([&] { ParseNpy(NpyBytes("garbage", data), kSource); }, kSource,
                         "malformed .npy header");
  ExpectInputErrorNaming(
      [&] {
        ParseNpy(NpyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data),
                 kSource);
      },
      kSource, "object arrays");
  ExpectInputErrorNaming(
      [&] {
        ParseNpy(
            NpyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", data),
            kSource);
      },
      kSource, "structured");
  ExpectInputErrorNaming(
      [&] {
        ParseNpy(
            NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
                     "4294967296), }",
                     data),
            kSource);
      },
      kSource, "too many elements");
  std::vector<char> version9 = NpyBytes(good_dict, data);
  version9[6] = 9;
  ExpectInputErrorNaming([&] { ParseNpy(version9, kSource); }, kSource, "version 9");
}

TEST(NpyArray, ShapeStringPrintsLikeNumpy) {
  EXPECT_EQ(ShapeString({10, 2}), "(10, 2)");
  EXPECT_EQ(ShapeString({5}), "(5,)");
  EXPECT_EQ(ShapeString({}), "()");
  EXPECT_EQ(ShapeString({-1, 3}), "(*, 3)");
}

TEST(NpyArray, CheckedArrayValuesNamesArrayAndProblem) {
  const std::vector<float> values = {1, 2, std::nanf(""), 4};
  const NpyArray array = NpyArray::FromData(values.data(), {2, 2});
  ExpectInputErrorNaming(
      [&] {
        CheckedArrayValues<float>(array, "w", {-1, 3}, kSource);
      },
      kSource, "array 'w' has shape (2, 2), expected (*, 3)");
  ExpectInputErrorNaming(
      [&] {
        CheckedArrayValues<float>(array, "w", {2, 2}, kSource);
      },
      kSource, "array 'w' has a non-finite value (nan) at flat index 2");
  ExpectInputErrorNaming(
      [&] {
        CheckedArrayValues<int8_t>(array, "w", {2, 2}, kSource);
      },
      kSource, "array 'w': value nan at index 2");
}

}  // namespace
}  // namespace headtrack
