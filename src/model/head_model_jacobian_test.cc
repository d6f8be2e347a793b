#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <vector>

#include <Eigen/Geometry>

#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "model/head_model_data.h"
#include "model/testing/small_jointed_model.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using testing::FlameLikeData;

const fs::path kDefaultModel = fs::path(HEADTRACK_DATA_DIR) / "models" / "ict_facekit_light.npz";

const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(kDefaultModel);
  return model;
}

// The model's arrays in double, evaluated the textbook way (homogeneous 4 x 4 transforms, joints
// regressed from the expressed mesh, Eigen's angle-axis): the slow reference.
struct ReferenceModel {
  Eigen::MatrixXd template_vertices;  // V x 3
  Eigen::MatrixXd identity_basis;     // 3V x I
  Eigen::MatrixXd expression_basis;   // 3V x E
  std::vector<int> parents;           // J
  Eigen::MatrixXd regressor;          // J x V
  Eigen::MatrixXd pose_correctives;   // 3V x 9(J-1)
  Eigen::MatrixXd weights;            // V x J

  // 3 x n head-frame positions of vertex_ids. rotations: 3 x J axis-angle.
  Eigen::Matrix3Xd Positions(const Eigen::VectorXd& identity, const Eigen::VectorXd& expression,
                             const Eigen::Matrix3Xd& rotations,
                             const std::vector<int>& vertex_ids) const {
    const auto expressed = [&](int v) -> Eigen::Vector3d {
      return template_vertices.row(v).transpose() +
             identity_basis.middleRows<3>(3 * v) * identity +
             expression_basis.middleRows<3>(3 * v) * expression;
    };
    const int num_j = static_cast<int>(parents.size());
    Eigen::Matrix3Xd result(3, vertex_ids.size());
    if (num_j == 0) {
      for (size_t i = 0; i < vertex_ids.size(); ++i) result.col(i) = expressed(vertex_ids[i]);
      return result;
    }
    Eigen::Matrix3Xd joints = Eigen::Matrix3Xd::Zero(3, num_j);
    for (int v = 0; v < template_vertices.rows(); ++v) {
      const Eigen::Vector3d x = expressed(v);
      for (int k = 0; k < num_j; ++k) joints.col(k) += regressor(k, v) * x;
    }
    Eigen::VectorXd pose_feature(9 * (num_j - 1));
    std::vector<Eigen::Matrix4d> skinning(num_j);  // world_from_joint * joint_from_rest
    std::vector<Eigen::Matrix4d> world(num_j);
    for (int k = 0; k < num_j; ++k) {
      const double angle = rotations.col(k).norm();
      const Eigen::Matrix3d rotation =
          angle == 0.0 ? Eigen::Matrix3d::Identity()
                       : Eigen::AngleAxisd(angle, rotations.col(k) / angle).toRotationMatrix();
      if (k > 0) {
        for (int r = 0; r < 3; ++r) {
          for (int c = 0; c < 3; ++c) {
            pose_feature(9 * (k - 1) + 3 * r + c) = rotation(r, c) - (r == c ? 1.0 : 0.0);
          }
        }
      }
      Eigen::Matrix4d local = Eigen::Matrix4d::Identity();
      local.topLeftCorner<3, 3>() = rotation;
      local.topRightCorner<3, 1>() =
          parents[k] < 0 ? Eigen::Vector3d(joints.col(k))
                         : Eigen::Vector3d(joints.col(k) - joints.col(parents[k]));
      world[k] = parents[k] < 0 ? local : Eigen::Matrix4d(world[parents[k]] * local);
      Eigen::Matrix4d from_rest = Eigen::Matrix4d::Identity();
      from_rest.topRightCorner<3, 1>() = -joints.col(k);
      skinning[k] = world[k] * from_rest;
    }
    for (size_t i = 0; i < vertex_ids.size(); ++i) {
      const int v = vertex_ids[i];
      Eigen::Matrix4d blended = Eigen::Matrix4d::Zero();
      for (int k = 0; k < num_j; ++k) blended += weights(v, k) * skinning[k];
      const Eigen::Vector3d posed =
          expressed(v) + pose_correctives.middleRows<3>(3 * v) * pose_feature;
      result.col(i) = (blended * posed.homogeneous()).head<3>();
    }
    return result;
  }
};

ReferenceModel ReferenceFromData(const HeadModel::Data& d) {
  return {d.template_vertices.cast<double>(), d.identity_basis.cast<double>(),
          d.expression_basis.cast<double>(),  d.joint_parents,
          d.joint_regressor.cast<double>(),   d.pose_correctives.cast<double>(),
          d.skinning_weights.cast<double>()};
}

// N(0, 1) coefficients rounded to multiples of 1/16.
Eigen::VectorXf Dyadic(int size, std::uint64_t seed) {
  return (SampleIdentity(size, seed) * 16.0f).array().round() / 16.0f;
}

Eigen::Matrix3Xd RandomRotations(int num_joints, double magnitude, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Eigen::Matrix3Xd rotations(3, num_joints);
  for (int k = 0; k < num_joints; ++k) {
    Eigen::Vector3d axis(uniform(random), uniform(random), uniform(random));
    rotations.col(k) = magnitude * (0.5 + 0.5 * std::abs(uniform(random))) * axis.normalized();
  }
  return rotations;
}

double MaxAbs(const Eigen::MatrixXd& m) { return m.size() == 0 ? 0.0 : m.cwiseAbs().maxCoeff(); }

// Checks positions against Evaluate (float) and the reference (double), and every Jacobian column
// against central differences of the reference.
void ExpectMatchesReference(const HeadModel& model, const ReferenceModel& reference,
                            const Eigen::VectorXf& identity, const Eigen::VectorXf& expression,
                            const Eigen::Matrix3Xd& rotations, const std::vector<int>& vertex_ids,
                            double position_tolerance) {
  const IdentityShape shape = model.ShapeIdentity(identity);
  VertexJacobians jacobians;
  model.EvaluateVertexJacobians(shape, expression, rotations, vertex_ids, true, &jacobians);
  const int n = static_cast<int>(vertex_ids.size());
  const int num_j = model.num_joints();
  ASSERT_EQ(jacobians.positions.cols(), n);
  ASSERT_EQ(jacobians.d_identity.rows(), 3 * n);
  ASSERT_EQ(jacobians.d_identity.cols(), model.num_identity());
  ASSERT_EQ(jacobians.d_expression.rows(), 3 * n);
  ASSERT_EQ(jacobians.d_expression.cols(), model.num_expression());
  ASSERT_EQ(jacobians.d_joint_rotations.rows(), 3 * n);
  ASSERT_EQ(jacobians.d_joint_rotations.cols(), 3 * num_j);

  Points3f evaluated;
  model.Evaluate(shape, expression, rotations, {}, &evaluated);
  for (int i = 0; i < n; ++i) {
    EXPECT_LT((jacobians.positions.col(i) -
               evaluated.row(vertex_ids[i]).transpose().cast<double>()).norm(), 2e-6)
        << "vertex " << vertex_ids[i];
  }

  const Eigen::VectorXd identity_d = identity.cast<double>();
  const Eigen::VectorXd expression_d = expression.cast<double>();
  const auto positions = [&](const Eigen::VectorXd& id, const Eigen::VectorXd& ex,
                             const Eigen::Matrix3Xd& rot) -> Eigen::VectorXd {
    const Eigen::Matrix3Xd p = reference.Positions(id, ex, rot, vertex_ids);
    return Eigen::Map<const Eigen::VectorXd>(p.data(), p.size());
  };
  EXPECT_LT(MaxAbs(positions(identity_d, expression_d, rotations) -
                   Eigen::Map<const Eigen::VectorXd>(jacobians.positions.data(), 3 * n)),
            position_tolerance);

  // Central differences in double: truncation and rounding errors around 1e-10.
  constexpr double kStep = 1e-6;
  constexpr double kTolerance = 1e-8;
  const auto central = [&](const std::function<Eigen::VectorXd(double)>& at) {
    return ((at(kStep) - at(-kStep)) / (2 * kStep)).eval();
  };
  Eigen::MatrixXd numeric(3 * n, model.num_identity());
  for (int c = 0; c < model.num_identity(); ++c) {
    numeric.col(c) = central([&](double h) {
      Eigen::VectorXd id = identity_d;
      id(c) += h;
      return positions(id, expression_d, rotations);
    });
  }
  EXPECT_LT(MaxAbs(numeric - jacobians.d_identity), kTolerance * (1 + MaxAbs(numeric)));

  numeric.resize(3 * n, model.num_expression());
  for (int c = 0; c < model.num_expression(); ++c) {
    numeric.col(c) = central([&](double h) {
      Eigen::VectorXd ex = expression_d;
      ex(c) += h;
      return positions(identity_d, ex, rotations);
    });
  }
  EXPECT_LT(MaxAbs(numeric - jacobians.d_expression), kTolerance * (1 + MaxAbs(numeric)));

  numeric.resize(3 * n, 3 * num_j);
  for (int c = 0; c < 3 * num_j; ++c) {
    numeric.col(c) = central([&](double h) {
      Eigen::Matrix3Xd rot = rotations;
      rot(c % 3, c / 3) += h;
      return positions(identity_d, expression_d, rot);
    });
  }
  EXPECT_LT(MaxAbs(numeric - jacobians.d_joint_rotations), kTolerance * (1 + MaxAbs(numeric)))
      << "numeric\n" << numeric << "\nanalytic\n" << jacobians.d_joint_rotations;
  for (int c = 0; c < 3 * num_j; ++c) {
    EXPECT_GT(MaxAbs(numeric.col(c)), 1e-2) << "rotation parameter " << c << " moves nothing";
  }
}

std::vector<int> AllVertices(const HeadModel& model) {
  std::vector<int> ids(model.num_vertices());
  for (int v = 0; v < model.num_vertices(); ++v) ids[v] = v;
  return ids;
}

TEST(HeadModelJacobian, DefaultModelMatchesFiniteDifferences) {
  const HeadModel& model = DefaultModel();
  const ReferenceModel reference{model.template_vertices().cast<double>(),
                                 model.identity_basis().cast<double>(),
                                 model.expression_basis().cast<double>(), {}, {}, {}, {}};
  std::vector<int> ids = {0, 9408, 9409, model.num_vertices() - 1};
  for (int v : model.landmark_vertices()) ids.push_back(v);
  Eigen::VectorXf expression = model.ZeroExpression();
  expression(model.ExpressionIndex("jawOpen")) = 0.6f;
  expression(model.ExpressionIndex("mouthSmile_L")) = 0.3f;
  // Positions: the float IdentityShape against the double reference, on a head of ~0.3 m.
  ExpectMatchesReference(model, reference, SampleIdentity(model.num_identity(), 3), expression, {},
                         ids, 1e-6);
}

// Exact float data: positions agree with the double reference to rounding.
constexpr double kFlameLikePositionTolerance = 1e-12;

TEST(HeadModelJacobian, FlameLikeModelMatchesFiniteDifferencesAtRestPose) {
  const auto data = FlameLikeData();
  const HeadModel model = MakeHeadModel(data);
  ExpectMatchesReference(model, ReferenceFromData(*data), Dyadic(model.num_identity(), 1),
                         Dyadic(model.num_expression(), 2),
                         Eigen::Matrix3Xd::Zero(3, model.num_joints()), AllVertices(model),
                         kFlameLikePositionTolerance);
}

TEST(HeadModelJacobian, FlameLikeModelMatchesFiniteDifferencesAtRandomRotations) {
  const auto data = FlameLikeData();
  const HeadModel model = MakeHeadModel(data);
  const ReferenceModel reference = ReferenceFromData(*data);
  for (unsigned seed = 0; seed < 3; ++seed) {
    SCOPED_TRACE(seed);
    ExpectMatchesReference(model, reference, Dyadic(model.num_identity(), 10 + seed),
                           Dyadic(model.num_expression(), 20 + seed),
                           RandomRotations(model.num_joints(), 0.7, seed), AllVertices(model),
                           kFlameLikePositionTolerance);
  }
}

// Small angles on both sides of the switch between the series and the closed forms.
TEST(HeadModelJacobian, FlameLikeModelMatchesFiniteDifferencesAtSmallRotations) {
  const auto data = FlameLikeData();
  const HeadModel model = MakeHeadModel(data);
  const ReferenceModel reference = ReferenceFromData(*data);
  for (double magnitude : {1e-4, 6e-3, 9e-3, 1.5e-2}) {
    SCOPED_TRACE(magnitude);
    ExpectMatchesReference(model, reference, Dyadic(model.num_identity(), 4),
                           Dyadic(model.num_expression(), 5),
                           RandomRotations(model.num_joints(), magnitude, 6), AllVertices(model),
                           kFlameLikePositionTolerance);
  }
}

TEST(HeadModelJacobian, EmptyRotationsAreRestPoseAndIdentityIsOptional) {
  const HeadModel model = MakeHeadModel(FlameLikeData());
  const IdentityShape shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), 1));
  const Eigen::VectorXf expression = SampleIdentity(model.num_expression(), 2);
  const std::vector<int> ids = {3, 0, 3, 11};
  VertexJacobians with_zeros;
  VertexJacobians without;
  model.EvaluateVertexJacobians(shape, expression, Eigen::Matrix3Xd::Zero(3, 5), ids, true,
                                &with_zeros);
  model.EvaluateVertexJacobians(shape, expression, {}, ids, false, &without);
  EXPECT_EQ(without.positions, with_zeros.positions);
  EXPECT_EQ(without.d_expression, with_zeros.d_expression);
  EXPECT_EQ(without.d_joint_rotations, with_zeros.d_joint_rotations);
  EXPECT_EQ(without.d_identity.size(), 0);
  // A repeated id gives repeated rows.
  EXPECT_EQ(with_zeros.d_joint_rotations.middleRows<3>(0),
            with_zeros.d_joint_rotations.middleRows<3>(6));
}

TEST(HeadModelJacobian, DefaultModelHasNoRotationColumns) {
  const HeadModel& model = DefaultModel();
  VertexJacobians jacobians;
  model.EvaluateVertexJacobians(model.ShapeIdentity(model.ZeroIdentity()), model.ZeroExpression(),
                                {}, {1, 2}, false, &jacobians);
  EXPECT_EQ(jacobians.d_joint_rotations.rows(), 6);
  EXPECT_EQ(jacobians.d_joint_rotations.cols(), 0);
  EXPECT_EQ(jacobians.d_identity.size(), 0);
  EXPECT_EQ(jacobians.d_expression.cols(), model.num_expression());
}

TEST(HeadModelJacobian, BadArgumentsAreCheckErrors) {
  const HeadModel model = MakeHeadModel(FlameLikeData());
  const IdentityShape shape = model.ShapeIdentity(model.ZeroIdentity());
  VertexJacobians out;
  EXPECT_THROW(model.EvaluateVertexJacobians(shape, model.ZeroExpression(), {}, {12}, false, &out),
               CheckError);
  EXPECT_THROW(model.EvaluateVertexJacobians(shape, model.ZeroExpression(), {}, {-1}, false, &out),
               CheckError);
  EXPECT_THROW(model.EvaluateVertexJacobians(shape, model.ZeroExpression(),
                                             Eigen::Matrix3Xd::Zero(3, 4), {0}, false, &out),
               CheckError);
  EXPECT_THROW(model.EvaluateVertexJacobians(shape, Eigen::VectorXf::Zero(5), {}, {0}, false, &out),
               CheckError);
  EXPECT_THROW(model.EvaluateVertexJacobians(DefaultModel().ShapeIdentity({}),
                                             model.ZeroExpression(), {}, {0}, false, &out),
               CheckError);
}

}  // namespace
}  // namespace headtrack
