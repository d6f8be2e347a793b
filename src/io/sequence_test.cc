#include "headtrack/sequence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "headtrack/image_io.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;
using SequenceTest = test_support::ScratchFolderTest;

const std::string kShared = HEADTRACK_DATA_DIR;

Calibration SmallCalibration(double depth_scale = 1000.0) {
  Calibration calibration;
  calibration.camera = {.fx = 50.5, .fy = 51.25, .cx = 7.5, .cy = 4.75, .width = 16, .height = 10};
  calibration.depth_scale = depth_scale;
  return calibration;
}

// A depth image whose every pixel differs between frames (0 = no measurement included).
DepthImage16 MakeDepth(int width, int height, int seed) {
  DepthImage16 depth(width, height);
  for (size_t i = 0; i < depth.pixels.size(); ++i) {
    depth.pixels[i] = static_cast<std::uint16_t>((i * 7919 + seed * 104729) % 65536);
  }
  depth.pixels[3] = 0;
  return depth;
}

ColorImage MakeColor(int width, int height, int seed) {
  ColorImage color(width, height, 3);
  for (size_t i = 0; i < color.pixels.size(); ++i) {
    color.pixels[i] = static_cast<std::uint8_t>(i * 31 + seed);
  }
  return color;
}

// Files in the folder tree, temporary ones included.
int CountFiles(const std::filesystem::path& folder) {
  int count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    count += entry.is_regular_file() ? 1 : 0;
  }
  return count;
}

TEST(SequenceFrameName, HasFiveDigitsOrSixFromOneHundredThousandAndParsesBack) {
  EXPECT_EQ(SequenceFrameName(0), "00000");
  EXPECT_EQ(SequenceFrameName(42), "00042");
  EXPECT_EQ(SequenceFrameName(99999), "99999");
  EXPECT_EQ(SequenceFrameName(100000), "100000");
  EXPECT_EQ(SequenceFrameName(999999), "999999");
  EXPECT_THROW(SequenceFrameName(1000000), CheckError);
  EXPECT_THROW(SequenceFrameName(-1), CheckError);
  EXPECT_EQ(ParseSequenceFrameName("00042"), 42);
  EXPECT_EQ(ParseSequenceFrameName("000042"), 42);
  EXPECT_EQ(ParseSequenceFrameName("999999"), 999999);
  EXPECT_EQ(ParseSequenceFrameName("0042"), std::nullopt);
  EXPECT_EQ(ParseSequenceFrameName("0000042"), std::nullopt);
  EXPECT_EQ(ParseSequenceFrameName("0004a"), std::nullopt);
  EXPECT_EQ(ParseSequenceFrameName("-0042"), std::nullopt);
}

TEST_F(SequenceTest, RoundTripKeepsDepthColorCalibrationAndReportsGaps) {
  const Calibration calibration = SmallCalibration(/*depth_scale=*/10000.0);
  const int numbers[] = {3, 4, 7};
  {
    SequenceWriter writer(folder_, calibration);
    for (const int number : numbers) {
      // Frame 4 has no color image.
      writer.WriteFrame(number, MakeDepth(16, 10, number),
                        number == 4 ? ColorImage() : MakeColor(16, 10, number));
    }
  }
  EXPECT_EQ(CountFiles(folder_), 1 + 3 + 2);  // calibration, depth, color: no temporary files

  const Sequence sequence = Sequence::Open(folder_);
  EXPECT_EQ(sequence.num_frames(), 3);
  EXPECT_EQ(sequence.frame_numbers(), (std::vector<int>{3, 4, 7}));
  EXPECT_EQ(sequence.missing_frame_numbers(), (std::vector<int>{5, 6}));
  const PinholeCamera& camera = sequence.calibration().camera;
  EXPECT_EQ(camera.fx, 50.5);
  EXPECT_EQ(camera.fy, 51.25);
  EXPECT_EQ(camera.cx, 7.5);
  EXPECT_EQ(camera.cy, 4.75);
  EXPECT_EQ(camera.width, 16);
  EXPECT_EQ(camera.height, 10);
  EXPECT_EQ(sequence.calibration().depth_scale, 10000.0);
  EXPECT_EQ(sequence.DepthPath(2), folder_ / "depth" / "00007.png");

  for (int index = 0; index < 3; ++index) {
    const int number = numbers[index];
    const DepthImage16 expected = MakeDepth(16, 10, number);
    EXPECT_EQ(sequence.ReadDepthUnits(index).pixels, expected.pixels);
    const SequenceFrame frame = sequence.ReadFrame(index);
    EXPECT_EQ(frame.number, number);
    ASSERT_EQ(frame.depth.width, 16);
    ASSERT_EQ(frame.depth.height, 10);
    for (size_t i = 0; i < expected.pixels.size(); ++i) {
      // Metres: the float nearest to units / depth_scale.
      EXPECT_EQ(frame.depth.pixels[i], static_cast<float>(expected.pixels[i] / 10000.0)) << i;
    }
    EXPECT_EQ(frame.depth.pixels[3], 0.0f);
    EXPECT_EQ(sequence.HasColor(index), number != 4);
    if (number == 4) {
      EXPECT_TRUE(frame.color.empty());
      EXPECT_TRUE(sequence.ColorPath(index).empty());
    } else {
      EXPECT_EQ(frame.color.pixels, MakeColor(16, 10, number).pixels);
    }
  }
  EXPECT_THROW(sequence.ReadFrame(3), CheckError);
}

TEST_F(SequenceTest, SixDigitNumbersAreOrderedByNumber) {
  {
    SequenceWriter writer(folder_, SmallCalibration());
    for (const int number : {100002, 99999, 100000}) {
      writer.WriteFrame(number, MakeDepth(16, 10, number));
    }
  }
  EXPECT_TRUE(std::filesystem::exists(folder_ / "depth" / "99999.png"));
  EXPECT_TRUE(std::filesystem::exists(folder_ / "depth" / "100000.png"));
  // A six-digit name below 100000, as some recorders write.
  std::filesystem::copy_file(folder_ / "depth" / "99999.png", folder_ / "depth" / "099997.png");

  const Sequence sequence = Sequence::Open(folder_);
  EXPECT_EQ(sequence.frame_numbers(), (std::vector<int>{99997, 99999, 100000, 100002}));
  EXPECT_EQ(sequence.missing_frame_numbers(), (std::vector<int>{99998, 100001}));
  EXPECT_EQ(sequence.ReadFrame(2).number, 100000);
  EXPECT_EQ(sequence.ReadDepthUnits(3).pixels, MakeDepth(16, 10, 100002).pixels);
  EXPECT_EQ(sequence.ReadDepthUnits(0).pixels, MakeDepth(16, 10, 99999).pixels);
}

TEST_F(SequenceTest, OtherFilesAreIgnoredAndSizeComesFromTheFirstFrame) {
  std::filesystem::create_directories(folder_ / "depth");
  WriteFile("calibration.json", R"({"fx": 500, "fy": 500, "cx": 3, "cy": 2})");
  WriteDepthPng(folder_ / "depth" / "00001.png", MakeDepth(7, 5, 1));
  WriteFile("depth/notes.txt", "not a frame");
  WriteFile("depth/0001.png", "four digits: not a frame");
  WriteFile("depth/0000001.png", "seven digits: not a frame");
  const Sequence sequence = Sequence::Open(folder_);
  EXPECT_EQ(sequence.frame_numbers(), (std::vector<int>{1}));
  EXPECT_TRUE(sequence.missing_frame_numbers().empty());
  EXPECT_EQ(sequence.calibration().camera.width, 7);
  EXPECT_EQ(sequence.calibration().camera.height, 5);
  EXPECT_EQ(sequence.calibration().depth_scale, 1000.0);
  EXPECT_EQ(sequence.ReadFrame(0).depth.pixels[1],
            static_cast<float>(MakeDepth(7, 5, 1).pixels[1] / 1000.0));
}

TEST(Sequence, ReadsKinectPersonFolder) {
  const Sequence sequence = Sequence::Open(kShared + "/data/kinect_person");
  ASSERT_EQ(sequence.num_frames(), 1);
  EXPECT_EQ(sequence.frame_numbers()[0], 0);
  EXPECT_FALSE(sequence.HasColor(0));
  const SequenceFrame frame = sequence.ReadFrame(0);
  EXPECT_EQ(frame.depth.width, 640);
  EXPECT_EQ(frame.depth.height, 480);
  float nearest = 100.0f;
  for (const float z : frame.depth.pixels) {
    if (z > 0.0f) nearest = std::min(nearest, z);
  }
  EXPECT_GT(nearest, 0.3f);  // metres, not millimetres
  EXPECT_LT(nearest, 1.5f);
}

TEST_F(SequenceTest, FramesAreReadOnlyWhenAsked) {
  {
    SequenceWriter writer(folder_, SmallCalibration());
    writer.WriteFrame(0, MakeDepth(16, 10, 0));
  }
  WriteFile("depth/00001.png", "corrupt");
  // Opening does not read frame 1; reading it names it.
  const Sequence sequence = Sequence::Open(folder_);
  EXPECT_EQ(sequence.num_frames(), 2);
  EXPECT_EQ(sequence.ReadDepthUnits(0).pixels, MakeDepth(16, 10, 0).pixels);
  ExpectError([&] { sequence.ReadFrame(1); }, folder_ / "depth" / "00001.png", {"not a PNG"});
}

// ---- writing ----

TEST_F(SequenceTest, WriterRefusesNonEmptyFolderUnlessOverwriting) {
  WriteFile("precious.txt", "keep me");
  ExpectError([&] { SequenceWriter writer(folder_, SmallCalibration()); }, folder_,
              {"not empty", "--overwrite"});
  EXPECT_EQ(CountFiles(folder_), 1);

  const std::filesystem::path file = WriteFile("file", "a file");
  ExpectError([&] { SequenceWriter writer(file, SmallCalibration(), /*overwrite=*/true); }, file,
              {"not a folder"});
}

TEST_F(SequenceTest, OverwriteRemovesStaleFrames) {
  {
    SequenceWriter writer(folder_, SmallCalibration());
    for (int number = 0; number < 4; ++number) {
      writer.WriteFrame(number, MakeDepth(16, 10, number), MakeColor(16, 10, number));
    }
  }
  WriteFile("notes.txt", "kept");
  {
    SequenceWriter writer(folder_, SmallCalibration(), /*overwrite=*/true);
    writer.WriteFrame(0, MakeDepth(16, 10, 9));
    writer.WriteFrame(1, MakeDepth(16, 10, 8));
  }
  const Sequence sequence = Sequence::Open(folder_);
  EXPECT_EQ(sequence.frame_numbers(), (std::vector<int>{0, 1}));
  EXPECT_FALSE(sequence.HasColor(0));
  EXPECT_EQ(sequence.ReadDepthUnits(0).pixels, MakeDepth(16, 10, 9).pixels);
  EXPECT_TRUE(std::filesystem::exists(Path("notes.txt")));
}

TEST_F(SequenceTest, WrongFrameSizeIsAProgrammerError) {
  SequenceWriter writer(folder_, SmallCalibration());
  EXPECT_THROW(writer.WriteFrame(0, MakeDepth(15, 10, 0)), CheckError);
  EXPECT_FALSE(std::filesystem::exists(folder_ / "depth" / "00000.png"));
}

// ---- bad input ----

TEST_F(SequenceTest, EmptyOrMissingFolderIsAnError) {
  ExpectError([&] { Sequence::Open(folder_); }, folder_,
              {"has no depth frames", "depth/NNNNN.png"});
  std::filesystem::create_directories(folder_ / "depth");
  WriteFile("calibration.json", R"({"fx": 500, "fy": 500, "cx": 3, "cy": 2})");
  ExpectError([&] { Sequence::Open(folder_); }, folder_, {"has no depth frames"});
  ExpectError([&] { Sequence::Open(Path("none")); }, Path("none"), {"no such folder"});
}

TEST_F(SequenceTest, MissingOrBadCalibrationNamesTheFileAndField) {
  std::filesystem::create_directories(folder_ / "depth");
  WriteDepthPng(folder_ / "depth" / "00000.png", MakeDepth(16, 10, 0));
  ExpectError([&] { Sequence::Open(folder_); }, Path("calibration.json"), {"missing"});
  WriteFile("calibration.json", R"({"fx": 500, "fy": 500, "cx": 3})");
  ExpectError([&] { Sequence::Open(folder_); }, Path("calibration.json"), {"'cy'"});
  WriteFile("calibration.json", R"({"fx": 500, "fy": 500, "cx": 3, "cy": "two"})");
  ExpectError([&] { Sequence::Open(folder_); }, Path("calibration.json"), {"'cy'", "number"});
}

TEST_F(SequenceTest, EightBitOrWrongSizeDepthNamesTheFile) {
  {
    SequenceWriter writer(folder_, SmallCalibration());
    writer.WriteFrame(0, MakeDepth(16, 10, 0));
  }
  const auto eight_bit = folder_ / "depth" / "00001.png";
  WriteColorPng(eight_bit, ColorImage(16, 10, 1, 7));
  const auto wrong_size = folder_ / "depth" / "00002.png";
  WriteDepthPng(wrong_size, MakeDepth(10, 16, 2));
  const Sequence sequence = Sequence::Open(folder_);
  ExpectError([&] { sequence.ReadFrame(1); }, eight_bit, {"16-bit", "found 8-bit"});
  ExpectError([&] { sequence.ReadFrame(2); }, wrong_size,
              {"is 10 x 16", "expected 16 x 10", "calibration.json"});
}

TEST_F(SequenceTest, TwoFilesForOneFrameIsAnError) {
  {
    SequenceWriter writer(folder_, SmallCalibration());
    writer.WriteFrame(5, MakeDepth(16, 10, 5));
  }
  std::filesystem::copy_file(folder_ / "depth" / "00005.png", folder_ / "depth" / "000005.png");
  ExpectError([&] { Sequence::Open(folder_); }, folder_ / "depth",
              {"frame 5 has two files", "00005.png", "000005.png"});
}

}  // namespace
}  // namespace headtrack
