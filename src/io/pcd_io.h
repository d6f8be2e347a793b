// Point Cloud Library's PCD format (v0.5-0.7,
// https://pointclouds.org/documentation/tutorials/pcd_file_format.html).
#pragma once

#include <filesystem>

#include "headtrack/point_cloud.h"

namespace headtrack {

// DATA ascii, binary (point-major records) or binary_compressed (LZF of field-major data).
// Fields x y z are required; normal_x normal_y normal_z and rgb or rgba (packed 0x00RRGGBB in a
// 4-byte field) are read when present; other fields are skipped. Any numeric TYPE/SIZE (F 4/8,
// I and U 1/2/4/8) is converted to float. width and height come from the header, so an
// organized cloud stays organized; a point with a NaN coordinate becomes an all-NaN row
// (missing). Throws InputError naming the file for a malformed header, truncated or corrupt
// data, or an infinite coordinate.
PointCloud ReadPcd(const std::filesystem::path& path);

}  // namespace headtrack
