// PLY (http://paulbourke.net/dataformats/ply/): ASCII, binary little- and big-endian on read;
// ASCII and binary little-endian on write.
//
// Read: element "vertex" with float or double x y z (required), nx ny nz and red green blue
// (optional, each used when all three are present; integer colors are clamped to 0..255, float
// colors in 0..1 scaled by 255); element "face" with a list property "vertex_indices" or
// "vertex_index" (any integer types), polygons fan-triangulated (0, i, i + 1). Every other
// property and element, list properties included, is skipped. Errors are InputError naming the
// file, the element and the row: malformed header, truncated data, an index out of range, a
// non-finite coordinate or normal.
#pragma once

#include <filesystem>

#include "headtrack/point_cloud.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

enum class PlyFormat { kAscii, kBinaryLittleEndian };

TriangleMesh ReadPly(const std::filesystem::path& path);
// Writes vertices (float x y z), normals (float nx ny nz) and colors (uchar red green blue) when
// present, and faces as "list uchar int vertex_indices" (what MeshLab and Blender write).
// Requires mesh.CheckConsistent(). Atomic.
void WritePly(const std::filesystem::path& path, const TriangleMesh& mesh,
              PlyFormat format = PlyFormat::kBinaryLittleEndian);

// The vertices of a PLY file with their normals and colors; faces, if any, are checked and
// ignored. The cloud is not organized (width and height 0).
PointCloud ReadPlyPointCloud(const std::filesystem::path& path);
// Points with a non-finite coordinate (the missing points of an organized cloud) are left out,
// with their normals and colors. Atomic.
void WritePlyPointCloud(const std::filesystem::path& path, const PointCloud& cloud,
                        PlyFormat format = PlyFormat::kBinaryLittleEndian);

}  // namespace headtrack
