#include "io/obj_io.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "headtrack/mesh_io.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;
using test_support::SameMatrix;
using test_support::Tetrahedron;

const std::string kShared = HEADTRACK_DATA_DIR;

using ObjIoTest = test_support::ScratchFolderTest;

TEST_F(ObjIoTest, ReadsEverythingTheFileSays) {
  const auto path = WriteFile("all.obj",
                              "# comment\n"
                              "mtllib thing.mtl\n"
                              "o thing\n"
                              "v 0 0 0\n"
                              "v 1 0 0  # trailing comment\n"
                              "v +1 1.5e0 0\r\n"
                              "v 0 1 -2 1.0\n"
                              "vt 0 0\n"
                              "vt 1 0 0\n"
                              "vt 1 1\n"
                              "vt 0.5\n"
                              "vn 0 0 1\n"
                              "g group\n"
                              "usemtl skin\n"
                              "f 1/1/1 2/2/1 3/3/1 4/4/1\n"
                              "usemtl eyes\n"
                              "f -4//-1 -2//1 -1//1\n"
                              "s off\n"
                              "usemtl skin\n"
                              "f 1 2\t3\n"
                              "l 1 2\n");
  const ObjData data = ReadObjData(path);
  Points3d positions(4, 3);
  positions << 0, 0, 0, 1, 0, 0, 1, 1.5, 0, 0, 1, -2;
  EXPECT_TRUE(SameMatrix(data.positions, positions)) << data.positions;
  EXPECT_EQ(data.colors.rows(), 0);
  ASSERT_EQ(data.texcoords.rows(), 4);
  EXPECT_EQ(data.texcoords.row(1), Eigen::RowVector2d(1, 0));
  EXPECT_EQ(data.texcoords.row(3), Eigen::RowVector2d(0.5, 0));
  ASSERT_EQ(data.normals.rows(), 1);
  EXPECT_EQ(data.normals.row(0), Eigen::RowVector3d(0, 0, 1));
  EXPECT_EQ(data.materials, (std::vector<std::string>{"skin", "eyes"}));
  ASSERT_EQ(data.polygons.size(), 3u);
  EXPECT_EQ(data.polygons[0].position, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(data.polygons[0].texcoord, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(data.polygons[0].normal, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(data.polygons[0].material, 0);
  EXPECT_EQ(data.polygons[1].position, (std::vector<int>{0, 2, 3}));
  EXPECT_TRUE(data.polygons[1].texcoord.empty());
  EXPECT_EQ(data.polygons[1].normal, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(data.polygons[1].material, 1);
  EXPECT_EQ(data.polygons[2].position, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(data.polygons[2].normal.empty());
  EXPECT_EQ(data.polygons[2].material, 0);
}

TEST_F(ObjIoTest, MeshFanTriangulatesAndKeepsPerVertexNormalsAndColors) {
  const auto path = WriteFile("quad.obj",
                              "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 1 1 0 0 0 1\nv 0 1 0 0.5 0.5 2\n"
                              "vn 0 0 1\nvn 0 0 1\nvn 0 0 1\nvn 0 0 1\n"
                              "f 1//1 2//2 3//3 4//4\n");
  const TriangleMesh mesh = ReadMesh(path);
  Triangles faces(2, 3);
  faces << 0, 1, 2, 0, 2, 3;
  Colors3u8 colors(4, 3);
  colors << 255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 255;  // 2 is clamped
  EXPECT_TRUE(SameMatrix(mesh.faces, faces)) << mesh.faces;
  EXPECT_TRUE(SameMatrix(mesh.colors, colors)) << mesh.colors.cast<int>();
  ASSERT_TRUE(mesh.has_normals());
  EXPECT_EQ(mesh.normals.row(3), Eigen::RowVector3f(0, 0, 1));
}

TEST_F(ObjIoTest, NormalsIndexedApartFromPositionsAreDropped) {
  const auto path = WriteFile("normals.obj",
                              "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nvn 0 0 -1\nvn 1 0 0\n"
                              "f 1//2 2//1 3//3\n");
  EXPECT_FALSE(ReadObj(path).has_normals());
}

TEST_F(ObjIoTest, ColorsAreDroppedUnlessEveryVertexHasOne) {
  const auto path = WriteFile("colors.obj", "v 0 0 0 1 0 0\nv 1 0 0\nv 0 1 0 0 0 1\nf 1 2 3\n");
  EXPECT_EQ(ReadObjData(path).colors.rows(), 0);
  EXPECT_FALSE(ReadObj(path).has_colors());
}

TEST_F(ObjIoTest, RoundTripKeepsEverythingExactly) {
  TriangleMesh mesh = Tetrahedron();
  for (const bool with_extras : {true, false}) {
    if (!with_extras) {
      mesh.normals.resize(0, 3);
      mesh.colors.resize(0, 3);
    }
    WriteMesh(Path("mesh.obj"), mesh);
    const TriangleMesh read = ReadMesh(Path("mesh.obj"));
    EXPECT_TRUE(SameMatrix(read.vertices, mesh.vertices)) << read.vertices;
    EXPECT_TRUE(SameMatrix(read.faces, mesh.faces)) << read.faces;
    EXPECT_TRUE(SameMatrix(read.normals, mesh.normals)) << read.normals;
    EXPECT_TRUE(SameMatrix(read.colors, mesh.colors)) << read.colors.cast<int>();
  }
  EXPECT_EQ(FileCount(), 1);
}

TEST(ObjIo, ReadsLeePerrySmithQuads) {
  const auto path = kShared + "/data/scans/lee_perry_smith/LeePerrySmith.obj";
  const ObjData data = ReadObjData(path);
  EXPECT_EQ(data.positions.rows(), 8844);
  EXPECT_EQ(data.texcoords.rows(), 35368);
  ASSERT_EQ(data.polygons.size(), 8842u);
  EXPECT_EQ(data.polygons[0].position, (std::vector<int>{200, 2189, 2193, 2192}));  // f 201/1 ...
  EXPECT_EQ(data.polygons[0].texcoord, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(data.materials, (std::vector<std::string>{"defaultMat"}));
  const TriangleMesh mesh = ReadMesh(path);
  EXPECT_EQ(mesh.num_vertices(), 8844);
  EXPECT_EQ(mesh.num_faces(), 2 * 8842);
  EXPECT_NO_THROW(mesh.CheckConsistent());
}

TEST(ObjIo, ReadsFranTriangles) {
  const TriangleMesh mesh = ReadMesh(kShared + "/data/scans/fran/fran_cut.obj");
  EXPECT_EQ(mesh.num_vertices(), 2205);
  EXPECT_EQ(mesh.num_faces(), 4224);
  EXPECT_EQ(mesh.faces.row(0), Eigen::RowVector3i(0, 49, 1));  // f 1 50 2
  EXPECT_EQ(mesh.vertices.row(0), Eigen::RowVector3f(0.0f, -0.2048f, -0.090616f));
  const Eigen::RowVector3f extent =
      mesh.BoundingBox().colwise().reverse().row(0) - mesh.BoundingBox().row(0);
  EXPECT_NEAR(extent.x(), 0.11, 0.02);
  EXPECT_NEAR(extent.y(), 0.15, 0.02);
  EXPECT_NEAR(extent.z(), 0.12, 0.02);
}

TEST(ObjIo, ReadsIctFaceKitMesh) {
  const ObjData data = ReadObjData(kShared + "/models/ict-facekit-sample/generic_neutral_mesh.obj");
  EXPECT_EQ(data.positions.rows(), 26719);
  EXPECT_EQ(data.texcoords.rows(), 28911);
  EXPECT_EQ(data.polygons.size(), 26384u);
  EXPECT_EQ(data.materials.size(), 12u);
  EXPECT_EQ(data.materials[0], "M_Face");  // in order of first use
  EXPECT_EQ(data.materials[1], "M_BackHead");
  EXPECT_EQ(data.polygons.front().material, 0);
}

// ---- bad input ----

TEST_F(ObjIoTest, TruncatedFileIsAnErrorNamingTheLine) {
  const auto vertex = WriteFile("vertex.obj", "v 0 0 0\nv 1 0 0\nv 0 1");
  ExpectError([&] { ReadObj(vertex); }, vertex, {"line 3", "expected 'v x y z'"});
  const auto face = WriteFile("face.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2");
  ExpectError([&] { ReadObj(face); }, face, {"line 4", "face has 2 corners; expected at least 3"});
  const auto corner =
      WriteFile("corner.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3/");
  ExpectError([&] { ReadObj(corner); }, corner, {"line 5", "mixes corners"});
}

TEST_F(ObjIoTest, CorruptFileIsAnError) {
  const auto number = WriteFile("number.obj", "v 0 0 0\nv 1 O 0\n");
  ExpectError([&] { ReadObj(number); }, number, {"line 2", "expected a number, found 'O'"});
  const auto binary = WriteFile("binary.obj", std::string("v 0 0 0\n\0\x01\x02", 11));
  const auto padded =
      WriteFile("padded.obj", std::string("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n\0\0", 34));
  EXPECT_EQ(ReadObj(padded).num_faces(), 1);
  ExpectError([&] { ReadObj(binary); }, binary, {"binary data"});
  const auto empty = WriteFile("empty.obj", "# nothing\n");
  ExpectError([&] { ReadObj(empty); }, empty, {"no vertices"});
  const auto corner = WriteFile("corner.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3/1/1/1\n");
  ExpectError([&] { ReadObj(corner); }, corner, {"line 4", "bad face corner '3/1/1/1'"});
}

TEST_F(ObjIoTest, FaceIndexOutOfRangeIsAnError) {
  const auto past = WriteFile("past.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n");
  ExpectError([&] { ReadObj(past); }, past, {"line 4", "refers to vertex 4 but 3 are defined"});
  const auto zero = WriteFile("zero.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n");
  ExpectError([&] { ReadObj(zero); }, zero, {"line 4", "bad face corner '0'"});
  const auto relative = WriteFile("relative.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n");
  ExpectError([&] { ReadObj(relative); }, relative, {"refers to vertex -4 but 3 are defined"});
  const auto texcoord =
      WriteFile("texcoord.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/2\n");
  ExpectError([&] { ReadObj(texcoord); }, texcoord, {"refers to texture coordinate 2 but 1 are"});
}

TEST_F(ObjIoTest, NonFiniteCoordinateIsAnError) {
  for (const std::string value : {"nan", "inf", "-inf"}) {
    const auto path = WriteFile("nan.obj", "v 0 0 0\nv 1 0 0\nv 0 " + value + " 0\nf 1 2 3\n");
    ExpectError([&] { ReadObj(path); }, path, {"line 3", "vertex 2 has a non-finite coordinate"});
  }
}

TEST_F(ObjIoTest, MissingFileAndMissingFolderAreErrors) {
  ExpectError([&] { ReadObj(Path("none.obj")); }, Path("none.obj"), {"no such file"},
              /*input_error=*/false);
  TriangleMesh mesh;
  mesh.vertices = Points3f::Zero(3, 3);
  mesh.faces = Triangles(1, 3);
  mesh.faces << 0, 1, 2;
  const auto path = Path("missing") / "mesh.obj";
  ExpectError([&] { WriteObj(path, mesh); }, path, {"does not exist"}, /*input_error=*/false);
  EXPECT_EQ(FileCount(), 0);
}

}  // namespace
}  // namespace headtrack
