// Test support: a depth frame of the model rendered at a known state, preprocessed as the
// tracker preprocesses real frames.
#pragma once

#include <cstdint>
#include <string>

#include "headtrack/head_model.h"
#include "headtrack/head_state.h"
#include "headtrack/pinhole_camera.h"
#include "headtrack/rasterizer.h"
#include "render/depth_rendering.h"
#include "headtrack/depth_preprocessing.h"
#include "sensor/kinect_noise.h"

namespace headtrack::testing {

inline std::string DefaultModelPath() {
  return std::string(HEADTRACK_DATA_DIR) + "/models/ict_facekit_light.npz";
}

// The Azure Kinect's NFOV camera at half resolution (320 x 288): fast tests.
inline PinholeCamera HalfAzureKinect() {
  PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  camera.fx /= 2, camera.fy /= 2, camera.cx /= 2, camera.cy /= 2;
  camera.width /= 2, camera.height /= 2;
  return camera;
}

// The model's neutral head facing the camera (turned by yaw_deg), its bounding-box center
// `distance` metres away (the face about 0.1 m nearer).
inline SimilarityTransform TypicalCamFromHead(const HeadModel& model, double yaw_deg = 0.0,
                                              double distance = 0.4) {
  return FrontalView(model.EvaluateMesh(model.ZeroIdentity(), model.ZeroExpression()), distance,
                     yaw_deg);
}

// Renders the whole model at `state`, with Kinect-like noise of axial sigma noise_mm (0: exact
// depth), and preprocesses it (smoothing only with noise).
inline PreprocessedDepth RenderSyntheticFrame(const HeadModel& model, const HeadState& state,
                                              const PinholeCamera& camera, double noise_mm = 0.0,
                                              std::uint64_t seed = 1) {
  DepthPreprocessingOptions preprocessing;
  preprocessing.smooth = noise_mm > 0;
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(state.identity), state.expression, state.joint_rotations,
                 state.cam_from_head, &vertices);
  Rasterizer rasterizer;
  Rasterization clean;
  rasterizer.Rasterize(camera, vertices, model.triangles(), &clean);
  DepthImage depth = clean.depth;
  if (noise_mm > 0) {
    depth = SimulateKinectDepth(clean, camera, KinectNoiseOptions::ForNoiseLevel(noise_mm), seed)
                .depth;
  }
  return PreprocessDepth(depth, camera, preprocessing);
}

}  // namespace headtrack::testing
