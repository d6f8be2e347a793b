#include "render/depth_rendering.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "headtrack/error.h"
#include "headtrack/rasterizer.h"

namespace headtrack {

SimilarityTransform FrontalView(const TriangleMesh& mesh, double distance, double yaw_deg,
                                double pitch_deg, double roll_deg) {
  HT_CHECK(distance > 0.0, "distance " << distance);
  const Eigen::Matrix<float, 2, 3> box = mesh.BoundingBox();
  const Eigen::Vector3d center = (0.5f * (box.row(0) + box.row(1))).transpose().cast<double>();
  // The camera looks along its +z with +y down: the mesh's +y (up) and +z (toward the viewer)
  // both flip, a half turn about x.
  const Eigen::Matrix3d cam_from_front = Eigen::Vector3d(1, -1, -1).asDiagonal();
  const SimilarityTransform turn =
      SimilarityTransform::FromYawPitchRoll(yaw_deg, pitch_deg, roll_deg, Eigen::Vector3d::Zero());
  SimilarityTransform cam_from_mesh;
  cam_from_mesh.rotation = cam_from_front * turn.rotation;
  cam_from_mesh.translation = Eigen::Vector3d(0, 0, distance) - cam_from_mesh.rotation * center;
  return cam_from_mesh;
}

DepthImage16 QuantizeDepth(const DepthImage& depth_in_metres, double depth_scale) {
  HT_CHECK(depth_scale > 0.0 && std::isfinite(depth_scale), "depth_scale " << depth_scale);
  DepthImage16 result(depth_in_metres.width, depth_in_metres.height);
  for (size_t i = 0; i < depth_in_metres.pixels.size(); ++i) {
    const double units = std::round(depth_in_metres.pixels[i] * depth_scale);
    if (!(units >= 0.0 && units <= 65535.0)) {
      std::ostringstream message;
      message << "depth " << depth_in_metres.pixels[i] << " m does not fit a 16-bit depth image at "
              << depth_scale << " units per metre (at most " << 65535.0 / depth_scale << " m)";
      throw Error(message.str());
    }
    result.pixels[i] = static_cast<std::uint16_t>(units);
  }
  return result;
}

ColorImage ShadeFromCamera(const Rasterization& rasterization, const Eigen::Vector3f& albedo,
                           float ambient) {
  HT_CHECK(!rasterization.normals.empty() && !rasterization.points.empty(),
           "the rasterization has no normals: enable compute_points_and_normals");
  HT_CHECK(ambient >= 0.0f && ambient <= 1.0f, "ambient " << ambient);
  ColorImage image(rasterization.width(), rasterization.height(), 3, 0);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!rasterization.covered(x, y)) continue;
      const Eigen::Vector3f ray = rasterization.point_at(x, y).normalized();
      const float cosine = std::abs(ray.dot(rasterization.normal_at(x, y)));
      const float shade = ambient + (1.0f - ambient) * cosine;
      for (int c = 0; c < 3; ++c) {
        const float value = std::clamp(albedo(c) * shade, 0.0f, 255.0f);
        image.at(x, y, c) = static_cast<std::uint8_t>(std::lround(value));
      }
    }
  }
  return image;
}

}  // namespace headtrack
