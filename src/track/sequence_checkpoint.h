// The progress of a TrackSequence run, appended line by line to OUT/checkpoint.jsonl so that an
// interrupted run resumes exactly where it stopped: the online pass per frame (with the
// tracker's memory), the offline identity phase, every frame of the expression phase, every
// round of the joint refinement. Numbers are written with round-trip precision, so a resumed run
// continues from bit-identical states.
//
// Lines: {"kind": "start", "fingerprint": {...}}, then "online", "identity", "expression" and
// "joint" records. A line cut short by the interruption (the last one) is dropped on resume.
#pragma once

#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "headtrack/offline_reconstruction.h"
#include "headtrack/sequence_tracking.h"
#include "headtrack/tracker.h"

namespace headtrack {

class SequenceCheckpoint {
 public:
  // A new checkpoint (replacing any file at path) with the run's fingerprint, or with resume the
  // existing one: InputError naming the file when it is unreadable or its fingerprint (the
  // options that decide the result) differs from this run's. The Restore functions throw
  // InputError naming the file for a record that does not hold what they expect.
  SequenceCheckpoint(std::filesystem::path path, nlohmann::ordered_json fingerprint, bool resume);

  // Online pass.
  const std::vector<FrameResult>& online_results() const { return online_results_; }
  const TrackerMemory& tracker_memory() const { return tracker_memory_; }
  void AddOnlineResult(const FrameResult& result, const TrackerMemory& memory);

  // Phase 1: the states of every frame after it, and the summary's keyframes, costs, seconds.
  bool has_identity_phase() const { return !identity_phase_.is_null(); }
  void AddIdentityPhase(const std::vector<OfflineFrame>& frames,
                        const SequenceTrackingSummary& summary);
  void RestoreIdentityPhase(std::vector<OfflineFrame>* frames,
                            SequenceTrackingSummary* summary) const;

  // Phase 2: restores the recorded frames and returns how many there are (frames 0 .. n-1);
  // *seconds receives the time they took.
  int RestoreExpressionPhase(std::vector<OfflineFrame>* frames, double* seconds) const;
  void AddExpressionFrame(int index, const OfflineFrame& frame, double seconds);

  // Phase 3: restores the states after the last recorded round, and the summary's joint costs
  // and seconds; returns the number of rounds done.
  int RestoreJointRounds(std::vector<OfflineFrame>* frames,
                         SequenceTrackingSummary* summary) const;
  void AddJointRound(int round, const std::vector<OfflineFrame>& frames,
                     const SequenceTrackingSummary& summary);

  // Deletes the file (the run completed).
  void Remove();

 private:
  void Append(const nlohmann::ordered_json& line);
  // Runs read(), turning any error of a malformed record into an InputError naming the file.
  template <typename Read>
  auto ReadRecords(const Read& read) const;

  std::filesystem::path path_;
  std::ofstream out_;
  std::vector<FrameResult> online_results_;
  TrackerMemory tracker_memory_;
  nlohmann::ordered_json identity_phase_;
  std::vector<nlohmann::ordered_json> expression_frames_;
  nlohmann::ordered_json last_joint_round_;
};

}  // namespace headtrack
