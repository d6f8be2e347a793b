// HeadModel::Load: the default model's .npz layout and FLAME files.
#include <memory>
#include <string>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "headtrack/head_model.h"
#include "io/flame_file.h"
#include "io/npz_file.h"
#include "model/head_model_data.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

// FLAME's shapedirs hold 300 identity components, then the expression components.
constexpr int kFlameIdentityComponents = 300;

// (V, 3, K) C-order floats -> 3V x K column-major.
Eigen::MatrixXf BasisFromVx3xK(const std::vector<float>& values, Eigen::Index v, Eigen::Index k) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      values.data(), 3 * v, k);
}

std::vector<std::int8_t> OptionalRegions(const NpzFile& npz, const std::string& name,
                                         Eigen::Index count) {
  if (!npz.Contains(name)) return {};
  return npz.GetArray<std::int8_t>(name, {count});
}

std::vector<int> OptionalIndices(const NpzFile& npz, const std::string& name) {
  if (!npz.Contains(name)) return {};
  return npz.GetArray<int>(name, {-1});
}

std::shared_ptr<HeadModel::Data> LoadLinearNpz(const NpzFile& npz) {
  auto data = std::make_shared<HeadModel::Data>();
  data->name = "ICT-FaceKit";
  data->source = npz.path();
  data->expression_kind = ExpressionKind::kBlendshapes;

  const std::vector<float> vertices = npz.GetArray<float>("v_template", {-1, 3});
  const Eigen::Index v = static_cast<Eigen::Index>(vertices.size() / 3);
  data->template_vertices = Eigen::Map<const Points3f>(vertices.data(), v, 3);
  const std::vector<int> faces = npz.GetArray<int>("faces", {-1, 3});
  data->triangles = Eigen::Map<const Triangles>(faces.data(), faces.size() / 3, 3);

  const NpyArray& shapedirs = npz.Get("shapedirs");
  const Eigen::Index num_identity = shapedirs.shape.size() == 3 ? shapedirs.shape[2] : 0;
  data->identity_basis =
      BasisFromVx3xK(npz.GetArray<float>("shapedirs", {v, 3, -1}), v, num_identity);
  const NpyArray& exprdirs = npz.Get("exprdirs");
  const Eigen::Index num_expression = exprdirs.shape.size() == 3 ? exprdirs.shape[2] : 0;
  data->expression_basis =
      BasisFromVx3xK(npz.GetArray<float>("exprdirs", {v, 3, -1}), v, num_expression);
  if (npz.Contains("expr_names")) {
    data->expression_names = npz.Get("expr_names").ToStrings(npz.path().string());
  } else {
    for (Eigen::Index k = 0; k < num_expression; ++k) {
      data->expression_names.push_back("expression" + std::to_string(k));
    }
  }
  if (npz.Contains("region_names")) {
    data->region_names = npz.Get("region_names").ToStrings(npz.path().string());
  }
  data->vertex_regions = OptionalRegions(npz, "vertex_region", v);
  data->triangle_regions = OptionalRegions(npz, "face_region", data->triangles.rows());
  data->landmark_vertices = OptionalIndices(npz, "landmarks_ibug68");
  data->rigid_vertices = OptionalIndices(npz, "rigid_vertices");
  return data;
}

std::shared_ptr<HeadModel::Data> LoadFlame(const fs::path& path) {
  const FlameFileContents flame = ReadFlameFile(path);
  auto data = std::make_shared<HeadModel::Data>();
  data->name = "FLAME";
  data->source = path;
  data->expression_kind = ExpressionKind::kPca;
  data->template_vertices = flame.v_template.cast<float>();
  data->triangles = flame.faces;
  const Eigen::Index k = flame.shapedirs.cols();
  const Eigen::Index num_identity = std::min<Eigen::Index>(k, kFlameIdentityComponents);
  data->identity_basis = flame.shapedirs.leftCols(num_identity).cast<float>();
  data->expression_basis = flame.shapedirs.rightCols(k - num_identity).cast<float>();
  for (Eigen::Index e = 0; e < k - num_identity; ++e) {
    data->expression_names.push_back("expression" + std::to_string(e));
  }
  data->joint_parents = flame.parents;
  const int num_joints = static_cast<int>(flame.parents.size());
  static const char* kFlameJoints[] = {"global", "neck", "jaw", "eye_left", "eye_right"};
  for (int j = 0; j < num_joints; ++j) {
    data->joint_names.push_back(num_joints == 5 ? kFlameJoints[j] : "joint" + std::to_string(j));
  }
  data->joint_regressor = flame.joint_regressor.cast<float>();
  data->pose_correctives = flame.posedirs.cast<float>();
  data->skinning_weights = flame.weights.cast<float>();
  return data;
}

}  // namespace

HeadModel MakeHeadModel(std::shared_ptr<HeadModel::Data> data) {
  data->Validate();
  const Eigen::Index num_joints = static_cast<Eigen::Index>(data->joint_parents.size());
  const Eigen::Index v = data->template_vertices.rows();
  data->joint_expression_basis.resize(3 * num_joints, data->expression_basis.cols());
  for (Eigen::Index e = 0; num_joints > 0 && e < data->expression_basis.cols(); ++e) {
    const Eigen::Map<const Eigen::Matrix3Xf> column(data->expression_basis.col(e).data(), 3, v);
    const Eigen::Matrix3Xf joints = column * data->joint_regressor.transpose();
    data->joint_expression_basis.col(e) =
        Eigen::Map<const Eigen::VectorXf>(joints.data(), joints.size());
  }
  return HeadModel(std::move(data));
}

HeadModel HeadModel::Load(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string(), "no such model file");
  const std::string extension = LowerExtension(path);
  std::shared_ptr<Data> data;
  if (extension == ".pkl") {
    data = LoadFlame(path);
  } else if (extension == ".npz") {
    const NpzFile npz = NpzFile::Read(path);
    if (npz.Contains("posedirs") || npz.Contains("kintree_table")) {
      data = LoadFlame(path);
    } else {
      data = LoadLinearNpz(npz);
    }
  } else {
    throw InputError(path.string(), "unknown model format '" + extension +
                                        "': expected .npz (default model or FLAME) or .pkl (FLAME)");
  }
  return MakeHeadModel(std::move(data));
}

}  // namespace headtrack
