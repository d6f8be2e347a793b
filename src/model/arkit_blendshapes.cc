#include "headtrack/arkit_blendshapes.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "headtrack/error.h"

namespace headtrack {
namespace {

// Live Link Face's CSV column order.
// clang-format off
constexpr std::array<std::string_view, kNumArkitBlendshapes> kNames = {
    "EyeBlinkLeft",     "EyeLookDownLeft",   "EyeLookInLeft",      "EyeLookOutLeft",
    "EyeLookUpLeft",    "EyeSquintLeft",     "EyeWideLeft",        "EyeBlinkRight",
    "EyeLookDownRight", "EyeLookInRight",    "EyeLookOutRight",    "EyeLookUpRight",
    "EyeSquintRight",   "EyeWideRight",      "JawForward",         "JawRight",
    "JawLeft",          "JawOpen",           "MouthClose",         "MouthFunnel",
    "MouthPucker",      "MouthRight",        "MouthLeft",          "MouthSmileLeft",
    "MouthSmileRight",  "MouthFrownLeft",    "MouthFrownRight",    "MouthDimpleLeft",
    "MouthDimpleRight", "MouthStretchLeft",  "MouthStretchRight",  "MouthRollLower",
    "MouthRollUpper",   "MouthShrugLower",   "MouthShrugUpper",    "MouthPressLeft",
    "MouthPressRight",  "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft",     "BrowDownRight",      "BrowInnerUp",
    "BrowOuterUpLeft",  "BrowOuterUpRight",  "CheekPuff",          "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft",     "NoseSneerRight",     "TongueOut"};
// clang-format on

// Index of a name in kNames; a compile error for an unknown name.
consteval int IndexOf(std::string_view name) {
  for (int i = 0; i < kNumArkitBlendshapes; ++i) {
    if (kNames[i] == name) return i;
  }
  throw "not an ARKit blendshape name";
}

std::string Lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// "eyeBlink_L" -> "eyeblinkleft", "jawOpen" -> "jawopen": the key both sides are compared by.
std::string MatchKey(std::string_view expression_name) {
  if (EndsWith(expression_name, "_L")) {
    return Lower(expression_name.substr(0, expression_name.size() - 2)) + "left";
  }
  if (EndsWith(expression_name, "_R")) {
    return Lower(expression_name.substr(0, expression_name.size() - 2)) + "right";
  }
  return Lower(expression_name);
}

// The first expression whose key is `key`.
std::optional<int> FindExpression(const std::vector<std::string>& keys, const std::string& key) {
  const auto it = std::find(keys.begin(), keys.end(), key);
  if (it == keys.end()) return std::nullopt;
  return static_cast<int>(it - keys.begin());
}

}  // namespace

const std::array<std::string_view, kNumArkitBlendshapes>& ArkitBlendshapeNames() { return kNames; }

int ArkitBlendshapeIndex(std::string_view name) {
  const auto it = std::find(kNames.begin(), kNames.end(), name);
  return it == kNames.end() ? -1 : static_cast<int>(it - kNames.begin());
}

ArkitMapping MapExpressionsToArkit(const std::vector<std::string>& expression_names) {
  ArkitMapping mapping;
  mapping.num_expressions = static_cast<int>(expression_names.size());
  std::vector<std::string> keys;
  keys.reserve(expression_names.size());
  for (const std::string& name : expression_names) keys.push_back(MatchKey(name));

  std::vector<bool> used(expression_names.size(), false);
  for (int a = 0; a < kNumArkitBlendshapes; ++a) {
    const std::string key = Lower(kNames[a]);
    std::vector<ArkitMapping::Term>& terms = mapping.drivers[a];
    if (const auto direct = FindExpression(keys, key)) {
      terms.push_back({*direct, 1.0f});
    } else if (EndsWith(key, "left") || EndsWith(key, "right")) {
      // A sided ARKit shape, driven by an unsided expression of the model.
      const std::string base = key.substr(0, key.size() - (EndsWith(key, "left") ? 4 : 5));
      if (const auto unsided = FindExpression(keys, base)) terms.push_back({*unsided, 1.0f});
    } else {
      // An unsided ARKit shape that the model splits: the mean of the sides it has.
      for (const char* side : {"left", "right"}) {
        if (const auto sided = FindExpression(keys, key + side)) terms.push_back({*sided, 1.0f});
      }
      for (ArkitMapping::Term& term : terms) term.weight = 1.0f / static_cast<float>(terms.size());
    }
    if (terms.empty()) mapping.undriven_arkit.emplace_back(kNames[a]);
    for (const ArkitMapping::Term& term : terms) used[term.expression] = true;
  }
  for (size_t e = 0; e < expression_names.size(); ++e) {
    if (!used[e]) mapping.unused_expressions.push_back(expression_names[e]);
  }
  return mapping;
}

std::array<float, kNumArkitBlendshapes> ArkitWeights(const ArkitMapping& mapping,
                                                     const Eigen::VectorXf& expression) {
  HT_CHECK(expression.size() == mapping.num_expressions,
           "expression has " << expression.size() << " coefficients, the mapping was made for "
                             << mapping.num_expressions);
  HT_CHECK(expression.allFinite(), "expression coefficients must be finite");
  std::array<float, kNumArkitBlendshapes> weights{};
  for (int a = 0; a < kNumArkitBlendshapes; ++a) {
    float sum = 0.0f;
    for (const ArkitMapping::Term& term : mapping.drivers[a]) {
      sum += term.weight * expression[term.expression];
    }
    weights[a] = std::clamp(sum, 0.0f, 1.0f);
  }
  return weights;
}

std::array<float, 3> ArkitHeadAngles(const SimilarityTransform& cam_from_head) {
  // F = Ry(a) * Rx(b) * Rz(c) has F(1,2) = -sin b, F(0,2) = sin a cos b, F(2,2) = cos a cos b,
  // F(1,0) = cos b sin c, F(1,1) = cos b cos c; a = -yaw, b = -pitch, c = roll.
  const Eigen::Matrix3d frontal_from_cam = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal();
  const Eigen::Matrix3d f = frontal_from_cam * cam_from_head.rotation;
  const double a = std::atan2(f(0, 2), f(2, 2));
  const double b = std::asin(std::clamp(-f(1, 2), -1.0, 1.0));
  const double c = std::atan2(f(1, 0), f(1, 1));
  return {static_cast<float>(-a), static_cast<float>(-b), static_cast<float>(c)};
}

std::array<float, 6> ArkitEyeAngles(const std::array<float, kNumArkitBlendshapes>& arkit_weights,
                                    double radians_per_unit) {
  const auto angle = [&](int positive, int negative) {  // ARKit indices
    return static_cast<float>((arkit_weights[positive] - arkit_weights[negative]) *
                              radians_per_unit);
  };
  return {angle(IndexOf("EyeLookInLeft"), IndexOf("EyeLookOutLeft")),
          angle(IndexOf("EyeLookUpLeft"), IndexOf("EyeLookDownLeft")),
          0.0f,
          angle(IndexOf("EyeLookOutRight"), IndexOf("EyeLookInRight")),
          angle(IndexOf("EyeLookUpRight"), IndexOf("EyeLookDownRight")),
          0.0f};
}

}  // namespace headtrack
