// Everything that places and shapes the model in one frame: the person's identity, the frame's
// expression and joint rotations, and the similarity from the head frame to the camera.
#pragma once

#include <Eigen/Core>

#include "headtrack/head_model.h"
#include "headtrack/similarity_transform.h"

namespace headtrack {

struct HeadState {
  Eigen::VectorXf identity;         // num_identity coefficients
  Eigen::VectorXf expression;       // num_expression coefficients
  JointRotations joint_rotations;   // 3 x num_joints axis-angle (radians); empty: rest pose
  SimilarityTransform cam_from_head;

  // The rest state of a model: zero identity and expression, rest pose, identity transform.
  static HeadState Zero(const HeadModel& model) {
    HeadState state;
    state.identity = model.ZeroIdentity();
    state.expression = model.ZeroExpression();
    state.joint_rotations = JointRotations::Zero(3, model.num_joints());
    return state;
  }
};

}  // namespace headtrack
