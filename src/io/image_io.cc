// PNG through OpenCV's codecs, which the project links already (libpng is not a separate
// dependency). The bytes are read and written here, not by cv::imread/imwrite, so that a missing
// file, a file that is not a PNG and a corrupt PNG get different messages, and so that writes go
// through WriteFileAtomically.
#include "headtrack/image_io.h"

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// The PNG as stored: bit depth and channels unchanged (gray, gray + alpha, BGR or BGRA).
cv::Mat DecodePng(const fs::path& path) {
  std::vector<char> bytes = ReadFileBytes(path);
  if (bytes.size() < sizeof(kPngSignature) ||
      !std::equal(kPngSignature, kPngSignature + sizeof(kPngSignature), bytes.begin(),
                  [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); })) {
    HT_THROW_INPUT(path.string(), "not a PNG file (no PNG signature)");
  }
  cv::Mat image;
  try {
    image = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data()),
                         cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& error) {
    HT_THROW_INPUT(path.string(), "corrupt or truncated PNG (" << error.what() << ")");
  }
  if (image.empty()) HT_THROW_INPUT(path.string(), "corrupt or truncated PNG");
  return image;
}

std::string Describe(const cv::Mat& image) {
  return std::to_string(image.elemSize1() * 8) + "-bit " + std::to_string(image.channels()) +
         "-channel";
}

void EncodePng(const fs::path& path, const cv::Mat& image) {
  WriteFileAtomically(path, [&](std::ostream& stream) {
    std::vector<uchar> bytes;
    if (!cv::imencode(".png", image, bytes)) throw Error(path.string() + ": PNG encoding failed");
    stream.write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace

DepthImage16 ReadDepthPng(const fs::path& path) {
  const cv::Mat image = DecodePng(path);
  if (image.type() != CV_16UC1) {
    HT_THROW_INPUT(path.string(),
                   "expected a 16-bit single-channel depth PNG, found " << Describe(image));
  }
  DepthImage16 depth(image.cols, image.rows);
  for (int y = 0; y < image.rows; ++y) {
    std::copy_n(image.ptr<uint16_t>(y), image.cols, &depth.at(0, y));
  }
  return depth;
}

void WriteDepthPng(const fs::path& path, const DepthImage16& depth) {
  HT_CHECK(!depth.empty() && depth.channels == 1,
           depth.width << " x " << depth.height << " x " << depth.channels);
  const cv::Mat image(depth.height, depth.width, CV_16UC1,
                      const_cast<uint16_t*>(depth.pixels.data()));
  EncodePng(path, image);
}

ColorImage ReadColorPng(const fs::path& path) {
  const cv::Mat image = DecodePng(path);
  if (image.depth() != CV_8U) {
    HT_THROW_INPUT(path.string(), "expected an 8-bit color or gray PNG, found "
                                      << Describe(image)
                                      << (image.channels() == 1 ? " (a depth image?)" : ""));
  }
  // OpenCV orders color channels B, G, R (, A); gray + alpha has gray first.
  const int channels = image.channels();
  ColorImage color(image.cols, image.rows, 3);
  for (int y = 0; y < image.rows; ++y) {
    const uint8_t* in = image.ptr<uint8_t>(y);
    for (int x = 0; x < image.cols; ++x, in += channels) {
      for (int c = 0; c < 3; ++c) color.at(x, y, c) = channels <= 2 ? in[0] : in[2 - c];
    }
  }
  return color;
}

void WriteColorPng(const fs::path& path, const ColorImage& image) {
  HT_CHECK(!image.empty() && (image.channels == 1 || image.channels == 3),
           image.width << " x " << image.height << " x " << image.channels);
  cv::Mat bgr(image.height, image.width, CV_8UC(image.channels));
  for (int y = 0; y < image.height; ++y) {
    uint8_t* out = bgr.ptr<uint8_t>(y);
    for (int x = 0; x < image.width; ++x) {
      for (int c = 0; c < image.channels; ++c) {
        *out++ = image.at(x, y, image.channels == 3 ? 2 - c : c);
      }
    }
  }
  EncodePng(path, bgr);
}

}  // namespace headtrack
