// Test support: small models with FLAME's joint tree (root, neck, then jaw and two eyes on the
// neck), linear blend skinning and pose correctives, built in code.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include <Eigen/Core>

#include "model/head_model_data.h"

namespace headtrack::testing {

// 12 random vertices, two triangles: for checking the model's arithmetic, not for rendering. A
// regressor and skinning weights that mix several vertices / joints (with some zeros), non-zero
// pose correctives. All values are multiples of 1/16 (the regressor and weights of 1/8, rows
// summing to one), so the float parts of HeadModel (ShapeIdentity, joint_expression_basis) are
// exact for coefficients that are multiples of 1/16 and a double reference can be compared
// tightly.
inline std::shared_ptr<HeadModel::Data> FlameLikeData() {
  constexpr int kVertices = 12;
  constexpr int kJoints = 5;
  std::mt19937 random(5);
  std::uniform_int_distribution<int> sixteenths(-16, 16);
  const auto fill = [&](Eigen::Index rows, Eigen::Index cols) {
    return Eigen::MatrixXf::NullaryExpr(rows, cols, [&] { return sixteenths(random) / 16.0f; })
        .eval();
  };
  // Eight shares of 1/8 dealt at random over each row.
  const auto dealt_rows = [&](Eigen::Index rows, Eigen::Index cols) {
    Eigen::MatrixXf m = Eigen::MatrixXf::Zero(rows, cols);
    std::uniform_int_distribution<Eigen::Index> column(0, cols - 1);
    for (Eigen::Index r = 0; r < rows; ++r) {
      for (int share = 0; share < 8; ++share) m(r, column(random)) += 0.125f;
    }
    return m;
  };
  auto data = std::make_shared<HeadModel::Data>();
  data->name = "FLAME-like";
  data->source = "flame_like";
  data->template_vertices = fill(kVertices, 3);
  data->triangles.resize(2, 3);
  data->triangles << 0, 1, 2, 3, 4, 5;
  data->identity_basis = 0.25f * fill(3 * kVertices, 3);
  data->expression_basis = 0.25f * fill(3 * kVertices, 4);
  data->expression_names = {"e0", "e1", "e2", "e3"};
  data->joint_names = {"global", "neck", "jaw", "eye_left", "eye_right"};
  data->joint_parents = {-1, 0, 1, 1, 1};
  data->joint_regressor = dealt_rows(kJoints, kVertices);
  data->pose_correctives = 0.25f * fill(3 * kVertices, 9 * (kJoints - 1));
  data->skinning_weights = dealt_rows(kVertices, kJoints);
  return data;
}

// A FLAME-like model that renders: a face-like cap, about 0.14 m wide and 0.16 m tall, in the
// head frame of the default model (+x toward the subject's left, +y up, +z out of the face).
// A 13 x 13 grid (vertex j * 13 + i; u = i / 6 - 1 and w = j / 6 - 1 in [-1, 1] across and up)
// lifted into a dome with a nose ridge, two elongated eye bumps and a chin, slightly skewed so
// that nothing is symmetric. Every triangle is in region "face".
//
// Joints, and what follows them (smooth skinning weights summing to one):
//   0 global     regressed from the bottom row; the bottom rows (the neck's base)
//   1 neck       regressed from the rim, a few cm behind the face; the rest of the face
//   2 jaw        a hinge regressed from the sides at w = -1/3 and -1/6; the lower face
//   3 eye_left   regressed from the 4 vertices around the left eye bump (+x); that bump
//   4 eye_right  the same on the right
// Identity (3) and PCA expressions (4) are smooth fields of a few millimetres per unit
// coefficient; the pose correctives move each joint's vertices by up to 4 mm per unit of its
// pose feature. Landmark vertices: nose, eyes, brow, mouth corners, chin, cheeks.
inline std::shared_ptr<HeadModel::Data> JointedCapData() {
  constexpr int kSide = 13;
  constexpr int kVertices = kSide * kSide;
  constexpr int kJoints = 5;
  const auto index = [](int i, int j) { return j * kSide + i; };
  const auto gauss = [](double u, double w, double u0, double w0, double su, double sw) {
    return std::exp(-std::pow((u - u0) / su, 2) - std::pow((w - w0) / sw, 2));
  };
  const auto ramp = [](double t) {  // smoothstep: 0 below 0, 1 above 1
    t = std::clamp(t, 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
  };

  auto data = std::make_shared<HeadModel::Data>();
  data->name = "jointed cap";
  data->source = "jointed_cap";
  data->expression_kind = ExpressionKind::kPca;
  data->template_vertices.resize(kVertices, 3);
  data->identity_basis = Eigen::MatrixXf::Zero(3 * kVertices, 3);
  data->expression_basis = Eigen::MatrixXf::Zero(3 * kVertices, 4);
  data->expression_names = {"jaw_drop", "smile", "brows_up", "cheeks_puff"};
  data->skinning_weights.resize(kVertices, kJoints);
  for (int j = 0; j < kSide; ++j) {
    for (int i = 0; i < kSide; ++i) {
      const int v = index(i, j);
      const double u = -1.0 + 2.0 * i / (kSide - 1);
      const double w = -1.0 + 2.0 * j / (kSide - 1);
      const double nose = gauss(u, w, 0.0, -0.05, 0.18, 0.35);
      const double eye_left = gauss(u, w, 0.45, 0.3, 0.22, 0.12);
      const double eye_right = gauss(u, w, -0.45, 0.3, 0.22, 0.12);
      const double chin = gauss(u, w, 0.0, -0.7, 0.3, 0.12);
      const double z = 0.03 * (1.0 - 0.6 * u * u - 0.4 * w * w) + 0.015 * nose +
                       0.006 * (eye_left + eye_right) + 0.008 * chin + 0.004 * u * w;
      data->template_vertices.row(v) << static_cast<float>(0.07 * u),
          static_cast<float>(0.08 * w), static_cast<float>(z);

      // Skinning weights: root, neck, jaw, left eye, right eye.
      const double root = ramp((-0.6 - w) / 0.4);
      const double lower_face = ramp((-0.1 - w) / 0.4) * std::exp(-std::pow(u / 0.7, 2));
      const double jaw = (1.0 - root) * lower_face;
      const double upper = 1.0 - root - jaw;
      const double left = upper * gauss(u, w, 0.45, 0.3, 0.25, 0.2);
      const double right = (upper - left) * gauss(u, w, -0.45, 0.3, 0.25, 0.2);
      data->skinning_weights.row(v) << static_cast<float>(root),
          static_cast<float>(upper - left - right), static_cast<float>(jaw),
          static_cast<float>(left), static_cast<float>(right);

      const auto add = [&](Eigen::MatrixXf& basis, int column, double dx, double dy, double dz) {
        basis(3 * v, column) += static_cast<float>(dx);
        basis(3 * v + 1, column) += static_cast<float>(dy);
        basis(3 * v + 2, column) += static_cast<float>(dz);
      };
      add(data->identity_basis, 0, 0.0, 0.0, 0.005 * nose);                  // nose height
      add(data->identity_basis, 1, 0.005 * u, 0.0, 0.0);                     // width
      add(data->identity_basis, 2, 0.0, 0.002 * w, 0.005 * (1 - u * u - w * w));  // depth
      const double mouth = gauss(u, w, 0.0, -0.45, 0.5, 0.2);
      add(data->expression_basis, 0, 0.0, -0.004 * lower_face, -0.002 * lower_face);
      add(data->expression_basis, 1, 0.003 * u * mouth, 0.002 * std::abs(u) * mouth, 0.0);
      add(data->expression_basis, 2, 0.0, 0.003 * ramp((w - 0.3) / 0.5),
          0.001 * ramp((w - 0.3) / 0.5));
      add(data->expression_basis, 3, 0.0, 0.0,
          0.004 * (gauss(u, w, 0.55, -0.1, 0.25, 0.3) + gauss(u, w, -0.55, -0.1, 0.25, 0.3)));
    }
  }

  // Two counter-clockwise triangles (seen from +z, outside) per grid cell.
  data->triangles.resize(2 * (kSide - 1) * (kSide - 1), 3);
  int t = 0;
  for (int j = 0; j + 1 < kSide; ++j) {
    for (int i = 0; i + 1 < kSide; ++i) {
      data->triangles.row(t++) << index(i, j), index(i + 1, j), index(i + 1, j + 1);
      data->triangles.row(t++) << index(i, j), index(i + 1, j + 1), index(i, j + 1);
    }
  }
  data->region_names = {"face"};
  data->vertex_regions.assign(kVertices, 0);
  data->triangle_regions.assign(data->triangles.rows(), 0);
  data->landmark_vertices = {index(6, 6), index(9, 8), index(3, 8), index(6, 10), index(3, 3),
                             index(9, 3),  index(6, 2), index(1, 5),  index(11, 5)};

  data->joint_names = {"global", "neck", "jaw", "eye_left", "eye_right"};
  data->joint_parents = {-1, 0, 1, 1, 1};
  data->joint_regressor = Eigen::MatrixXf::Zero(kJoints, kVertices);
  const auto regress = [&](int joint, const std::vector<int>& vertices) {
    for (int v : vertices) {
      data->joint_regressor(joint, v) += 1.0f / static_cast<float>(vertices.size());
    }
  };
  std::vector<int> bottom, rim;
  for (int i = 0; i < kSide; ++i) bottom.push_back(index(i, 0));
  for (int k = 0; k + 1 < kSide; ++k) {
    rim.insert(rim.end(), {index(k, 0), index(kSide - 1, k), index(kSide - 1 - k, kSide - 1),
                           index(0, kSide - 1 - k)});
  }
  regress(0, bottom);
  regress(1, rim);
  regress(2, {index(0, 4), index(0, 5), index(kSide - 1, 4), index(kSide - 1, 5)});
  regress(3, {index(8, 7), index(9, 7), index(8, 8), index(9, 8)});
  regress(4, {index(3, 7), index(4, 7), index(3, 8), index(4, 8)});

  // Correctives of joint k's pose feature move the vertices that follow joint k.
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  data->pose_correctives.resize(3 * kVertices, 9 * (kJoints - 1));
  for (int f = 0; f < data->pose_correctives.cols(); ++f) {
    const int joint = 1 + f / 9;
    const Eigen::Vector3f direction(uniform(random), uniform(random), uniform(random));
    for (int v = 0; v < kVertices; ++v) {
      data->pose_correctives.middleRows<3>(3 * v).col(f) =
          0.004f * data->skinning_weights(v, joint) * direction;
    }
  }
  return data;
}

}  // namespace headtrack::testing
