// Depth (RGB-D) sequences in the DPHM-Kinect layout:
//   SEQ/calibration.json  fx, fy, cx, cy, optional width, height, depth_scale (calibration.h)
//   SEQ/depth/NNNNN.png   16-bit depth in units of 1 / depth_scale metres, 0 = no measurement
//   SEQ/color/NNNNN.png   optional 8-bit color of the same frame (any size)
// Frame numbers have 5 digits, or 6 from 100000 on (both are read); frames are ordered by
// number, and numbers missing between the first and the last are reported, not an error.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "headtrack/calibration.h"
#include "headtrack/image.h"

namespace headtrack {

// The file stem of a frame: "00042", "123456". Requires 0 <= number <= 999999.
std::string SequenceFrameName(int number);
// The frame number of a file stem of 5 or 6 digits ("00042" and "000042" -> 42), else nullopt.
std::optional<int> ParseSequenceFrameName(std::string_view stem);

struct SequenceFrame {
  int number = 0;    // from the file name
  DepthImage depth;  // metres, 0 = no measurement; the calibration's size
  ColorImage color;  // RGB, or empty when the frame has no color image
};

// An opened sequence: the calibration and the list of frames. Frames are read one at a time by
// ReadFrame, so a long recording is never held in memory.
class Sequence {
 public:
  // Reads calibration.json and lists depth/ (and color/). When the calibration has no size, the
  // first depth image gives it. Throws InputError naming the path when the folder does not
  // exist, has no depth frames, has two files for one frame number, or its calibration.json is
  // missing or invalid.
  static Sequence Open(const std::filesystem::path& folder);

  const std::filesystem::path& folder() const { return folder_; }
  // Always has a size (has_size()).
  const Calibration& calibration() const { return calibration_; }
  int num_frames() const { return static_cast<int>(frame_numbers_.size()); }
  // Ascending.
  const std::vector<int>& frame_numbers() const { return frame_numbers_; }
  // Numbers between the first and the last frame that have no depth image, ascending.
  const std::vector<int>& missing_frame_numbers() const { return missing_frame_numbers_; }

  // index: 0 <= index < num_frames() (CheckError otherwise).
  std::filesystem::path DepthPath(int index) const;
  bool HasColor(int index) const;
  // Empty when the frame has no color image.
  std::filesystem::path ColorPath(int index) const;

  // Reads the depth (converted to metres) and, when present, the color of one frame. Throws
  // InputError naming the file when the depth PNG is not 16-bit single-channel or its size
  // differs from the calibration's, or a PNG is corrupt.
  SequenceFrame ReadFrame(int index) const;
  // The depth of one frame in sensor units (1 / depth_scale metres), checked as by ReadFrame.
  DepthImage16 ReadDepthUnits(int index) const;

 private:
  std::filesystem::path folder_;
  Calibration calibration_;
  std::vector<int> frame_numbers_;
  std::vector<std::string> depth_files_;  // file names in depth/, one per frame
  std::vector<bool> has_color_;           // color/<same file name> exists
  std::vector<int> missing_frame_numbers_;
};

// Writes a sequence frame by frame; every file is written atomically.
class SequenceWriter {
 public:
  // Creates `folder` (with its parents) and depth/, and writes calibration.json; color/ is
  // created with the first color image. The calibration must have a size (CheckError).
  // Throws as CheckFolder. With `overwrite`, the frame images already in depth/ and color/ are
  // removed, so that the folder holds no frame this writer did not write.
  SequenceWriter(std::filesystem::path folder, const Calibration& calibration,
                 bool overwrite = false);

  // What the constructor checks, for callers that want to fail before long work: throws
  // InputError naming the folder when it is a file, or an existing folder that is not empty
  // unless `overwrite`.
  static void CheckFolder(const std::filesystem::path& folder, bool overwrite);

  const std::filesystem::path& folder() const { return folder_; }
  const Calibration& calibration() const { return calibration_; }

  // Writes depth/NNNNN.png and, when `color` is not empty, color/NNNNN.png. number: 0..999999.
  // depth: sensor units (1 / depth_scale metres), the calibration's size (CheckError otherwise).
  void WriteFrame(int number, const DepthImage16& depth, const ColorImage& color = {});

 private:
  std::filesystem::path folder_;
  Calibration calibration_;
};

}  // namespace headtrack
