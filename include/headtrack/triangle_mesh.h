// A triangle mesh with optional per-vertex normals and colors.
#pragma once

#include <string>

#include "headtrack/types.h"

namespace headtrack {

struct TriangleMesh {
  Points3f vertices;      // V x 3, metres unless stated otherwise, frame stated by the owner.
  Triangles faces;        // F x 3 indices into vertices; counter-clockwise seen from outside.
  Points3f normals;       // V x 3 unit vertex normals, or empty.
  Colors3u8 colors;       // V x 3 RGB, or empty.

  int num_vertices() const { return static_cast<int>(vertices.rows()); }
  int num_faces() const { return static_cast<int>(faces.rows()); }
  bool has_normals() const { return normals.rows() > 0; }
  bool has_colors() const { return colors.rows() > 0; }

  // Throws CheckError when indices are out of range or optional arrays have the wrong size.
  void CheckConsistent() const;
  // Area-weighted vertex normals (unit length; zero for isolated vertices).
  Points3f ComputeVertexNormals() const;
  // Axis-aligned bounding box: row 0 the minimum, row 1 the maximum. Requires vertices.
  Eigen::Matrix<float, 2, 3> BoundingBox() const;
};

}  // namespace headtrack
