// Evaluation of a tracking result against a depth sequence (`headtrack eval`, docs/evaluation.md):
// DPHM's scan-to-mesh metrics per frame and, on simulated sequences with ground truth, the
// per-vertex and per-coefficient errors.
//
// The sequence SEQ (sequence.h) may hold ground truth as `headtrack synth` writes it
// (synthesizer.h): SEQ/gt/frames.jsonl and SEQ/gt/meshes/NNNNN.ply. The result OUT holds either
//   OUT/meshes/NNNNN.ply   the fitted mesh of each frame, camera frame, metres; or
//   OUT/frames.jsonl       one JSON object per line: "frame", "status" ("tracked" or "lost";
//                          default tracked), "rotation" (3 x 3 row-major, head to camera),
//                          "translation" (metres), "scale" (x_cam = scale R x_head + t),
//                          "expression" {name: weight}; with OUT/identity.json
//                          {"identity": [...]} and the head model, which give the meshes.
// With both, the meshes are evaluated; frames.jsonl still gives the status (a lost frame is
// skipped even when it has a mesh) and the expressions.
//
// Per frame: the scan is the depth after PreprocessDepth (depth_preprocessing.h, the tracker's
// preprocessing), its valid points with their normals; the metrics are ComputeScanMetrics
// (scan_metrics.h) against the result mesh, restricted to a region of the model's triangles when
// one is given. With ground truth: |v_result - v_true| over the region's vertices (all vertices
// without a region), and |w_result - w_true| per expression coefficient both files name. When
// OUT/identity.json exists (also beside meshes, as an offline result has it) and
// gt/frames.jsonl has "identity": the neutral identity error, once per sequence (see
// SequenceEvaluation::identity_error_mean_mm).
// A frame is skipped, with the reason, when it has no result, is lost, has no valid depth, keeps
// no point after preprocessing, or has no scan point nearest to the region. Summary values are
// means over the evaluated frames: every frame counts once, whatever its number of points (the
// vertex-error median and 95th percentile are per frame, then averaged).
#pragma once

#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "headtrack/depth_preprocessing.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/point_cloud.h"
#include "headtrack/scan_metrics.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

struct SequenceEvaluationOptions {
  std::filesystem::path sequence;  // SEQ
  std::filesystem::path result;    // OUT
  // The head model, loaded only when needed (a result of parameters, or a region): a path, or
  // empty for ResolveModelPath's default.
  std::string model;
  // A region of the model (e.g. "face"; HeadModel::region_names()); empty: the whole mesh.
  std::string region;
  // Per-vertex errors against SEQ/gt/meshes when it exists.
  bool vertex_errors = true;
  DepthPreprocessingOptions preprocessing;
  // Thresholds and threads; region_mask is set from `region`.
  ScanMetricsOptions metrics;

  // Throws CheckError naming the bad option.
  void Check() const;
};

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// One frame of the sequence. Values are NaN when not computed.
struct FrameEvaluation {
  int frame = 0;                // frame number
  bool evaluated = false;
  std::string skip_reason;      // why not, when not evaluated
  int scan_points = 0;          // valid points after preprocessing
  int points = 0;               // of these, used by the metrics (nearest to the region)
  double l2_mm = kNoValue;
  double nc = kNoValue;
  double precision = kNoValue;       // fraction closer than metrics.precision_threshold_mm
  double wide_precision = kNoValue;  // ... than metrics.wide_precision_threshold_mm
  // Ground truth: distances between corresponding vertices, millimetres.
  double vertex_error_mean_mm = kNoValue;
  double vertex_error_median_mm = kNoValue;
  double vertex_error_p95_mm = kNoValue;
  double vertex_error_max_mm = kNoValue;
  // Ground truth: mean |w_result - w_true| over the expression coefficients both name.
  double expression_error = kNoValue;
};

struct SequenceEvaluation {
  std::vector<FrameEvaluation> frames;  // one per depth frame of the sequence, ascending
  int num_evaluated = 0;
  int num_skipped = 0;
  std::string result_kind;  // "meshes" or "parameters"
  std::string model_name;   // when the model was loaded, else empty
  std::string region;       // as asked; empty: the whole mesh
  int region_triangles = 0; // triangles of the region (0 without a region)

  // Means over the evaluated frames; NaN when none.
  double scan_points = kNoValue;  // points used per frame
  double l2_mm = kNoValue;
  double nc = kNoValue;
  double precision = kNoValue;
  double wide_precision = kNoValue;

  // Means over the evaluated frames with a ground-truth mesh (num_vertex_error_frames).
  int num_vertex_error_frames = 0;
  int region_vertices = 0;  // vertices compared per frame
  double vertex_error_mean_mm = kNoValue;
  double vertex_error_median_mm = kNoValue;
  double vertex_error_p95_mm = kNoValue;

  // Over the evaluated frames where both the result and gt/frames.jsonl have expressions:
  // expression_errors[k] is the mean |w_result - w_true| of expression_names[k] (the names both
  // have, in the ground truth's order); expression_error the mean over frames and coefficients.
  int num_expression_frames = 0;
  std::vector<std::string> expression_names;
  std::vector<double> expression_errors;
  double expression_error = kNoValue;

  // The neutral identity error: the model with OUT/identity.json and with the ground truth's
  // identity (gt/frames.jsonl; the first frame's, with a warning when frames disagree), each
  // with zero expression and joints at rest, in the head frame (no alignment), compared vertex
  // by vertex over the region's vertices (all without a region), millimetres. NaN and 0 when
  // either identity is missing.
  int identity_error_vertices = 0;
  double identity_error_mean_mm = kNoValue;
  double identity_error_median_mm = kNoValue;
  double identity_error_max_mm = kNoValue;

  // Things the user should know that did not stop the evaluation (missing ground-truth files).
  std::vector<std::string> warnings;
  double seconds = 0.0;
};

// One frame as EvaluateSequence measures it, with what a picture of it needs (overlay_image.h).
struct FrameScanEvaluation {
  FrameEvaluation frame;  // the scan metrics as EvaluateSequence reports them; no ground truth
  PinholeCamera camera;   // the sequence's depth camera
  // The result mesh, camera frame, metres; empty when the frame has none (lost, missing).
  TriangleMesh mesh;
  // The preprocessed scan: organized, camera frame, metres, NaN rows where invalid, with
  // normals (PreprocessedDepth::cloud); empty when the frame was skipped before preprocessing.
  PointCloud scan;
  // One per scan row: the distance to the mesh, millimetres; NaN where the point is not used
  // (invalid, outside the region) or the frame was skipped.
  std::vector<double> distances_mm;
};

// Throws InputError naming the file and the field for unreadable or malformed input: a sequence
// or result folder that does not exist or holds neither meshes/ nor frames.jsonl, a depth PNG
// that is not 16-bit or has the wrong size, a malformed frames.jsonl line or identity.json, an
// unknown region or expression, an identity with more coefficients than the model, and a mesh
// whose topology differs from the model's (with a region) or from the ground truth's (for
// vertex errors).
// on_frame (optional) receives every frame, in order, as EvaluateSequenceFrame would return it
// (for pictures of each frame without evaluating it twice).
SequenceEvaluation EvaluateSequence(
    const SequenceEvaluationOptions& options,
    const std::function<void(FrameScanEvaluation&&)>& on_frame = {});

// Evaluates the frame numbered `frame_number` (not an index) like EvaluateSequence, without the
// ground truth. Throws as EvaluateSequence, and InputError naming SEQ/depth when the sequence
// has no such frame; a skipped frame is reported in frame.skip_reason, not thrown.
FrameScanEvaluation EvaluateSequenceFrame(const SequenceEvaluationOptions& options,
                                          int frame_number);

// The summary as JSON (docs/evaluation.md): frames (evaluated), skipped, sequence_frames, l2_mm,
// nc, pr_1_5mm, pr_3mm (fractions), with ground truth vertex_error_mean_mm, _median_mm, _p95_mm
// and expression errors, identity_error_mean_mm, _median_mm and _max_mm, the skipped frames
// with their reasons. NaN values are null.
std::string SequenceEvaluationJson(const SequenceEvaluation& evaluation,
                                   const SequenceEvaluationOptions& options);
// One line per frame: frame, status, reason, scan_points, points, l2_mm, nc, pr_1_5mm, pr_3mm,
// vertex errors and expression error; empty cells for values not computed.
std::string SequenceEvaluationCsv(const SequenceEvaluation& evaluation);

}  // namespace headtrack
