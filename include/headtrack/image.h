// A row-major image of `channels` interleaved values per pixel.
#pragma once

#include <cstdint>
#include <vector>

#include "headtrack/error.h"

namespace headtrack {

template <typename T>
struct Image {
  int width = 0;
  int height = 0;
  int channels = 1;
  std::vector<T> pixels;  // height x width x channels, row-major, channels interleaved

  Image() = default;
  Image(int width_, int height_, int channels_ = 1, T fill = T())
      : width(width_), height(height_), channels(channels_),
        pixels(static_cast<size_t>(width_) * height_ * channels_, fill) {
    HT_CHECK(width_ >= 0 && height_ >= 0 && channels_ > 0);
  }

  bool empty() const { return pixels.empty(); }
  T& at(int x, int y, int c = 0) { return pixels[Index(x, y, c)]; }
  const T& at(int x, int y, int c = 0) const { return pixels[Index(x, y, c)]; }

 private:
  size_t Index(int x, int y, int c) const {
    return (static_cast<size_t>(y) * width + x) * channels + c;
  }
};

// 16-bit depth in sensor units (see Calibration::depth_scale), 0 = no measurement.
using DepthImage16 = Image<std::uint16_t>;
// Depth in metres, 0 = no measurement.
using DepthImage = Image<float>;
// 8-bit color, 3 channels RGB (or 1 channel gray).
using ColorImage = Image<std::uint8_t>;

}  // namespace headtrack
