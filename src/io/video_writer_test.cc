#include "io/video_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using Rgb = std::array<int, 3>;
using VideoWriterTest = test_support::ScratchFolderTest;

// Lossy codecs: a solid area's mean may move by a few levels.
constexpr double kColorTolerance = 6.0;

// Left half `left`, right half `right`.
ColorImage TwoColorFrame(int width, int height, const Rgb& left, const Rgb& right) {
  ColorImage frame(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) frame.at(x, y, c) = (x < width / 2 ? left : right)[c];
    }
  }
  return frame;
}

Rgb LeftColor(int frame) { return {20 * frame, 200 - 15 * frame, 60}; }
Rgb RightColor(int frame) { return {230, 40 + 10 * frame, 250 - 20 * frame}; }

// Mean RGB of a BGR frame over columns [x0, x1) and all rows.
Rgb MeanRgb(const cv::Mat& bgr, int x0, int x1) {
  const cv::Scalar mean = cv::mean(bgr(cv::Range::all(), cv::Range(x0, x1)));
  return {static_cast<int>(mean[2] + 0.5), static_cast<int>(mean[1] + 0.5),
          static_cast<int>(mean[0] + 0.5)};
}

void ExpectNear(const Rgb& actual, const Rgb& expected, const std::string& where) {
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(actual[c], expected[c], kColorTolerance) << where << " channel " << c;
  }
}

std::vector<cv::Mat> ReadAllFrames(cv::VideoCapture& capture) {
  std::vector<cv::Mat> frames;
  for (cv::Mat frame; capture.read(frame);) frames.push_back(frame.clone());
  return frames;
}

std::string FourccText(double fourcc) {
  const int code = static_cast<int>(fourcc);
  return {char(code & 0xFF), char((code >> 8) & 0xFF), char((code >> 16) & 0xFF),
          char((code >> 24) & 0xFF)};
}

TEST_F(VideoWriterTest, FramesReadBackWithTheirColorsSizeAndRate) {
  const fs::path path = Path("overlay.mp4");
  VideoWriter writer(path, {.fps = 10.0});
  constexpr int kFrames = 10;
  for (int i = 0; i < kFrames; ++i) {
    writer.AddFrame(TwoColorFrame(96, 64, LeftColor(i), RightColor(i)));
  }
  EXPECT_EQ(FileCount(), 1);  // the temporary file, not yet the target
  EXPECT_FALSE(fs::exists(path));
  const VideoWriterSummary summary = writer.Finish();
  EXPECT_EQ(summary.codec, "avc1") << "H.264 is not available; the video falls back to mp4v";
  EXPECT_EQ(summary.frames, kFrames);
  EXPECT_EQ(summary.width, 96);
  EXPECT_EQ(summary.height, 64);
  EXPECT_EQ(FileCount(), 1);  // the video only, no temporary file

  cv::VideoCapture capture(path.string(), cv::CAP_FFMPEG);
  ASSERT_TRUE(capture.isOpened());
  EXPECT_NEAR(capture.get(cv::CAP_PROP_FPS), 10.0, 1e-6);
  // OpenCV reports the H.264 stream's tag as "avc1" or "h264" depending on the FFmpeg version.
  const std::string fourcc = FourccText(capture.get(cv::CAP_PROP_FOURCC));
  if (summary.codec == "avc1") {
    EXPECT_TRUE(fourcc == "avc1" || fourcc == "h264") << fourcc;
  } else {
    EXPECT_EQ(fourcc, "mp4v");
  }
  const std::vector<cv::Mat> frames = ReadAllFrames(capture);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_EQ(frames[i].cols, 96);
    ASSERT_EQ(frames[i].rows, 64);
    // Away from the edge between the halves, where chroma subsampling mixes them.
    ExpectNear(MeanRgb(frames[i], 0, 40), LeftColor(i), "frame " + std::to_string(i) + " left");
    ExpectNear(MeanRgb(frames[i], 56, 96), RightColor(i), "frame " + std::to_string(i) + " right");
  }
}

TEST_F(VideoWriterTest, OddSizeIsPaddedToEvenByRepeatingTheLastColumnAndRow) {
  const fs::path path = Path("odd.mp4");
  VideoWriter writer(path, {.fps = 5.0});
  const Rgb left = {200, 30, 30};
  const Rgb right = {30, 30, 200};
  for (int i = 0; i < 3; ++i) writer.AddFrame(TwoColorFrame(63, 47, left, right));
  const VideoWriterSummary summary = writer.Finish();
  EXPECT_EQ(summary.width, 64);
  EXPECT_EQ(summary.height, 48);

  cv::VideoCapture capture(path.string(), cv::CAP_FFMPEG);
  const std::vector<cv::Mat> frames = ReadAllFrames(capture);
  ASSERT_EQ(frames.size(), 3u);
  ASSERT_EQ(frames[0].cols, 64);
  ASSERT_EQ(frames[0].rows, 48);
  ExpectNear(MeanRgb(frames[0], 0, 24), left, "left");
  // The added column and row carry the right half's color, not black.
  ExpectNear(MeanRgb(frames[0], 62, 64), right, "last columns");
  const cv::Scalar last_row = cv::mean(frames[0](cv::Range(46, 48), cv::Range(40, 60)));
  ExpectNear({int(last_row[2] + 0.5), int(last_row[1] + 0.5), int(last_row[0] + 0.5)}, right,
             "last rows");
}

TEST_F(VideoWriterTest, FrameOfAnotherSizeIsCheckErrorAndLeavesNothing) {
  {
    VideoWriter writer(Path("video.mp4"));
    writer.AddFrame(ColorImage(32, 32, 3, 100));
    EXPECT_THROW(writer.AddFrame(ColorImage(32, 30, 3, 100)), CheckError);
    EXPECT_THROW(writer.AddFrame(ColorImage(32, 32, 1, 100)), CheckError);
  }
  EXPECT_EQ(FileCount(), 0);
}

TEST_F(VideoWriterTest, DestroyedWithoutFinishRemovesTemporaryAndKeepsOldTarget) {
  const fs::path path = WriteFile("video.mp4", "previous video");
  {
    VideoWriter writer(path);
    for (int i = 0; i < 3; ++i) writer.AddFrame(ColorImage(32, 32, 3, 50));
    EXPECT_EQ(FileCount(), 2);
  }
  EXPECT_EQ(FileCount(), 1);
  std::ifstream stream(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(stream), {}), "previous video");
}

TEST_F(VideoWriterTest, FinishWithoutFramesIsCheckError) {
  VideoWriter writer(Path("video.mp4"));
  EXPECT_THROW(writer.Finish(), CheckError);
}

TEST_F(VideoWriterTest, MissingFolderOrOtherExtensionIsInputErrorNamingThePath) {
  const fs::path in_missing_folder = Path("missing/video.mp4");
  test_support::ExpectInputError([&] { VideoWriter writer(in_missing_folder); }, in_missing_folder,
                                 "does not exist");
  const fs::path avi = Path("video.avi");
  test_support::ExpectInputError([&] { VideoWriter writer(avi); }, avi, ".mp4");
  EXPECT_EQ(FileCount(), 0);
}

TEST(VideoWriterOptions, NonPositiveFpsIsCheckError) {
  EXPECT_THROW(VideoWriterOptions{.fps = 0.0}.Check(), CheckError);
  EXPECT_THROW(VideoWriter("video.mp4", {.fps = -1.0}), CheckError);
}

}  // namespace
}  // namespace headtrack
