#include "headtrack/triangle_mesh.h"

#include <gtest/gtest.h>

#include "headtrack/error.h"

namespace headtrack {
namespace {

TriangleMesh UnitTetrahedron() {
  TriangleMesh mesh;
  mesh.vertices.resize(4, 3);
  mesh.vertices << 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1;
  mesh.faces.resize(4, 3);
  mesh.faces << 0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3;  // outward, counter-clockwise
  return mesh;
}

TEST(TriangleMesh, VertexNormalsPointOutward) {
  const TriangleMesh mesh = UnitTetrahedron();
  const Points3f normals = mesh.ComputeVertexNormals();
  const Eigen::RowVector3f centroid = mesh.vertices.colwise().mean();
  for (int v = 0; v < 4; ++v) {
    EXPECT_NEAR(normals.row(v).norm(), 1.0f, 1e-6f);
    EXPECT_GT(normals.row(v).dot(mesh.vertices.row(v) - centroid), 0.0f) << "vertex " << v;
  }
  // Vertex 3 touches faces with normals -x, -y and (1,1,1)/sqrt(3) with areas 1/2, 1/2, sqrt(3)/2.
  const Eigen::RowVector3f expected = Eigen::RowVector3f(-0.5f + 0.5f, -0.5f + 0.5f, 0.5f).normalized();
  EXPECT_TRUE(normals.row(3).isApprox(expected, 1e-5f)) << normals.row(3);
}

TEST(TriangleMesh, CheckConsistentRejectsBadIndex) {
  TriangleMesh mesh = UnitTetrahedron();
  EXPECT_NO_THROW(mesh.CheckConsistent());
  mesh.faces(2, 1) = 4;
  EXPECT_THROW(mesh.CheckConsistent(), CheckError);
}

TEST(TriangleMesh, BoundingBox) {
  const auto box = UnitTetrahedron().BoundingBox();
  EXPECT_EQ(box.row(0), Eigen::RowVector3f(0, 0, 0));
  EXPECT_EQ(box.row(1), Eigen::RowVector3f(1, 1, 1));
}

}  // namespace
}  // namespace headtrack
