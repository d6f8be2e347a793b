#include "headtrack/mesh_io.h"

#include <string>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/obj_io.h"
#include "io/pcd_io.h"
#include "io/ply_io.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void ThrowUnsupported(const fs::path& path, const char* expected) {
  HT_THROW_INPUT(path.string(), "unsupported file type '" << path.extension().string()
                                                          << "'; expected " << expected);
}

}  // namespace

TriangleMesh ReadMesh(const fs::path& path) {
  const std::string extension = LowerExtension(path);
  if (extension == ".ply") return ReadPly(path);
  if (extension == ".obj") return ReadObj(path);
  ThrowUnsupported(path, ".ply or .obj");
}

void WriteMesh(const fs::path& path, const TriangleMesh& mesh) {
  const std::string extension = LowerExtension(path);
  if (extension == ".ply") return WritePly(path, mesh);
  if (extension == ".obj") return WriteObj(path, mesh);
  ThrowUnsupported(path, ".ply or .obj");
}

PointCloud ReadPointCloud(const fs::path& path) {
  const std::string extension = LowerExtension(path);
  if (extension == ".pcd") return ReadPcd(path);
  if (extension == ".ply") return ReadPlyPointCloud(path);
  ThrowUnsupported(path, ".pcd or .ply");
}

void WritePointCloud(const fs::path& path, const PointCloud& cloud) {
  if (LowerExtension(path) != ".ply") ThrowUnsupported(path, ".ply");
  WritePlyPointCloud(path, cloud);
}

}  // namespace headtrack
