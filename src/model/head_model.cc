#include "headtrack/head_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "headtrack/error.h"
#include "model/head_model_data.h"

namespace headtrack {
namespace {

// Coefficients zero-padded (or checked) to `size`.
Eigen::VectorXf Padded(const Eigen::VectorXf& coefficients, int size, const char* what) {
  HT_CHECK(coefficients.size() <= size,
           what << " has " << coefficients.size() << " coefficients, the model " << size);
  Eigen::VectorXf result = Eigen::VectorXf::Zero(size);
  result.head(coefficients.size()) = coefficients;
  return result;
}

Eigen::Matrix3f RotationFromAxisAngle(const Eigen::Vector3d& axis_angle) {
  const double angle = axis_angle.norm();
  if (angle == 0.0) return Eigen::Matrix3f::Identity();
  return Eigen::AngleAxisd(angle, axis_angle / angle).toRotationMatrix().cast<float>();
}

}  // namespace

void HeadModel::Data::Validate() const {
  const std::string where = source.string();
  const Eigen::Index v = template_vertices.rows();
  auto fail = [&](const std::string& problem) { throw InputError(where, problem); };
  if (v == 0) fail("the model has no vertices");
  if (triangles.rows() == 0) fail("the model has no triangles");
  if (triangles.minCoeff() < 0 || triangles.maxCoeff() >= v) {
    fail("triangle vertex index out of range [0, " + std::to_string(v) + ")");
  }
  if (identity_basis.rows() != 3 * v) fail("identity basis rows differ from 3 x vertices");
  if (expression_basis.rows() != 3 * v) fail("expression basis rows differ from 3 x vertices");
  if (static_cast<Eigen::Index>(expression_names.size()) != expression_basis.cols()) {
    fail("expression names (" + std::to_string(expression_names.size()) +
         ") differ from expression components (" + std::to_string(expression_basis.cols()) + ")");
  }
  if (!vertex_regions.empty() && static_cast<Eigen::Index>(vertex_regions.size()) != v) {
    fail("vertex_region has " + std::to_string(vertex_regions.size()) + " entries, expected " +
         std::to_string(v));
  }
  if (!triangle_regions.empty() &&
      static_cast<Eigen::Index>(triangle_regions.size()) != triangles.rows()) {
    fail("face_region has " + std::to_string(triangle_regions.size()) + " entries, expected " +
         std::to_string(triangles.rows()));
  }
  const int regions = static_cast<int>(region_names.size());
  for (auto region : vertex_regions) {
    if (region >= regions) fail("vertex_region refers to region " + std::to_string(region) +
                                " of " + std::to_string(regions));
  }
  for (auto region : triangle_regions) {
    if (region >= regions) fail("face_region refers to region " + std::to_string(region) +
                                " of " + std::to_string(regions));
  }
  for (int id : landmark_vertices) {
    if (id < 0 || id >= v) fail("landmark vertex " + std::to_string(id) + " out of range");
  }
  for (int id : rigid_vertices) {
    if (id < 0 || id >= v) fail("rigid vertex " + std::to_string(id) + " out of range");
  }
  const Eigen::Index j = static_cast<Eigen::Index>(joint_parents.size());
  if (j > 0) {
    if (static_cast<Eigen::Index>(joint_names.size()) != j) fail("joint names differ from joints");
    for (Eigen::Index k = 0; k < j; ++k) {
      if ((k == 0) != (joint_parents[k] < 0) || joint_parents[k] >= k) {
        fail("joint " + std::to_string(k) + " has parent " + std::to_string(joint_parents[k]) +
             ": expected the root first and every parent before its child");
      }
    }
    if (joint_regressor.rows() != j || joint_regressor.cols() != v) fail("J_regressor shape");
    if (pose_correctives.rows() != 3 * v || pose_correctives.cols() != 9 * (j - 1)) {
      fail("posedirs shape: expected 3V x 9(J-1)");
    }
    if (skinning_weights.rows() != v || skinning_weights.cols() != j) fail("weights shape");
  }
}

HeadModel::HeadModel() : data_(std::make_shared<Data>()) {}
HeadModel::HeadModel(std::shared_ptr<const Data> data) : data_(std::move(data)) {
  HT_CHECK(data_ != nullptr);
}
HeadModel::~HeadModel() = default;
HeadModel::HeadModel(const HeadModel&) = default;
HeadModel& HeadModel::operator=(const HeadModel&) = default;
HeadModel::HeadModel(HeadModel&&) noexcept = default;
HeadModel& HeadModel::operator=(HeadModel&&) noexcept = default;

int HeadModel::num_vertices() const { return static_cast<int>(data_->template_vertices.rows()); }
int HeadModel::num_triangles() const { return static_cast<int>(data_->triangles.rows()); }
int HeadModel::num_identity() const { return static_cast<int>(data_->identity_basis.cols()); }
int HeadModel::num_expression() const { return static_cast<int>(data_->expression_basis.cols()); }
int HeadModel::num_joints() const { return static_cast<int>(data_->joint_parents.size()); }
const std::string& HeadModel::name() const { return data_->name; }
const std::filesystem::path& HeadModel::source() const { return data_->source; }
ExpressionKind HeadModel::expression_kind() const { return data_->expression_kind; }
const std::vector<std::string>& HeadModel::expression_names() const {
  return data_->expression_names;
}
const std::vector<std::string>& HeadModel::joint_names() const { return data_->joint_names; }
const std::vector<int>& HeadModel::joint_parents() const { return data_->joint_parents; }
const std::vector<std::string>& HeadModel::region_names() const { return data_->region_names; }
const std::vector<std::int8_t>& HeadModel::vertex_regions() const { return data_->vertex_regions; }
const std::vector<std::int8_t>& HeadModel::triangle_regions() const {
  return data_->triangle_regions;
}
const std::vector<int>& HeadModel::landmark_vertices() const { return data_->landmark_vertices; }
const std::vector<int>& HeadModel::rigid_vertices() const { return data_->rigid_vertices; }
const Points3f& HeadModel::template_vertices() const { return data_->template_vertices; }
const Triangles& HeadModel::triangles() const { return data_->triangles; }
const Eigen::MatrixXf& HeadModel::identity_basis() const { return data_->identity_basis; }
const Eigen::MatrixXf& HeadModel::expression_basis() const { return data_->expression_basis; }

int HeadModel::ExpressionIndex(const std::string& name) const {
  const auto& names = data_->expression_names;
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

int HeadModel::RegionIndex(const std::string& name) const {
  const auto& names = data_->region_names;
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<int> HeadModel::RegionTriangles(const std::vector<std::string>& regions) const {
  std::vector<int> result;
  if (regions.empty()) {
    result.resize(num_triangles());
    for (int f = 0; f < num_triangles(); ++f) result[f] = f;
    return result;
  }
  std::vector<bool> wanted(data_->region_names.size(), false);
  for (const std::string& region : regions) {
    const int index = RegionIndex(region);
    if (index < 0) {
      std::ostringstream known;
      for (const auto& name : data_->region_names) known << " " << name;
      throw InputError(data_->source.string(), "no region '" + region + "'; the model has:" +
                                                   (known.str().empty() ? " none" : known.str()));
    }
    wanted[index] = true;
  }
  for (int f = 0; f < num_triangles(); ++f) {
    const int region = data_->triangle_regions.empty() ? -1 : data_->triangle_regions[f];
    if (region >= 0 && wanted[region]) result.push_back(f);
  }
  return result;
}

Eigen::VectorXf HeadModel::ExpressionFromWeights(
    const std::vector<std::pair<std::string, float>>& weights, const std::string& source) const {
  Eigen::VectorXf expression = ZeroExpression();
  for (const auto& [name, weight] : weights) {
    const int index = ExpressionIndex(name);
    if (index < 0) {
      std::ostringstream known;
      for (const auto& known_name : data_->expression_names) known << " " << known_name;
      throw InputError(source, "unknown expression '" + name + "'; the model has:" + known.str());
    }
    if (!std::isfinite(weight)) {
      throw InputError(source, "expression '" + name + "' has a non-finite weight");
    }
    expression(index) = weight;
  }
  return expression;
}

Eigen::VectorXf SampleIdentity(int num_identity, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::VectorXf identity(num_identity);
  for (int i = 0; i < num_identity; ++i) identity(i) = normal(rng);
  return identity;
}

IdentityShape HeadModel::ShapeIdentity(const Eigen::VectorXf& identity) const {
  const Data& d = *data_;
  IdentityShape shape;
  shape.identity = Padded(identity, num_identity(), "identity");
  shape.shaped = Eigen::Map<const Eigen::VectorXf>(d.template_vertices.data(),
                                                   d.template_vertices.size());
  shape.shaped.noalias() += d.identity_basis * shape.identity;
  if (num_joints() > 0) {
    const Eigen::Map<const Eigen::Matrix<float, 3, Eigen::Dynamic>> shaped(shape.shaped.data(), 3,
                                                                           num_vertices());
    shape.joints = shaped * d.joint_regressor.transpose();
  }
  return shape;
}

void HeadModel::Evaluate(const IdentityShape& identity_shape, const Eigen::VectorXf& expression,
                         const JointRotations& joint_rotations,
                         const SimilarityTransform& cam_from_head, Points3f* vertices) const {
  const Data& d = *data_;
  const int v = num_vertices();
  HT_CHECK(vertices != nullptr);
  HT_CHECK(identity_shape.shaped.size() == 3 * v, "identity shape of another model");
  HT_CHECK(expression.size() <= num_expression(),
           "expression has " << expression.size() << " coefficients, the model "
                             << num_expression());
  vertices->resize(v, 3);
  Eigen::Map<Eigen::VectorXf> flat(vertices->data(), 3 * v);
  flat = identity_shape.shaped;
  const int e = static_cast<int>(expression.size());
  flat.noalias() += d.expression_basis.leftCols(e) * expression;

  const int num_j = num_joints();
  const bool posed = num_j > 0 && joint_rotations.cols() > 0 && !joint_rotations.isZero(0.0);
  if (posed) {
    HT_CHECK(joint_rotations.cols() == num_j,
             "joint rotations for " << joint_rotations.cols() << " joints, the model has " << num_j);
    // Joints of the expressed mesh (the expression basis moves them too, as in FLAME).
    Eigen::Matrix3Xf joints = identity_shape.joints;
    if (e > 0) {
      Eigen::VectorXf joint_offsets = d.joint_expression_basis.leftCols(e) * expression;
      joints += Eigen::Map<const Eigen::Matrix3Xf>(joint_offsets.data(), 3, num_j);
    }
    std::vector<Eigen::Matrix3f> rotations(num_j);
    Eigen::VectorXf pose_feature(9 * (num_j - 1));
    for (int j = 0; j < num_j; ++j) {
      rotations[j] = RotationFromAxisAngle(joint_rotations.col(j));
      if (j > 0) {
        const Eigen::Matrix3f delta = rotations[j] - Eigen::Matrix3f::Identity();
        for (int r = 0; r < 3; ++r) {
          for (int c = 0; c < 3; ++c) pose_feature(9 * (j - 1) + 3 * r + c) = delta(r, c);
        }
      }
    }
    flat.noalias() += d.pose_correctives * pose_feature;
    // World transforms of the joints, then relative to the rest pose.
    std::vector<Eigen::Matrix3f> world_rotation(num_j);
    std::vector<Eigen::Vector3f> world_translation(num_j);
    for (int j = 0; j < num_j; ++j) {
      const int parent = d.joint_parents[j];
      if (parent < 0) {
        world_rotation[j] = rotations[j];
        world_translation[j] = joints.col(j);
      } else {
        world_rotation[j] = world_rotation[parent] * rotations[j];
        world_translation[j] = world_rotation[parent] * (joints.col(j) - joints.col(parent)) +
                               world_translation[parent];
      }
    }
    Eigen::Matrix<float, 12, Eigen::Dynamic> transforms(12, num_j);  // [R | t] column-major
    for (int j = 0; j < num_j; ++j) {
      Eigen::Map<Eigen::Matrix<float, 3, 4>> transform(transforms.col(j).data());
      transform.leftCols<3>() = world_rotation[j];
      transform.col(3) = world_translation[j] - world_rotation[j] * joints.col(j);
    }
    for (int i = 0; i < v; ++i) {
      const Eigen::Matrix<float, 12, 1> blended =
          transforms * d.skinning_weights.row(i).transpose();
      const Eigen::Map<const Eigen::Matrix<float, 3, 4>> transform(blended.data());
      const Eigen::Vector3f x = vertices->row(i).transpose();
      vertices->row(i) = (transform.leftCols<3>() * x + transform.col(3)).transpose();
    }
  }
  cam_from_head.TransformPoints(*vertices);
}

TriangleMesh HeadModel::EvaluateMesh(const Eigen::VectorXf& identity,
                                     const Eigen::VectorXf& expression,
                                     const JointRotations& joint_rotations,
                                     const SimilarityTransform& cam_from_head) const {
  TriangleMesh mesh;
  Evaluate(ShapeIdentity(identity), expression, joint_rotations, cam_from_head, &mesh.vertices);
  mesh.faces = data_->triangles;
  mesh.normals = mesh.ComputeVertexNormals();
  return mesh;
}

}  // namespace headtrack
