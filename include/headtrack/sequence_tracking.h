// Tracks a whole recorded sequence (SEQ/depth/NNNNN.png + calibration.json, optional color/)
// and writes the result folder that `headtrack eval` reads. Offline (the default) runs the online
// tracker, then the three phases of offline_reconstruction.h; online stops after the tracker.
//   OUT/frames.jsonl   one JSON object per frame: frame, status ("tracked" | "lost"), message
//                      (lost frames), rotation (3 x 3 rows, cam_from_head), translation
//                      (metres), scale, expression {name: coefficient}, joint_rotations (3 x J
//                      axis-angle, models with joints), cost, iterations (online), correspondences,
//                      rms_mm, coverage, initialized and ms (online)
//   OUT/identity.json  {"identity": [...], "model": path, ...}
//   OUT/summary.json   frames, tracked, lost, seconds, frames_per_second, seconds per stage;
//                      offline: keyframes, the costs before and after phases 1 and 3, seconds
//                      per phase
//   OUT/params.npz     offline: frame (N), tracked (N), rotation (N x 3 x 3), translation
//                      (N x 3), scale (N), expression (N x E), identity (K), expression_names
//   OUT/neutral.obj    offline: the identity with a neutral expression, head frame, metres
//   OUT/online/        offline: the online pass's frames.jsonl, identity.json, summary.json
//   OUT/arkit.csv, OUT/overlay.mp4, OUT/report.html  (report; see result_report.h)
//   OUT/meshes/NNNNN.ply  the fitted mesh in camera coordinates (save_meshes; tracked frames)
// Progress is appended to OUT/checkpoint.jsonl after every frame (and every offline round);
// the results appear, each written atomically, only when the run completes, and the checkpoint
// is then removed. A run stopped by Ctrl-C or kill resumes with `resume` from its last completed
// frame and gives the same frames.jsonl as an uninterrupted run (with the same options and
// threads).
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

#include "headtrack/head_model.h"
#include "headtrack/offline_reconstruction.h"
#include "headtrack/result_report.h"
#include "headtrack/tracker.h"

namespace headtrack {

struct SequenceTrackingOptions {
  std::filesystem::path sequence;
  std::filesystem::path output;
  TrackerOptions tracker;
  // Frame numbers to track, inclusive; -1: from the first / to the last.
  int first_frame = -1;
  int last_frame = -1;
  // Offline reconstruction after the online pass (false: online tracking only).
  bool offline = true;
  OfflineOptions offline_options;
  bool save_meshes = false;
  // arkit.csv, overlay.mp4 (video) with overlay/NNNNN.png (png_frames), report.html
  // (result_report.h); frames_per_second of the recording, for timecodes and the video.
  bool report = true;
  bool video = true;
  bool png_frames = false;
  double frames_per_second = 30.0;
  // Continue the interrupted run in `output` (its checkpoint.jsonl); the options must be the
  // same as that run's.
  bool resume = false;
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
  bool resumed = false;
  int resumed_frames = 0;  // frames of the online pass taken from the checkpoint

  // Offline.
  bool offline = false;
  int offline_tracked = 0;                  // frames tracked after the offline phases
  std::vector<int> keyframes;               // frame numbers
  double identity_cost_before = 0.0, identity_cost_after = 0.0;  // phase 1
  double joint_cost_before = 0.0, joint_cost_after = 0.0;        // phase 3, first and last round
  std::vector<double> joint_round_costs;    // after each round's solve
  double seconds_identity = 0.0, seconds_expression = 0.0, seconds_joint = 0.0;
  double seconds_offline = 0.0;             // the three phases and the final measurement

  ResultReportSummary report;               // the outputs for people (report)
};

// Throws InputError for a bad sequence, an output folder in the way, or a checkpoint that does
// not match; per-frame problems (no head, bad depth values) make lost frames, not errors.
// on_frame (optional) sees every result of the online pass.
SequenceTrackingSummary TrackSequence(const HeadModel& model,
                                      const SequenceTrackingOptions& options,
                                      const std::function<void(const FrameResult&)>& on_frame = {});

}  // namespace headtrack
