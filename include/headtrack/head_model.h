// A parametric head model: a linear identity and expression model, optionally with joints
// (linear blend skinning with pose correctives, as FLAME), placed in the camera by a similarity.
//
//   shaped   = template + identity_basis * identity                          (cached: IdentityShape)
//   expressed = shaped + expression_basis * expression
//   posed    = expressed + pose_correctives * pose_feature(joint_rotations)  (models with joints)
//   skinned  = sum_j weight_vj * G_j(joint_rotations, joints) * posed_v      (models with joints)
//   x_cam    = cam_from_head * skinned
//
// Head frame: metres; for the default model +x toward the subject's left, +y up, +z out of the
// face. Joints (FLAME): regressed from the identity- and expression-shaped mesh, as the FLAME
// reference implementation does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "headtrack/similarity_transform.h"
#include "headtrack/triangle_mesh.h"
#include "headtrack/types.h"

namespace headtrack {

// How the expression coefficients are meant to be used.
enum class ExpressionKind {
  kBlendshapes,  // ARKit-style blendshape weights in [0, 1] (ICT-FaceKit)
  kPca,          // principal components with N(0, 1) coefficients (FLAME)
};

// The identity-dependent part of the model, computed once per identity.
struct IdentityShape {
  Eigen::VectorXf identity;      // the coefficients it was made from
  Eigen::VectorXf shaped;        // 3V: template + identity basis * identity, x0 y0 z0 x1 ...
  Eigen::Matrix3Xf joints;       // 3 x J rest joint positions of the shaped mesh (no expression)
};

// Per-frame pose of the joints: one axis-angle vector (radians) per joint, joint 0 the root.
using JointRotations = Eigen::Matrix3Xd;  // 3 x J

// Head-frame positions of some vertices (cam_from_head not applied) and their exact
// derivatives (HeadModel::EvaluateVertexJacobians). Row 3i + c of each matrix belongs to
// coordinate c of vertex_ids[i].
struct VertexJacobians {
  Eigen::Matrix3Xd positions;         // 3 x n, metres, head frame (= Evaluate's output)
  Eigen::MatrixXd d_identity;         // 3n x num_identity; 0 x 0 unless with_identity
  Eigen::MatrixXd d_expression;       // 3n x num_expression
  Eigen::MatrixXd d_joint_rotations;  // 3n x 3J: column 3j + a is the derivative with respect
                                      // to component a of joint j's axis-angle vector
                                      // (additive change); 3n x 0 for models without joints
};

class HeadModel {
 public:
  // Loads a model file: an ICT-style linear model .npz (the default model's layout, see
  // ../shared/models/README.md), a FLAME .npz, or a FLAME .pkl. Throws InputError naming the
  // file and the array that is missing or wrong.
  static HeadModel Load(const std::filesystem::path& path);

  HeadModel();
  ~HeadModel();
  HeadModel(const HeadModel&);
  HeadModel& operator=(const HeadModel&);
  HeadModel(HeadModel&&) noexcept;
  HeadModel& operator=(HeadModel&&) noexcept;

  // Sizes.
  int num_vertices() const;
  int num_triangles() const;
  int num_identity() const;
  int num_expression() const;
  int num_joints() const;  // 0 for a purely linear model

  // Description.
  const std::string& name() const;            // e.g. "ICT-FaceKit light", "FLAME"
  const std::filesystem::path& source() const;
  ExpressionKind expression_kind() const;
  const std::vector<std::string>& expression_names() const;
  const std::vector<std::string>& joint_names() const;
  const std::vector<int>& joint_parents() const;  // J entries, -1 for the root
  const std::vector<std::string>& region_names() const;
  const std::vector<std::int8_t>& vertex_regions() const;    // V region indices (-1 none)
  const std::vector<std::int8_t>& triangle_regions() const;  // F region indices (-1 none)
  const std::vector<int>& landmark_vertices() const;         // iBUG-68 vertex ids, or empty
  const std::vector<int>& rigid_vertices() const;            // hardly move with expression, or empty
  int ExpressionIndex(const std::string& name) const;        // -1 when absent
  int RegionIndex(const std::string& name) const;            // -1 when absent

  // Arrays.
  const Points3f& template_vertices() const;  // V x 3, head frame, metres
  const Triangles& triangles() const;         // F x 3, counter-clockwise seen from outside
  const Eigen::MatrixXf& identity_basis() const;    // 3V x num_identity
  const Eigen::MatrixXf& expression_basis() const;  // 3V x num_expression

  // Triangle ids whose region is one of `regions` (all triangles when `regions` is empty).
  // Throws InputError listing the model's regions for an unknown name.
  std::vector<int> RegionTriangles(const std::vector<std::string>& regions) const;

  // The cached identity part. identity: num_identity coefficients (fewer are zero-padded).
  IdentityShape ShapeIdentity(const Eigen::VectorXf& identity) const;

  // Vertices of the posed head in the target frame of cam_from_head, written into
  // *vertices (resized to V x 3). expression: num_expression coefficients (fewer are
  // zero-padded). joint_rotations: 3 x num_joints, or empty (rest pose); ignored for models
  // without joints.
  void Evaluate(const IdentityShape& identity_shape, const Eigen::VectorXf& expression,
                const JointRotations& joint_rotations, const SimilarityTransform& cam_from_head,
                Points3f* vertices) const;

  using VertexJacobians = headtrack::VertexJacobians;

  // Positions of vertex_ids (each in [0, num_vertices)) as Evaluate computes them without
  // cam_from_head, and their exact derivatives with respect to the identity coefficients (only
  // when with_identity; through ShapeIdentity), all num_expression coefficients and the joints'
  // axis-angle vectors, in double. Arguments as for Evaluate. For models with joints, the chain
  // runs through the skinning transforms, the pose correctives and the regressed joint
  // positions; derivatives stay exact at zero rotation.
  void EvaluateVertexJacobians(const IdentityShape& identity_shape,
                               const Eigen::VectorXf& expression,
                               const JointRotations& joint_rotations,
                               const std::vector<int>& vertex_ids, bool with_identity,
                               VertexJacobians* out) const;

  // Convenience: a mesh with vertex normals in the target frame of cam_from_head.
  TriangleMesh EvaluateMesh(const Eigen::VectorXf& identity, const Eigen::VectorXf& expression,
                            const JointRotations& joint_rotations = {},
                            const SimilarityTransform& cam_from_head = {}) const;

  // An expression vector from named weights, e.g. {{"jawOpen", 0.6}}; the rest zero. Throws
  // InputError(source, ...) listing the model's expressions for an unknown name.
  Eigen::VectorXf ExpressionFromWeights(
      const std::vector<std::pair<std::string, float>>& weights,
      const std::string& source = "expression") const;

  // Coefficient vectors of the right size, all zero.
  Eigen::VectorXf ZeroIdentity() const { return Eigen::VectorXf::Zero(num_identity()); }
  Eigen::VectorXf ZeroExpression() const { return Eigen::VectorXf::Zero(num_expression()); }

  struct Data;  // the arrays; filled by the loaders (head_model_io.cc)
  explicit HeadModel(std::shared_ptr<const Data> data);

 private:
  std::shared_ptr<const Data> data_;  // immutable, shared between copies
};

// num_identity coefficients drawn from N(0, 1) (the prior of both default and FLAME identity
// components), deterministic by seed.
Eigen::VectorXf SampleIdentity(int num_identity, std::uint64_t seed);

}  // namespace headtrack
