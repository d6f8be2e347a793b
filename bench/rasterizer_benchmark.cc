// Rasterizer speed on the default head model's face and head_neck regions (the first 11,248
// vertices and the triangles among them), seen frontally at 0.45 m by a 640 x 576 camera
// (fx = fy = 504), on one and on two threads; also at half resolution (320 x 288), as a tracker
// renders its coarse levels.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "headtrack/pinhole_camera.h"
#include "headtrack/rasterizer.h"
#include "headtrack/triangle_mesh.h"
#include "io/npz_file.h"

namespace headtrack {
namespace {

constexpr int kFaceAndHeadNeckVertices = 11248;  // regions face and head_neck come first

// The default model's neutral face and head_neck in its head frame (metres, +y up, +z out of
// the face), read directly from the .npz (arrays v_template and faces).
TriangleMesh LoadDefaultHeadMesh() {
  const NpzFile npz =
      NpzFile::Read(std::filesystem::path(HEADTRACK_DATA_DIR) / "models/ict_facekit_light.npz");
  const std::vector<float> vertices = npz.GetArray<float>("v_template", {-1, 3});
  const std::vector<std::int32_t> faces = npz.GetArray<std::int32_t>("faces", {-1, 3});
  TriangleMesh mesh;
  mesh.vertices = Eigen::Map<const Points3f>(vertices.data(), kFaceAndHeadNeckVertices, 3);
  std::vector<std::int32_t> kept;
  for (size_t f = 0; f + 2 < faces.size(); f += 3) {
    if (faces[f] < kFaceAndHeadNeckVertices && faces[f + 1] < kFaceAndHeadNeckVertices &&
        faces[f + 2] < kFaceAndHeadNeckVertices) {
      kept.insert(kept.end(), faces.begin() + f, faces.begin() + f + 3);
    }
  }
  mesh.faces =
      Eigen::Map<const Triangles>(kept.data(), static_cast<Eigen::Index>(kept.size() / 3), 3);
  return mesh;
}

struct HeadScene {
  PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();  // 640 x 576, f = 504
  Points3f vertices_in_cam;
  Points3f normals_in_cam;
  Triangles faces;
};

const HeadScene& Scene() {
  static const HeadScene scene = [] {
    TriangleMesh mesh = LoadDefaultHeadMesh();
    // cam_from_head: 180 degrees about x (the camera's y is down and z forward), then 0.45 m
    // along the optical axis.
    HeadScene s;
    s.vertices_in_cam = mesh.vertices;
    s.vertices_in_cam.col(1) *= -1.0f;
    s.vertices_in_cam.col(2) = 0.45f - mesh.vertices.col(2).array();
    s.normals_in_cam = mesh.ComputeVertexNormals();
    s.normals_in_cam.rightCols(2) *= -1.0f;
    s.faces = mesh.faces;
    return s;
  }();
  return scene;
}

enum Variant { kFlatNormals, kVertexNormals, kDepthOnly, kHalfResolution };

void Run(benchmark::State& state, Variant variant) {
  const HeadScene& scene = Scene();
  RasterizerOptions options;
  options.num_threads = static_cast<int>(state.range(0));
  options.compute_points_and_normals = variant != kDepthOnly;
  PinholeCamera camera = scene.camera;
  if (variant == kHalfResolution) {  // pixel centers of the half-size image
    camera = {.fx = camera.fx / 2, .fy = camera.fy / 2, .cx = (camera.cx - 0.5) / 2,
              .cy = (camera.cy - 0.5) / 2, .width = camera.width / 2,
              .height = camera.height / 2};
  }
  Rasterizer rasterizer(options);
  Rasterization out;
  for (auto _ : state) {
    if (variant == kVertexNormals) {
      rasterizer.Rasterize(camera, scene.vertices_in_cam, scene.faces, scene.normals_in_cam, &out);
    } else {
      rasterizer.Rasterize(camera, scene.vertices_in_cam, scene.faces, &out);
    }
    benchmark::DoNotOptimize(out.depth.pixels.data());
    benchmark::ClobberMemory();
  }
  state.counters["triangles"] = static_cast<double>(scene.faces.rows());
  state.counters["covered_pixels"] = out.num_covered_pixels;
  state.counters["culled"] = out.num_culled_triangles;
}

void BM_RasterizeHeadFlatNormals(benchmark::State& state) { Run(state, kFlatNormals); }
void BM_RasterizeHeadVertexNormals(benchmark::State& state) { Run(state, kVertexNormals); }
void BM_RasterizeHeadDepthOnly(benchmark::State& state) { Run(state, kDepthOnly); }
void BM_RasterizeHeadHalfResolution(benchmark::State& state) { Run(state, kHalfResolution); }

BENCHMARK(BM_RasterizeHeadFlatNormals)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RasterizeHeadVertexNormals)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RasterizeHeadDepthOnly)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RasterizeHeadHalfResolution)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace headtrack
