#include "render/depth_rendering.h"

#include <gtest/gtest.h>

#include "headtrack/error.h"

namespace headtrack {
namespace {

TriangleMesh Box(const Eigen::Vector3f& low, const Eigen::Vector3f& high) {
  TriangleMesh mesh;
  mesh.vertices.resize(2, 3);
  mesh.vertices.row(0) = low.transpose();
  mesh.vertices.row(1) = high.transpose();
  return mesh;
}

TEST(FrontalView, CentersBoundingBoxOnOpticalAxis) {
  const TriangleMesh mesh = Box({1, 2, 3}, {3, 6, 5});  // center (2, 4, 4)
  const SimilarityTransform cam_from_mesh = FrontalView(mesh, 0.5);
  EXPECT_TRUE((cam_from_mesh * Eigen::Vector3d(2, 4, 4)).isApprox(Eigen::Vector3d(0, 0, 0.5)));
  // The mesh's +z (toward the viewer) points to the camera (-z), its +y (up) to image up (-y).
  EXPECT_TRUE(cam_from_mesh.rotation * Eigen::Vector3d::UnitZ() == -Eigen::Vector3d::UnitZ());
  EXPECT_TRUE(cam_from_mesh.rotation * Eigen::Vector3d::UnitY() == -Eigen::Vector3d::UnitY());
  EXPECT_TRUE(cam_from_mesh.rotation * Eigen::Vector3d::UnitX() == Eigen::Vector3d::UnitX());
}

TEST(FrontalView, YawTurnsTheFaceToTheSide) {
  const TriangleMesh mesh = Box({-1, -1, -1}, {1, 1, 1});
  const SimilarityTransform cam_from_mesh = FrontalView(mesh, 1.0, 90, 0, 0);
  // After +90 degrees of yaw the mesh's +z looks along its +x, which the camera sees as +x.
  EXPECT_TRUE((cam_from_mesh.rotation * Eigen::Vector3d::UnitZ()).isApprox(Eigen::Vector3d::UnitX()));
}

TEST(QuantizeDepth, RoundsToUnitsAndKeepsZero) {
  DepthImage depth(3, 1);
  depth.pixels = {0.0f, 0.4004f, 0.4006f};
  const DepthImage16 units = QuantizeDepth(depth, 1000.0);
  EXPECT_EQ(units.pixels, (std::vector<std::uint16_t>{0, 400, 401}));
}

TEST(QuantizeDepth, RejectsDepthBeyondSixteenBits) {
  DepthImage depth(1, 1);
  depth.pixels = {70.0f};
  EXPECT_THROW(QuantizeDepth(depth, 1000.0), Error);
  depth.pixels = {-1.0f};
  EXPECT_THROW(QuantizeDepth(depth, 1000.0), Error);
}

}  // namespace
}  // namespace headtrack
