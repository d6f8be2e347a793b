// Synthetic depth sequences with ground truth: a head model (random identity, an expression
// trajectory) or a static scan moves in front of a simulated Kinect-like camera. Writes, in the
// sequence folder (sequence.h):
//   calibration.json, depth/NNNNN.png, color/NNNNN.png (a shaded plain albedo, aligned to depth)
//   gt/frames.jsonl     one JSON object per frame: "frame", "identity" (array) and "expression"
//                       (name -> weight) for a model, "rotation" (3 x 3 row-major, head to
//                       camera), "axis_angle" (radians), "translation" (metres), "scale":
//                       x_cam = scale * rotation * x_head + translation
//   gt/meshes/NNNNN.ply the true mesh in the camera frame (metres, binary PLY)
// Frames are numbered from 0. Depth is stored at depth_scale 1 / noise.quantization_m (1000:
// millimetres), or 10000 (0.1 mm) when the depth is not quantized, e.g. without noise, so that
// noiseless depth is exact to 0.05 mm.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "headtrack/pinhole_camera.h"
#include "sensor/kinect_noise.h"
#include "sensor/motion.h"

namespace headtrack {

class HeadModel;
struct TriangleMesh;

// Height (metres) a scan is scaled to when SynthOptions::scan_scale is 0: about a head's.
inline constexpr double kScanHeadHeight = 0.25;

struct SynthOptions {
  std::filesystem::path output;  // the sequence folder
  PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  int num_frames = 60;
  double fps = 30.0;
  std::uint64_t seed = 0;
  MotionKind motion = MotionKind::kMixed;
  double max_rotation_deg = 30.0;   // see MotionOptions
  double max_translation_m = 0.01;  // see MotionOptions
  // Camera center to the center of the head's (or scan's) bounding box at rest, metres.
  double distance_m = 0.35;
  KinectNoiseOptions noise = KinectNoiseOptions::ForNoiseLevel(1.0);
  // Keep this many valid depth pixels per frame, chosen at random; 0 keeps all.
  int num_points = 0;
  // Scans only: the scale applied to the scan (scan units to metres); 0 scales its bounding
  // box to kScanHeadHeight tall.
  double scan_scale = 0.0;
  // Write into a non-empty folder, replacing the sequence there.
  bool overwrite = false;

  // Throws CheckError naming the bad option.
  void Check() const;
};

struct SynthSummary {
  std::filesystem::path output;
  int num_frames = 0;
  double depth_scale = 0.0;  // depth units per metre, as in calibration.json
  double scale = 1.0;        // cam_from_head.scale: 1 for a model, the scan's scale for a scan
  KinectNoiseSummary noise;  // summed over the frames, before num_points
  long long points = 0;      // valid depth pixels written, summed over the frames
  int min_points = 0;        // fewest valid depth pixels written in a frame
  int max_points = 0;
  int frames_with_fewer_points = 0;  // frames with fewer valid pixels than num_points
  // Names of the motion's expressions the model lacks (their weights stay 0).
  std::vector<std::string> missing_expression_names;
  double seconds = 0.0;
};

// A random identity (SampleIdentity by seed) with an expression trajectory and head motion of
// options.motion. Throws InputError naming the folder when options.output is not empty (unless
// options.overwrite), Error when a file cannot be written.
SynthSummary SynthesizeModelSequence(const HeadModel& model, const SynthOptions& options);

// The scan (in its own units, +y up, +z out of the face) moved rigidly by the head motion.
// Throws as SynthesizeModelSequence, and InputError for a scan without triangles.
SynthSummary SynthesizeScanSequence(const TriangleMesh& scan, const std::string& scan_source,
                                    const SynthOptions& options);

}  // namespace headtrack
