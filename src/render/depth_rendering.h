// Depth images of meshes: placing a mesh in front of a camera and quantizing rendered depth.
#pragma once

#include "headtrack/image.h"
#include "headtrack/similarity_transform.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {

// cam_from_mesh for a mesh whose +y is up and +z points toward the viewer (the head frame):
// turned by yaw (about the mesh's +y), pitch (+x) and roll (+z) in degrees about its
// bounding-box center, which lands on the optical axis at `distance` metres.
SimilarityTransform FrontalView(const TriangleMesh& mesh, double distance, double yaw_deg = 0,
                                double pitch_deg = 0, double roll_deg = 0);

// Metres -> 16-bit sensor units (rounded; depth_scale units per metre), 0 stays 0 (no
// measurement). Throws Error when a depth does not fit in 16 bits.
DepthImage16 QuantizeDepth(const DepthImage& depth_in_metres, double depth_scale);

struct Rasterization;

// An 8-bit RGB picture of a rasterization: surfaces of one albedo (RGB, 0-255) lit by a light at
// the camera, albedo * (ambient + (1 - ambient) * |cos|) with the angle between the view ray and
// the normal; background black. Needs the rasterization's normals and points
// (RasterizerOptions::compute_points_and_normals).
ColorImage ShadeFromCamera(const Rasterization& rasterization, const Eigen::Vector3f& albedo,
                           float ambient);

// ShadeFromCamera in light gray, for people to look at.
inline ColorImage ShadedPreview(const Rasterization& rasterization) {
  return ShadeFromCamera(rasterization, Eigen::Vector3f(255, 255, 255), 40.0f / 255.0f);
}

}  // namespace headtrack
