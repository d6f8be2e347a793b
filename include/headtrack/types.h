// Array types shared by every layer. Row-major N x 3 so that a row is one point and the memory
// matches NumPy's (N, 3) C-order arrays and PLY vertex lists (zero-copy with Eigen::Map).
#pragma once

#include <cstdint>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace headtrack {

// N x 3 float positions or normals, one per row (units and frame stated where used).
using Points3f = Eigen::Matrix<float, Eigen::Dynamic, 3, Eigen::RowMajor>;
// N x 3 double positions, one per row.
using Points3d = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;
// F x 3 vertex indices, one triangle per row, counter-clockwise seen from outside.
using Triangles = Eigen::Matrix<std::int32_t, Eigen::Dynamic, 3, Eigen::RowMajor>;
// N x 3 8-bit RGB colors, one per row.
using Colors3u8 = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, 3, Eigen::RowMajor>;
// N x 2 float texture coordinates.
using TexCoords = Eigen::Matrix<float, Eigen::Dynamic, 2, Eigen::RowMajor>;

}  // namespace headtrack
