// PNG images: 16-bit depth and 8-bit color. Readers throw Error for a missing file and
// InputError naming the file for one that is not a PNG, is corrupt, or has the wrong bit depth
// or channel count; writers are atomic and throw Error when the target cannot be written.
#pragma once

#include <filesystem>

#include "headtrack/image.h"

namespace headtrack {

// A 16-bit single-channel PNG, values in sensor units (see Calibration::depth_scale).
DepthImage16 ReadDepthPng(const std::filesystem::path& path);
// Requires a non-empty single-channel image.
void WriteDepthPng(const std::filesystem::path& path, const DepthImage16& depth);

// An 8-bit PNG of any color type as 3-channel RGB: gray is replicated, alpha dropped.
ColorImage ReadColorPng(const std::filesystem::path& path);
// Requires a non-empty image of 1 (gray) or 3 (RGB, in that order in memory) channels.
void WriteColorPng(const std::filesystem::path& path, const ColorImage& image);

}  // namespace headtrack
