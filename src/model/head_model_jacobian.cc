// HeadModel::EvaluateVertexJacobians: head-frame vertex positions and their exact derivatives.
//
// For models with joints (see head_model.h), per vertex v with skinning weights w_vk:
//   posed_v  = shaped_v + B_v e + P_v p(R),             p = rows of (R_k - I), k >= 1
//   x_v      = M_v posed_v + t_v,                       M_v = sum_k w_vk W_k,
//                                                       t_v = sum_k w_vk (T_k - W_k J_k)
// where W_k, T_k are joint k's world rotation and position, and the joint positions
// J = rest joints + joint_expression_basis e (+ regressed identity basis for identity) enter only
// through t_v. The kinematic chain (a few joints) is differentiated once per call; the per-vertex
// work is a few small dense products. At rest, Evaluate skips the skinning, which equals it when
// every vertex's skinning weights sum to one (as in FLAME).
#include <cmath>
#include <vector>

#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "model/head_model_data.h"

namespace headtrack {
namespace {

Eigen::Matrix3d Cross(const Eigen::Vector3d& v) {
  Eigen::Matrix3d k;
  k << 0, -v.z(), v.y(), v.z(), 0, -v.x(), -v.y(), v.x(), 0;
  return k;
}

// R = exp([w]x) and its derivatives dR/dw_a, exact also at and near w = 0.
struct RotationWithDerivatives {
  Eigen::Matrix3d rotation;
  Eigen::Matrix3d derivative[3];
};

RotationWithDerivatives RotationFromAxisAngle(const Eigen::Vector3d& w) {
  // R = I + a K + b K^2 with K = [w]x, a = sin t / t, b = (1 - cos t) / t^2, t = |w|;
  // dR/dw_a = a E_a + b (E_a K + K E_a) + w_a (c K + d K^2) with E_a = [e_a]x,
  // c = a'(t) / t, d = b'(t) / t. Below kSmall the closed forms lose digits to cancellation, so
  // their Taylor series take over (truncation error below 1e-16 there).
  constexpr double kSmall = 1e-2;
  const double t2 = w.squaredNorm();
  const double t = std::sqrt(t2);
  double a, b, c, d;
  if (t < kSmall) {
    a = 1.0 - t2 / 6.0 + t2 * t2 / 120.0;
    b = 0.5 - t2 / 24.0 + t2 * t2 / 720.0;
    c = -1.0 / 3.0 + t2 / 30.0 - t2 * t2 / 840.0;
    d = -1.0 / 12.0 + t2 / 180.0 - t2 * t2 / 6720.0;
  } else {
    const double sin_t = std::sin(t);
    const double cos_t = std::cos(t);
    a = sin_t / t;
    b = (1.0 - cos_t) / t2;
    c = (t * cos_t - sin_t) / (t2 * t);
    d = (t * sin_t - 2.0 * (1.0 - cos_t)) / (t2 * t2);
  }
  const Eigen::Matrix3d k = Cross(w);
  const Eigen::Matrix3d k2 = k * k;
  RotationWithDerivatives result;
  result.rotation = Eigen::Matrix3d::Identity() + a * k + b * k2;
  for (int axis = 0; axis < 3; ++axis) {
    const Eigen::Matrix3d e = Cross(Eigen::Vector3d::Unit(axis));
    result.derivative[axis] = a * e + b * (e * k + k * e) + w(axis) * (c * k + d * k2);
  }
  return result;
}

// The kinematic chain at one pose: per joint k, the skinning transform [W_k | t_k] and its
// derivatives with respect to all 3J rotation parameters and all 3J joint coordinates.
struct Chain {
  std::vector<Eigen::Matrix3d> world_rotation;      // W_k
  std::vector<Eigen::Vector3d> translation;         // t_k = T_k - W_k J_k
  std::vector<Eigen::Matrix3Xd> d_world_rotation;   // 3 x 9J: columns 3c..3c+2 = dW_k/dw_c
  std::vector<Eigen::Matrix3Xd> d_translation;      // 3 x 3J: dt_k/dw
  std::vector<Eigen::Matrix3Xd> d_translation_d_joints;  // 3 x 3J: dt_k/dJ
  std::vector<RotationWithDerivatives> local;       // R_k
};

// joints: 3 x J positions (head frame, metres); rotations: 3 x J axis-angle (radians).
Chain DifferentiateChain(const std::vector<int>& parents, const Eigen::Matrix3Xd& joints,
                         const Eigen::Matrix3Xd& rotations) {
  const int num_j = static_cast<int>(parents.size());
  const int num_params = 3 * num_j;
  Chain chain;
  chain.world_rotation.resize(num_j);
  chain.translation.resize(num_j);
  chain.d_world_rotation.assign(num_j, Eigen::Matrix3Xd::Zero(3, 3 * num_params));
  chain.d_translation.resize(num_j);
  chain.d_translation_d_joints.resize(num_j);
  chain.local.resize(num_j);
  std::vector<Eigen::Vector3d> world_position(num_j);           // T_k
  std::vector<Eigen::Matrix3Xd> d_world_position(num_j);        // dT_k/dw, 3 x 3J
  std::vector<Eigen::Matrix3Xd> d_world_position_d_joints(num_j);  // dT_k/dJ, 3 x 3J
  for (int k = 0; k < num_j; ++k) {
    chain.local[k] = RotationFromAxisAngle(rotations.col(k));
    const Eigen::Matrix3d& rotation = chain.local[k].rotation;
    const int parent = parents[k];
    Eigen::Matrix3Xd& d_rotation = chain.d_world_rotation[k];
    if (parent < 0) {
      chain.world_rotation[k] = rotation;
      world_position[k] = joints.col(k);
      d_world_position[k] = Eigen::Matrix3Xd::Zero(3, num_params);
      d_world_position_d_joints[k] = Eigen::Matrix3Xd::Zero(3, num_params);
      d_world_position_d_joints[k].middleCols<3>(3 * k).setIdentity();
    } else {
      const Eigen::Matrix3d& parent_rotation = chain.world_rotation[parent];
      const Eigen::Vector3d offset = joints.col(k) - joints.col(parent);
      chain.world_rotation[k] = parent_rotation * rotation;
      world_position[k] = parent_rotation * offset + world_position[parent];
      d_world_position[k] = d_world_position[parent];
      for (int c = 0; c < num_params; ++c) {
        const auto d_parent = chain.d_world_rotation[parent].middleCols<3>(3 * c);
        d_rotation.middleCols<3>(3 * c) = d_parent * rotation;
        d_world_position[k].col(c) += d_parent * offset;
      }
      d_world_position_d_joints[k] = d_world_position_d_joints[parent];
      d_world_position_d_joints[k].middleCols<3>(3 * k) += parent_rotation;
      d_world_position_d_joints[k].middleCols<3>(3 * parent) -= parent_rotation;
    }
    const Eigen::Matrix3d parent_rotation =
        parent < 0 ? Eigen::Matrix3d::Identity() : chain.world_rotation[parent];
    for (int a = 0; a < 3; ++a) {
      d_rotation.middleCols<3>(3 * (3 * k + a)) += parent_rotation * chain.local[k].derivative[a];
    }
    const Eigen::Matrix3d& world_rotation = chain.world_rotation[k];
    chain.translation[k] = world_position[k] - world_rotation * joints.col(k);
    chain.d_translation[k] = d_world_position[k];
    for (int c = 0; c < num_params; ++c) {
      chain.d_translation[k].col(c) -= d_rotation.middleCols<3>(3 * c) * joints.col(k);
    }
    chain.d_translation_d_joints[k] = d_world_position_d_joints[k];
    chain.d_translation_d_joints[k].middleCols<3>(3 * k) -= world_rotation;
  }
  return chain;
}

// 3J x num_identity: the joint regressor applied to the identity basis (as joint_expression_basis
// for the expression), skipping the regressor's zeros.
Eigen::MatrixXd JointIdentityBasis(const HeadModel::Data& d) {
  const Eigen::Index num_j = d.joint_regressor.rows();
  Eigen::MatrixXd basis = Eigen::MatrixXd::Zero(3 * num_j, d.identity_basis.cols());
  for (Eigen::Index v = 0; v < d.joint_regressor.cols(); ++v) {
    for (Eigen::Index k = 0; k < num_j; ++k) {
      const double weight = d.joint_regressor(k, v);
      if (weight != 0.0) {
        basis.middleRows<3>(3 * k) += weight * d.identity_basis.middleRows<3>(3 * v).cast<double>();
      }
    }
  }
  return basis;
}

}  // namespace

void HeadModel::EvaluateVertexJacobians(const IdentityShape& identity_shape,
                                        const Eigen::VectorXf& expression,
                                        const JointRotations& joint_rotations,
                                        const std::vector<int>& vertex_ids, bool with_identity,
                                        VertexJacobians* out) const {
  const Data& d = *data_;
  const int num_v = num_vertices();
  const int num_e = num_expression();
  const int num_j = num_joints();
  HT_CHECK(out != nullptr);
  HT_CHECK(identity_shape.shaped.size() == 3 * num_v, "identity shape of another model");
  HT_CHECK(expression.size() <= num_e, "expression has " << expression.size()
                                                          << " coefficients, the model " << num_e);
  for (int id : vertex_ids) {
    HT_CHECK(id >= 0 && id < num_v, "vertex id " << id << " out of range [0, " << num_v << ")");
  }
  const int n = static_cast<int>(vertex_ids.size());
  Eigen::VectorXd coefficients = Eigen::VectorXd::Zero(num_e);
  coefficients.head(expression.size()) = expression.cast<double>();

  out->positions.resize(3, n);
  out->d_expression.resize(3 * n, num_e);
  out->d_identity.resize(with_identity ? 3 * n : 0, with_identity ? num_identity() : 0);
  out->d_joint_rotations.resize(3 * n, 3 * num_j);
  // Expressed (unposed) positions and the linear part of the Jacobians.
  for (int i = 0; i < n; ++i) {
    const int v = vertex_ids[i];
    const auto expression_rows = d.expression_basis.middleRows<3>(3 * v).cast<double>();
    out->positions.col(i) = identity_shape.shaped.segment<3>(3 * v).cast<double>() +
                            expression_rows * coefficients;
    out->d_expression.middleRows<3>(3 * i) = expression_rows;
    if (with_identity) {
      out->d_identity.middleRows<3>(3 * i) = d.identity_basis.middleRows<3>(3 * v).cast<double>();
    }
  }
  if (num_j == 0) return;

  HT_CHECK(joint_rotations.cols() == 0 || joint_rotations.cols() == num_j,
           "joint rotations for " << joint_rotations.cols() << " joints, the model has " << num_j);
  const Eigen::Matrix3Xd rotations =
      joint_rotations.cols() == 0 ? Eigen::Matrix3Xd::Zero(3, num_j) : joint_rotations;
  HT_CHECK(identity_shape.joints.cols() == num_j, "identity shape without joints");
  const Eigen::MatrixXd joint_expression_basis = d.joint_expression_basis.cast<double>();
  const Eigen::VectorXd joint_offsets = joint_expression_basis * coefficients;
  const Eigen::Matrix3Xd joints =
      identity_shape.joints.cast<double>() +
      Eigen::Map<const Eigen::Matrix3Xd>(joint_offsets.data(), 3, num_j);
  const Chain chain = DifferentiateChain(d.joint_parents, joints, rotations);

  // Per joint: dt_k/de and dt_k/d(identity) through the joint positions.
  std::vector<Eigen::Matrix3Xd> d_translation_d_expression(num_j);
  std::vector<Eigen::Matrix3Xd> d_translation_d_identity(num_j);
  const Eigen::MatrixXd joint_identity_basis =
      with_identity ? JointIdentityBasis(d) : Eigen::MatrixXd();
  for (int k = 0; k < num_j; ++k) {
    d_translation_d_expression[k] = chain.d_translation_d_joints[k] * joint_expression_basis;
    if (with_identity) {
      d_translation_d_identity[k] = chain.d_translation_d_joints[k] * joint_identity_basis;
    }
  }
  // Pose feature p (row-major R_k - I for k >= 1) and, per joint, dp_k/dw_k (9 x 3).
  Eigen::VectorXd pose_feature(9 * (num_j - 1));
  using Vector9d = Eigen::Matrix<double, 9, 1>;
  std::vector<Eigen::Matrix<double, 9, 3>> d_pose_feature(num_j);
  for (int k = 1; k < num_j; ++k) {
    const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> delta =
        chain.local[k].rotation - Eigen::Matrix3d::Identity();
    pose_feature.segment<9>(9 * (k - 1)) = Eigen::Map<const Vector9d>(delta.data());
    for (int a = 0; a < 3; ++a) {
      const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> derivative = chain.local[k].derivative[a];
      d_pose_feature[k].col(a) = Eigen::Map<const Vector9d>(derivative.data());
    }
  }

  // Per-vertex scratch: M_v's derivatives, t_v's derivatives, the joint terms of d/de and d/di.
  Eigen::Matrix3Xd correctives(3, 9 * (num_j - 1));
  Eigen::Matrix3Xd blended_d_rotation(3, 9 * num_j);
  Eigen::Matrix3Xd blended_d_translation(3, 3 * num_j);
  Eigen::Matrix3Xd joint_terms_expression(3, num_e);
  Eigen::Matrix3Xd joint_terms_identity(3, out->d_identity.cols());
  for (int i = 0; i < n; ++i) {
    const int v = vertex_ids[i];
    correctives = d.pose_correctives.middleRows<3>(3 * v).cast<double>();
    const Eigen::Vector3d posed = out->positions.col(i) + correctives * pose_feature;
    Eigen::Matrix3d blended_rotation = Eigen::Matrix3d::Zero();
    Eigen::Vector3d blended_translation = Eigen::Vector3d::Zero();
    blended_d_rotation.setZero();
    blended_d_translation.setZero();
    joint_terms_expression.setZero();
    joint_terms_identity.setZero();
    for (int k = 0; k < num_j; ++k) {
      const double weight = d.skinning_weights(v, k);
      if (weight == 0.0) continue;
      blended_rotation += weight * chain.world_rotation[k];
      blended_translation += weight * chain.translation[k];
      blended_d_rotation += weight * chain.d_world_rotation[k];
      blended_d_translation += weight * chain.d_translation[k];
      joint_terms_expression += weight * d_translation_d_expression[k];
      if (with_identity) joint_terms_identity += weight * d_translation_d_identity[k];
    }
    // x_v = M_v posed_v + t_v; the expressed rows of d/de and d/di become M_v * rows.
    out->positions.col(i) = blended_rotation * posed + blended_translation;
    auto d_expression = out->d_expression.middleRows<3>(3 * i);
    d_expression = blended_rotation * d_expression + joint_terms_expression;
    if (with_identity) {
      auto d_identity = out->d_identity.middleRows<3>(3 * i);
      d_identity = blended_rotation * d_identity + joint_terms_identity;
    }
    auto d_rotations = out->d_joint_rotations.middleRows<3>(3 * i);
    for (int c = 0; c < 3 * num_j; ++c) {
      d_rotations.col(c) = blended_d_rotation.middleCols<3>(3 * c) * posed;
    }
    d_rotations += blended_d_translation;
    for (int k = 1; k < num_j; ++k) {
      d_rotations.middleCols<3>(3 * k) +=
          blended_rotation * (correctives.middleCols<9>(9 * (k - 1)) * d_pose_feature[k]);
    }
  }
}

}  // namespace headtrack
