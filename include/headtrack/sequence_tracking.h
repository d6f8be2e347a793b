// Tracks a whole recorded sequence (SEQ/depth/NNNNN.png + calibration.json, optional color/)
// and writes the result folder that `headtrack eval` reads:
//   OUT/frames.jsonl   one JSON object per frame: frame, status ("tracked" | "lost"), message
//                      (lost frames), rotation (3 x 3 rows, cam_from_head), translation
//                      (metres), scale, expression {name: coefficient}, joint_rotations (3 x J
//                      axis-angle, models with joints), cost, iterations, correspondences,
//                      rms_mm, ms
//   OUT/identity.json  {"identity": [...], "model": path, "fixed_after_frames": N}
//   OUT/summary.json   frames, tracked, lost, seconds, frames_per_second, seconds per stage
//   OUT/meshes/NNNNN.ply  the fitted mesh in camera coordinates (save_meshes; tracked frames)
// While running, frames go to OUT/frames.jsonl.part; frames.jsonl, identity.json and
// summary.json appear only when the run completes, so a folder with frames.jsonl holds a whole
// result.
#pragma once

#include <filesystem>
#include <functional>

#include "headtrack/head_model.h"
#include "headtrack/tracker.h"

namespace headtrack {

struct SequenceTrackingOptions {
  std::filesystem::path sequence;
  std::filesystem::path output;
  TrackerOptions tracker;
  // Frame numbers to track, inclusive; -1: from the first / to the last.
  int first_frame = -1;
  int last_frame = -1;
  bool save_meshes = false;
  // Replace the results of an earlier run in `output`; otherwise an output folder that holds
  // any file is an InputError.
  bool overwrite = false;
  bool progress = true;  // a progress bar on standard error
};

struct SequenceTrackingSummary {
  int frames = 0;
  int tracked = 0;
  int lost = 0;
  double seconds = 0.0;            // tracking only (reading frames and writing excluded)
  double frames_per_second = 0.0;  // frames / seconds
  double seconds_preprocess = 0.0, seconds_initialize = 0.0, seconds_render = 0.0,
         seconds_associate = 0.0, seconds_assemble = 0.0, seconds_solve = 0.0;
};

// Throws InputError for a bad sequence or an output folder in the way; per-frame problems
// (no head, bad depth values) make lost frames, not errors. on_frame (optional) sees every
// result.
SequenceTrackingSummary TrackSequence(const HeadModel& model,
                                      const SequenceTrackingOptions& options,
                                      const std::function<void(const FrameResult&)>& on_frame = {});

}  // namespace headtrack
