// What a person looks at after a run: the outputs written beside a tracking result folder OUT
// (sequence_tracking.h) from the result and its sequence SEQ.
//   OUT/arkit.csv     ARKit blendshape weights, head and eye angles per frame in the layout of
//                     Epic's Live Link Face recordings (arkit_blendshapes.h); a lost frame
//                     repeats the last tracked frame's values (zeros before the first)
//   OUT/overlay.mp4   every frame: the scan shaded with the fitted mesh over it, and the
//                     scan-to-mesh distance as a heat map with a color bar (overlay_image.h);
//                     H.264 when available
//   OUT/overlay/NNNNN.png  the same pictures (png_frames)
//   OUT/report.html   one self-contained page: the summary metrics (with OUT/online/ beside the
//                     offline result, both), plots of the per-frame error and of the main
//                     expression curves, a few overlay stills and the video
#pragma once

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "headtrack/head_model.h"
#include "headtrack/head_state.h"

namespace headtrack {

struct ArkitExportFrame {
  int number = 0;
  bool tracked = false;
  HeadState state;
};

// Writes OUT/arkit.csv for a model whose expressions carry ARKit names; returns false (and
// writes nothing) for a model whose expressions map to none (PCA expressions, e.g. FLAME).
// Timecodes count from frame 0 at frames_per_second.
bool WriteArkitCsv(const std::filesystem::path& path, const HeadModel& model,
                   const std::vector<ArkitExportFrame>& frames, double frames_per_second);

struct ResultReportOptions {
  std::filesystem::path sequence;  // SEQ
  std::filesystem::path result;    // OUT (frames.jsonl + identity.json); OUT/online/ optional
  std::string region = "face";     // of the metrics and the heat map
  double max_mm = 3.0;             // heat map range
  int panel_height = 360;          // pixels; the video is 2 panels wide
  double frames_per_second = 30.0; // of the video
  bool video = true;
  bool png_frames = false;
  bool report = true;
  int stills = 4;                  // overlay pictures in the report
  int num_threads = 1;

  void Check() const;  // CheckError naming the bad option
};

// The summary metrics of one result as the report shows them (means over evaluated frames; NaN
// when not computed).
struct ReportedMetrics {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  int evaluated = 0;
  double l2_mm = kNone, nc = kNone, pr_1_5mm = kNone, pr_3mm = kNone;
  double vertex_error_median_mm = kNone;    // with ground truth
  double identity_error_median_mm = kNone;  // neutral identity against the ground truth
};

struct ResultReportSummary {
  ReportedMetrics result;
  bool has_online = false;
  ReportedMetrics online;   // OUT/online/, when there

  std::string video_codec;  // "avc1" (H.264) or "mp4v"; empty without a video
  int video_frames = 0;
  std::vector<std::filesystem::path> written;
  double seconds = 0.0;
};

// Throws InputError as EvaluateSequence does for a bad sequence or result.
ResultReportSummary WriteResultReport(const HeadModel& model, const ResultReportOptions& options);

}  // namespace headtrack
