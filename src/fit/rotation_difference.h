// The rotation residual of the temporal terms (DepthFitEnergy, MultiFrameFit).
#pragma once

#include <Eigen/Core>

namespace headtrack::internal {

// vee(M - M^T) / 2 of a rotation M: sin(angle) * axis, zero for M = I. For M = R R_previous^T
// its derivative with respect to a left increment of R is (trace(M) I - M) / 2.
inline Eigen::Vector3d RotationDifference(const Eigen::Matrix3d& m) {
  return 0.5 * Eigen::Vector3d(m(2, 1) - m(1, 2), m(0, 2) - m(2, 0), m(1, 0) - m(0, 1));
}

}  // namespace headtrack::internal
