// Offline reconstruction of a recorded sequence: the whole recording informs every frame
// (DPHM, section 5 and supplement C). It starts from an online tracking pass (tracker.h), which
// gives every frame a pose and tells which frames hold a head, then runs three phases:
//   1. identity: identity, poses and expressions fitted jointly on keyframes chosen across the
//      sequence (farthest-point sampling over head rotation and expression), so that no single
//      view biases the identity;
//   2. expression: every frame fitted with the identity fixed, warm-started from the previous
//      frame's expression and the frame's online pose, with temporal smoothness to the previous
//      frame;
//   3. joint refinement: identity, every frame's pose and expression together with temporal
//      smoothness between consecutive frames, as one sparse problem (MultiFrameFit: Schur
//      complement on the shared identity, block-tridiagonal frames), in rounds of association.
// The phases are separate calls so that a driver can save its progress between them and resume
// (sequence_tracking.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "headtrack/depth_fit_energy.h"
#include "headtrack/frame_fitter.h"
#include "headtrack/head_model.h"
#include "headtrack/head_state.h"
#include "headtrack/multi_frame_fit.h"
#include "headtrack/tracker.h"

namespace headtrack {

struct OfflineOptions {
  // Phase 1: keyframes, association rounds, Levenberg-Marquardt steps per round, energy.
  int keyframes = 8;
  int identity_rounds = 4;
  int identity_iterations = 3;
  DepthFitOptions identity_energy;
  // Phase 2: the per-frame fit (identity fixed).
  FrameFitOptions expression;
  // Phase 3: association rounds, steps per round, energy (with the temporal weights).
  int joint_rounds = 2;
  int joint_iterations = 3;
  DepthFitOptions joint_energy;
  double function_tolerance = 1e-5;  // of the joint solves
  int num_threads = 1;               // OpenMP threads (0: all)

  OfflineOptions();
  void Check() const;  // CheckError naming the bad option
};

// One frame of the reconstruction.
struct OfflineFrame {
  int number = 0;            // the frame's number in the sequence
  bool tracked = false;      // holds a head; frames the online pass lost stay lost
  std::string message;       // why not
  HeadState state;           // current estimate (camera frame of the frame's scan)
};

// A frame's scan at the tracking resolution (Tracker::PrepareScan), cropped around the frame's
// online pose, so that it does not depend on the phase that asks: the driver reads,
// preprocesses and may cache it.
using ScanSource = std::function<const TrackingScan&(int index)>;

struct IdentityPhaseSummary {
  std::vector<int> keyframes;  // indices into the frames
  double initial_cost = 0.0;   // of the joint keyframe problem, first association
  double final_cost = 0.0;     // last association, after its solve
  int iterations = 0;
  double seconds = 0.0;
};

struct JointRoundSummary {
  int frames = 0;              // tracked frames in the problem
  int correspondences = 0;     // over all frames
  MultiFrameSolveSummary solve;
  double seconds_associate = 0.0;
  double seconds = 0.0;
};

// How well a frame's final state explains its scan: a fresh association.
struct FrameQuality {
  double cost = 0.0;           // the frame energy with that association
  int correspondences = 0;
  double rms_m = 0.0;          // RMS point-to-plane distance of the pairs
  double coverage = 0.0;       // pairs / rendered pixels with a scan point
};

class OfflineReconstructor {
 public:
  OfflineReconstructor(const HeadModel& model, const OfflineOptions& options);

  const OfflineOptions& options() const { return options_; }

  // Up to options.keyframes tracked frames spread over rotation and expression (indices, in
  // increasing order); the first is the most neutral one.
  std::vector<int> ChooseKeyframes(const std::vector<OfflineFrame>& frames) const;

  // Phase 1 on the given keyframes; then every frame gets the fitted identity.
  IdentityPhaseSummary FitIdentity(const std::vector<int>& keyframes, const ScanSource& scans,
                                   std::vector<OfflineFrame>* frames);

  // Phase 2 for frames[index] (tracked), after frames[index - 1]; a frame the fit cannot use
  // becomes lost.
  FrameFitSummary FitExpression(int index, const ScanSource& scans,
                                std::vector<OfflineFrame>* frames);

  // One round of phase 3: associate every tracked frame, then solve jointly.
  JointRoundSummary RefineJointly(const ScanSource& scans, std::vector<OfflineFrame>* frames);

  // A fresh association of frames[index] at its state, with the joint energy.
  FrameQuality Measure(int index, const ScanSource& scans,
                       const std::vector<OfflineFrame>& frames);

 private:
  OfflineOptions options_;
  MultiFrameFit identity_fit_;
  FrameFitter expression_fitter_;
  MultiFrameFit joint_fit_;
};

}  // namespace headtrack
