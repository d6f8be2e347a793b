#include "headtrack/similarity_transform.h"

#include <gtest/gtest.h>

#include <random>

namespace headtrack {
namespace {

SimilarityTransform RandomTransform(std::mt19937& rng) {
  std::normal_distribution<double> normal;
  return SimilarityTransform::FromAxisAngle({normal(rng), normal(rng), normal(rng)},
                                            {normal(rng), normal(rng), normal(rng)},
                                            std::exp(0.3 * normal(rng)));
}

TEST(SimilarityTransform, InverseComposesToIdentity) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    const SimilarityTransform cam_from_head = RandomTransform(rng);
    const SimilarityTransform identity = cam_from_head.Inverse() * cam_from_head;
    EXPECT_NEAR(identity.scale, 1.0, 1e-12);
    EXPECT_TRUE(identity.rotation.isApprox(Eigen::Matrix3d::Identity(), 1e-12));
    EXPECT_LT(identity.translation.norm(), 1e-12);
  }
}

TEST(SimilarityTransform, CompositionMatchesSequentialApplication) {
  std::mt19937 rng(2);
  const SimilarityTransform a_from_b = RandomTransform(rng);
  const SimilarityTransform b_from_c = RandomTransform(rng);
  const Eigen::Vector3d x_c(0.1, -0.2, 0.3);
  EXPECT_TRUE((a_from_b * b_from_c * x_c).isApprox(a_from_b * (b_from_c * x_c), 1e-12));
}

TEST(SimilarityTransform, AxisAngleRoundTrip) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int trial = 0; trial < 50; ++trial) {
    Eigen::Vector3d axis_angle(uniform(rng), uniform(rng), uniform(rng));
    axis_angle *= 3.0 / std::max(1.0, axis_angle.norm());  // angles below pi
    const auto transform = SimilarityTransform::FromAxisAngle(axis_angle, Eigen::Vector3d::Zero());
    EXPECT_TRUE(transform.AxisAngle().isApprox(axis_angle, 1e-9)) << axis_angle.transpose();
  }
}

TEST(SimilarityTransform, YawTurnsFaceTowardPositiveX) {
  // +z (out of the face) turned by +90 degrees of yaw about +y points to +x.
  const auto transform = SimilarityTransform::FromYawPitchRoll(90, 0, 0, Eigen::Vector3d::Zero());
  EXPECT_TRUE((transform * Eigen::Vector3d::UnitZ()).isApprox(Eigen::Vector3d::UnitX(), 1e-12));
}

TEST(SimilarityTransform, TransformPointsMatchesPerPointApplication) {
  std::mt19937 rng(4);
  const SimilarityTransform cam_from_head = RandomTransform(rng);
  Points3d points = Points3d::Random(10, 3);
  Points3d expected(10, 3);
  for (int i = 0; i < 10; ++i) expected.row(i) = (cam_from_head * points.row(i).transpose()).transpose();
  cam_from_head.TransformPoints(points);
  EXPECT_TRUE(points.isApprox(expected, 1e-12));
}

}  // namespace
}  // namespace headtrack
