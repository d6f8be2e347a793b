// A similarity transform between two frames, named by the frames: for `cam_from_head`,
//   x_cam = scale * rotation * x_head + translation.
// rotation is a proper rotation matrix, scale > 0, translation in the target frame's units.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "headtrack/types.h"

namespace headtrack {

struct SimilarityTransform {
  double scale = 1.0;
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();

  static SimilarityTransform Identity() { return {}; }
  // Rotation from an axis-angle vector (radians), as in OpenCV's Rodrigues.
  static SimilarityTransform FromAxisAngle(const Eigen::Vector3d& axis_angle,
                                           const Eigen::Vector3d& translation, double scale = 1.0);
  // Rotation from yaw (about +y), pitch (about +x), roll (about +z), degrees: R = Ry * Rx * Rz.
  static SimilarityTransform FromYawPitchRoll(double yaw_deg, double pitch_deg, double roll_deg,
                                              const Eigen::Vector3d& translation,
                                              double scale = 1.0);

  Eigen::Vector3d operator*(const Eigen::Vector3d& x) const {
    return scale * (rotation * x) + translation;
  }
  // (a_from_b * b_from_c) = a_from_c.
  SimilarityTransform operator*(const SimilarityTransform& other) const;
  SimilarityTransform Inverse() const;
  Eigen::Vector3d AxisAngle() const;

  // Applies the transform to every row of an N x 3 array.
  template <typename Derived>
  void TransformPoints(Eigen::MatrixBase<Derived>& points) const {
    using Scalar = typename Derived::Scalar;
    const Eigen::Matrix<Scalar, 3, 3> sr = (scale * rotation).template cast<Scalar>();
    const Eigen::Matrix<Scalar, 1, 3> t = translation.transpose().template cast<Scalar>();
    for (Eigen::Index i = 0; i < points.rows(); ++i) {
      points.row(i) = points.row(i) * sr.transpose() + t;
    }
  }
};

}  // namespace headtrack
