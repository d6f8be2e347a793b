#include "headtrack/calibration.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;

// The number under `key`, which must be finite and, with `positive`, > 0.
double ReadNumber(const Json& json, const char* key, bool positive, const std::string& source) {
  const auto it = json.find(key);
  if (it == json.end()) HT_THROW_INPUT(source, "missing field '" << key << "' (a number)");
  if (!it->is_number() || !std::isfinite(it->get<double>()) ||
      (positive && !(it->get<double>() > 0))) {
    HT_THROW_INPUT(source, "field '" << key << "' must be a " << (positive ? "positive " : "")
                                     << "number, found " << it->dump());
  }
  return it->get<double>();
}

// The positive integer under `key`.
int ReadSize(const Json& json, const char* key, const std::string& source) {
  const Json& value = json.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() <= 0 ||
      value.get<int64_t>() > std::numeric_limits<int>::max()) {
    HT_THROW_INPUT(source,
                   "field '" << key << "' must be a positive integer, found " << value.dump());
  }
  return value.get<int>();
}

}  // namespace

Calibration ReadCalibration(const fs::path& path) {
  const std::string source = path.string();
  const std::vector<char> bytes = ReadFileBytes(path);
  const Json json = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) HT_THROW_INPUT(source, "not valid JSON; expected a calibration object");
  if (!json.is_object()) {
    HT_THROW_INPUT(source,
                   "expected a JSON object with fx, fy, cx, cy, found " << json.type_name());
  }
  Calibration calibration;
  PinholeCamera& camera = calibration.camera;
  camera.fx = ReadNumber(json, "fx", /*positive=*/true, source);
  camera.fy = ReadNumber(json, "fy", /*positive=*/true, source);
  camera.cx = ReadNumber(json, "cx", /*positive=*/false, source);
  camera.cy = ReadNumber(json, "cy", /*positive=*/false, source);
  if (json.contains("width") != json.contains("height")) {
    HT_THROW_INPUT(source, "has only one of 'width' and 'height'; expected both or neither");
  }
  if (json.contains("width")) {
    camera.width = ReadSize(json, "width", source);
    camera.height = ReadSize(json, "height", source);
  }
  if (json.contains("depth_scale")) {
    calibration.depth_scale = ReadNumber(json, "depth_scale", /*positive=*/true, source);
  }
  return calibration;
}

void WriteCalibration(const fs::path& path, const Calibration& calibration) {
  const PinholeCamera& camera = calibration.camera;
  HT_CHECK(std::isfinite(camera.fx) && camera.fx > 0 && std::isfinite(camera.fy) && camera.fy > 0,
           "fx " << camera.fx << " fy " << camera.fy);
  HT_CHECK(std::isfinite(camera.cx) && std::isfinite(camera.cy));
  HT_CHECK(std::isfinite(calibration.depth_scale) && calibration.depth_scale > 0,
           "depth_scale " << calibration.depth_scale);
  Json json = {{"fx", camera.fx}, {"fy", camera.fy}, {"cx", camera.cx}, {"cy", camera.cy}};
  if (calibration.has_size()) {
    json["width"] = camera.width;
    json["height"] = camera.height;
  }
  json["depth_scale"] = calibration.depth_scale;
  const std::string text = json.dump(2) + "\n";
  WriteFileAtomically(
      path, [&](std::ostream& stream) { stream << text; }, /*binary=*/false);
}

}  // namespace headtrack
