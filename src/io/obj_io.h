// Wavefront OBJ: positions, texture coordinates, normals, polygons and their materials.
// Numbers are parsed with std::from_chars (the ICT-FaceKit files have 26k vertices each and are
// read by the hundred). Errors are InputError naming the file and the line: a malformed number,
// a face with fewer than three corners, an index of 0 or one past the elements defined so far,
// a non-finite coordinate, binary content, a file without vertices.
#pragma once

#include <Eigen/Core>
#include <filesystem>
#include <string>
#include <vector>

#include "headtrack/triangle_mesh.h"
#include "headtrack/types.h"

namespace headtrack {

// Everything the file says, before triangulation. Indices are 0-based (negative OBJ indices
// resolved).
struct ObjData {
  Points3d positions;  // 'v', N x 3, file units
  Points3d colors;     // N x 3 from 'v x y z r g b' (file values, usually 0..1); empty unless
                       // every 'v' line has a color
  Eigen::Matrix<double, Eigen::Dynamic, 2, Eigen::RowMajor> texcoords;  // 'vt', first two values
  Points3d normals;  // 'vn', not necessarily unit length
  struct Polygon {
    std::vector<int> position, texcoord, normal;  // one per corner; texcoord/normal empty if absent
    int material = -1;                            // index into materials, -1 before any usemtl
  };
  std::vector<Polygon> polygons;
  std::vector<std::string> materials;  // 'usemtl' names in order of first use
};

ObjData ReadObjData(const std::filesystem::path& path);

// Polygons fan-triangulated (0, i, i + 1); colors when ObjData has them (scaled by 255, clamped);
// normals only when they are per vertex (every corner's normal index equals its position index).
// Texture coordinates and materials are dropped.
TriangleMesh ReadObj(const std::filesystem::path& path);
// "v x y z [r g b]" (colors / 255), "vn" when the mesh has normals, "f a//a b//b c//c" or
// "f a b c". Requires mesh.CheckConsistent(). Atomic.
void WriteObj(const std::filesystem::path& path, const TriangleMesh& mesh);

}  // namespace headtrack
