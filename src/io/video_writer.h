// MP4 videos of RGB frames (overlay.mp4), through OpenCV's FFmpeg backend. H.264 ('avc1', plays
// in browsers) when the backend can encode it, else MPEG-4 Part 2 ('mp4v').
// The video is written to a temporary file beside the target and renamed on Finish(), so an
// interrupted run (an exception, a caught Ctrl-C) leaves neither a partial video nor the
// temporary file behind.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "headtrack/image.h"

namespace headtrack {

struct VideoWriterOptions {
  double fps = 30.0;  // frames per second, > 0

  // Throws CheckError naming the bad option.
  void Check() const;
};

struct VideoWriterSummary {
  std::string codec;  // "avc1" (H.264) or "mp4v" (MPEG-4 Part 2)
  int frames = 0;
  // The video's size: the frames' size, rounded up to even (the codecs' 4:2:0 chroma needs even
  // sizes; an odd frame gets its last column / row repeated).
  int width = 0;
  int height = 0;
};

class VideoWriter {
 public:
  // Throws InputError naming `path` if its folder does not exist or is not a folder. The encoder
  // opens with the first frame (which fixes the size).
  explicit VideoWriter(const std::filesystem::path& path, const VideoWriterOptions& options = {});
  // Without Finish(): removes the temporary file, the target is left untouched.
  ~VideoWriter();
  VideoWriter(VideoWriter&&) noexcept;
  VideoWriter& operator=(VideoWriter&&) noexcept;

  // frame: RGB (3 channels), the size of the first frame (CheckError otherwise). The first
  // frame throws InputError naming the path if the folder is not writable or no codec opens.
  void AddFrame(const ColorImage& frame);

  // Closes the video and renames it to the target. Requires at least one frame; call once.
  // Throws Error naming the path if the file cannot be completed.
  VideoWriterSummary Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace headtrack
