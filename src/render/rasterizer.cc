// The fast rasterizer. Per call:
//  1. snap every vertex to the subpixel grid (raster_rules.h);
//  2. set up every triangle: mask, near plane, culling, integer edge functions, pixel bounds;
//  3. bin the triangles into bands of kBandHeight rows, in increasing triangle id;
//  4. per band (one thread each): empty the pixels the last call covered, scan each triangle's
//     bounding box with incrementally updated edge functions (four pixels at a time in 32 bits,
//     or one at a time in 64 bits) and z-test covered pixels on inverse depth, then resolve depth, barycentrics, points and normals of the visible triangles from
//     their inverse-depth planes, and clear the pixels the last call covered and this one does not.
// Each pixel belongs to one band and sees its triangles in increasing id, so a strict z-test
// keeps the lower id on ties and the result does not depend on the number of threads.
#include "headtrack/rasterizer.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "headtrack/error.h"
#include "render/raster_rules.h"

namespace headtrack {

using internal::kSubpixelScale;

namespace {

constexpr int kBandHeight = 16;
// Triangle id of a pixel that the last call covered and this one has not (yet): its depth is 0,
// its other buffers still hold the last call's values.
constexpr std::int32_t kStale = -2;

struct ScreenVertex {
  std::int64_t x, y;  // projection on the subpixel grid
  double inv_z;       // 1 / depth
  bool valid;         // false: nearer than z_near, not finite, or projected out of range
};

// What the z-test needs of a triangle. Edge i (opposite vertex i) at subpixel point p:
// F_i(p) = a_i p.x + b_i p.y + c_i, oriented to be positive inside; a pixel center p is covered
// when F_i(p) >= m_i for all i, where m_i is 0 on top and left edges and 1 on the others (the
// top-left rule). At pixel centers p = kSubpixelScale * (x, y), F_i - m_i = kSubpixelScale *
// (a_i x + b_i y) + const, so F_i >= m_i exactly when the pixel edge function
// G_i(x, y) = floor((F_i(p) - m_i) / kSubpixelScale), which is affine in the pixel (x, y) with
// integer coefficients a_i and b_i, is >= 0. G is kSubpixelScale times smaller than F and fits
// 32 bits on all but huge triangles.
struct TriangleSetup {
  std::int64_t edge_at_origin[3];  // G_i at pixel (x0, y0)
  std::int64_t step_x[3];          // change of G_i from one pixel to the next in x: a_i
  std::int64_t step_y[3];          // same in y: b_i
  double key_at_ref, key_per_x, key_per_y;  // the z-buffer key, as in internal::InverseDepthPlane
  std::int32_t key_x_ref, key_y_ref;
  int x0, x1, y0, y1;              // inclusive pixel bounds of the triangle, clipped to the image
  bool edges_fit_32_bits;  // G_i fits 32 bits within 8 pixels of the bounds

  // InverseDepthPlane::RowBase.
  double RowBase(int y) const {
    return key_at_ref + key_per_y * static_cast<double>(y - key_y_ref);
  }
};

// What resolving a visible pixel needs of a triangle.
struct TriangleShading {
  internal::InverseDepthPlane plane;
  Eigen::Vector3f face_normal;  // unit, camera frame (only for flat normals)
};

enum class TriangleState { kDrawn, kEmpty, kCulled };

// Pixel index of the first pixel center at or after subpixel coordinate c, and at or before it.
std::int64_t PixelCeil(std::int64_t c) { return -((-c) >> internal::kSubpixelBits); }
std::int64_t PixelFloor(std::int64_t c) { return c >> internal::kSubpixelBits; }

template <typename T>
bool HasSize(const Image<T>& image, int width, int height, int channels) {
  return image.width == width && image.height == height && image.channels == channels;
}

// Sets up triangle v[0], v[1], v[2]; returns kDrawn or why it is not drawn. shading->plane is set
// when drawn.
TriangleState SetUpTriangle(const ScreenVertex* v[3], bool cull_back_faces, int width, int height,
                            TriangleSetup* setup, TriangleShading* shading) {
  // Twice the signed area in the image (y down): negative for front faces.
  const std::int64_t area =
      (v[1]->x - v[0]->x) * (v[2]->y - v[0]->y) - (v[1]->y - v[0]->y) * (v[2]->x - v[0]->x);
  if (area == 0) return TriangleState::kEmpty;
  if (area > 0 && cull_back_faces) return TriangleState::kCulled;
  const std::int64_t sign = area > 0 ? 1 : -1;

  const std::int64_t min_x = std::min({v[0]->x, v[1]->x, v[2]->x});
  const std::int64_t max_x = std::max({v[0]->x, v[1]->x, v[2]->x});
  const std::int64_t min_y = std::min({v[0]->y, v[1]->y, v[2]->y});
  const std::int64_t max_y = std::max({v[0]->y, v[1]->y, v[2]->y});
  const std::int64_t x0 = std::max<std::int64_t>(PixelCeil(min_x), 0);
  const std::int64_t x1 = std::min<std::int64_t>(PixelFloor(max_x), width - 1);
  const std::int64_t y0 = std::max<std::int64_t>(PixelCeil(min_y), 0);
  const std::int64_t y1 = std::min<std::int64_t>(PixelFloor(max_y), height - 1);
  if (x0 > x1 || y0 > y1) return TriangleState::kEmpty;

  const std::int64_t xs[3] = {v[0]->x, v[1]->x, v[2]->x};
  const std::int64_t ys[3] = {v[0]->y, v[1]->y, v[2]->y};
  std::int64_t a[3], b[3];
  for (int i = 0; i < 3; ++i) {
    const int from = (i + 1) % 3;
    const int to = (i + 2) % 3;
    a[i] = -sign * (ys[to] - ys[from]);
    b[i] = sign * (xs[to] - xs[from]);
    // Top or left edge: b > 0, or b == 0 and a > 0.
    const bool top_left = (b[i] != 0 ? b[i] : a[i]) > 0;
    const std::int64_t edge = a[i] * (x0 * kSubpixelScale - xs[from]) +
                              b[i] * (y0 * kSubpixelScale - ys[from]) - !top_left;
    setup->edge_at_origin[i] = edge >> internal::kSubpixelBits;  // floor division
    setup->step_x[i] = a[i];
    setup->step_y[i] = b[i];
  }
  // With e = (max_x - min_x) + (max_y - min_y) (subpixels), |a_i|, |b_i| <= e, and within 8
  // pixels of the vertices' bounds |F_i| <= e^2 / 2 + 8 kSubpixelScale e, so |G_i| < 2^31 when
  // e < 2^21.
  setup->edges_fit_32_bits = (max_x - min_x) + (max_y - min_y) < (std::int64_t{1} << 21);
  const double inv_z[3] = {v[0]->inv_z, v[1]->inv_z, v[2]->inv_z};
  const internal::InverseDepthPlane& plane = shading->plane =
      internal::InverseDepthPlane::FromEdges(xs, ys, a, b, sign * area, inv_z);
  setup->key_x_ref = static_cast<std::int32_t>(plane.x_ref);
  setup->key_y_ref = static_cast<std::int32_t>(plane.y_ref);
  setup->key_at_ref = plane.at_ref;
  setup->key_per_x = plane.per_x;
  setup->key_per_y = plane.per_y;
  setup->x0 = static_cast<int>(x0);
  setup->x1 = static_cast<int>(x1);
  setup->y0 = static_cast<int>(y0);
  setup->y1 = static_cast<int>(y1);
  return TriangleState::kDrawn;
}

// Z-tests triangle `id` (set up as t) in rows [y_begin, y_end] of the inverse depth and id images
// (row-major, `width` pixels a row). The triangle's fields are copied to locals, as the stores to
// the id image could alias them.
void ZTestTriangle(const TriangleSetup& t, int id, int y_begin, int y_end, int width,
                   float* inverse_depth_image, std::int32_t* id_image) {
  const int x0 = t.x0;
  const int num_columns = t.x1 - t.x0 + 1;
  const std::int64_t step_x[3] = {t.step_x[0], t.step_x[1], t.step_x[2]};
  std::int64_t row_edge[3];
  for (int i = 0; i < 3; ++i) row_edge[i] = t.edge_at_origin[i] + (y_begin - t.y0) * t.step_y[i];
  const double key_per_x = t.key_per_x;
  // x - key_x_ref at x0, exact in double, so that the key below is InverseDepthPlane::Key's.
  const auto key_dx_at_x0 = static_cast<double>(x0 - t.key_x_ref);
  for (int y = y_begin; y <= y_end; ++y) {
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(y) * width + x0;
    float* inverse_depth = inverse_depth_image + offset;
    std::int32_t* ids = id_image + offset;
    const double row_base = t.RowBase(y);
    std::int64_t e0 = row_edge[0], e1 = row_edge[1], e2 = row_edge[2];
    double key_dx = key_dx_at_x0;
    // Branch-free, as coverage changes every few pixels: the key is computed everywhere and
    // zeroed (made the farthest) outside.
    for (int i = 0; i < num_columns; ++i) {
      const auto inside = static_cast<std::uint32_t>(~((e0 | e1 | e2) >> 63));  // all ones or 0
      const float key = std::bit_cast<float>(
          std::bit_cast<std::uint32_t>(static_cast<float>(row_base + key_per_x * key_dx)) & inside);
      const float old = inverse_depth[i];
      const std::int32_t take = -static_cast<std::int32_t>(key > old);  // strict: lower id wins
      inverse_depth[i] = std::max(old, key);
      ids[i] ^= (ids[i] ^ id) & take;
      e0 += step_x[0];
      e1 += step_x[1];
      e2 += step_x[2];
      key_dx += 1.0;
    }
    for (int i = 0; i < 3; ++i) row_edge[i] += t.step_y[i];
  }
}

// Lanes of ints, floats and doubles (GCC and Clang vector extensions: SSE2 code without target
// flags).
using Int32x4 = std::int32_t __attribute__((vector_size(16)));
using Float32x4 = float __attribute__((vector_size(16)));
using Float32x2 = float __attribute__((vector_size(8)));
using Float64x2 = double __attribute__((vector_size(16)));

// ZTestTriangle for t.edges_fit_32_bits, four pixels at a time: the bounds are covered by strips
// of four columns starting at x0 (moved left when the last strip would leave the image, which
// needs width >= 4 strips), each scanned from top to bottom. Pixels outside the bounds are
// outside the triangle, so the edge functions alone mask them; they are read and written back
// unchanged.
void ZTestTriangleLanes(const TriangleSetup& t, int id, int y_begin, int y_end, int width,
                        float* inverse_depth_image, std::int32_t* id_image) {
  const int num_strips = (t.x1 - t.x0 + 4) / 4;
  const int x_begin = std::min(t.x0, width - 4 * num_strips);
  Int32x4 strip_edge[3];  // at the top left of the strip
  Int32x4 strip_step[3];
  Int32x4 row_step[3];
  for (int i = 0; i < 3; ++i) {
    const auto step_x = static_cast<std::int32_t>(t.step_x[i]);
    const auto at_begin = static_cast<std::int32_t>(
        t.edge_at_origin[i] + (x_begin - t.x0) * t.step_x[i] + (y_begin - t.y0) * t.step_y[i]);
    strip_edge[i] = Int32x4{0, step_x, 2 * step_x, 3 * step_x} + at_begin;
    strip_step[i] = Int32x4{} + 4 * step_x;
    row_step[i] = Int32x4{} + static_cast<std::int32_t>(t.step_y[i]);
  }
  // Locals, as the stores to the images could alias t.
  const double key_at_ref = t.key_at_ref;
  const double key_per_x = t.key_per_x;
  const double key_per_y = t.key_per_y;
  const std::int32_t key_y_ref = t.key_y_ref;
  // x - key_x_ref at the strip's first column, exact in double, so that the key below is
  // InverseDepthPlane::Key's.
  const auto key_dx_at_begin = static_cast<double>(x_begin - t.key_x_ref);
  const std::ptrdiff_t offset_at_begin = static_cast<std::ptrdiff_t>(y_begin) * width + x_begin;
  for (int strip = 0; strip < num_strips; ++strip) {
    const double key_dx = key_dx_at_begin + 4 * strip;
    const Float64x2 key_x_low = key_per_x * Float64x2{key_dx, key_dx + 1};
    const Float64x2 key_x_high = key_per_x * Float64x2{key_dx + 2, key_dx + 3};
    float* inverse_depth = inverse_depth_image + offset_at_begin + 4 * strip;
    std::int32_t* ids = id_image + offset_at_begin + 4 * strip;
    Int32x4 e0 = strip_edge[0], e1 = strip_edge[1], e2 = strip_edge[2];
    for (int y = y_begin; y <= y_end; ++y, inverse_depth += width, ids += width) {
      const Int32x4 inside = ~((e0 | e1 | e2) >> 31);  // all ones or 0 per lane
      const double row_base = key_at_ref + key_per_y * static_cast<double>(y - key_y_ref);
      const Float32x4 key_unmasked =
          __builtin_shufflevector(__builtin_convertvector(row_base + key_x_low, Float32x2),
                                  __builtin_convertvector(row_base + key_x_high, Float32x2), 0,
                                  1, 2, 3);
      // The key, zeroed (made the farthest) outside.
      const auto key = std::bit_cast<Float32x4>(std::bit_cast<Int32x4>(key_unmasked) & inside);
      Float32x4 old;
      Int32x4 old_ids;
      std::memcpy(&old, inverse_depth, sizeof(old));
      std::memcpy(&old_ids, ids, sizeof(old_ids));
      const Int32x4 take = key > old;  // strict: lower id wins
      const Float32x4 depth = std::bit_cast<Float32x4>(
          (std::bit_cast<Int32x4>(key) & take) | (std::bit_cast<Int32x4>(old) & ~take));
      const Int32x4 new_ids = (id & take) | (old_ids & ~take);
      std::memcpy(inverse_depth, &depth, sizeof(depth));
      std::memcpy(ids, &new_ids, sizeof(new_ids));
      e0 += row_step[0];
      e1 += row_step[1];
      e2 += row_step[2];
    }
    for (int i = 0; i < 3; ++i) strip_edge[i] += strip_step[i];
  }
}

// One output row: pointers to the pixels of row y (3 floats per pixel in the vector images;
// points and normals null when not computed).
struct RowOutput {
  float* depth;
  float* barycentrics;
  float* points;
  float* normals;

  void Clear(int x) const {
    depth[x] = 0.0f;
    std::fill_n(barycentrics + 3 * x, 3, 0.0f);
    if (points != nullptr) {
      std::fill_n(points + 3 * x, 3, 0.0f);
      std::fill_n(normals + 3 * x, 3, 0.0f);
    }
  }
};

// Depth, barycentrics and (if row.points) point and normal of pixel (x, y), covered by
// triangle id shaded by t. Free of data-dependent branches, so that neighbouring pixels overlap.
void ResolvePixel(const TriangleShading& t, int id, int x, int y, const Points3f& vertices_in_cam,
                  const Triangles& faces, const Points3f* vertex_normals_in_cam,
                  const RowOutput& row) {
  // r_i = l_i / z_i; clamped, as a covered pixel center may lie on an edge, where r_i is 0 up to
  // rounding.
  const internal::InverseDepthPlane& plane = t.plane;
  const auto dx = static_cast<double>(x - plane.x_ref);
  const auto dy = static_cast<double>(y - plane.y_ref);
  double r[3];
  for (int i = 0; i < 3; ++i) {
    r[i] = std::max(
        0.0, plane.vertex_at_ref[i] + plane.vertex_per_x[i] * dx + plane.vertex_per_y[i] * dy);
  }
  const double depth = 1.0 / (r[0] + r[1] + r[2]);
  row.depth[x] = static_cast<float>(depth);
  const Eigen::Vector3f b(static_cast<float>(r[0] * depth), static_cast<float>(r[1] * depth),
                          static_cast<float>(r[2] * depth));
  Eigen::Map<Eigen::Vector3f>(row.barycentrics + 3 * x) = b;
  if (row.points == nullptr) return;

  // Computed into locals before storing, so that the compiler need not guard against aliasing.
  const int corner[3] = {faces(id, 0), faces(id, 1), faces(id, 2)};
  const auto interpolate = [&](const Points3f& values) -> Eigen::Vector3f {
    return b[0] * values.row(corner[0]).transpose() + b[1] * values.row(corner[1]).transpose() +
           b[2] * values.row(corner[2]).transpose();
  };
  const Eigen::Vector3f point = interpolate(vertices_in_cam);
  Eigen::Vector3f normal = t.face_normal;
  if (vertex_normals_in_cam != nullptr) {
    normal = interpolate(*vertex_normals_in_cam);
    const float norm = normal.norm();
    normal = norm > 0.0f ? Eigen::Vector3f(normal / norm) : Eigen::Vector3f::Zero();
  }
  Eigen::Map<Eigen::Vector3f>(row.points + 3 * x) = point;
  Eigen::Map<Eigen::Vector3f>(row.normals + 3 * x) = normal;
}

}  // namespace

struct Rasterizer::Scratch {
  std::vector<ScreenVertex> vertices;  // V
  std::vector<TriangleSetup> setups;   // F
  std::vector<TriangleShading> shadings;  // F
  std::vector<std::int16_t> first_band, last_band;  // F; first > last when not drawn
  std::vector<int> band_begin;      // bands + 1 offsets into band_triangles
  std::vector<int> band_triangles;  // triangle ids per band, increasing
  std::vector<int> band_cursor;     // bands: next write position while binning
};

void RasterizerOptions::Check() const {
  HT_CHECK(std::isfinite(z_near) && z_near > 0, "RasterizerOptions::z_near must be positive, got "
                                                    << z_near);
  HT_CHECK(num_threads >= 0, "RasterizerOptions::num_threads must be >= 0, got " << num_threads);
}

Rasterizer::Rasterizer(RasterizerOptions options)
    : options_(std::move(options)), scratch_(std::make_unique<Scratch>()) {
  options_.Check();
}

Rasterizer::~Rasterizer() = default;
Rasterizer::Rasterizer(Rasterizer&&) noexcept = default;
Rasterizer& Rasterizer::operator=(Rasterizer&&) noexcept = default;

void Rasterizer::Rasterize(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                           const Triangles& faces, Rasterization* out) {
  Run(camera, vertices_in_cam, faces, nullptr, out);
}

void Rasterizer::Rasterize(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                           const Triangles& faces, const Points3f& vertex_normals_in_cam,
                           Rasterization* out) {
  HT_CHECK(vertex_normals_in_cam.rows() == vertices_in_cam.rows(),
           vertex_normals_in_cam.rows() << " normals for " << vertices_in_cam.rows()
                                        << " vertices");
  Run(camera, vertices_in_cam, faces, &vertex_normals_in_cam, out);
}

void Rasterizer::Run(const PinholeCamera& camera, const Points3f& vertices_in_cam,
                     const Triangles& faces, const Points3f* vertex_normals_in_cam,
                     Rasterization* out) {
  camera.Check();
  HT_CHECK(out != nullptr);
  const int num_vertices = static_cast<int>(vertices_in_cam.rows());
  const int num_faces = static_cast<int>(faces.rows());
  HT_CHECK(num_faces == 0 || (faces.minCoeff() >= 0 && faces.maxCoeff() < num_vertices),
           "face indices out of range for " << num_vertices << " vertices");
  const std::vector<std::uint8_t>& mask = options_.triangle_mask;
  HT_CHECK(mask.empty() || static_cast<int>(mask.size()) == num_faces,
           "triangle_mask has " << mask.size() << " entries for " << num_faces << " faces");

  const int width = camera.width;
  const int height = camera.height;
  // Fresh buffers hold the empty values; reused ones are cleared below where the last call
  // covered a pixel, which leaves every pixel with a negative id empty in every buffer.
  const int point_channels = options_.compute_points_and_normals ? 3 : 0;
  const auto has_size = [&](const Image<float>& image, int channels) {
    return channels == 0 ? image.empty() : HasSize(image, width, height, channels);
  };
  if (!HasSize(out->depth, width, height, 1) || !HasSize(out->triangle_id, width, height, 1) ||
      !has_size(out->barycentrics, 3) || !has_size(out->points, point_channels) ||
      !has_size(out->normals, point_channels)) {
    out->depth = DepthImage(width, height);
    out->triangle_id = Image<std::int32_t>(width, height, 1, -1);
    out->barycentrics = Image<float>(width, height, 3);
    out->points = point_channels > 0 ? Image<float>(width, height, 3) : Image<float>();
    out->normals = out->points;
    out->written_begin_.assign(height, 0);
    out->written_end_.assign(height, 0);
  } else if (static_cast<int>(out->written_begin_.size()) != height) {
    // Written by someone else: maybe everywhere, and maybe not empty where the id is negative.
    std::fill(out->depth.pixels.begin(), out->depth.pixels.end(), 0.0f);
    std::fill(out->triangle_id.pixels.begin(), out->triangle_id.pixels.end(), -1);
    for (Image<float>* image : {&out->barycentrics, &out->points, &out->normals}) {
      std::fill(image->pixels.begin(), image->pixels.end(), 0.0f);
    }
    out->written_begin_.assign(height, 0);
    out->written_end_.assign(height, 0);
  }

  Scratch& s = *scratch_;
  s.vertices.resize(num_vertices);
  s.setups.resize(num_faces);
  s.shadings.resize(num_faces);
  s.first_band.resize(num_faces);
  s.last_band.resize(num_faces);
  const int num_bands = (height + kBandHeight - 1) / kBandHeight;
  s.band_begin.assign(num_bands + 1, 0);

  const bool flat_normals = point_channels > 0 && vertex_normals_in_cam == nullptr;
  const int num_threads = options_.num_threads > 0 ? options_.num_threads : omp_get_max_threads();
  int num_culled = 0;
  int num_skipped = 0;
  int num_covered = 0;

#pragma omp parallel num_threads(num_threads)
  {
#pragma omp for schedule(static)
    for (int v = 0; v < num_vertices; ++v) {
      ScreenVertex& screen = s.vertices[v];
      const Eigen::Vector3f point = vertices_in_cam.row(v).transpose();
      screen.valid = internal::SnapVertex(camera, options_.z_near, point, &screen.x, &screen.y);
      screen.inv_z = 1.0 / static_cast<double>(point.z());
    }

#pragma omp for schedule(static) reduction(+ : num_culled, num_skipped)
    for (int f = 0; f < num_faces; ++f) {
      s.first_band[f] = 1;
      s.last_band[f] = 0;
      if (!mask.empty() && mask[f] == 0) continue;
      const ScreenVertex* v[3] = {&s.vertices[faces(f, 0)], &s.vertices[faces(f, 1)],
                                  &s.vertices[faces(f, 2)]};
      if (!v[0]->valid || !v[1]->valid || !v[2]->valid) {
        ++num_skipped;
        continue;
      }
      TriangleSetup& setup = s.setups[f];
      const TriangleState state =
          SetUpTriangle(v, options_.cull_back_faces, width, height, &setup, &s.shadings[f]);
      num_culled += state == TriangleState::kCulled;
      if (state != TriangleState::kDrawn) continue;
      s.first_band[f] = static_cast<std::int16_t>(setup.y0 / kBandHeight);
      s.last_band[f] = static_cast<std::int16_t>(setup.y1 / kBandHeight);
      if (flat_normals) {
        const Eigen::RowVector3f v0 = vertices_in_cam.row(faces(f, 0));
        const Eigen::RowVector3f normal =
            (vertices_in_cam.row(faces(f, 1)) - v0).cross(vertices_in_cam.row(faces(f, 2)) - v0);
        const float norm = normal.norm();
        s.shadings[f].face_normal = norm > 0.0f ? Eigen::Vector3f(normal.transpose() / norm)
                                                : Eigen::Vector3f::Zero();
      }
    }

#pragma omp single
    {
      // Counting sort of the drawn triangles into bands, keeping increasing ids in each band.
      for (int f = 0; f < num_faces; ++f) {
        for (int band = s.first_band[f]; band <= s.last_band[f]; ++band) ++s.band_begin[band + 1];
      }
      for (int band = 0; band < num_bands; ++band) s.band_begin[band + 1] += s.band_begin[band];
      s.band_triangles.resize(s.band_begin[num_bands]);
      s.band_cursor.assign(s.band_begin.begin(), s.band_begin.end() - 1);
      for (int f = 0; f < num_faces; ++f) {
        for (int band = s.first_band[f]; band <= s.last_band[f]; ++band) {
          s.band_triangles[s.band_cursor[band]++] = f;
        }
      }
    }

#pragma omp for schedule(dynamic, 1) reduction(+ : num_covered)
    for (int band = 0; band < num_bands; ++band) {
      const int band_y0 = band * kBandHeight;
      const int band_y1 = std::min(band_y0 + kBandHeight, height) - 1;
      const int* triangles_begin = s.band_triangles.data() + s.band_begin[band];
      const int* triangles_end = s.band_triangles.data() + s.band_begin[band + 1];

      // The columns this call may cover in the band: the union of its triangles' bounds.
      int span_begin = width;
      int span_end = 0;
      for (const int* f = triangles_begin; f != triangles_end; ++f) {
        span_begin = std::min(span_begin, s.setups[*f].x0);
        span_end = std::max(span_end, s.setups[*f].x1 + 1);
      }
      if (span_begin >= span_end) span_begin = span_end = 0;
      // Empty depth there for the z-test; pixels with a negative id are empty already.
      for (int y = band_y0; y <= band_y1; ++y) {
        float* depth = &out->depth.at(0, y);
        std::int32_t* ids = &out->triangle_id.at(0, y);
        for (int x = span_begin; x < span_end; ++x) {  // branch-free, to vectorize
          const std::int32_t empty = ids[x] >> 31;  // all ones if empty, else 0
          depth[x] = std::bit_cast<float>(std::bit_cast<std::int32_t>(depth[x]) & empty);
          ids[x] = (ids[x] & empty) | (kStale & ~empty);
        }
      }

      // Z-buffer pass on inverse depth: larger is nearer, and 0 (the empty depth) is farthest.
      for (const int* f = triangles_begin; f != triangles_end; ++f) {
        const TriangleSetup& t = s.setups[*f];
        const int y_begin = std::max(t.y0, band_y0);
        const int y_end = std::min(t.y1, band_y1);
        // Bounds one pixel wide are cheaper pixel by pixel.
        if (t.x1 > t.x0 && t.edges_fit_32_bits && t.x1 - t.x0 + 4 <= width) {
          ZTestTriangleLanes(t, *f, y_begin, y_end, width, out->depth.pixels.data(),
                             out->triangle_id.pixels.data());
        } else {
          ZTestTriangle(t, *f, y_begin, y_end, width, out->depth.pixels.data(),
                        out->triangle_id.pixels.data());
        }
      }

      // Resolve those columns, then empty the pixels outside them that the last call covered.
      for (int y = band_y0; y <= band_y1; ++y) {
        const RowOutput row = {
            &out->depth.at(0, y), &out->barycentrics.at(0, y),
            point_channels > 0 ? &out->points.at(0, y) : nullptr,
            point_channels > 0 ? &out->normals.at(0, y) : nullptr};
        std::int32_t* ids = &out->triangle_id.at(0, y);
        for (int x = span_begin; x < span_end; ++x) {
          if (ids[x] >= 0) {
            ++num_covered;
            ResolvePixel(s.shadings[ids[x]], ids[x], x, y, vertices_in_cam, faces,
                         vertex_normals_in_cam, row);
          } else if (ids[x] == kStale) {
            ids[x] = -1;
            row.Clear(x);
          }
        }
        const auto clear_covered = [&](int begin, int end) {
          for (int x = begin; x < end; ++x) {
            if (ids[x] < 0) continue;
            ids[x] = -1;
            row.Clear(x);
          }
        };
        clear_covered(out->written_begin_[y], std::min(out->written_end_[y], span_begin));
        clear_covered(std::max(out->written_begin_[y], span_end), out->written_end_[y]);
        out->written_begin_[y] = span_begin;
        out->written_end_[y] = span_end;
      }
    }
  }

  out->num_covered_pixels = num_covered;
  out->num_culled_triangles = num_culled;
  out->num_skipped_triangles = num_skipped;
}

}  // namespace headtrack
