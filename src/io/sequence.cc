#include "headtrack/sequence.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "headtrack/error.h"
#include "headtrack/image_io.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxFrameNumber = 999999;
constexpr const char* kLayout =
    "expected a sequence folder with calibration.json and depth/NNNNN.png (16-bit PNG, 5- or "
    "6-digit frame numbers)";

// The frame number of "00042.png" or "000042.png"; nullopt for any other name.
std::optional<int> ParseFrameFileName(std::string_view name) {
  constexpr std::string_view kExtension = ".png";
  if (!name.ends_with(kExtension)) return std::nullopt;
  return ParseSequenceFrameName(name.substr(0, name.size() - kExtension.size()));
}

// Regular files in `folder` by name; empty when the folder does not exist.
std::vector<std::string> ListFiles(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return names;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  return names;
}

void CheckSize(const fs::path& path, const DepthImage16& depth, const Calibration& calibration) {
  const PinholeCamera& camera = calibration.camera;
  if (depth.width != camera.width || depth.height != camera.height) {
    HT_THROW_INPUT(path.string(), "depth image is "
                                      << depth.width << " x " << depth.height << ", expected "
                                      << camera.width << " x " << camera.height
                                      << " (the size in the sequence's "
                                         "calibration.json, else of its first frame)");
  }
}

void CreateFolder(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw Error(folder.string() + ": cannot create folder (" + error.message() + ")");
}

}  // namespace

std::optional<int> ParseSequenceFrameName(std::string_view stem) {
  if (stem.size() != 5 && stem.size() != 6) return std::nullopt;
  int number = 0;
  for (const char digit : stem) {
    if (digit < '0' || digit > '9') return std::nullopt;
    number = number * 10 + (digit - '0');
  }
  return number;
}

std::string SequenceFrameName(int number) {
  HT_CHECK(number >= 0 && number <= kMaxFrameNumber, "frame number " << number);
  char name[8];
  std::snprintf(name, sizeof(name), "%05d", number);
  return name;
}

// ---- Sequence ----

Sequence Sequence::Open(const fs::path& folder) {
  if (!fs::is_directory(folder)) {
    HT_THROW_INPUT(folder.string(), (fs::exists(folder) ? "is not a folder; " : "no such folder; ")
                                        << kLayout);
  }
  Sequence sequence;
  sequence.folder_ = folder;

  std::map<int, std::string> depth_files;  // by frame number
  for (std::string& name : ListFiles(folder / "depth")) {
    const std::optional<int> number = ParseFrameFileName(name);
    if (!number) continue;
    const auto [it, inserted] = depth_files.emplace(*number, name);
    if (!inserted) {
      HT_THROW_INPUT((folder / "depth").string(), "frame " << *number << " has two files, '"
                                                           << it->second << "' and '" << name
                                                           << "'");
    }
  }
  if (depth_files.empty()) HT_THROW_INPUT(folder.string(), "has no depth frames; " << kLayout);

  const fs::path calibration_path = folder / "calibration.json";
  if (!fs::is_regular_file(calibration_path)) {
    HT_THROW_INPUT(calibration_path.string(),
                   "missing; a sequence needs the camera's fx, fy, cx, cy (and optionally width, "
                   "height, depth_scale) in this file");
  }
  sequence.calibration_ = ReadCalibration(calibration_path);

  const std::vector<std::string> color_list = ListFiles(folder / "color");
  const std::set<std::string> color_files(color_list.begin(), color_list.end());
  int expected = depth_files.begin()->first;
  for (auto& [number, name] : depth_files) {
    for (; expected < number; ++expected) sequence.missing_frame_numbers_.push_back(expected);
    expected = number + 1;
    sequence.frame_numbers_.push_back(number);
    sequence.has_color_.push_back(color_files.contains(name));
    sequence.depth_files_.push_back(std::move(name));
  }

  if (!sequence.calibration_.has_size()) {
    const DepthImage16 first = ReadDepthPng(sequence.DepthPath(0));
    sequence.calibration_.camera.width = first.width;
    sequence.calibration_.camera.height = first.height;
  }
  return sequence;
}

fs::path Sequence::DepthPath(int index) const {
  HT_CHECK(index >= 0 && index < num_frames(), "frame index " << index << " of " << num_frames());
  return folder_ / "depth" / depth_files_[index];
}

bool Sequence::HasColor(int index) const {
  HT_CHECK(index >= 0 && index < num_frames(), "frame index " << index << " of " << num_frames());
  return has_color_[index];
}

fs::path Sequence::ColorPath(int index) const {
  return HasColor(index) ? folder_ / "color" / depth_files_[index] : fs::path();
}

DepthImage16 Sequence::ReadDepthUnits(int index) const {
  const fs::path path = DepthPath(index);
  DepthImage16 depth = ReadDepthPng(path);
  CheckSize(path, depth, calibration_);
  return depth;
}

SequenceFrame Sequence::ReadFrame(int index) const {
  const DepthImage16 units = ReadDepthUnits(index);
  SequenceFrame frame;
  frame.number = frame_numbers_[index];
  frame.depth = DepthImage(units.width, units.height);
  // In double, so that each depth is the float nearest to units / depth_scale.
  const double depth_scale = calibration_.depth_scale;
  std::transform(units.pixels.begin(), units.pixels.end(), frame.depth.pixels.begin(),
                 [&](std::uint16_t value) { return static_cast<float>(value / depth_scale); });
  if (HasColor(index)) frame.color = ReadColorPng(ColorPath(index));
  return frame;
}

// ---- SequenceWriter ----

void SequenceWriter::CheckFolder(const fs::path& folder, bool overwrite) {
  if (folder.empty()) throw Error("no sequence folder given");
  if (!fs::exists(folder)) return;
  if (!fs::is_directory(folder)) {
    HT_THROW_INPUT(folder.string(), "exists and is not a folder; expected a sequence folder");
  }
  if (!overwrite && !fs::is_empty(folder)) {
    HT_THROW_INPUT(folder.string(),
                   "exists and is not empty; refusing to write a sequence into it (pass "
                   "--overwrite to replace the sequence there)");
  }
}

SequenceWriter::SequenceWriter(fs::path folder, const Calibration& calibration, bool overwrite)
    : folder_(std::move(folder)), calibration_(calibration) {
  HT_CHECK(calibration.has_size(), "a sequence's calibration needs width and height");
  CheckFolder(folder_, overwrite);
  // Stale frames of an earlier sequence would be read as part of this one.
  for (const char* subfolder : {"depth", "color"}) {
    for (const std::string& name : ListFiles(folder_ / subfolder)) {
      if (ParseFrameFileName(name)) fs::remove(folder_ / subfolder / name);
    }
  }
  CreateFolder(folder_ / "depth");
  WriteCalibration(folder_ / "calibration.json", calibration_);
}

void SequenceWriter::WriteFrame(int number, const DepthImage16& depth, const ColorImage& color) {
  const PinholeCamera& camera = calibration_.camera;
  HT_CHECK(depth.width == camera.width && depth.height == camera.height && depth.channels == 1,
           "depth " << depth.width << " x " << depth.height << " x " << depth.channels
                    << ", calibration " << camera.width << " x " << camera.height);
  const std::string name = SequenceFrameName(number) + ".png";
  WriteDepthPng(folder_ / "depth" / name, depth);
  if (!color.empty()) {
    CreateFolder(folder_ / "color");
    WriteColorPng(folder_ / "color" / name, color);
  }
}

}  // namespace headtrack
