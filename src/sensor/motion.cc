#include "sensor/motion.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>
#include <set>
#include <sstream>

#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "sensor/seed.h"

namespace headtrack {
namespace {

// Expression names with weights; a name ending in "_*" stands for both sides, "_L" and "_R".
using Weights = std::vector<std::pair<const char*, double>>;

// An expression over time: its weights times an envelope that rises from 0 to 1 and back.
struct Event {
  double start = 0.0;     // seconds
  double duration = 0.0;  // seconds
  double ramp = 0.0;      // seconds of rise and of fall; 0: a sin^2 bump over the duration
  Weights weights;

  double Envelope(double t) const {
    const double s = t - start;
    if (s <= 0.0 || s >= duration) return 0.0;
    if (ramp <= 0.0) {
      const double bump = std::sin(std::numbers::pi * s / duration);
      return bump * bump;
    }
    const double x = std::min({1.0, s / ramp, (duration - s) / ramp});
    return x * x * (3.0 - 2.0 * x);  // smoothstep
  }
};

// "mouthSmile_*" -> {"mouthSmile_L", "mouthSmile_R"}; other names stay as they are.
std::vector<std::string> ExpandSides(const std::string& name) {
  if (!name.ends_with("_*")) return {name};
  const std::string stem = name.substr(0, name.size() - 1);
  return {stem + "L", stem + "R"};
}

Weights Scaled(Weights weights, double scale) {
  for (auto& [name, weight] : weights) weight *= scale;
  return weights;
}

// Writes the events of each kind between two times (seconds).
class EventWriter {
 public:
  explicit EventWriter(std::uint64_t seed) : random_(seed) {}

  std::vector<Event> events;

  void Write(MotionKind kind, double begin, double end) {
    switch (kind) {
      case MotionKind::kSmile: return Smiles(begin, end);
      case MotionKind::kBlink: return Blinks(begin, end);
      case MotionKind::kTalk: return Talking(begin, end);
      case MotionKind::kRandom: return RandomExpressions(begin, end);
      case MotionKind::kMouth: return MouthMovements(begin, end);
      case MotionKind::kMixed: return Mixed(begin, end);
    }
  }

  // A blink every 2 to 5 seconds, as people do while doing something else.
  void NaturalBlinks(double begin, double end) {
    for (double t = begin + Uniform(0.3, 3.0); t < end; t += Uniform(2.0, 5.0)) Blink(t);
  }

 private:
  double Uniform(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random_);
  }
  bool Chance(double probability) { return Uniform(0.0, 1.0) < probability; }
  template <typename T>
  const T& Pick(const std::vector<T>& choices) {
    return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(random_)];
  }

  void Bump(double start, double duration, const Weights& weights) {
    events.push_back({start, duration, 0.0, weights});
  }
  void Hold(double start, double duration, double ramp, const Weights& weights) {
    events.push_back({start, duration, ramp, weights});
  }

  double Blink(double t) {
    const double duration = Uniform(0.15, 0.3);
    Bump(t, duration, {{"eyeBlink_*", 1.0}});
    return duration;
  }

  // Smiles and laughs: a held smile, in a laugh with the jaw dropping at 4 to 5 Hz.
  void Smiles(double begin, double end) {
    for (double t = begin + Uniform(0.0, 0.2); t < end;) {
      const double left = Uniform(0.6, 1.0);
      const double right = left * Uniform(0.85, 1.0);
      const double duration = Uniform(0.6, 1.4);
      const double ramp = Uniform(0.1, 0.25);
      Hold(t, duration, ramp,
           Scaled({{"mouthSmile_L", 1.0}, {"cheekSquint_L", 0.5}, {"eyeSquint_L", 0.3},
                   {"mouthDimple_L", 0.3}},
                  left));
      Hold(t, duration, ramp,
           Scaled({{"mouthSmile_R", 1.0}, {"cheekSquint_R", 0.5}, {"eyeSquint_R", 0.3},
                   {"mouthDimple_R", 0.3}},
                  right));
      if (Chance(0.5)) {
        const double period = 1.0 / Uniform(4.0, 5.0);
        for (double s = t + ramp; s + period <= t + duration; s += period) {
          Bump(s, period,
               Scaled({{"jawOpen", 1.0}, {"mouthLowerDown_*", 0.4}, {"mouthUpperUp_*", 0.3}},
                      Uniform(0.25, 0.55)));
        }
      }
      t += duration + Uniform(0.1, 0.5);
    }
  }

  // Blinks of both eyes, some winks and double blinks, and wide eyes in between.
  void Blinks(double begin, double end) {
    for (double t = begin + Uniform(0.0, 0.2); t < end;) {
      const double roll = Uniform(0.0, 1.0);
      double duration = 0.0;
      if (roll < 0.2) {  // wink
        duration = Uniform(0.25, 0.5);
        const Weights left = {{"eyeBlink_L", 1.0}, {"eyeSquint_L", 0.4}, {"cheekSquint_L", 0.3}};
        const Weights right = {{"eyeBlink_R", 1.0}, {"eyeSquint_R", 0.4}, {"cheekSquint_R", 0.3}};
        Hold(t, duration, 0.08, Chance(0.5) ? left : right);
      } else if (roll < 0.35) {  // wide eyes
        duration = Uniform(0.4, 0.8);
        const double wide = Uniform(0.5, 0.9);
        Hold(t, duration, 0.1, {{"eyeWide_*", wide}, {"browOuterUp_*", 0.4 * wide}});
      } else {
        duration = Blink(t);
        if (roll < 0.5) duration += Blink(t + duration);  // double blink
      }
      t += duration + Uniform(0.1, 0.6);
    }
  }

  // Fast talking: phrases of syllables at 3 to 5 Hz, each a viseme bump.
  void Talking(double begin, double end) {
    const std::vector<Weights> visemes = {
        {{"jawOpen", 0.5}, {"mouthLowerDown_*", 0.3}},                          // "a"
        {{"jawOpen", 0.25}, {"mouthFunnel", 0.5}, {"mouthPucker", 0.4}},        // "o"
        {{"jawOpen", 0.2}, {"mouthStretch_*", 0.4}, {"mouthSmile_*", 0.15}},    // "e"
        {{"mouthPress_*", 0.5}, {"mouthRollLower", 0.3}, {"mouthClose", 0.3}},  // "m"
        {{"jawOpen", 0.1}, {"mouthRollLower", 0.5}, {"mouthUpperUp_*", 0.3}},   // "f"
        {{"jawOpen", 0.3}, {"mouthPucker", 0.6}},                               // "u"
    };
    for (double t = begin + Uniform(0.0, 0.1); t < end;) {
      const double phrase_end = t + Uniform(0.8, 2.0);
      const double period = 1.0 / Uniform(3.0, 5.0);
      for (; t < phrase_end; t += period) {
        Bump(t, period, Scaled(Pick(visemes), Uniform(0.6, 1.2)));
      }
      if (Chance(0.3)) {  // emphasis: raised brows toward the end of the phrase
        Hold(t - Uniform(0.5, 0.8), 0.5, 0.1, {{"browInnerUp_*", 0.5}});
      }
      t += Uniform(0.1, 0.4);
    }
  }

  // Random facial expressions, held briefly, with quick transitions.
  void RandomExpressions(double begin, double end) {
    const std::vector<Weights> expressions = {
        // surprise, anger, disgust, sadness, fear, joy
        {{"browInnerUp_*", 0.8}, {"browOuterUp_*", 0.8}, {"eyeWide_*", 0.7}, {"jawOpen", 0.4}},
        {{"browDown_*", 0.8}, {"eyeSquint_*", 0.4}, {"noseSneer_*", 0.5}, {"mouthPress_*", 0.5}},
        {{"noseSneer_*", 0.8}, {"mouthUpperUp_*", 0.6}, {"browDown_*", 0.4}},
        {{"browInnerUp_*", 0.7}, {"mouthFrown_*", 0.7}, {"mouthShrugLower", 0.4}},
        {{"browInnerUp_*", 0.8}, {"eyeWide_*", 0.6}, {"mouthStretch_*", 0.6}, {"jawOpen", 0.2}},
        {{"mouthSmile_*", 0.9}, {"cheekSquint_*", 0.5}, {"jawOpen", 0.2}},
        // kiss, puffed cheeks, squint, smirk, sneer
        {{"mouthPucker", 0.9}, {"mouthFunnel", 0.3}},
        {{"cheekPuff_*", 0.9}},
        {{"eyeSquint_*", 0.8}, {"cheekSquint_*", 0.5}, {"browDown_*", 0.4}},
        {{"mouthSmile_L", 0.8}, {"mouthDimple_L", 0.4}, {"eyeSquint_L", 0.3}},
        {{"noseSneer_R", 0.7}, {"mouthUpperUp_R", 0.6}, {"mouthFrown_R", 0.3}},
    };
    for (double t = begin + Uniform(0.0, 0.2); t < end;) {
      const double duration = Uniform(0.4, 1.0);
      Hold(t, duration, Uniform(0.08, 0.2), Scaled(Pick(expressions), Uniform(0.6, 1.1)));
      t += duration + Uniform(-0.1, 0.3);  // may overlap the next: a direct transition
    }
  }

  // Mouth movements: the jaw and lips through their range.
  void MouthMovements(double begin, double end) {
    const std::vector<Weights> movements = {
        {{"jawOpen", 0.9}, {"mouthLowerDown_*", 0.4}},
        {{"jawLeft", 0.7}, {"jawOpen", 0.2}},
        {{"jawRight", 0.7}, {"jawOpen", 0.2}},
        {{"jawForward", 0.7}, {"jawOpen", 0.15}},
        {{"mouthLeft", 0.8}},
        {{"mouthRight", 0.8}},
        {{"mouthPucker", 0.9}},
        {{"mouthFunnel", 0.8}, {"jawOpen", 0.3}},
        {{"mouthRollLower", 0.8}, {"mouthRollUpper", 0.8}},
        {{"mouthShrugLower", 0.7}, {"mouthShrugUpper", 0.7}},
        {{"mouthStretch_*", 0.8}},
        {{"mouthPress_*", 0.8}, {"mouthClose", 0.3}},
        {{"cheekPuff_*", 0.8}},
        {{"mouthLowerDown_*", 0.6}, {"mouthUpperUp_*", 0.6}},  // bared teeth
    };
    for (double t = begin + Uniform(0.0, 0.2); t < end;) {
      const double duration = Uniform(0.3, 0.8);
      Hold(t, duration, Uniform(0.08, 0.15), Scaled(Pick(movements), Uniform(0.7, 1.1)));
      t += duration + Uniform(-0.05, 0.2);
    }
  }

  // Segments of 0.6 to 1.5 seconds, each of a random kind.
  void Mixed(double begin, double end) {
    const std::vector<MotionKind> kinds = {MotionKind::kSmile, MotionKind::kBlink,
                                           MotionKind::kTalk, MotionKind::kRandom,
                                           MotionKind::kMouth};
    for (double t = begin; t < end;) {
      const double duration = Uniform(0.6, 1.5);
      Write(Pick(kinds), t, std::min(t + duration, end));
      t += duration;
    }
  }

  std::mt19937_64 random_;
};

// A smooth signal within [-bound, bound]: two sinusoids of 0.1 to 0.6 Hz with random phases and
// amplitudes summing to at most bound.
class SmoothSignal {
 public:
  SmoothSignal(double bound, std::mt19937_64* random) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    const double total = bound * (0.6 + 0.4 * uniform(*random));
    const double split = uniform(*random);
    amplitude_ = {total * split, total * (1.0 - split)};
    for (int k = 0; k < 2; ++k) {
      frequency_[k] = 0.1 + 0.5 * uniform(*random);
      phase_[k] = 2.0 * std::numbers::pi * uniform(*random);
    }
  }
  double operator()(double t) const {
    double value = 0.0;
    for (int k = 0; k < 2; ++k) {
      value += amplitude_[k] * std::sin(2.0 * std::numbers::pi * frequency_[k] * t + phase_[k]);
    }
    return value;
  }

 private:
  std::array<double, 2> amplitude_{};
  std::array<double, 2> frequency_{};
  std::array<double, 2> phase_{};
};

}  // namespace

const std::vector<std::string>& MotionKindNames() {
  static const std::vector<std::string> names = {"smile", "blink", "talk",
                                                 "random", "mouth", "mixed"};
  return names;
}

const std::string& MotionKindName(MotionKind kind) {
  return MotionKindNames().at(static_cast<size_t>(kind));
}

MotionKind ParseMotionKind(const std::string& name, const std::string& source) {
  const std::vector<std::string>& names = MotionKindNames();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::ostringstream kinds;
    for (const std::string& kind : names) kinds << (kind == names.front() ? "" : ", ") << kind;
    HT_THROW_INPUT(source, "unknown motion '" << name << "'; expected one of " << kinds.str());
  }
  return static_cast<MotionKind>(it - names.begin());
}

void MotionOptions::Check() const {
  HT_CHECK(num_frames >= 1, "num_frames " << num_frames);
  HT_CHECK(fps > 0.0 && std::isfinite(fps), "fps " << fps);
  HT_CHECK(max_rotation_deg >= 0.0 && max_rotation_deg <= 90.0,
           "max_rotation_deg " << max_rotation_deg);
  HT_CHECK(max_translation_m >= 0.0 && std::isfinite(max_translation_m),
           "max_translation_m " << max_translation_m);
}

const std::vector<std::pair<std::string, std::string>>& ContradictoryExpressionPairs() {
  static const std::vector<std::pair<std::string, std::string>> pairs = {
      {"jawOpen", "mouthClose"},          {"jawLeft", "jawRight"},
      {"mouthLeft", "mouthRight"},        {"mouthPucker", "mouthStretch_L"},
      {"mouthPucker", "mouthStretch_R"},  {"eyeBlink_L", "eyeWide_L"},
      {"eyeBlink_R", "eyeWide_R"},        {"eyeSquint_L", "eyeWide_L"},
      {"eyeSquint_R", "eyeWide_R"},       {"mouthSmile_L", "mouthFrown_L"},
      {"mouthSmile_R", "mouthFrown_R"},   {"browDown_L", "browOuterUp_L"},
      {"browDown_R", "browOuterUp_R"},    {"browDown_L", "browInnerUp_L"},
      {"browDown_R", "browInnerUp_R"},    {"eyeLookUp_L", "eyeLookDown_L"},
      {"eyeLookUp_R", "eyeLookDown_R"},   {"eyeLookIn_L", "eyeLookOut_L"},
      {"eyeLookIn_R", "eyeLookOut_R"},
  };
  return pairs;
}

std::vector<HeadPose> HeadPoseTrajectory(const MotionOptions& options) {
  options.Check();
  std::mt19937_64 random(internal::MixSeed(options.seed, 200));
  // Mostly turning, less nodding, little tilting: |(0.4, 0.85, 0.25)| < 1 keeps the rotation
  // angle (the norm of the axis-angle vector) within max_rotation_deg.
  const double max_rotation = options.max_rotation_deg * std::numbers::pi / 180.0;
  const std::array<SmoothSignal, 3> rotation = {SmoothSignal(0.4 * max_rotation, &random),
                                                SmoothSignal(0.85 * max_rotation, &random),
                                                SmoothSignal(0.25 * max_rotation, &random)};
  const std::array<SmoothSignal, 3> translation = {
      SmoothSignal(options.max_translation_m, &random),
      SmoothSignal(options.max_translation_m, &random),
      SmoothSignal(options.max_translation_m, &random)};
  std::vector<HeadPose> poses(options.num_frames);
  for (int f = 0; f < options.num_frames; ++f) {
    const double t = f / options.fps;
    for (int c = 0; c < 3; ++c) {
      poses[f].rotation[c] = rotation[c](t);
      poses[f].translation[c] = translation[c](t);
    }
  }
  return poses;
}

ExpressionTrajectory MakeExpressionTrajectory(const HeadModel& model,
                                              const MotionOptions& options) {
  options.Check();
  const double duration = options.num_frames / options.fps;
  EventWriter writer(internal::MixSeed(options.seed, 100));
  writer.Write(options.kind, 0.0, duration);
  if (options.kind != MotionKind::kBlink) writer.NaturalBlinks(0.0, duration);

  ExpressionTrajectory trajectory;
  trajectory.weights = Eigen::MatrixXf::Zero(options.num_frames, model.num_expression());
  std::set<std::string> missing;
  for (const Event& event : writer.events) {
    const int first = std::max(0, static_cast<int>(std::ceil(event.start * options.fps)));
    const int last = std::min(options.num_frames - 1,
                              static_cast<int>((event.start + event.duration) * options.fps));
    for (const auto& [pattern, weight] : event.weights) {
      for (const std::string& name : ExpandSides(pattern)) {
        const int index = model.ExpressionIndex(name);
        if (index < 0) {
          missing.insert(name);
          continue;
        }
        for (int f = first; f <= last; ++f) {
          trajectory.weights(f, index) +=
              static_cast<float>(weight * event.Envelope(f / options.fps));
        }
      }
    }
  }
  trajectory.weights = trajectory.weights.cwiseMax(0.0f).cwiseMin(1.0f);

  // Contradictory pairs: the weaker one gives way until the two sum to at most 1. Weights only
  // decrease, so a pair settled earlier stays settled.
  for (const auto& [first, second] : ContradictoryExpressionPairs()) {
    const int a = model.ExpressionIndex(first);
    const int b = model.ExpressionIndex(second);
    if (a < 0 || b < 0) continue;
    for (int f = 0; f < options.num_frames; ++f) {
      float& wa = trajectory.weights(f, a);
      float& wb = trajectory.weights(f, b);
      const float excess = wa + wb - 1.0f;
      if (excess > 0.0f) (wa < wb ? wa : wb) -= excess;
    }
  }
  trajectory.missing_names.assign(missing.begin(), missing.end());
  return trajectory;
}

}  // namespace headtrack
