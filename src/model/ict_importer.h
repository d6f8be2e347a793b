// ImportIctFaceKit: rebuilds the default head model (ict_facekit_light.npz) from ICT-FaceKit's
// original FaceXModel/ folder of OBJ shapes. How the arrays are derived: docs/ict_import.md.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/npy_array.h"

namespace headtrack {

// ICT-FaceKit ships 100 identity modes, identity000.obj to identity099.obj.
inline constexpr int kIctIdentityCount = 100;

struct IctImportOptions {
  // ICT-FaceKit's FaceXModel/ folder: generic_neutral_mesh.obj, vertex_indices.json,
  // identity000.obj ... identity099.obj and one OBJ per expression named in the JSON.
  std::filesystem::path folder;
  // false: a missing identity or expression OBJ is an InputError listing every missing file.
  // true: its basis column is zero and the summary lists it (modes_missing).
  bool allow_missing = false;

  void Check() const;  // HT_CHECK: folder is given
};

struct IctImportSummary {
  std::vector<std::string> modes_found;    // file stems, identities first, then expressions
  std::vector<std::string> modes_missing;  // their columns are zero (only with allow_missing)
  int num_vertices = 0;                    // kept of the OBJ's vertices
  int num_triangles = 0;                   // after fan triangulation
  double seconds = 0.0;                    // wall time of the import

  // One line "imported ..." and, when modes are missing, a "warning: ..." line naming them.
  std::string Report() const;
};

struct IctImportResult {
  // The arrays of ict_facekit_light.npz (README in ../shared/models), in its archive order:
  // v_template, faces, uv, faces_uv, shapedirs, exprdirs, expr_names, region_names,
  // vertex_region, face_region, landmarks_ibug68, fitting_vertices, rigid_vertices.
  std::vector<std::pair<std::string, NpyArray>> arrays;
  IctImportSummary summary;
};

// Reads the folder (the mode OBJs in parallel, with a Progress bar on standard error) and builds
// the arrays. Throws InputError naming the folder or file for: a missing folder, neutral mesh or
// vertex_indices.json; a malformed or out-of-range field of vertex_indices.json; a neutral mesh
// whose topology is not ICT's (vertex count, polygons crossing the kept/dropped vertex boundary,
// polygons without texture coordinates); a mode OBJ whose vertex count differs from the neutral
// mesh; missing mode OBJs unless options.allow_missing.
IctImportResult ImportIctFaceKit(const IctImportOptions& options);

// Writes result.arrays as a compressed .npz, atomically (WriteNpz).
void WriteIctModel(const std::filesystem::path& path, const IctImportResult& result);

}  // namespace headtrack
