#include "headtrack/offline_reconstruction.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Geometry>

#include "core/stopwatch.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

bool LinkedToPrevious(const std::vector<OfflineFrame>& frames, int index) {
  return index > 0 && frames[index - 1].tracked && frames[index].tracked &&
         frames[index].number == frames[index - 1].number + 1;
}

// Rotation (radians, as an axis-angle vector relative to the first keyframe candidate) and
// expression of a frame, scaled so that 0.2 rad of rotation weighs like 0.5 of one blendshape.
Eigen::VectorXd KeyframeFeature(const HeadState& state, const Eigen::Matrix3d& reference) {
  const Eigen::AngleAxisd relative(state.cam_from_head.rotation * reference.transpose());
  Eigen::VectorXd feature(3 + state.expression.size());
  feature.head<3>() = relative.angle() * relative.axis() / 0.2;
  feature.tail(state.expression.size()) = state.expression.cast<double>() / 0.5;
  return feature;
}

}  // namespace

OfflineOptions::OfflineOptions() {
  expression.max_iterations = 4;
  expression.min_correspondences = 50;
  expression.energy.pixel_stride = 2;
  expression.energy.temporal_expression_weight = 10.0;
  identity_energy.pixel_stride = 2;
  joint_energy.pixel_stride = 2;
  joint_energy.temporal_expression_weight = 10.0;
}

void OfflineOptions::Check() const {
  HT_CHECK(keyframes >= 1, "OfflineOptions::keyframes must be >= 1");
  HT_CHECK(identity_rounds >= 0 && identity_iterations >= 1,
           "OfflineOptions: identity_rounds must be >= 0 and identity_iterations >= 1");
  HT_CHECK(joint_rounds >= 0 && joint_iterations >= 1,
           "OfflineOptions: joint_rounds must be >= 0 and joint_iterations >= 1");
  HT_CHECK(function_tolerance >= 0, "OfflineOptions::function_tolerance must be >= 0");
  HT_CHECK(num_threads >= 0, "OfflineOptions::num_threads must be >= 0");
  identity_energy.Check();
  expression.Check();
  joint_energy.Check();
}

namespace {

template <typename Options>
Options WithThreads(Options options, int threads) {
  options.num_threads = threads;
  return options;
}

FrameFitOptions ExpressionOptions(const OfflineOptions& options) {
  FrameFitOptions fit = options.expression;
  fit.energy.optimize_identity = false;
  fit.energy.num_threads = options.num_threads;
  return fit;
}

}  // namespace

OfflineReconstructor::OfflineReconstructor(const HeadModel& model, const OfflineOptions& options)
    : options_(options),
      identity_fit_(model, WithThreads(options.identity_energy, options.num_threads)),
      expression_fitter_(model, ExpressionOptions(options)),
      joint_fit_(model, WithThreads(options.joint_energy, options.num_threads)) {
  options.Check();
}

std::vector<int> OfflineReconstructor::ChooseKeyframes(
    const std::vector<OfflineFrame>& frames) const {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(frames.size()); ++i) {
    if (frames[i].tracked) candidates.push_back(i);
  }
  if (candidates.empty()) return {};
  // Start from the most neutral expression; then repeatedly take the candidate farthest from
  // all chosen ones.
  int first = candidates.front();
  for (int i : candidates) {
    if (frames[i].state.expression.squaredNorm() < frames[first].state.expression.squaredNorm()) {
      first = i;
    }
  }
  const Eigen::Matrix3d reference = frames[first].state.cam_from_head.rotation;
  std::vector<Eigen::VectorXd> features;
  for (int i : candidates) features.push_back(KeyframeFeature(frames[i].state, reference));
  std::vector<double> distance(candidates.size(), std::numeric_limits<double>::infinity());
  std::vector<int> chosen;
  int next = static_cast<int>(std::find(candidates.begin(), candidates.end(), first) -
                              candidates.begin());
  const int count = std::min<int>(options_.keyframes, static_cast<int>(candidates.size()));
  while (static_cast<int>(chosen.size()) < count) {
    chosen.push_back(candidates[next]);
    for (size_t c = 0; c < candidates.size(); ++c) {
      distance[c] = std::min(distance[c], (features[c] - features[next]).squaredNorm());
    }
    next = static_cast<int>(std::max_element(distance.begin(), distance.end()) - distance.begin());
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

IdentityPhaseSummary OfflineReconstructor::FitIdentity(const std::vector<int>& keyframes,
                                                       const ScanSource& scans,
                                                       std::vector<OfflineFrame>* frames) {
  IdentityPhaseSummary summary;
  summary.keyframes = keyframes;
  if (keyframes.empty()) return summary;
  const Stopwatch stopwatch;
  std::vector<HeadState> states;
  for (int index : keyframes) {
    HT_CHECK((*frames)[index].tracked, "FitIdentity: keyframe " << index << " is not tracked");
    states.push_back((*frames)[index].state);
    states.back().identity = (*frames)[keyframes.front()].state.identity;
  }
  for (int round = 0; round < options_.identity_rounds; ++round) {
    MultiFrameTerms terms;
    terms.frames.resize(keyframes.size());
    terms.linked_to_previous.assign(keyframes.size(), false);
    for (size_t k = 0; k < keyframes.size(); ++k) {
      const TrackingScan& scan = scans(keyframes[k]);
      identity_fit_.Associate(states[k], scan.depth.cloud, scan.camera,
                              &terms.frames[k].correspondences);
    }
    const MultiFrameSolveSummary solve = identity_fit_.Solve(
        terms, options_.identity_iterations, options_.function_tolerance, &states);
    if (round == 0) summary.initial_cost = solve.initial_cost;
    summary.final_cost = solve.final_cost;
    summary.iterations += solve.iterations;
  }
  for (size_t k = 0; k < keyframes.size(); ++k) (*frames)[keyframes[k]].state = states[k];
  for (OfflineFrame& frame : *frames) frame.state.identity = states.front().identity;
  summary.seconds = stopwatch.seconds();
  return summary;
}

FrameFitSummary OfflineReconstructor::FitExpression(int index, const ScanSource& scans,
                                                    std::vector<OfflineFrame>* frames) {
  OfflineFrame& frame = (*frames)[index];
  HT_CHECK(frame.tracked, "FitExpression: frame " << index << " is not tracked");
  const bool linked = LinkedToPrevious(*frames, index);
  const HeadState* previous = linked ? &(*frames)[index - 1].state : nullptr;
  HeadState state = frame.state;
  if (previous != nullptr) state.expression = previous->expression;
  const TrackingScan& scan = scans(index);
  const FrameFitSummary summary =
      expression_fitter_.Fit(scan.depth.cloud, scan.camera, {}, previous, &state);
  if (summary.usable()) {
    frame.state = state;
  } else {
    frame.tracked = false;
    frame.message = "too few correspondences in the expression phase";
  }
  return summary;
}

JointRoundSummary OfflineReconstructor::RefineJointly(const ScanSource& scans,
                                                      std::vector<OfflineFrame>* frames) {
  JointRoundSummary summary;
  const Stopwatch stopwatch;
  std::vector<int> indices;
  std::vector<HeadState> states;
  MultiFrameTerms terms;
  for (int i = 0; i < static_cast<int>(frames->size()); ++i) {
    if (!(*frames)[i].tracked) continue;
    indices.push_back(i);
    states.push_back((*frames)[i].state);
    terms.frames.emplace_back();
    terms.linked_to_previous.push_back(LinkedToPrevious(*frames, i));
    const TrackingScan& scan = scans(i);
    joint_fit_.Associate(states.back(), scan.depth.cloud, scan.camera,
                         &terms.frames.back().correspondences);
    summary.correspondences += static_cast<int>(terms.frames.back().correspondences.size());
  }
  summary.frames = static_cast<int>(indices.size());
  summary.seconds_associate = stopwatch.seconds();
  if (indices.empty()) return summary;
  // Every frame must share the identity (phase 1 set it).
  for (HeadState& state : states) state.identity = states.front().identity;
  summary.solve = joint_fit_.Solve(terms, options_.joint_iterations,
                                   options_.function_tolerance, &states);
  for (size_t k = 0; k < indices.size(); ++k) (*frames)[indices[k]].state = states[k];
  summary.seconds = stopwatch.seconds();
  return summary;
}

FrameQuality OfflineReconstructor::Measure(int index, const ScanSource& scans,
                                           const std::vector<OfflineFrame>& frames) {
  const HeadState& state = frames[index].state;
  const TrackingScan& scan = scans(index);
  FitTerms terms;
  const AssociationStats stats =
      joint_fit_.Associate(state, scan.depth.cloud, scan.camera, &terms.correspondences);
  FrameQuality quality;
  quality.cost = joint_fit_.frame_energy().Cost(state, terms);
  quality.correspondences = stats.accepted;
  quality.rms_m = stats.rms_point_to_plane_m;
  const int with_scan = stats.rendered_pixels - stats.no_scan;
  quality.coverage = with_scan > 0 ? static_cast<double>(stats.accepted) / with_scan : 0.0;
  return quality;
}

}  // namespace headtrack
