#include "headtrack/similarity_transform.h"

#include <cmath>
#include <numbers>

#include "headtrack/error.h"

namespace headtrack {

SimilarityTransform SimilarityTransform::FromAxisAngle(const Eigen::Vector3d& axis_angle,
                                                       const Eigen::Vector3d& translation,
                                                       double scale) {
  SimilarityTransform result;
  const double angle = axis_angle.norm();
  if (angle > 0.0) result.rotation = Eigen::AngleAxisd(angle, axis_angle / angle).toRotationMatrix();
  result.translation = translation;
  result.scale = scale;
  return result;
}

SimilarityTransform SimilarityTransform::FromYawPitchRoll(double yaw_deg, double pitch_deg,
                                                          double roll_deg,
                                                          const Eigen::Vector3d& translation,
                                                          double scale) {
  constexpr double kDegToRad = std::numbers::pi / 180.0;
  SimilarityTransform result;
  result.rotation = (Eigen::AngleAxisd(yaw_deg * kDegToRad, Eigen::Vector3d::UnitY()) *
                     Eigen::AngleAxisd(pitch_deg * kDegToRad, Eigen::Vector3d::UnitX()) *
                     Eigen::AngleAxisd(roll_deg * kDegToRad, Eigen::Vector3d::UnitZ()))
                        .toRotationMatrix();
  result.translation = translation;
  result.scale = scale;
  return result;
}

SimilarityTransform SimilarityTransform::operator*(const SimilarityTransform& other) const {
  SimilarityTransform result;
  result.scale = scale * other.scale;
  result.rotation = rotation * other.rotation;
  result.translation = scale * (rotation * other.translation) + translation;
  return result;
}

SimilarityTransform SimilarityTransform::Inverse() const {
  HT_CHECK(scale > 0.0, "scale " << scale);
  SimilarityTransform result;
  result.scale = 1.0 / scale;
  result.rotation = rotation.transpose();
  result.translation = -(result.rotation * translation) / scale;
  return result;
}

Eigen::Vector3d SimilarityTransform::AxisAngle() const {
  const Eigen::AngleAxisd angle_axis(rotation);
  return angle_axis.angle() * angle_axis.axis();
}

}  // namespace headtrack
