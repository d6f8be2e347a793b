// The CSV that Epic's Live Link Face app records per take: one header line, then one line per
// frame, 63 comma-separated columns:
//   Timecode, BlendShapeCount, the 52 ARKit weights (ArkitBlendshapeNames() order),
//   HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll,
//   RightEyeYaw, RightEyePitch, RightEyeRoll.
// Timecode is "HH:MM:SS:FF.fff": hours, minutes, seconds, the frame within the second and the
// sub-frame in thousandths of a frame (the app writes time of day; we write time from 0).
// BlendShapeCount is the number of float columns that follow (61). Weights are in [0, 1]; the
// angles are radians with the signs documented in headtrack/arkit_blendshapes.h.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "headtrack/arkit_blendshapes.h"

namespace headtrack {

inline constexpr int kLiveLinkFaceColumns = 63;
inline constexpr int kLiveLinkFaceBlendShapeCount = 61;  // 52 weights + 3 head + 6 eye angles

struct LiveLinkFaceFrame {
  double seconds = 0.0;                                   // time of the frame, >= 0
  std::array<float, kNumArkitBlendshapes> blendshapes{};  // ArkitBlendshapeNames() order
  std::array<float, 3> head{};                            // HeadYaw, HeadPitch, HeadRoll, radians
  std::array<float, 6> eyes{};  // Left{Yaw,Pitch,Roll}, Right{Yaw,Pitch,Roll}, radians
};

// The 63 column names, as in the app's header line.
const std::array<std::string_view, kLiveLinkFaceColumns>& LiveLinkFaceColumnNames();

// "HH:MM:SS:FF.fff" for a time in seconds (>= 0) at frames_per_second (> 0); FF counts frames
// within the second, fff the remaining fraction of a frame in thousandths, rounded. Hours are
// not wrapped at 24.
std::string LiveLinkFaceTimecode(double seconds, double frames_per_second);

// Writes the header and one row per frame, atomically (no partial file on failure). Values are
// written in the shortest decimal form that reads back to the same float. Every value must be
// finite and every frame's seconds >= 0 (checked).
void WriteLiveLinkFaceCsv(const std::filesystem::path& path,
                          const std::vector<LiveLinkFaceFrame>& frames, double frames_per_second);

// Reads a Live Link Face CSV (the app's recordings or ours). frames_per_second is the rate the
// timecodes count frames at (the app records at 60 by default, or 30); seconds =
// 3600 HH + 60 MM + SS + FF.fff / frames_per_second. Columns are found by name (ignoring case,
// so "BlendshapeCount" is accepted too): all 63 must be present once, no others. A UTF-8 byte
// order mark, CRLF line ends and blank lines are accepted. Throws InputError naming the file,
// line and column for a missing, repeated or unknown column, a row with the wrong number of
// fields, a bad timecode or a value that is not a finite number.
std::vector<LiveLinkFaceFrame> ReadLiveLinkFaceCsv(const std::filesystem::path& path,
                                                   double frames_per_second);

}  // namespace headtrack
