#include "io/ply_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "headtrack/mesh_io.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;
using test_support::SameMatrix;
using test_support::Tetrahedron;

void ExpectSameMesh(const TriangleMesh& a, const TriangleMesh& b) {
  EXPECT_TRUE(SameMatrix(a.vertices, b.vertices)) << a.vertices << "\nvs\n" << b.vertices;
  EXPECT_TRUE(SameMatrix(a.faces, b.faces)) << a.faces << "\nvs\n" << b.faces;
  EXPECT_TRUE(SameMatrix(a.normals, b.normals));
  EXPECT_TRUE(SameMatrix(a.colors, b.colors));
}

// Builds binary PLY bodies in either byte order.
class BinaryWriter {
 public:
  explicit BinaryWriter(bool big_endian) : big_endian_(big_endian) {}
  template <typename T>
  BinaryWriter& operator<<(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    if (big_endian_) std::reverse(bytes, bytes + sizeof(T));
    data_.append(bytes, sizeof(T));
    return *this;
  }
  const std::string& data() const { return data_; }

 private:
  bool big_endian_;
  std::string data_;
};

using PlyIoTest = test_support::ScratchFolderTest;

TEST_F(PlyIoTest, BinaryRoundTripKeepsEverythingExactly) {
  const TriangleMesh mesh = Tetrahedron();
  WritePly(Path("mesh.ply"), mesh);
  ExpectSameMesh(ReadPly(Path("mesh.ply")), mesh);
  EXPECT_EQ(FileCount(), 1);  // no temporary file left behind
}

TEST_F(PlyIoTest, AsciiRoundTripKeepsEverythingExactly) {
  const TriangleMesh mesh = Tetrahedron();
  WritePly(Path("mesh.ply"), mesh, PlyFormat::kAscii);
  ExpectSameMesh(ReadPly(Path("mesh.ply")), mesh);
}

TEST_F(PlyIoTest, RoundTripWithoutNormalsOrColors) {
  TriangleMesh mesh = Tetrahedron();
  mesh.normals.resize(0, 3);
  mesh.colors.resize(0, 3);
  for (const PlyFormat format : {PlyFormat::kAscii, PlyFormat::kBinaryLittleEndian}) {
    WritePly(Path("mesh.ply"), mesh, format);
    ExpectSameMesh(ReadPly(Path("mesh.ply")), mesh);
  }
}

TEST_F(PlyIoTest, BinaryFileHasTheStandardHeaderAndSize) {
  const TriangleMesh mesh = Tetrahedron();
  WriteMesh(Path("mesh.PLY"), mesh);  // dispatch is case-insensitive
  const std::vector<char> bytes = ReadFileBytes(Path("mesh.PLY"));
  const std::string header =
      "ply\nformat binary_little_endian 1.0\ncomment written by headtrack\nelement vertex 4\n"
      "property float x\nproperty float y\nproperty float z\n"
      "property float nx\nproperty float ny\nproperty float nz\n"
      "property uchar red\nproperty uchar green\nproperty uchar blue\n"
      "element face 4\nproperty list uchar int vertex_indices\nend_header\n";
  ASSERT_GE(bytes.size(), header.size());
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + header.size()), header);
  EXPECT_EQ(bytes.size(), header.size() + 4 * (6 * 4 + 3) + 4 * (1 + 3 * 4));
}

TEST_F(PlyIoTest, AsciiSkipsUnknownPropertiesListsAndElementsAndTriangulatesQuads) {
  const auto path = WriteFile("quad.ply",
                              "ply\r\n"
                              "format ascii 1.0\n"
                              "comment by hand, with a list property in the middle of the vertex\n"
                              "element vertex 4\n"
                              "property double x\n"
                              "property float y\n"
                              "property list uchar float extra\n"
                              "property float z\n"
                              "property uchar red\nproperty uchar green\nproperty uchar blue\n"
                              "property float quality\n"
                              "element edge 1\nproperty int vertex1\nproperty int vertex2\n"
                              "element face 1\n"
                              "property uchar flags\n"
                              "property list uchar uint vertex_index\n"
                              "property list uchar float texcoord\n"
                              "end_header\n"
                              "0 0 2 9 9 0 255 0 0 0.5\n"
                              "1 0 0 0 10 20 30 1\n"
                              "1 1 1 7 0.5 1 2 3 2\n"
                              "0 1 0 -0.5 4 5 6 3\n"
                              "0 1\n"
                              "7 4 0 1 2 3 6 0 0 1 0 1 1\n");
  const TriangleMesh mesh = ReadMesh(path);
  Points3f vertices(4, 3);
  vertices << 0, 0, 0, 1, 0, 0, 1, 1, 0.5f, 0, 1, -0.5f;
  Triangles faces(2, 3);
  faces << 0, 1, 2, 0, 2, 3;
  Colors3u8 colors(4, 3);
  colors << 255, 0, 0, 10, 20, 30, 1, 2, 3, 4, 5, 6;
  EXPECT_TRUE(SameMatrix(mesh.vertices, vertices)) << mesh.vertices;
  EXPECT_TRUE(SameMatrix(mesh.faces, faces)) << mesh.faces;
  EXPECT_TRUE(SameMatrix(mesh.colors, colors)) << mesh.colors.cast<int>();
  EXPECT_FALSE(mesh.has_normals());
}

TEST_F(PlyIoTest, BinaryLittleAndBigEndianReadTheSame) {
  for (const bool big_endian : {false, true}) {
    BinaryWriter body(big_endian);
    // vertex: double x y z, short id, float nx ny nz; face: list int uint vertex_indices, uchar.
    body << 0.0 << 0.0 << 0.0 << int16_t{-7} << 0.0f << 0.0f << 1.0f;
    body << 1.0 << 0.0 << 0.0 << int16_t{8} << 0.0f << 0.0f << 1.0f;
    body << 0.0 << 2.0 << 0.0 << int16_t{9} << 0.0f << 1.0f << 0.0f;
    body << int32_t{3} << uint32_t{0} << uint32_t{1} << uint32_t{2} << uint8_t{42};
    const std::string header =
        std::string("ply\nformat ") + (big_endian ? "binary_big_endian" : "binary_little_endian") +
        " 1.0\nelement vertex 3\nproperty double x\nproperty double y\nproperty double z\n"
        "property short id\nproperty float nx\nproperty float ny\nproperty float nz\n"
        "element face 1\nproperty list int uint vertex_indices\nproperty uchar flags\nend_header\n";
    const TriangleMesh mesh = ReadPly(WriteFile("binary.ply", header + body.data()));
    Points3f vertices(3, 3);
    vertices << 0, 0, 0, 1, 0, 0, 0, 2, 0;
    Points3f normals(3, 3);
    normals << 0, 0, 1, 0, 0, 1, 0, 1, 0;
    Triangles faces(1, 3);
    faces << 0, 1, 2;
    EXPECT_TRUE(SameMatrix(mesh.vertices, vertices)) << "big endian " << big_endian;
    EXPECT_TRUE(SameMatrix(mesh.normals, normals)) << "big endian " << big_endian;
    EXPECT_TRUE(SameMatrix(mesh.faces, faces)) << "big endian " << big_endian;
  }
}

TEST_F(PlyIoTest, FloatColorsAreScaledTo255) {
  const auto path = WriteFile("float_colors.ply",
                              "ply\nformat ascii 1.0\nelement vertex 1\n"
                              "property float x\nproperty float y\nproperty float z\n"
                              "property float red\nproperty float green\nproperty float blue\n"
                              "end_header\n0 0 0 0.5 1 2\n");
  const TriangleMesh mesh = ReadPly(path);
  ASSERT_TRUE(mesh.has_colors());
  EXPECT_EQ(mesh.colors.row(0).cast<int>(), Eigen::RowVector3i(128, 255, 255));
}

TEST_F(PlyIoTest, PointCloudRoundTripLeavesOutMissingPoints) {
  PointCloud cloud;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  cloud.points.resize(3, 3);
  cloud.points << 1, 2, 3, nan, nan, nan, 4, 5, 6;
  cloud.normals.resize(3, 3);
  cloud.normals << 1, 0, 0, 0, 1, 0, 0, 0, 1;
  cloud.colors.resize(3, 3);
  cloud.colors << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  cloud.width = 3;
  cloud.height = 1;
  WritePointCloud(Path("cloud.ply"), cloud);
  const PointCloud read = ReadPointCloud(Path("cloud.ply"));
  const std::vector<int> kept = {0, 2};
  EXPECT_TRUE(SameMatrix(read.points, Points3f(cloud.points(kept, Eigen::all))));
  EXPECT_TRUE(SameMatrix(read.normals, Points3f(cloud.normals(kept, Eigen::all))));
  EXPECT_TRUE(SameMatrix(read.colors, Colors3u8(cloud.colors(kept, Eigen::all))));
  EXPECT_FALSE(read.is_organized());
}

TEST_F(PlyIoTest, PointCloudReadsTheVerticesOfAMesh) {
  const TriangleMesh mesh = Tetrahedron();
  WritePly(Path("mesh.ply"), mesh, PlyFormat::kAscii);
  const PointCloud cloud = ReadPlyPointCloud(Path("mesh.ply"));
  EXPECT_TRUE(SameMatrix(cloud.points, mesh.vertices));
  EXPECT_TRUE(SameMatrix(cloud.normals, mesh.normals));
  EXPECT_TRUE(SameMatrix(cloud.colors, mesh.colors));
}

// ---- bad input ----

const char kTriangleHeader[] =
    "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n";

TEST_F(PlyIoTest, TruncatedBinaryFileIsAnErrorNamingTheElement) {
  WritePly(Path("mesh.ply"), Tetrahedron());
  std::vector<char> bytes = ReadFileBytes(Path("mesh.ply"));
  bytes.resize(bytes.size() - 5);
  const auto path = WriteFile("truncated.ply", std::string_view(bytes.data(), bytes.size()));
  ExpectError([&] { ReadPly(path); }, path, {"element 'face' row 3", "truncated"});
}

TEST_F(PlyIoTest, TruncatedHeaderIsAnError) {
  const auto path = WriteFile("header.ply", "ply\nformat ascii 1.0\nelement vertex 3\nprop");
  ExpectError([&] { ReadPly(path); }, path, {"end_header"});
}

TEST_F(PlyIoTest, TruncatedAsciiDataIsAnError) {
  const auto path = WriteFile("short.ply", std::string(kTriangleHeader) + "0 0 0\n1 0 0\n0 1\n");
  ExpectError([&] { ReadPly(path); }, path, {"element 'vertex' row 2", "ends early"});
}

TEST_F(PlyIoTest, CorruptHeaderIsAnError) {
  const auto not_ply = WriteFile("not.ply", "solid cube\nfacet normal 0 0 1\n");
  ExpectError([&] { ReadPly(not_ply); }, not_ply, {"not a PLY file"});
  const auto bad_type = WriteFile(
      "type.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty floot x\nend_header\n0\n");
  ExpectError([&] { ReadPly(bad_type); }, bad_type, {"line 4", "unknown property type 'floot'"});
  const auto bad_format =
      WriteFile("format.ply", "ply\nformat binary_middle_endian 1.0\nend_header\n");
  ExpectError([&] { ReadPly(bad_format); }, bad_format, {"unknown format 'binary_middle_endian'"});
  const auto no_vertex = WriteFile("novertex.ply", "ply\nformat ascii 1.0\nend_header\n");
  ExpectError([&] { ReadPly(no_vertex); }, no_vertex, {"no 'vertex' element"});
}

TEST_F(PlyIoTest, CorruptNumberIsAnError) {
  const auto path =
      WriteFile("number.ply", std::string(kTriangleHeader) + "0 0 0\n1 0x 0\n0 1 0\n3 0 1 2\n");
  ExpectError([&] { ReadPly(path); }, path, {"element 'vertex' row 1", "found '0x'"});
}

TEST_F(PlyIoTest, AsciiRowWithExtraValuesIsAnError) {
  const auto path =
      WriteFile("extra.ply", std::string(kTriangleHeader) + "0 0 0\n1 0 0\n0 1 0\n3 0 1 2 1\n");
  ExpectError([&] { ReadPly(path); }, path, {"more values than the header declares"});
}

TEST_F(PlyIoTest, HugeElementCountIsAnErrorNotAnAllocation) {
  const auto path = WriteFile("huge.ply",
                              "ply\nformat binary_little_endian 1.0\nelement vertex 2000000000\n"
                              "property float x\nproperty float y\nproperty float z\nend_header\n"
                              "0123456789");
  ExpectError([&] { ReadPly(path); }, path, {"2000000000 rows", "truncated"});
}

TEST_F(PlyIoTest, FaceIndexOutOfRangeIsAnError) {
  const auto path =
      WriteFile("index.ply", std::string(kTriangleHeader) + "0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n");
  ExpectError([&] { ReadPly(path); }, path,
              {"face 0 refers to vertex 5 but the file has 3 vertices"});
  const auto negative =
      WriteFile("negative.ply", std::string(kTriangleHeader) + "0 0 0\n1 0 0\n0 1 0\n3 0 -1 2\n");
  ExpectError([&] { ReadPly(negative); }, negative, {"refers to vertex -1"});
}

TEST_F(PlyIoTest, FaceWithTwoCornersIsAnError) {
  const auto path =
      WriteFile("line.ply", std::string(kTriangleHeader) + "0 0 0\n1 0 0\n0 1 0\n2 0 1\n");
  ExpectError([&] { ReadPly(path); }, path, {"face 0 has 2 vertices; expected at least 3"});
}

TEST_F(PlyIoTest, NonFiniteCoordinateIsAnError) {
  for (const std::string value : {"nan", "inf", "-inf", "1e39"}) {
    const auto path = WriteFile(
        "nan.ply", std::string(kTriangleHeader) + "0 0 0\n1 " + value + " 0\n0 1 0\n3 0 1 2\n");
    ExpectError([&] { ReadPly(path); }, path, {"vertex 1 has a non-finite coordinate"});
  }
}

TEST_F(PlyIoTest, MissingFileIsAnErrorNamingIt) {
  ExpectError([&] { ReadPly(Path("none.ply")); }, Path("none.ply"), {"no such file"},
              /*input_error=*/false);
}

TEST_F(PlyIoTest, UnsupportedExtensionIsAnError) {
  const auto path = WriteFile("mesh.stl", "solid\n");
  ExpectError([&] { ReadMesh(path); }, path, {"'.stl'", ".ply or .obj"});
  ExpectError([&] { WriteMesh(Path("mesh.stl"), Tetrahedron()); }, path, {".ply or .obj"});
}

TEST_F(PlyIoTest, WritingToMissingFolderIsAnErrorAndLeavesNothing) {
  const auto path = Path("missing") / "mesh.ply";
  ExpectError([&] { WritePly(path, Tetrahedron()); }, path, {"does not exist"},
              /*input_error=*/false);
  EXPECT_FALSE(std::filesystem::exists(path.parent_path()));
  EXPECT_EQ(FileCount(), 0);
}

}  // namespace
}  // namespace headtrack
