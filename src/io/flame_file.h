// ReadFlameFile: the arrays of a FLAME head model (Li et al. 2017) from its Python pickle
// (generic_model.pkl of FLAME 2020, flame2023.pkl, flame2023_Open.pkl) or an .npz with the
// same keys.
#pragma once

#include <Eigen/Core>
#include <filesystem>
#include <vector>

#include "headtrack/types.h"

namespace headtrack {

// FLAME's arrays in double precision. V vertices, F triangles, J joints, K shape + expression
// components (FLAME: 300 shape then 100 expression).
struct FlameFileContents {
  Points3d v_template;              // V x 3, metres, FLAME head frame
  Triangles faces;                  // F x 3 vertex indices
  Eigen::MatrixXd shapedirs;        // 3V x K, row 3v + c = coordinate c of vertex v
  Eigen::MatrixXd posedirs;         // 3V x 9(J-1), same row order
  Eigen::MatrixXd joint_regressor;  // J x V (dense, from sparse or dense input)
  std::vector<int> parents;         // J entries, -1 for the root (joint 0); parents[j] < j
  Eigen::MatrixXd weights;          // V x J skinning weights
};

// Reads a FLAME .pkl (pickle; arrays may be chumpy objects, J_regressor a scipy.sparse
// csc/csr matrix) or .npz (dense arrays), dispatching on the extension. Keys: v_template (V, 3),
// f (F, 3), shapedirs (V, 3, K), posedirs (V, 3, 9(J-1)), J_regressor (J, V),
// kintree_table (2, J) (row 0: parent ids, the root's being -1 or 4294967295; row 1: joint ids),
// weights (V, J); other keys are ignored. Throws InputError naming the file and the key for a
// missing key, a wrong shape or type, a non-finite value, an out-of-range face index or a
// kinematic tree whose parents do not precede their children.
FlameFileContents ReadFlameFile(const std::filesystem::path& path);

}  // namespace headtrack
