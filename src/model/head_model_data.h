// The arrays behind a HeadModel (private to the model layer and its tests).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "headtrack/head_model.h"

namespace headtrack {

struct HeadModel::Data {
  std::string name;
  std::filesystem::path source;
  ExpressionKind expression_kind = ExpressionKind::kBlendshapes;

  Points3f template_vertices;        // V x 3, head frame, metres
  Triangles triangles;               // F x 3
  Eigen::MatrixXf identity_basis;    // 3V x I, row 3v+c
  Eigen::MatrixXf expression_basis;  // 3V x E, row 3v+c
  std::vector<std::string> expression_names;  // E

  std::vector<std::string> region_names;
  std::vector<std::int8_t> vertex_regions;    // V, or empty
  std::vector<std::int8_t> triangle_regions;  // F, or empty
  std::vector<int> landmark_vertices;         // iBUG-68, or empty
  std::vector<int> rigid_vertices;

  // Joints (empty for a linear model).
  std::vector<std::string> joint_names;       // J
  std::vector<int> joint_parents;             // J, -1 for the root, parents[j] < j
  Eigen::MatrixXf joint_regressor;            // J x V
  Eigen::MatrixXf joint_expression_basis;     // 3J x E: joint_regressor applied to expression_basis
  Eigen::MatrixXf pose_correctives;           // 3V x 9(J-1), row 3v+c
  Eigen::MatrixXf skinning_weights;           // V x J

  // Throws InputError(source, ...) when sizes disagree.
  void Validate() const;
};

// Validates the data (InputError naming data->source), computes the derived arrays and wraps it.
HeadModel MakeHeadModel(std::shared_ptr<HeadModel::Data> data);

}  // namespace headtrack
