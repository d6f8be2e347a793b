#include "model/live_link_face_csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <system_error>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

constexpr std::array<std::string_view, 9> kAngleColumns = {
    "HeadYaw",     "HeadPitch",   "HeadRoll",      "LeftEyeYaw",  "LeftEyePitch",
    "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"};

std::array<std::string_view, kLiveLinkFaceColumns> MakeColumnNames() {
  std::array<std::string_view, kLiveLinkFaceColumns> names;
  names[0] = "Timecode";
  names[1] = "BlendShapeCount";
  const auto after_weights =
      std::copy(ArkitBlendshapeNames().begin(), ArkitBlendshapeNames().end(), names.begin() + 2);
  std::copy(kAngleColumns.begin(), kAngleColumns.end(), after_weights);
  return names;
}

// Column slots of a frame: 0 timecode, 1 count, then 61 floats.
constexpr int kFirstFloatColumn = 2;

std::string Lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// The pieces of text between separators, each trimmed.
std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    pieces.push_back(Trim(text.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return pieces;
    start = end + 1;
  }
}

// The float of a frame that column slot `column` (>= kFirstFloatColumn) holds; Frame is
// LiveLinkFaceFrame or const LiveLinkFaceFrame.
template <typename Frame>
auto& FloatSlot(Frame& frame, int column) {
  const int k = column - kFirstFloatColumn;
  if (k < kNumArkitBlendshapes) return frame.blendshapes[k];
  if (k < kNumArkitBlendshapes + 3) return frame.head[k - kNumArkitBlendshapes];
  return frame.eyes[k - kNumArkitBlendshapes - 3];
}

void AppendFloat(std::string& out, float value) {
  char buffer[64];
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  HT_CHECK(error == std::errc(), "cannot format " << value);
  out.append(buffer, end);
}

// Parses one whole field; false if it is not entirely a number of that type.
template <typename T>
bool ParseNumber(std::string_view field, T* value,
                 std::chars_format format = std::chars_format::general) {
  if (field.empty()) return false;
  const char* last = field.data() + field.size();
  std::from_chars_result result;
  if constexpr (std::is_floating_point_v<T>) {
    result = std::from_chars(field.data(), last, *value, format);
  } else {
    result = std::from_chars(field.data(), last, *value);
  }
  return result.ec == std::errc() && result.ptr == last;
}

// Seconds of "HH:MM:SS:FF[.fff]"; the problem is written to *problem on failure.
bool ParseTimecode(std::string_view field, double frames_per_second, double* seconds,
                   std::string* problem) {
  const std::vector<std::string_view> parts = Split(field, ':');
  *problem = "expected HH:MM:SS:FF.fff with minutes and seconds below 60";
  if (parts.size() != 4) return false;
  long long hours = 0, minutes = 0, whole_seconds = 0;
  double frame = 0.0;
  if (!ParseNumber(parts[0], &hours) || !ParseNumber(parts[1], &minutes) ||
      !ParseNumber(parts[2], &whole_seconds) ||
      !ParseNumber(parts[3], &frame, std::chars_format::fixed) || hours < 0 || minutes < 0 ||
      minutes >= 60 || whole_seconds < 0 || whole_seconds >= 60 || frame < 0.0) {
    return false;
  }
  if (std::floor(frame) >= std::ceil(frames_per_second)) {
    std::ostringstream message;
    message << "frame " << parts[3] << " is not below the frame rate " << frames_per_second
            << " (was the take recorded at a higher rate?)";
    *problem = message.str();
    return false;
  }
  *seconds = 3600.0 * static_cast<double>(hours) + 60.0 * static_cast<double>(minutes) +
             static_cast<double>(whole_seconds) + frame / frames_per_second;
  return true;
}

}  // namespace

const std::array<std::string_view, kLiveLinkFaceColumns>& LiveLinkFaceColumnNames() {
  static const std::array<std::string_view, kLiveLinkFaceColumns> names = MakeColumnNames();
  return names;
}

std::string LiveLinkFaceTimecode(double seconds, double frames_per_second) {
  HT_CHECK(std::isfinite(seconds) && seconds >= 0.0, "seconds " << seconds);
  HT_CHECK(std::isfinite(frames_per_second) && frames_per_second > 0.0,
           "frames_per_second " << frames_per_second);
  long long whole = static_cast<long long>(std::floor(seconds));
  long long milli_frames =
      std::llround((seconds - static_cast<double>(whole)) * frames_per_second * 1000.0);
  if (milli_frames >= std::llround(frames_per_second * 1000.0)) {  // rounded up to a full second
    ++whole;
    milli_frames = 0;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%02lld:%02lld:%02lld:%02lld.%03lld", whole / 3600,
                whole / 60 % 60, whole % 60, milli_frames / 1000, milli_frames % 1000);
  return buffer;
}

void WriteLiveLinkFaceCsv(const std::filesystem::path& path,
                          const std::vector<LiveLinkFaceFrame>& frames, double frames_per_second) {
  const auto& names = LiveLinkFaceColumnNames();
  std::string text;
  for (int c = 0; c < kLiveLinkFaceColumns; ++c) {
    if (c > 0) text += ',';
    text += names[c];
  }
  text += '\n';
  for (size_t f = 0; f < frames.size(); ++f) {
    const LiveLinkFaceFrame& frame = frames[f];
    text += LiveLinkFaceTimecode(frame.seconds, frames_per_second);
    text += ',' + std::to_string(kLiveLinkFaceBlendShapeCount);
    for (int c = kFirstFloatColumn; c < kLiveLinkFaceColumns; ++c) {
      const float value = FloatSlot(frame, c);
      HT_CHECK(std::isfinite(value), "frame " << f << " " << names[c] << " is " << value);
      text += ',';
      AppendFloat(text, value);
    }
    text += '\n';
  }
  WriteFileAtomically(path, [&](std::ostream& stream) { stream << text; });
}

std::vector<LiveLinkFaceFrame> ReadLiveLinkFaceCsv(const std::filesystem::path& path,
                                                   double frames_per_second) {
  HT_CHECK(std::isfinite(frames_per_second) && frames_per_second > 0.0,
           "frames_per_second " << frames_per_second);
  const std::vector<char> bytes = ReadFileBytes(path);
  std::string_view text(bytes.data(), bytes.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const std::string source = path.string();
  const auto& names = LiveLinkFaceColumnNames();

  std::vector<LiveLinkFaceFrame> frames;
  std::vector<int> slot_of_field;  // header field -> column slot in LiveLinkFaceColumnNames()
  int line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = Trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = Split(line, ',');
    const auto where = [&](size_t field) {
      return "line " + std::to_string(line_number) + ", column " + std::to_string(field + 1);
    };

    if (slot_of_field.empty()) {  // the header
      std::vector<int> field_of_slot(kLiveLinkFaceColumns, -1);
      for (size_t i = 0; i < fields.size(); ++i) {
        const std::string name = Lower(fields[i]);
        const auto it = std::find_if(names.begin(), names.end(),
                                     [&](std::string_view n) { return Lower(n) == name; });
        if (it == names.end()) {
          HT_THROW_INPUT(source, where(i) << ": unknown column '" << fields[i]
                                          << "' (expected Live Link Face's 63 columns: Timecode, "
                                             "BlendShapeCount, the 52 ARKit blendshapes "
                                             "EyeBlinkLeft ... TongueOut, HeadYaw, HeadPitch, "
                                             "HeadRoll, LeftEyeYaw ... RightEyeRoll)");
        }
        const int slot = static_cast<int>(it - names.begin());
        if (field_of_slot[slot] >= 0) {
          HT_THROW_INPUT(source, where(i) << ": column '" << names[slot]
                                          << "' appears again (first in column "
                                          << field_of_slot[slot] + 1 << ")");
        }
        field_of_slot[slot] = static_cast<int>(i);
        slot_of_field.push_back(slot);
      }
      for (int slot = 0; slot < kLiveLinkFaceColumns; ++slot) {
        if (field_of_slot[slot] < 0) {
          HT_THROW_INPUT(source, "line " << line_number << ": the header has no column '"
                                         << names[slot] << "' (a Live Link Face CSV has "
                                         << kLiveLinkFaceColumns << ")");
        }
      }
      continue;
    }

    if (fields.size() != slot_of_field.size()) {
      HT_THROW_INPUT(source, "line " << line_number << ": " << fields.size() << " fields, expected "
                                     << slot_of_field.size() << " as in the header");
    }
    LiveLinkFaceFrame& frame = frames.emplace_back();
    for (size_t i = 0; i < fields.size(); ++i) {
      const int slot = slot_of_field[i];
      if (slot == 0) {
        std::string problem;
        if (!ParseTimecode(fields[i], frames_per_second, &frame.seconds, &problem)) {
          HT_THROW_INPUT(source, where(i) << " (Timecode): '" << fields[i] << "': " << problem);
        }
      } else if (slot == 1) {
        int count = 0;
        if (!ParseNumber(fields[i], &count) || count < 0) {
          HT_THROW_INPUT(source, where(i) << " (BlendShapeCount): '" << fields[i]
                                          << "' is not a non-negative integer");
        }
      } else {
        float& value = FloatSlot(frame, slot);
        if (!ParseNumber(fields[i], &value) || !std::isfinite(value)) {
          HT_THROW_INPUT(source, where(i) << " (" << names[slot] << "): '" << fields[i]
                                          << "' is not a finite number");
        }
      }
    }
  }
  if (slot_of_field.empty()) {
    HT_THROW_INPUT(source,
                   "empty file: expected a Live Link Face header line (Timecode,"
                   "BlendShapeCount,EyeBlinkLeft,...)");
  }
  return frames;
}

}  // namespace headtrack
