// Reading and writing meshes and point clouds, dispatched on the file extension
// (case-insensitive). Readers throw InputError naming the file and what was expected (an
// unsupported extension, a missing or malformed file); writers are atomic and throw Error when
// the target cannot be written (for example when its folder does not exist).
#pragma once

#include <filesystem>

#include "headtrack/point_cloud.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

// .ply (ASCII or binary) or .obj; polygons are fan-triangulated. Units are the file's.
TriangleMesh ReadMesh(const std::filesystem::path& path);
// .ply (binary little-endian) or .obj, with the mesh's normals and colors when it has them.
void WriteMesh(const std::filesystem::path& path, const TriangleMesh& mesh);

// .pcd (organized clouds keep width and height, NaN rows mark missing points) or .ply (the
// vertices with their normals and colors; faces are ignored).
PointCloud ReadPointCloud(const std::filesystem::path& path);
// .ply (binary little-endian). PLY has no pixel grid: missing (NaN) points are left out.
void WritePointCloud(const std::filesystem::path& path, const PointCloud& cloud);

}  // namespace headtrack
