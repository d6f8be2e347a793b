#include "headtrack/head_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "headtrack/error.h"
#include "io/flame_file.h"
#include "io/npz_file.h"
#include "io/testing/python_pickle_writer.h"
#include "model/head_model_data.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

const fs::path kDefaultModel = fs::path(HEADTRACK_DATA_DIR) / "models" / "ict_facekit_light.npz";

// Loading the 47 MB default model takes a moment: share it between the tests.
const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(kDefaultModel);
  return model;
}

TEST(HeadModel, DefaultModelHasDocumentedSizes) {
  const HeadModel& model = DefaultModel();
  EXPECT_EQ(model.num_vertices(), 24591);
  EXPECT_EQ(model.num_triangles(), 48836);
  EXPECT_EQ(model.num_identity(), 100);
  EXPECT_EQ(model.num_expression(), 53);
  EXPECT_EQ(model.num_joints(), 0);
  EXPECT_EQ(model.expression_kind(), ExpressionKind::kBlendshapes);
  EXPECT_EQ(model.landmark_vertices().size(), 68u);
  ASSERT_EQ(model.region_names().size(), 9u);
  EXPECT_EQ(model.region_names()[0], "face");
  EXPECT_GE(model.ExpressionIndex("jawOpen"), 0);
  EXPECT_EQ(model.ExpressionIndex("tongueOut"), -1);
  // Documented contiguous ranges: face 0-9408, head_neck 9409-11247.
  EXPECT_EQ(model.vertex_regions()[0], 0);
  EXPECT_EQ(model.vertex_regions()[9408], 0);
  EXPECT_EQ(model.vertex_regions()[9409], 1);
  EXPECT_EQ(model.vertex_regions()[11247], 1);
}

// The evaluation (cached identity, one matrix-vector product for the expression) against a
// per-vertex loop over the raw (V, 3, K) arrays of the file.
TEST(HeadModel, EvaluateMatchesRawArrays) {
  const HeadModel& model = DefaultModel();
  const NpzFile npz = NpzFile::Read(kDefaultModel);
  const std::vector<float> v_template = npz.GetArray<float>("v_template", {-1, 3});
  const std::vector<float> shapedirs = npz.GetArray<float>("shapedirs", {-1, 3, 100});
  const std::vector<float> exprdirs = npz.GetArray<float>("exprdirs", {-1, 3, 53});

  const Eigen::VectorXf identity = SampleIdentity(100, 7);
  Eigen::VectorXf expression = Eigen::VectorXf::Zero(53);
  expression(model.ExpressionIndex("jawOpen")) = 0.7f;
  expression(model.ExpressionIndex("eyeBlink_L")) = 1.0f;
  expression(model.ExpressionIndex("mouthSmile_R")) = 0.3f;
  const SimilarityTransform cam_from_head = SimilarityTransform::FromYawPitchRoll(
      20, -10, 5, Eigen::Vector3d(0.01, -0.02, 0.45), 1.1);

  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(identity), expression, {}, cam_from_head, &vertices);
  ASSERT_EQ(vertices.rows(), 24591);

  double max_error = 0.0;
  for (int v = 0; v < 24591; v += 7) {
    Eigen::Vector3d head;
    for (int c = 0; c < 3; ++c) {
      double value = v_template[3 * v + c];
      for (int k = 0; k < 100; ++k) value += shapedirs[(3 * v + c) * 100 + k] * identity(k);
      for (int k = 0; k < 53; ++k) value += exprdirs[(3 * v + c) * 53 + k] * expression(k);
      head(c) = value;
    }
    const Eigen::Vector3d expected = cam_from_head * head;
    max_error = std::max(max_error, (vertices.row(v).cast<double>().transpose() - expected).norm());
  }
  EXPECT_LT(max_error, 1e-6);  // float arithmetic on a head of ~0.3 m
}

TEST(HeadModel, ZeroCoefficientsGiveTemplate) {
  const HeadModel& model = DefaultModel();
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(model.ZeroIdentity()), model.ZeroExpression(), {}, {},
                 &vertices);
  EXPECT_EQ(vertices, model.template_vertices());
}

TEST(HeadModel, ExpressionFromWeightsRejectsUnknownNames) {
  const HeadModel& model = DefaultModel();
  const Eigen::VectorXf expression = model.ExpressionFromWeights({{"jawOpen", 0.5f}});
  EXPECT_EQ(expression(model.ExpressionIndex("jawOpen")), 0.5f);
  EXPECT_EQ(expression.cwiseAbs().sum(), 0.5f);
  try {
    model.ExpressionFromWeights({{"jawOpn", 0.5f}}, "--expr");
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("unknown expression 'jawOpn'"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("jawOpen"), std::string::npos);  // lists the names
  }
}

TEST(HeadModel, RegionTrianglesSelectOnlyThoseRegions) {
  const HeadModel& model = DefaultModel();
  const std::vector<int> face = model.RegionTriangles({"face"});
  ASSERT_FALSE(face.empty());
  for (int f : face) EXPECT_EQ(model.triangle_regions()[f], 0);
  const std::vector<int> both = model.RegionTriangles({"face", "head_neck"});
  EXPECT_GT(both.size(), face.size());
  EXPECT_EQ(model.RegionTriangles({}).size(), 48836u);
  EXPECT_THROW(model.RegionTriangles({"nose"}), InputError);
}

TEST(HeadModel, MissingFileIsAnInputError) {
  EXPECT_THROW(HeadModel::Load("/nonexistent/model.npz"), InputError);
  EXPECT_THROW(HeadModel::Load(fs::path(HEADTRACK_DATA_DIR) / "models" / "README.md"), InputError);
}

// A two-joint model whose skinning is worked out by hand (see the comments).
std::shared_ptr<HeadModel::Data> TwoJointModel() {
  auto data = std::make_shared<HeadModel::Data>();
  data->name = "two joints";
  data->source = "two_joints";
  data->template_vertices.resize(3, 3);
  data->template_vertices << 2, 0, 0,   // A: on joint 1 only
      0, 1, 0,                          // B: on joint 0 only
      1, 1, 0;                          // C: half and half
  data->triangles.resize(1, 3);
  data->triangles << 0, 1, 2;
  data->identity_basis = Eigen::MatrixXf::Zero(9, 1);
  data->expression_basis = Eigen::MatrixXf::Zero(9, 1);
  data->expression_names = {"e0"};
  data->joint_names = {"root", "child"};
  data->joint_parents = {-1, 0};
  data->joint_regressor = Eigen::MatrixXf::Zero(2, 3);
  data->joint_regressor(1, 0) = 0.5f;  // joint 0 at the origin, joint 1 at A / 2 = (1, 0, 0)
  data->pose_correctives = Eigen::MatrixXf::Zero(9, 9);
  data->pose_correctives(3 * 2 + 0, 0) = 0.1f;  // C.x += 0.1 * (R1(0, 0) - 1)
  data->skinning_weights.resize(3, 2);
  data->skinning_weights << 0, 1, 1, 0, 0.5, 0.5;
  return data;
}

TEST(HeadModel, LinearBlendSkinningMatchesHandWorkedCase) {
  const HeadModel model = MakeHeadModel(TwoJointModel());
  ASSERT_EQ(model.num_joints(), 2);
  JointRotations rotations = JointRotations::Zero(3, 2);
  rotations(2, 1) = std::numbers::pi / 2;  // child: +90 degrees about z
  const SimilarityTransform cam_from_head =
      SimilarityTransform::FromAxisAngle(Eigen::Vector3d::Zero(), Eigen::Vector3d(0, 0, 1), 2.0);
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(model.ZeroIdentity()), model.ZeroExpression(), rotations,
                 cam_from_head, &vertices);
  // A = (2,0,0) turned 90 degrees about joint 1 at (1,0,0) -> (1,1,0).
  // B stays (0,1,0).
  // C: pose corrective (cos 90 - 1) * 0.1 -> (0.9,1,0); blended transform 0.5 (I + Rz) with
  //    translation 0.5 (1,-1,0) -> (0.45,0.45,0).
  // Then x2 and +1 in z.
  Points3f expected(3, 3);
  expected << 2, 2, 1, 0, 2, 1, 0.9f, 0.9f, 1;
  EXPECT_TRUE(vertices.isApprox(expected, 1e-6f)) << vertices;
}

TEST(HeadModel, RestPoseSkinningIsIdentity) {
  const HeadModel model = MakeHeadModel(TwoJointModel());
  Points3f rest;
  Points3f zero_rotations;
  const IdentityShape shape = model.ShapeIdentity(model.ZeroIdentity());
  model.Evaluate(shape, model.ZeroExpression(), {}, {}, &rest);
  model.Evaluate(shape, model.ZeroExpression(), JointRotations::Zero(3, 2), {}, &zero_rotations);
  EXPECT_EQ(rest, model.template_vertices());
  EXPECT_EQ(zero_rotations, model.template_vertices());
}

TEST(HeadModel, ExpressionMovesJointsAsInFlame) {
  // The expression component moves vertex A by (0, 2, 0), so joint 1 (= A / 2) by (0, 1, 0):
  // with the child turned, A must stay where pure translation puts it relative to the joint.
  auto data = TwoJointModel();
  data->pose_correctives.setZero();
  data->expression_basis(3 * 0 + 1, 0) = 2.0f;
  const HeadModel model = MakeHeadModel(data);
  JointRotations rotations = JointRotations::Zero(3, 2);
  rotations(2, 1) = std::numbers::pi / 2;
  Eigen::VectorXf expression(1);
  expression << 1.0f;
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(model.ZeroIdentity()), expression, rotations, {}, &vertices);
  // A expressed = (2,2,0), joint 1 = (1,1,0): A - joint = (1,1,0) turned 90 degrees about z is
  // (-1,1,0), so A lands at (0,2,0). Had the joint stayed at (1,0,0), A would land at (-1,1,0).
  EXPECT_TRUE(vertices.row(0).isApprox(Eigen::RowVector3f(0, 2, 0), 1e-6f)) << vertices.row(0);
}

// The hand-worked two-joint model as a FLAME file: 300 identity components (FLAME's split) and 2
// expression components, every basis zero but the pose corrective of the worked case.
FlameFileContents TwoJointFlame() {
  const auto model = TwoJointModel();
  FlameFileContents flame;
  flame.v_template = model->template_vertices.cast<double>();
  flame.faces = model->triangles;
  flame.shapedirs = Eigen::MatrixXd::Zero(9, 302);
  flame.shapedirs(3 * 2 + 2, 300) = 0.5;  // expression 0 lifts C in z
  flame.posedirs = model->pose_correctives.cast<double>();
  flame.joint_regressor = model->joint_regressor.cast<double>();
  flame.parents = model->joint_parents;
  flame.weights = model->skinning_weights.cast<double>();
  return flame;
}

TEST(HeadModel, LoadsFlamePickleWithChumpyAndSparseRegressor) {
  const fs::path path = fs::temp_directory_path() / "headtrack_two_joint_generic_model.pkl";
  {
    std::ofstream out(path, std::ios::binary);
    out << test_support::FlamePickle(TwoJointFlame(), 2);
  }
  const HeadModel model = HeadModel::Load(path);
  fs::remove(path);
  EXPECT_EQ(model.name(), "FLAME");
  EXPECT_EQ(model.num_identity(), 300);
  EXPECT_EQ(model.num_expression(), 2);
  EXPECT_EQ(model.num_joints(), 2);
  EXPECT_EQ(model.expression_kind(), ExpressionKind::kPca);

  JointRotations rotations = JointRotations::Zero(3, 2);
  rotations(2, 1) = std::numbers::pi / 2;
  Eigen::VectorXf expression = Eigen::VectorXf::Zero(2);
  expression(0) = 1.0f;
  Points3f vertices;
  model.Evaluate(model.ShapeIdentity(model.ZeroIdentity()), expression, rotations, {}, &vertices);
  // As in LinearBlendSkinningMatchesHandWorkedCase (before the similarity), C lifted by 0.5 in z
  // (the blended transform keeps z).
  Points3f expected(3, 3);
  expected << 1, 1, 0, 0, 1, 0, 0.45f, 0.45f, 0.5f;
  EXPECT_TRUE(vertices.isApprox(expected, 1e-6f)) << vertices;
}

TEST(HeadModel, InconsistentDataIsAnInputErrorNamingTheSource) {
  auto data = TwoJointModel();
  data->joint_parents = {-1, 1};  // a joint that is its own parent
  try {
    MakeHeadModel(data);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), "two_joints");
  }
}

}  // namespace
}  // namespace headtrack
