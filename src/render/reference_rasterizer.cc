#include "render/reference_rasterizer.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "headtrack/error.h"
#include "render/raster_rules.h"

namespace headtrack::internal {
namespace {

struct ProjectedTriangle {
  int id = -1;
  std::int64_t x[3] = {};  // vertices on the subpixel grid
  std::int64_t y[3] = {};
  std::int64_t signed_area = 0;  // twice the signed area, y down: > 0 for back faces
  double inv_z[3] = {};
  std::int64_t x_ref = 0, y_ref = 0;  // the planes' anchor pixel
  TrianglePlanes planes;              // for the z-buffer key
};

// Edge from vertex j to vertex k at point (px, py), in the triangle's own winding.
std::int64_t EdgeFunction(const ProjectedTriangle& t, int j, int k, std::int64_t px,
                          std::int64_t py) {
  return (t.x[k] - t.x[j]) * (py - t.y[j]) - (t.y[k] - t.y[j]) * (px - t.x[j]);
}

// Whether pixel center (px, py) is inside; w[i] gets the edge function opposite vertex i,
// oriented to be positive inside. A point exactly on an edge counts only for a top edge
// (horizontal, the triangle below it) or a left edge (the triangle to its right).
bool Covers(const ProjectedTriangle& t, std::int64_t px, std::int64_t py, std::int64_t w[3]) {
  const std::int64_t sign = t.signed_area > 0 ? 1 : -1;
  for (int i = 0; i < 3; ++i) {
    const int j = (i + 1) % 3;
    const int k = (i + 2) % 3;
    w[i] = sign * EdgeFunction(t, j, k, px, py);
    // Gradient of w[i]: points into the triangle.
    const std::int64_t gradient_x = -sign * (t.y[k] - t.y[j]);
    const std::int64_t gradient_y = sign * (t.x[k] - t.x[j]);
    const bool top = gradient_y > 0;                     // inside is below the edge
    const bool left = gradient_y == 0 && gradient_x > 0;  // vertical edge, inside to the right
    if (w[i] < 0 || (w[i] == 0 && !top && !left)) return false;
  }
  return true;
}

}  // namespace

void RasterizeReference(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                        const Triangles& faces, const Points3f* vertex_normals_in_cam,
                        const RasterizerOptions& options, Rasterization* out) {
  options.Check();
  camera.Check();
  const int num_faces = static_cast<int>(faces.rows());
  HT_CHECK(options.triangle_mask.empty() ||
           static_cast<int>(options.triangle_mask.size()) == num_faces);

  Rasterization& r = *out;
  r = Rasterization();

  std::vector<ProjectedTriangle> triangles;
  for (int f = 0; f < num_faces; ++f) {
    if (!options.triangle_mask.empty() && options.triangle_mask[f] == 0) continue;
    ProjectedTriangle t;
    t.id = f;
    bool valid = true;
    for (int i = 0; i < 3; ++i) {
      const Eigen::Vector3f v = vertices_in_cam.row(faces(f, i)).transpose();
      valid = valid && SnapVertex(camera, options.z_near, v, &t.x[i], &t.y[i]);
      t.inv_z[i] = 1.0 / static_cast<double>(v.z());
    }
    if (!valid) {
      ++r.num_skipped_triangles;
      continue;
    }
    t.signed_area = EdgeFunction(t, 0, 1, t.x[2], t.y[2]);
    if (t.signed_area == 0) continue;
    if (t.signed_area > 0 && options.cull_back_faces) {
      ++r.num_culled_triangles;
      continue;
    }
    // Edge i at the anchor's pixel center, oriented to be positive inside, and its gradient.
    t.x_ref = PlaneAnchor(std::min({t.x[0], t.x[1], t.x[2]}));
    t.y_ref = PlaneAnchor(std::min({t.y[0], t.y[1], t.y[2]}));
    const std::int64_t sign = t.signed_area > 0 ? 1 : -1;
    std::int64_t edge_at_ref[3], a[3], b[3];
    for (int i = 0; i < 3; ++i) {
      const int j = (i + 1) % 3;
      const int k = (i + 2) % 3;
      edge_at_ref[i] =
          sign * EdgeFunction(t, j, k, t.x_ref * kSubpixelScale, t.y_ref * kSubpixelScale);
      a[i] = -sign * (t.y[k] - t.y[j]);
      b[i] = sign * (t.x[k] - t.x[j]);
    }
    t.planes = TrianglePlanes::Make(edge_at_ref, a, b, sign * t.signed_area, t.inv_z);
    triangles.push_back(t);
  }

  const int width = camera.width;
  const int height = camera.height;
  r.depth = DepthImage(width, height);
  r.triangle_id = Image<std::int32_t>(width, height, 1, -1);
  r.barycentrics = Image<float>(width, height, 3);
  r.points = options.compute_points_and_normals ? Image<float>(width, height, 3) : Image<float>();
  r.normals = r.points;

  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      // The nearest surface has the largest inverse depth.
      float best_inverse_depth = 0.0f;
      const ProjectedTriangle* best = nullptr;
      PixelSample best_sample{};
      for (const ProjectedTriangle& t : triangles) {
        std::int64_t w[3];
        if (!Covers(t, x * kSubpixelScale, y * kSubpixelScale, w)) continue;
        const float inverse_depth =
            Key(KeyRowBase(t.planes.key_at_ref, t.planes.key_per_y, y - t.y_ref),
                t.planes.key_per_x, x - t.x_ref);
        if (inverse_depth > best_inverse_depth) {  // strict: the lower id wins a tie
          best_inverse_depth = inverse_depth;
          best = &t;
          best_sample = SamplePixel(w, t.inv_z, static_cast<double>(w[0] + w[1] + w[2]));
        }
      }
      if (best == nullptr) continue;
      ++r.num_covered_pixels;
      r.depth.at(x, y) = best_sample.depth;
      r.triangle_id.at(x, y) = best->id;
      const Eigen::Vector3f b = best_sample.barycentrics;
      for (int c = 0; c < 3; ++c) r.barycentrics.at(x, y, c) = b[c];
      if (!options.compute_points_and_normals) continue;

      Eigen::Vector3f point = Eigen::Vector3f::Zero();
      Eigen::Vector3f normal = Eigen::Vector3f::Zero();
      for (int i = 0; i < 3; ++i) {
        const int v = faces(best->id, i);
        point += b[i] * vertices_in_cam.row(v).transpose();
        if (vertex_normals_in_cam != nullptr) {
          normal += b[i] * vertex_normals_in_cam->row(v).transpose();
        }
      }
      if (vertex_normals_in_cam == nullptr) {
        const Eigen::Vector3f v0 = vertices_in_cam.row(faces(best->id, 0)).transpose();
        const Eigen::Vector3f v1 = vertices_in_cam.row(faces(best->id, 1)).transpose();
        const Eigen::Vector3f v2 = vertices_in_cam.row(faces(best->id, 2)).transpose();
        normal = (v1 - v0).cross(v2 - v0);
      }
      if (normal.norm() > 0) normal.normalize();
      for (int c = 0; c < 3; ++c) {
        r.points.at(x, y, c) = point[c];
        r.normals.at(x, y, c) = normal[c];
      }
    }
  }
}

}  // namespace headtrack::internal
