// Camera calibration of a depth sequence, stored as calibration.json:
//   {"fx": 525.0, "fy": 525.0, "cx": 319.5, "cy": 239.5,
//    "width": 640, "height": 480, "depth_scale": 1000.0}
// width/height (together) and depth_scale are optional; other keys are ignored.
#pragma once

#include <filesystem>

#include "headtrack/pinhole_camera.h"

namespace headtrack {

struct Calibration {
  PinholeCamera camera;         // intrinsics in pixels; width/height 0 when the file has none
  double depth_scale = 1000.0;  // depth units per metre (1000 = millimetres)

  bool has_size() const { return camera.width > 0 && camera.height > 0; }
};

// Throws Error for a missing file and InputError naming the file and the field when the file is
// not a JSON object, a required key is missing, or a value is not a number of the expected range
// (fx, fy, depth_scale > 0; width, height positive integers).
Calibration ReadCalibration(const std::filesystem::path& path);
// Atomic; requires positive finite focal lengths and depth_scale. Writes width/height only when
// has_size().
void WriteCalibration(const std::filesystem::path& path, const Calibration& calibration);

}  // namespace headtrack
