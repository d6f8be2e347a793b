#include "headtrack/image_io.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;

const std::string kShared = HEADTRACK_DATA_DIR;

// A PNG built by hand (no filter, one IDAT chunk), independent of the codec under test.
// `samples` are the raw row-major samples: bytes, or big-endian pairs for 16 bits.
// color_type: 0 gray, 2 RGB, 4 gray + alpha, 6 RGBA.
std::string MakePng(int width, int height, int bit_depth, int color_type,
                    const std::vector<uint8_t>& samples) {
  const auto big_endian = [](uint32_t value) {
    return std::string{char(value >> 24), char(value >> 16), char(value >> 8), char(value)};
  };
  const auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size());
    return big_endian(static_cast<uint32_t>(data.size())) + body +
           big_endian(static_cast<uint32_t>(crc));
  };
  const size_t row_bytes = samples.size() / height;
  std::string filtered;
  for (int y = 0; y < height; ++y) {
    filtered += '\0';  // filter type None
    filtered.append(reinterpret_cast<const char*>(samples.data()) + y * row_bytes, row_bytes);
  }
  std::string compressed(compressBound(filtered.size()), '\0');
  uLongf compressed_size = compressed.size();
  compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
           reinterpret_cast<const Bytef*>(filtered.data()), filtered.size());
  compressed.resize(compressed_size);
  const std::string header = big_endian(width) + big_endian(height) +
                             std::string{char(bit_depth), char(color_type), 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IDAT", compressed) +
         chunk("IEND", "");
}

using ImageIoTest = test_support::ScratchFolderTest;

TEST_F(ImageIoTest, ReadsHandBuilt16BitDepthInPngByteOrder) {
  // 3 x 2 gray, 16 bits: 0x0102, 0xFFFF, 0, 1000, 0x8000, 7.
  const auto path =
      WriteFile("depth.png", MakePng(3, 2, 16, 0, {1, 2, 255, 255, 0, 0, 3, 232, 128, 0, 0, 7}));
  const DepthImage16 depth = ReadDepthPng(path);
  ASSERT_EQ(depth.width, 3);
  ASSERT_EQ(depth.height, 2);
  EXPECT_EQ(depth.pixels, (std::vector<uint16_t>{0x0102, 0xFFFF, 0, 1000, 0x8000, 7}));
}

TEST_F(ImageIoTest, ReadsHandBuiltColorTypesAsRgb) {
  // 2 x 1 pixels in each color type; the expected RGB is the same for all.
  const std::vector<uint8_t> rgb = {10, 20, 30, 200, 100, 0};
  const std::vector<uint8_t> gray_rgb = {10, 10, 10, 200, 200, 200};
  const auto read = [&](const char* name, int color_type, const std::vector<uint8_t>& samples) {
    return ReadColorPng(WriteFile(name, MakePng(2, 1, 8, color_type, samples))).pixels;
  };
  EXPECT_EQ(read("rgb.png", 2, rgb), rgb);
  EXPECT_EQ(read("rgba.png", 6, {10, 20, 30, 255, 200, 100, 0, 0}), rgb);
  EXPECT_EQ(read("gray.png", 0, {10, 200}), gray_rgb);
  EXPECT_EQ(read("gray_alpha.png", 4, {10, 0, 200, 128}), gray_rgb);
}

TEST_F(ImageIoTest, DepthRoundTripIsExact) {
  DepthImage16 depth(7, 5);
  for (size_t i = 0; i < depth.pixels.size(); ++i) {
    depth.pixels[i] = static_cast<uint16_t>(i * 1871 % 65536);
  }
  depth.at(6, 4) = 65535;
  WriteDepthPng(Path("depth.png"), depth);
  const DepthImage16 read = ReadDepthPng(Path("depth.png"));
  EXPECT_EQ(read.width, 7);
  EXPECT_EQ(read.height, 5);
  EXPECT_EQ(read.channels, 1);
  EXPECT_EQ(read.pixels, depth.pixels);
  EXPECT_EQ(FileCount(), 1);
}

TEST_F(ImageIoTest, ColorRoundTripIsExactAndGrayIsExpanded) {
  ColorImage color(4, 3, 3);
  for (size_t i = 0; i < color.pixels.size(); ++i) color.pixels[i] = static_cast<uint8_t>(i * 37);
  WriteColorPng(Path("color.png"), color);
  EXPECT_EQ(ReadColorPng(Path("color.png")).pixels, color.pixels);

  ColorImage gray(4, 3, 1);
  for (size_t i = 0; i < gray.pixels.size(); ++i) gray.pixels[i] = static_cast<uint8_t>(i * 19);
  WriteColorPng(Path("gray.png"), gray);
  const ColorImage read = ReadColorPng(Path("gray.png"));
  ASSERT_EQ(read.channels, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(read.at(x, y, c), gray.at(x, y));
    }
  }
}

TEST(ImageIo, ReadsKinectDepthFrame) {
  const DepthImage16 depth = ReadDepthPng(kShared + "/data/kinect_person/depth/00000.png");
  EXPECT_EQ(depth.width, 640);
  EXPECT_EQ(depth.height, 480);
  int valid = 0;
  for (const uint16_t value : depth.pixels) {
    if (value == 0) continue;
    ++valid;
    EXPECT_GT(value, 300);  // millimetres: the head is at about 0.7 m
    EXPECT_LT(value, 5000);
  }
  EXPECT_GT(valid, 10000);
}

// ---- bad input ----

TEST_F(ImageIoTest, WrongBitDepthIsAnErrorSayingWhatItIs) {
  const auto eight_bit = WriteFile("gray8.png", MakePng(2, 1, 8, 0, {1, 2}));
  ExpectError([&] { ReadDepthPng(eight_bit); }, eight_bit,
              {"expected a 16-bit single-channel depth PNG, found 8-bit 1-channel"});
  const auto rgb = WriteFile("rgb.png", MakePng(1, 1, 8, 2, {1, 2, 3}));
  ExpectError([&] { ReadDepthPng(rgb); }, rgb, {"found 8-bit 3-channel"});
  const auto depth = WriteFile("depth.png", MakePng(2, 1, 16, 0, {1, 2, 3, 4}));
  ExpectError([&] { ReadColorPng(depth); }, depth,
              {"expected an 8-bit color or gray PNG, found 16-bit 1-channel (a depth image?)"});
}

TEST_F(ImageIoTest, TruncatedOrCorruptPngIsAnError) {
  DepthImage16 depth(64, 64);
  for (size_t i = 0; i < depth.pixels.size(); ++i) {
    depth.pixels[i] = static_cast<uint16_t>(i * 7919);
  }
  WriteDepthPng(Path("depth.png"), depth);
  const std::vector<char> bytes = ReadFileBytes(Path("depth.png"));
  const auto truncated =
      WriteFile("truncated.png", std::string_view(bytes.data(), bytes.size() / 2));
  ExpectError([&] { ReadDepthPng(truncated); }, truncated, {"corrupt or truncated PNG"});
  std::string corrupt(bytes.begin(), bytes.end());
  for (size_t i = 40; i < corrupt.size() - 20; i += 7) corrupt[i] = static_cast<char>(~corrupt[i]);
  const auto garbled = WriteFile("garbled.png", corrupt);
  ExpectError([&] { ReadDepthPng(garbled); }, garbled, {"corrupt or truncated PNG"});
  const auto text = WriteFile("text.png", "this is not an image");
  ExpectError([&] { ReadColorPng(text); }, text, {"not a PNG file"});
  const auto empty = WriteFile("empty.png", "");
  ExpectError([&] { ReadDepthPng(empty); }, empty, {"not a PNG file"});
}

TEST_F(ImageIoTest, MissingFileAndMissingFolderAreErrors) {
  ExpectError([&] { ReadDepthPng(Path("none.png")); }, Path("none.png"), {"no such file"},
              /*input_error=*/false);
  const auto path = Path("missing") / "depth.png";
  ExpectError([&] { WriteDepthPng(path, DepthImage16(2, 2)); }, path, {"does not exist"},
              /*input_error=*/false);
  ExpectError([&] { WriteColorPng(path, ColorImage(2, 2, 3)); }, path, {"does not exist"},
              /*input_error=*/false);
  EXPECT_EQ(FileCount(), 0);
}

}  // namespace
}  // namespace headtrack
