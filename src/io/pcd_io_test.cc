#include "io/pcd_io.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "headtrack/calibration.h"
#include "headtrack/image_io.h"
#include "headtrack/mesh_io.h"
#include "io/lzf.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;
using test_support::SameMatrix;

const std::string kShared = HEADTRACK_DATA_DIR;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string Decompress(const std::vector<char>& compressed, size_t size) {
  const std::vector<char> output = LzfDecompress(compressed, size, "test.lzf");
  return {output.begin(), output.end()};
}

TEST(Lzf, DecompressesHandWorkedStreams) {
  // Literal "abc", then a back reference of length 4 + 2 at distance 2 + 1 (overlapping).
  EXPECT_EQ(Decompress({0x02, 'a', 'b', 'c', char(0x80), 0x02}, 9), "abcabcabc");
  // Literal "x", then the long form: length 7 + 3 (next byte) + 2 = 12 at distance 0 + 1.
  EXPECT_EQ(Decompress({0x00, 'x', char(0xE0), 0x03, 0x00}, 13), std::string(13, 'x'));
  // A back reference with the high offset bits: 2 + 2 bytes from 256 + 1 + 1 = 258 back.
  std::vector<char> stream;
  std::string expected;
  for (int run = 0; run < 9; ++run) {  // 9 literal runs of 32 bytes: 288 bytes
    stream.push_back(31);
    for (int k = 0; k < 32; ++k) {
      stream.push_back(static_cast<char>(run * 32 + k));
      expected.push_back(static_cast<char>(run * 32 + k));
    }
  }
  stream.insert(stream.end(), {char((2 << 5) | 1), 0x01});
  expected += expected.substr(288 - 258, 4);
  EXPECT_EQ(Decompress(stream, expected.size()), expected);
  EXPECT_EQ(Decompress({}, 0), "");
}

TEST(Lzf, CorruptStreamsAreErrors) {
  const auto expect_corrupt = [](const std::vector<char>& stream, size_t size, const char* what) {
    ExpectError([&] { LzfDecompress(stream, size, "test.lzf"); }, "test.lzf",
                {"corrupt LZF", what});
  };
  expect_corrupt({0x00, 'a', char(0x80), 0x05}, 7, "before the start");
  expect_corrupt({0x05, 'a', 'b'}, 6, "literal run past the end");
  expect_corrupt({0x02, 'a', 'b', 'c', char(0x80)}, 9, "back reference past the end");
  expect_corrupt({0x02, 'a', 'b', 'c'}, 4, "decompresses to 3 bytes, expected 4");
  expect_corrupt({0x02, 'a', 'b', 'c'}, 2, "longer than the expected size");
  expect_corrupt({0x02, 'a', 'b', 'c'}, 1000000, "cannot expand");
}

// ---- PCD ----

// The test cloud: a 2 x 2 organized cloud with a missing point, colors, normals, and two fields
// the reader skips (an F8 and an I2 with COUNT 2), in every DATA encoding.
struct TestCloud {
  static constexpr int kPoints = 4;
  float xyz[kPoints][3] = {
      {0.1f, -0.2f, 0.7f}, {kNaN, kNaN, kNaN}, {1.5f, 2.25f, 3}, {-1, 0, 1e-3f}};
  uint32_t rgb[kPoints] = {0x00FF8040, 0, 0x00010203, 0xFFFFFFFF};
  float normal[kPoints][3] = {{1, 0, 0}, {kNaN, kNaN, kNaN}, {0, 0, -1}, {0, 0.6f, 0.8f}};
  double curvature[kPoints] = {0.5, 0.25, 0.125, 1e300};
  int16_t hist[kPoints][2] = {{1, -1}, {2, -2}, {3, -3}, {4, -4}};
  static constexpr int kFields = 9;

  std::string Header(const std::string& data) const {
    return "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
           "FIELDS x y z rgb normal_x normal_y normal_z curvature hist\n"
           "SIZE 4 4 4 4 4 4 4 8 2\nTYPE F F F U F F F F I\nCOUNT 1 1 1 1 1 1 1 1 2\n"
           "WIDTH 2\nHEIGHT 2\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 4\nDATA " +
           data + "\n";
  }

  template <typename T>
  static std::string Raw(T value) {
    return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  template <typename T>
  static std::string Text(T value) {
    char buffer[64];
    return {buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr};
  }

  // The values of field f of point i, binary or as ASCII tokens.
  std::string Field(int f, int i, bool ascii) const {
    const auto put = [ascii](auto value) { return ascii ? Text(value) + " " : Raw(value); };
    if (f < 3) return put(xyz[i][f]);
    if (f == 3) return put(rgb[i]);
    if (f < 7) return put(normal[i][f - 4]);
    if (f == 7) return put(curvature[i]);
    return put(hist[i][0]) + put(hist[i][1]);
  }

  std::string Ascii() const {
    std::string out = Header("ascii");
    for (int i = 0; i < kPoints; ++i) {
      for (int f = 0; f < kFields; ++f) out += Field(f, i, true);
      out += "\n";
    }
    return out;
  }
  std::string Binary() const {
    std::string out = Header("binary");
    for (int i = 0; i < kPoints; ++i) {
      for (int f = 0; f < kFields; ++f) out += Field(f, i, false);
    }
    return out;
  }
  // Field-major data, "compressed" as LZF literal runs of up to 32 bytes (a valid LZF stream).
  std::string Compressed() const {
    std::string data;
    for (int f = 0; f < kFields; ++f) {
      for (int i = 0; i < kPoints; ++i) data += Field(f, i, false);
    }
    std::string lzf;
    for (size_t start = 0; start < data.size(); start += 32) {
      const std::string run = data.substr(start, 32);
      lzf += static_cast<char>(run.size() - 1) + run;
    }
    return Header("binary_compressed") + Raw(static_cast<uint32_t>(lzf.size())) +
           Raw(static_cast<uint32_t>(data.size())) + lzf;
  }

  void ExpectRead(const PointCloud& cloud) const {
    EXPECT_EQ(cloud.width, 2);
    EXPECT_EQ(cloud.height, 2);
    EXPECT_TRUE(cloud.is_organized());
    ASSERT_EQ(cloud.size(), kPoints);
    ASSERT_EQ(cloud.normals.rows(), kPoints);
    ASSERT_EQ(cloud.colors.rows(), kPoints);
    for (int i = 0; i < kPoints; ++i) {
      for (int c = 0; c < 3; ++c) {
        if (i == 1) {
          EXPECT_TRUE(std::isnan(cloud.points(i, c)));
          EXPECT_TRUE(std::isnan(cloud.normals(i, c)));
        } else {
          EXPECT_EQ(cloud.points(i, c), xyz[i][c]) << i << " " << c;
          EXPECT_EQ(cloud.normals(i, c), normal[i][c]) << i << " " << c;
        }
        EXPECT_EQ(cloud.colors(i, c), (rgb[i] >> (16 - 8 * c)) & 0xFF) << i << " " << c;
      }
    }
  }
};

using PcdIoTest = test_support::ScratchFolderTest;

TEST_F(PcdIoTest, ReadsAsciiBinaryAndCompressedAlike) {
  const TestCloud test;
  test.ExpectRead(ReadPcd(WriteFile("ascii.pcd", test.Ascii())));
  test.ExpectRead(ReadPcd(WriteFile("binary.pcd", test.Binary())));
  test.ExpectRead(ReadPointCloud(WriteFile("compressed.PCD", test.Compressed())));
}

TEST_F(PcdIoTest, ReadsAsciiColorsWrittenAsIntegersUnderTypeF) {
  // PCL writes a TYPE F rgb field in ASCII as the integer, since opaque colors are NaN as floats.
  const auto path = WriteFile("rgb.pcd",
                              "VERSION .7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F F\n"
                              "WIDTH 2\nHEIGHT 1\nDATA ascii\n"
                              "1 2 3 4278222912\n4 5 6 66051\n");
  const PointCloud cloud = ReadPcd(path);
  EXPECT_FALSE(cloud.is_organized());
  EXPECT_EQ(cloud.normals.rows(), 0);
  Colors3u8 colors(2, 3);
  colors << 0, 128, 64, 1, 2, 3;  // 0xFF008040 and 0x00010203
  EXPECT_TRUE(SameMatrix(cloud.colors, colors)) << cloud.colors.cast<int>();
  EXPECT_EQ(cloud.points.row(1), Eigen::RowVector3f(4, 5, 6));
}

TEST(PcdIo, ReadsKinectPersonAsOrganizedCloud) {
  const PointCloud cloud = ReadPcd(kShared + "/data/kinect_person/person.pcd");
  EXPECT_EQ(cloud.width, 640);
  EXPECT_EQ(cloud.height, 480);
  ASSERT_TRUE(cloud.is_organized());
  int missing = 0;
  for (int i = 0; i < cloud.size(); ++i) {
    if (cloud.points.row(i).hasNaN()) {
      EXPECT_TRUE(cloud.points.row(i).array().isNaN().all()) << i;
      ++missing;
    } else {
      EXPECT_GT(cloud.points(i, 2), 0.3f) << i;
      EXPECT_LT(cloud.points(i, 2), 5.0f) << i;
    }
  }
  EXPECT_GT(missing, 0);
  EXPECT_LT(missing, cloud.size());
}

// The depth PNG of the same frame, back-projected with calibration.json, must land on the PCD's
// points: an independent check of the PCD reader, the PNG reader and the calibration reader.
TEST(PcdIo, KinectDepthPngBackProjectsOntoThePcd) {
  const std::string folder = kShared + "/data/kinect_person";
  const PointCloud cloud = ReadPcd(folder + "/person.pcd");
  const DepthImage16 depth = ReadDepthPng(folder + "/depth/00000.png");
  const Calibration calibration = ReadCalibration(folder + "/calibration.json");
  ASSERT_EQ(depth.width, cloud.width);
  ASSERT_EQ(depth.height, cloud.height);
  int valid = 0;
  double worst = 0.0;
  for (int v = 0; v < depth.height; ++v) {
    for (int u = 0; u < depth.width; ++u) {
      const Eigen::RowVector3f point = cloud.points.row(v * cloud.width + u);
      if (depth.at(u, v) == 0) {
        EXPECT_TRUE(point.hasNaN()) << u << " " << v;
        continue;
      }
      ++valid;
      const Eigen::Vector3d unprojected = calibration.camera.Unproject(
          Eigen::Vector2d(u, v), depth.at(u, v) / calibration.depth_scale);
      ASSERT_TRUE(point.allFinite()) << u << " " << v;
      worst = std::max(worst, (unprojected - point.transpose().cast<double>()).norm());
    }
  }
  EXPECT_GT(valid, 10000);
  EXPECT_LT(worst, 1e-3);
}

// ---- bad input ----

TEST_F(PcdIoTest, TruncatedFilesAreErrors) {
  const TestCloud test;
  const std::string header = test.Header("binary");
  const auto in_header = WriteFile("header.pcd", header.substr(0, header.size() - 12));
  ExpectError([&] { ReadPcd(in_header); }, in_header, {"no DATA line"});
  const std::string binary = test.Binary();
  const auto in_binary = WriteFile("binary.pcd", binary.substr(0, binary.size() - 3));
  ExpectError([&] { ReadPcd(in_binary); }, in_binary, {"binary data has", "truncated"});
  const std::string compressed = test.Compressed();
  const auto in_compressed =
      WriteFile("compressed.pcd", compressed.substr(0, compressed.size() - 3));
  ExpectError([&] { ReadPcd(in_compressed); }, in_compressed, {"binary_compressed", "truncated"});
  const std::string ascii = test.Ascii();
  const auto in_ascii = WriteFile("ascii.pcd", ascii.substr(0, ascii.size() - 8));
  ExpectError([&] { ReadPcd(in_ascii); }, in_ascii, {"point 3 field 'hist'", "ends early"});
}

TEST_F(PcdIoTest, CorruptCompressedDataIsAnError) {
  std::string compressed = TestCloud().Compressed();
  const size_t data_start = TestCloud().Header("binary_compressed").size() + 8;
  compressed[data_start] = char(0xE0);  // a back reference at the start
  const auto path = WriteFile("corrupt.pcd", compressed);
  ExpectError([&] { ReadPcd(path); }, path, {"corrupt LZF"});
}

TEST_F(PcdIoTest, CorruptHeaderIsAnError) {
  const auto bad_type =
      WriteFile("type.pcd", "FIELDS x y z\nSIZE 2 4 4\nTYPE F F F\nWIDTH 1\nDATA ascii\n1 2 3\n");
  ExpectError([&] { ReadPcd(bad_type); }, bad_type, {"field 'x' has TYPE F SIZE 2"});
  const auto counts =
      WriteFile("counts.pcd", "FIELDS x y z\nSIZE 4 4\nTYPE F F F\nWIDTH 1\nDATA ascii\n");
  ExpectError([&] { ReadPcd(counts); }, counts, {"one entry per field"});
  const auto points =
      WriteFile("points.pcd",
                "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 2\nHEIGHT 2\nPOINTS 3\nDATA ascii\n");
  ExpectError([&] { ReadPcd(points); }, points, {"POINTS 3 is not WIDTH x HEIGHT"});
  const auto no_xyz =
      WriteFile("noxyz.pcd", "FIELDS x y\nSIZE 4 4\nTYPE F F\nWIDTH 1\nDATA ascii\n1 2\n");
  ExpectError([&] { ReadPcd(no_xyz); }, no_xyz, {"no x, y and z fields"});
  const auto keyword = WriteFile("keyword.pcd", "FIELDS x y z\nCOLOR red\n");
  ExpectError([&] { ReadPcd(keyword); }, keyword, {"line 2", "found 'COLOR'"});
  const auto data =
      WriteFile("data.pcd", "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 1\nDATA zip\n");
  ExpectError([&] { ReadPcd(data); }, data, {"line 5", "found 'zip'"});
  const auto huge = WriteFile(
      "huge.pcd",
      "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 100000\nHEIGHT 10000\nDATA ascii\n1 2 3\n");
  ExpectError([&] { ReadPcd(huge); }, huge, {"truncated"});
  const auto implausible =
      WriteFile("implausible.pcd",
                "FIELDS x y z h\nSIZE 4 4 4 8\nTYPE F F F F\n"
                "COUNT 1 1 1 2000000000\nWIDTH 100000\nHEIGHT 10000\nDATA binary\n");
  ExpectError([&] { ReadPcd(implausible); }, implausible, {"implausible size"});
}

TEST_F(PcdIoTest, InfiniteCoordinateIsAnError) {
  const auto path = WriteFile("inf.pcd",
                              "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 2\n"
                              "DATA ascii\n1 2 3\n4 inf 6\n");
  ExpectError([&] { ReadPcd(path); }, path, {"point 1 has an infinite coordinate"});
}

TEST_F(PcdIoTest, MissingFileIsAnErrorNamingIt) {
  ExpectError([&] { ReadPcd(Path("none.pcd")); }, Path("none.pcd"), {"no such file"},
              /*input_error=*/false);
}

}  // namespace
}  // namespace headtrack
