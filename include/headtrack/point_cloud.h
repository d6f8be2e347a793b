// A point cloud, organized (one point per pixel of a width x height grid) or not.
#pragma once

#include "headtrack/types.h"

namespace headtrack {

struct PointCloud {
  Points3f points;    // N x 3, metres; NaN rows mark missing points of an organized cloud.
  Points3f normals;   // N x 3 unit normals, or empty.
  Colors3u8 colors;   // N x 3 RGB, or empty.
  int width = 0;      // for an organized cloud: N == width * height, row-major by pixel.
  int height = 0;     // 0 (or 1) when the cloud is not organized.

  int size() const { return static_cast<int>(points.rows()); }
  bool is_organized() const { return height > 1 && static_cast<long>(width) * height == points.rows(); }
};

}  // namespace headtrack
