#include "headtrack/triangle_mesh.h"

#include "headtrack/error.h"

namespace headtrack {

void TriangleMesh::CheckConsistent() const {
  const Eigen::Index n = vertices.rows();
  if (faces.size() > 0) {
    HT_CHECK(faces.minCoeff() >= 0 && faces.maxCoeff() < n,
             "face index out of range [0, " << n << ")");
  }
  HT_CHECK(normals.rows() == 0 || normals.rows() == n, "normals " << normals.rows() << " vs " << n);
  HT_CHECK(colors.rows() == 0 || colors.rows() == n, "colors " << colors.rows() << " vs " << n);
}

Points3f TriangleMesh::ComputeVertexNormals() const {
  Points3f result = Points3f::Zero(vertices.rows(), 3);
  for (Eigen::Index f = 0; f < faces.rows(); ++f) {
    const Eigen::Vector3f a = vertices.row(faces(f, 0));
    const Eigen::Vector3f b = vertices.row(faces(f, 1));
    const Eigen::Vector3f c = vertices.row(faces(f, 2));
    const Eigen::RowVector3f area_normal = (b - a).cross(c - a).transpose();  // 2 x area
    for (int k = 0; k < 3; ++k) result.row(faces(f, k)) += area_normal;
  }
  for (Eigen::Index v = 0; v < result.rows(); ++v) {
    const float norm = result.row(v).norm();
    if (norm > 0.0f) result.row(v) /= norm;
  }
  return result;
}

Eigen::Matrix<float, 2, 3> TriangleMesh::BoundingBox() const {
  HT_CHECK(vertices.rows() > 0, "bounding box of an empty mesh");
  Eigen::Matrix<float, 2, 3> box;
  box.row(0) = vertices.colwise().minCoeff();
  box.row(1) = vertices.colwise().maxCoeff();
  return box;
}

}  // namespace headtrack
