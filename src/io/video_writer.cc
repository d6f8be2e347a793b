#include "io/video_writer.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <system_error>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

// Codecs in order of preference: H.264 plays in browsers; MPEG-4 Part 2 is the fallback when
// FFmpeg was built without an H.264 encoder.
constexpr const char* kCodecs[] = {"avc1", "mp4v"};

}  // namespace

struct VideoWriter::State {
  fs::path path;
  fs::path temporary;
  VideoWriterOptions options;
  cv::VideoWriter writer;
  std::string codec;  // empty until the first frame opens the encoder
  int frame_width = 0;
  int frame_height = 0;
  int frames = 0;
  bool finished = false;

  // Closes the encoder and removes the temporary file (not the target).
  void Discard() {
    writer.release();
    std::error_code ignored;
    fs::remove(temporary, ignored);
  }

  void Open(int width, int height) {
    // Creating the file first tells a folder we may not write to from a codec that will not open.
    if (!std::ofstream(temporary, std::ios::binary)) {
      HT_THROW_INPUT(path.string(), "cannot create a file in folder '"
                                        << temporary.parent_path().string() << "' (not writable?)");
    }
    const cv::Size size(width + width % 2, height + height % 2);
    for (const char* codec : kCodecs) {
      const int fourcc = cv::VideoWriter::fourcc(codec[0], codec[1], codec[2], codec[3]);
      if (writer.open(temporary.string(), cv::CAP_FFMPEG, fourcc, options.fps, size)) {
        this->codec = codec;
        frame_width = width;
        frame_height = height;
        return;
      }
    }
    Discard();
    HT_THROW_INPUT(path.string(),
                   "cannot write an MP4 video: OpenCV's FFmpeg backend opened neither H.264 "
                   "('avc1') nor MPEG-4 ('mp4v') (is libopencv-videoio built with FFmpeg?)");
  }
};

void VideoWriterOptions::Check() const { HT_CHECK(std::isfinite(fps) && fps > 0, "fps " << fps); }

VideoWriter::VideoWriter(const fs::path& path, const VideoWriterOptions& options)
    : state_(std::make_unique<State>()) {
  options.Check();
  if (LowerExtension(path) != ".mp4") {
    HT_THROW_INPUT(path.string(), "expected a video file name ending in .mp4");
  }
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(folder)) {
    HT_THROW_INPUT(path.string(),
                   "cannot write, folder '" << folder.string() << "' does not exist");
  }
  state_->path = path;
  // The pid keeps concurrent runs apart; the extension stays last because FFmpeg picks the
  // container by it.
  state_->temporary = folder / ("." + path.stem().string() + ".tmp" + std::to_string(getpid()) +
                                path.extension().string());
  state_->options = options;
}

VideoWriter::~VideoWriter() {
  if (state_ && !state_->finished) state_->Discard();
}

VideoWriter::VideoWriter(VideoWriter&&) noexcept = default;

VideoWriter& VideoWriter::operator=(VideoWriter&& other) noexcept {
  if (this != &other) {
    if (state_ && !state_->finished) state_->Discard();
    state_ = std::move(other.state_);
  }
  return *this;
}

void VideoWriter::AddFrame(const ColorImage& frame) {
  HT_CHECK(state_ && !state_->finished, "AddFrame after Finish or on a moved-from VideoWriter");
  HT_CHECK(!frame.empty() && frame.channels == 3,
           frame.width << " x " << frame.height << " x " << frame.channels);
  State& state = *state_;
  if (state.codec.empty()) state.Open(frame.width, frame.height);
  HT_CHECK(frame.width == state.frame_width && frame.height == state.frame_height,
           "frame " << state.frames << " is " << frame.width << " x " << frame.height
                    << ", the video's frames are " << state.frame_width << " x "
                    << state.frame_height);
  const cv::Mat rgb(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (frame.width % 2 != 0 || frame.height % 2 != 0) {
    cv::copyMakeBorder(bgr, bgr, 0, frame.height % 2, 0, frame.width % 2, cv::BORDER_REPLICATE);
  }
  state.writer.write(bgr);
  ++state.frames;
}

VideoWriterSummary VideoWriter::Finish() {
  HT_CHECK(state_ && !state_->finished, "Finish called twice or on a moved-from VideoWriter");
  State& state = *state_;
  HT_CHECK(state.frames > 0, "a video needs at least one frame: " << state.path.string());
  state.writer.release();
  std::error_code error;
  if (fs::file_size(state.temporary, error) == 0 || error) {
    state.Discard();
    throw Error(state.path.string() + ": the video encoder wrote nothing (disk full?)");
  }
  fs::rename(state.temporary, state.path, error);
  if (error) {
    state.Discard();
    throw Error(state.path.string() + ": cannot write (" + error.message() + ")");
  }
  state.finished = true;
  return {state.codec, state.frames, state.frame_width + state.frame_width % 2,
          state.frame_height + state.frame_height % 2};
}

}  // namespace headtrack
