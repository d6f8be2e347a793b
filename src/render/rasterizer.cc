// The fast rasterizer. Per call:
//  1. snap every vertex to the subpixel grid (raster_rules.h);
//  2. set up every triangle the mask selects (listed once, when the Rasterizer is made): near
//     plane, culling, pixel bounds, then a 64-byte record for the z-test (32-bit pixel edge
//     functions and the float key plane) and one for resolving (the double inverse-depth planes
//     of its vertices, the vertices, and the face or vertex normals);
//  3. bin the triangles into bands of kBandHeight rows, in increasing triangle id;
//  4. per band (one thread each): empty the pixels the last call covered, z-test each triangle
//     over its bounds four pixels at a time on the inverse-depth key, then resolve depth,
//     barycentrics, points and normals of the visible triangles, and clear the pixels the last
//     call covered and this one does not.
// Each pixel belongs to one band and sees its triangles in increasing id, so a strict z-test
// keeps the lower id on ties and the result does not depend on the number of threads.
#include "headtrack/rasterizer.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "headtrack/error.h"
#include "render/instruction_set.h"
#include "render/raster_rules.h"

namespace headtrack {

using internal::kSubpixelScale;

namespace {

constexpr int kBandHeight = 16;
// Triangle id of a pixel that the last call covered and this one has not (yet): its depth is 0,
// its other buffers still hold the last call's values.
constexpr std::int32_t kStale = -2;

// Lanes of ints, floats and doubles (GCC and Clang vector extensions), compiled to SSE2 or AVX2
// instructions by the kernels at the end of this file.
using Int32x4 = std::int32_t __attribute__((vector_size(16)));
using UInt32x4 = std::uint32_t __attribute__((vector_size(16)));
using Float32x4 = float __attribute__((vector_size(16)));
using Float64x4 = double __attribute__((vector_size(32)));

// Lane i of v in all lanes (i in [0, 3]).
UInt32x4 Broadcast(const UInt32x4& v, int i) {
  return __builtin_shuffle(v, UInt32x4{} + static_cast<std::uint32_t>(i));
}

struct ScreenVertex {
  std::int32_t x, y;  // projection on the subpixel grid; x is kInvalid when not drawable
  double inv_z;       // 1 / depth
};
// Nearer than z_near, not finite, or projected out of range (SnapVertex keeps |x| < 2^30).
constexpr std::int32_t kInvalid = std::numeric_limits<std::int32_t>::min();

// What the z-test needs of a triangle, in one cache line. Edge i (opposite vertex i) at subpixel
// point p: F_i(p) = a_i p.x + b_i p.y + c_i, oriented to be positive inside; a pixel center p is
// covered when F_i(p) >= m_i for all i, where m_i is 0 on top and left edges and 1 on the others
// (the top-left rule). At pixel centers p = kSubpixelScale * (x, y), F_i - m_i =
// kSubpixelScale * (a_i x + b_i y) + const, so F_i >= m_i exactly when the pixel edge function
// G_i(x, y) = floor((F_i(p) - m_i) / kSubpixelScale), which is affine in the pixel (x, y) with
// integer coefficients a_i and b_i, is >= 0. G is kSubpixelScale times smaller than F and fits
// 32 bits on all but huge triangles ("wide" ones, whose edges are kept in WideEdges instead).
struct alignas(64) ZTestSetup {
  std::int32_t edge[3];    // G_i at pixel (x0, y0)
  std::int32_t step_x[3];  // change of G_i from one pixel to the next in x: a_i
  std::int32_t step_y[3];  // same in y: b_i
  float key_at_ref, key_per_x, key_per_y;  // internal::TrianglePlanes, anchored at (x0, y0)
  std::int32_t x0, x1, y0, y1;  // inclusive pixel bounds, clipped to the image
};
static_assert(sizeof(ZTestSetup) == 64);

// The edges of a wide triangle: as ZTestSetup's, in 64 bits.
struct WideEdges {
  std::int64_t edge[3], step_x[3], step_y[3];
};

// What resolving a visible pixel needs of a triangle: the planes r_0, r_1, r_2 of
// internal::TrianglePlanes and their sum in lanes, anchored at (x0, y0); the face normal for
// flat normals.
// Aligned explicitly: without AVX, GCC aligns 32-byte vectors to 16 bytes only, and the AVX2
// code must not read 32-byte vectors that the baseline code placed.
struct alignas(32) ResolveSetup {
  Float64x4 at_ref, per_x, per_y;
  // Camera frame, w = 0; unless only depth is rendered.
  Float32x4 vertex[3];
  Float32x4 normal[3];  // flat normals: the unit face normal in normal[0]; else vertex normals
  std::int32_t x0, y0;
};

enum class TriangleState { kDrawn, kEmpty, kCulled };

template <typename T>
bool HasSize(const Image<T>& image, int width, int height, int channels) {
  return image.width == width && image.height == height && image.channels == channels;
}

// Sets up triangle v[0], v[1], v[2] (all valid); returns kDrawn or why it is not drawn. The
// records are written when drawn: *wide says whether the edges went to *wide_edges instead of
// *z.
TriangleState SetUpTriangle(const ScreenVertex* v[3], bool cull_back_faces, int width, int height,
                            ZTestSetup* z, ResolveSetup* resolve, WideEdges* wide_edges,
                            std::uint8_t* is_wide) {
  // Vertices are within 2^29 subpixels of the origin, so differences fit 32 bits.
  const std::int32_t xs[3] = {v[0]->x, v[1]->x, v[2]->x};
  const std::int32_t ys[3] = {v[0]->y, v[1]->y, v[2]->y};
  // Edge i (opposite vertex i) from vertex i + 1 to vertex i + 2, as a_i p.x + b_i p.y + c_i,
  // positive inside a front face.
  std::int32_t a[3] = {ys[2] - ys[1], ys[0] - ys[2], ys[1] - ys[0]};
  std::int32_t b[3] = {xs[1] - xs[2], xs[2] - xs[0], xs[0] - xs[1]};
  // Twice the signed area in the image (y down): negative for front faces.
  std::int64_t area = std::int64_t{a[1]} * b[2] - std::int64_t{a[2]} * b[1];
  if (area == 0) return TriangleState::kEmpty;
  if (area > 0) {  // a back face: its edges point the other way
    if (cull_back_faces) return TriangleState::kCulled;
    for (int i = 0; i < 3; ++i) {
      a[i] = -a[i];
      b[i] = -b[i];
    }
  } else {
    area = -area;
  }

  const std::int32_t min_x = std::min({xs[0], xs[1], xs[2]});
  const std::int32_t max_x = std::max({xs[0], xs[1], xs[2]});
  const std::int32_t min_y = std::min({ys[0], ys[1], ys[2]});
  const std::int32_t max_y = std::max({ys[0], ys[1], ys[2]});
  const std::int64_t x0 = internal::PlaneAnchor(min_x);
  const std::int64_t x1 = std::min<std::int64_t>(internal::PixelFloor(max_x), width - 1);
  const std::int64_t y0 = internal::PlaneAnchor(min_y);
  const std::int64_t y1 = std::min<std::int64_t>(internal::PixelFloor(max_y), height - 1);
  if (x0 > x1 || y0 > y1) return TriangleState::kEmpty;

  // With e = (max_x - min_x) + (max_y - min_y) (subpixels), |a_i|, |b_i| <= e, and within 8
  // pixels of the vertices' bounds |F_i| <= e^2 / 2 + 8 kSubpixelScale e, so |G_i| < 2^31 when
  // e < 2^21.
  const bool wide = static_cast<std::uint32_t>(max_x - min_x) +
                        static_cast<std::uint32_t>(max_y - min_y) >=
                    (std::uint32_t{1} << 21);
  *is_wide = wide;
  // The anchor's pixel center in subpixels.
  const auto anchor_x = static_cast<std::int32_t>(x0 << internal::kSubpixelBits);
  const auto anchor_y = static_cast<std::int32_t>(y0 << internal::kSubpixelBits);
  std::int64_t edge_at_ref[3];
  for (int i = 0; i < 3; ++i) {
    const int from = (i + 1) % 3;
    // Exact F_i at the anchor; the differences fit 32 bits.
    edge_at_ref[i] = std::int64_t{a[i]} * (anchor_x - xs[from]) +
                     std::int64_t{b[i]} * (anchor_y - ys[from]);
    // Top or left edge: b > 0, or b == 0 and a > 0.
    const bool top_left = (b[i] != 0 ? b[i] : a[i]) > 0;
    const std::int64_t pixel_edge = (edge_at_ref[i] - !top_left) >> internal::kSubpixelBits;
    if (wide) {
      wide_edges->edge[i] = pixel_edge;
      wide_edges->step_x[i] = a[i];
      wide_edges->step_y[i] = b[i];
    } else {
      z->edge[i] = static_cast<std::int32_t>(pixel_edge);
      z->step_x[i] = a[i];
      z->step_y[i] = b[i];
    }
  }
  const double inv_z[3] = {v[0]->inv_z, v[1]->inv_z, v[2]->inv_z};
  const internal::TrianglePlanes planes =
      internal::TrianglePlanes::Make(edge_at_ref, a, b, area, inv_z);
  z->key_at_ref = planes.key_at_ref;
  z->key_per_x = planes.key_per_x;
  z->key_per_y = planes.key_per_y;
  z->x0 = static_cast<std::int32_t>(x0);
  z->x1 = static_cast<std::int32_t>(x1);
  z->y0 = static_cast<std::int32_t>(y0);
  z->y1 = static_cast<std::int32_t>(y1);
  for (int i = 0; i < 3; ++i) {
    resolve->at_ref[i] = planes.vertex_at_ref[i];
    resolve->per_x[i] = planes.vertex_per_x[i];
    resolve->per_y[i] = planes.vertex_per_y[i];
  }
  resolve->at_ref[3] = planes.vertex_at_ref[0] + planes.vertex_at_ref[1] + planes.vertex_at_ref[2];
  resolve->per_x[3] = planes.vertex_per_x[0] + planes.vertex_per_x[1] + planes.vertex_per_x[2];
  resolve->per_y[3] = planes.vertex_per_y[0] + planes.vertex_per_y[1] + planes.vertex_per_y[2];
  resolve->x0 = static_cast<std::int32_t>(x0);
  resolve->y0 = static_cast<std::int32_t>(y0);
  return TriangleState::kDrawn;
}

// Z-tests triangle `id` (set up as t, edges in 64 bits) pixel by pixel in rows [y_begin, y_end]
// of the inverse depth and id images (row-major, `width` pixels a row). Fields are copied to
// locals, as the stores to the images could alias them.
void ZTestTriangle(const ZTestSetup& t, const std::int64_t edge[3], const std::int64_t step_x[3],
                   const std::int64_t step_y[3], int id, int y_begin, int y_end, int width,
                   float* inverse_depth_image, std::int32_t* id_image) {
  const int x0 = t.x0;
  const int num_columns = t.x1 - t.x0 + 1;
  const std::int64_t step[3] = {step_x[0], step_x[1], step_x[2]};
  const std::int64_t row_step[3] = {step_y[0], step_y[1], step_y[2]};
  std::int64_t row_edge[3];
  for (int i = 0; i < 3; ++i) row_edge[i] = edge[i] + (y_begin - t.y0) * row_step[i];
  const float key_at_ref = t.key_at_ref, key_per_x = t.key_per_x, key_per_y = t.key_per_y;
  const int y0 = t.y0;
  for (int y = y_begin; y <= y_end; ++y) {
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(y) * width + x0;
    float* inverse_depth = inverse_depth_image + offset;
    std::int32_t* ids = id_image + offset;
    const float row_base = internal::KeyRowBase(key_at_ref, key_per_y, y - y0);
    std::int64_t e0 = row_edge[0], e1 = row_edge[1], e2 = row_edge[2];
    // Branch-free, as coverage changes every few pixels: the key is computed everywhere and
    // zeroed (made the farthest) outside.
    for (int i = 0; i < num_columns; ++i) {
      const auto inside = static_cast<std::uint32_t>(~((e0 | e1 | e2) >> 63));  // all ones or 0
      const float key =
          std::bit_cast<float>(std::bit_cast<std::uint32_t>(internal::Key(row_base, key_per_x, i)) &
                               inside);
      const float old = inverse_depth[i];
      const std::int32_t take = -static_cast<std::int32_t>(key > old);  // strict: lower id wins
      inverse_depth[i] = std::max(old, key);
      ids[i] ^= (ids[i] ^ id) & take;
      e0 += step[0];
      e1 += step[1];
      e2 += step[2];
    }
    for (int i = 0; i < 3; ++i) row_edge[i] += row_step[i];
  }
}

// ZTestTriangle for a triangle that is not wide, four pixels at a time: the bounds are covered
// by strips of four columns starting at x0 (moved left when the last strip would leave the
// image, which needs width >= 4 strips), each scanned from top to bottom. Pixels outside the
// bounds are outside the triangle, so the edge functions alone mask them; they are read and
// written back unchanged.
void ZTestTriangleLanes(const ZTestSetup& t, int id, int y_begin, int y_end, int width,
                        float* inverse_depth_image, std::int32_t* id_image) {
  const int num_strips = (t.x1 - t.x0 + 4) / 4;
  const int x_begin = std::min<int>(t.x0, width - 4 * num_strips);
  const int dx = x_begin - t.x0;  // in [-3, 0]
  // Lanes 0 to 2 hold edges 0 to 2; lane 3 the record's next four bytes, unused. G_i at
  // (x_begin, y_begin) fits 32 bits; products on the way may not, so they wrap (unsigned).
  const auto lanes_at = [&t](std::size_t offset) {
    UInt32x4 lanes;
    std::memcpy(&lanes, reinterpret_cast<const unsigned char*>(&t) + offset, sizeof(lanes));
    return lanes;
  };
  const UInt32x4 edge = lanes_at(offsetof(ZTestSetup, edge));
  const UInt32x4 step_x = lanes_at(offsetof(ZTestSetup, step_x));
  const UInt32x4 step_y = lanes_at(offsetof(ZTestSetup, step_y));
  const UInt32x4 at_begin = edge + step_x * static_cast<std::uint32_t>(dx) +
                            step_y * static_cast<std::uint32_t>(y_begin - t.y0);
  const UInt32x4 columns_0123 = {0, 1, 2, 3};
  const auto lanes = [&](int i, const UInt32x4& start) {  // edge i at four columns from start
    return std::bit_cast<Int32x4>(Broadcast(start, i) + Broadcast(step_x, i) * columns_0123);
  };
  Int32x4 strip_edge[3] = {lanes(0, at_begin), lanes(1, at_begin), lanes(2, at_begin)};
  const UInt32x4 strip_steps = step_x << 2;
  const Int32x4 strip_step[3] = {std::bit_cast<Int32x4>(Broadcast(strip_steps, 0)),
                                 std::bit_cast<Int32x4>(Broadcast(strip_steps, 1)),
                                 std::bit_cast<Int32x4>(Broadcast(strip_steps, 2))};
  const Int32x4 row_step[3] = {std::bit_cast<Int32x4>(Broadcast(step_y, 0)),
                               std::bit_cast<Int32x4>(Broadcast(step_y, 1)),
                               std::bit_cast<Int32x4>(Broadcast(step_y, 2))};
  // Locals, as the stores to the images could alias t.
  const float key_at_ref = t.key_at_ref;
  const float key_per_y = t.key_per_y;
  const float key_per_x = t.key_per_x;
  const int y0 = t.y0;
  // x - x0 of the strip's columns, exact in float.
  Float32x4 columns = Float32x4{0, 1, 2, 3} + static_cast<float>(dx);
  const std::ptrdiff_t offset_at_begin = static_cast<std::ptrdiff_t>(y_begin) * width + x_begin;
  for (int strip = 0; strip < num_strips; ++strip, columns += 4) {
    // internal::Key, four columns at a time.
    const Float32x4 key_x = key_per_x * columns;
    float* inverse_depth = inverse_depth_image + offset_at_begin + 4 * strip;
    std::int32_t* ids = id_image + offset_at_begin + 4 * strip;
    Int32x4 e0 = strip_edge[0], e1 = strip_edge[1], e2 = strip_edge[2];
    for (int y = y_begin; y <= y_end; ++y, inverse_depth += width, ids += width) {
      const Int32x4 inside = (e0 | e1 | e2) >= 0;  // all ones or 0 per lane
      const float row_base = internal::KeyRowBase(key_at_ref, key_per_y, y - y0);
      // The key, zeroed (made the farthest) outside.
      const auto key = std::bit_cast<Float32x4>(std::bit_cast<Int32x4>(row_base + key_x) & inside);
      Float32x4 old;
      Int32x4 old_ids;
      std::memcpy(&old, inverse_depth, sizeof(old));
      std::memcpy(&old_ids, ids, sizeof(old_ids));
      const Int32x4 take = key > old;  // strict: lower id wins
      const Float32x4 depth = old > key ? old : key;
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

// What Resolve writes besides depth and barycentrics.
enum class Attributes { kNone, kFlatNormals, kVertexNormals };

Float32x4 LoadRow(const Points3f& values, int row) {
  return Float32x4{values(row, 0), values(row, 1), values(row, 2), 0.0f};
}

// Stores the first three lanes.
void Store3(const Float32x4& values, float* to) {
  std::memcpy(to, &values, 2 * sizeof(float));
  to[2] = values[2];
}

// Depth, barycentrics and the attributes of pixel (x, y), covered by the triangle set up as t.
// Free of data-dependent branches, so that neighbouring pixels overlap.
template <Attributes kAttributes>
void ResolvePixel(const ResolveSetup& t, int x, int y, const RowOutput& row) {
  // r_i = l_i / z_i and their sum, the inverse depth; clamped, as a covered pixel center may lie
  // on an edge, where r_i is 0 up to rounding.
  Float64x4 r = t.at_ref + t.per_x * static_cast<double>(x - t.x0) +
                t.per_y * static_cast<double>(y - t.y0);
  r = r > 0.0 ? r : Float64x4{};
  const double depth = 1.0 / r[3];
  row.depth[x] = static_cast<float>(depth);
  const Float32x4 b = __builtin_convertvector(r * depth, Float32x4);  // (b_0, b_1, b_2, 1)
  Store3(b, row.barycentrics + 3 * x);
  if constexpr (kAttributes == Attributes::kNone) return;
  Store3(b[0] * t.vertex[0] + b[1] * t.vertex[1] + b[2] * t.vertex[2], row.points + 3 * x);
  if constexpr (kAttributes == Attributes::kFlatNormals) {
    Store3(t.normal[0], row.normals + 3 * x);
  } else {
    const Float32x4 n = b[0] * t.normal[0] + b[1] * t.normal[1] + b[2] * t.normal[2];
    const float norm = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    Store3(norm > 0.0f ? n / norm : Float32x4{}, row.normals + 3 * x);
  }
}

// Resolves the covered pixels of row y in [x_begin, x_end) and empties the stale ones. Returns
// the number of covered pixels.
template <Attributes kAttributes>
int ResolveRow(const ResolveSetup* setups, int y, int x_begin, int x_end, std::int32_t* ids,
               const RowOutput& row) {
  int num_covered = 0;
  for (int x = x_begin; x < x_end; ++x) {
    const std::int32_t id = ids[x];
    if (id >= 0) {
      ++num_covered;
      ResolvePixel<kAttributes>(setups[id], x, y, row);
    } else if (id == kStale) {
      ids[x] = -1;
      row.Clear(x);
    }
  }
  return num_covered;
}

}  // namespace

struct Rasterizer::Scratch {
  std::vector<ScreenVertex> vertices;  // V
  std::vector<ZTestSetup> z_setups;    // F
  std::vector<ResolveSetup> resolve_setups;  // F
  std::vector<WideEdges> wide_edges;   // F, written for wide triangles only
  std::vector<std::uint8_t> is_wide;   // F: whether a drawn triangle's edges are in wide_edges
  std::vector<int> selected_faces;  // the faces RasterizerOptions::triangle_mask selects, in order
  std::vector<std::int16_t> first_band, last_band;  // F; first > last when not drawn
  std::vector<int> band_begin;      // bands + 1 offsets into band_triangles
  std::vector<int> band_triangles;  // triangle ids per band, increasing
  std::vector<int> band_cursor;     // bands: next write position while binning
};

namespace {

// The inputs and outputs of one Rasterizer call, for the steps below.
struct Frame {
  const PinholeCamera& camera;
  const RasterizerOptions& options;
  const Points3f& vertices_in_cam;
  const Triangles& faces;
  // The faces to draw, increasing, candidates[0, num_candidates); null: all faces.
  const int* candidates;
  int num_candidates;
  const Points3f* vertex_normals_in_cam;
  Attributes attributes;
  Rasterizer::Scratch& scratch;
  Rasterization& out;
  // Per row, the columns [begin, end) that the last call may have written (Rasterization's).
  std::vector<int>& written_begin;
  std::vector<int>& written_end;
};

struct SetUpCounts {
  int culled = 0;
  int skipped = 0;
};

void SnapVertices(const Frame& frame, int begin, int end) {
  for (int v = begin; v < end; ++v) {
    ScreenVertex& screen = frame.scratch.vertices[v];
    const Eigen::Vector3f point = frame.vertices_in_cam.row(v).transpose();
    std::int64_t x, y;
    const bool valid = internal::SnapVertex(frame.camera, frame.options.z_near, point, &x, &y);
    screen.x = valid ? static_cast<std::int32_t>(x) : kInvalid;
    screen.y = valid ? static_cast<std::int32_t>(y) : 0;
    screen.inv_z = 1.0 / static_cast<double>(point.z());
  }
}

inline SetUpCounts SetUpTriangles(const Frame& frame, int begin, int end) {
  // Plain pointers and values, which the stores below cannot alias.
  Rasterizer::Scratch& s = frame.scratch;
  const ScreenVertex* vertices = s.vertices.data();
  ZTestSetup* z_setups = s.z_setups.data();
  ResolveSetup* resolve_setups = s.resolve_setups.data();
  WideEdges* wide_edges = s.wide_edges.data();
  std::uint8_t* is_wide = s.is_wide.data();
  std::int16_t* first_band = s.first_band.data();
  std::int16_t* last_band = s.last_band.data();
  const std::int32_t* faces = frame.faces.data();  // F x 3, row-major
  const Points3f& vertices_in_cam = frame.vertices_in_cam;
  const Points3f* vertex_normals_in_cam = frame.vertex_normals_in_cam;
  const Attributes attributes = frame.attributes;
  const bool cull_back_faces = frame.options.cull_back_faces;
  const int width = frame.camera.width;
  const int height = frame.camera.height;
  SetUpCounts counts;
  // The loop below, for face_at(i) = candidates[i] or i.
  const auto set_up = [&](auto face_at) {
    for (int i = begin; i < end; ++i) {
      const int f = face_at(i);
      first_band[f] = 1;
      last_band[f] = 0;
      const std::int32_t* corner = faces + 3 * f;
      const ScreenVertex* v[3] = {&vertices[corner[0]], &vertices[corner[1]], &vertices[corner[2]]};
      if ((v[0]->x == kInvalid) | (v[1]->x == kInvalid) | (v[2]->x == kInvalid)) {
        ++counts.skipped;
        continue;
      }
      ZTestSetup& z = z_setups[f];
      ResolveSetup& resolve = resolve_setups[f];
      const TriangleState state =
          SetUpTriangle(v, cull_back_faces, width, height, &z, &resolve, &wide_edges[f],
                          &is_wide[f]);
      counts.culled += state == TriangleState::kCulled;
      if (state != TriangleState::kDrawn) continue;
      first_band[f] = static_cast<std::int16_t>(z.y0 / kBandHeight);
      last_band[f] = static_cast<std::int16_t>(z.y1 / kBandHeight);
      if (attributes == Attributes::kNone) continue;
      for (int c = 0; c < 3; ++c) resolve.vertex[c] = LoadRow(vertices_in_cam, corner[c]);
      if (attributes == Attributes::kFlatNormals) {
        const Float32x4 e1 = resolve.vertex[1] - resolve.vertex[0];
        const Float32x4 e2 = resolve.vertex[2] - resolve.vertex[0];
        const auto yzx = [](const Float32x4& u) {
          return __builtin_shufflevector(u, u, 1, 2, 0, 3);
        };
        const Float32x4 cross = yzx(e1 * yzx(e2) - yzx(e1) * e2);  // e1 x e2; w = 0
        const Float32x4 squares = cross * cross;
        const float norm = std::sqrt(squares[0] + squares[1] + squares[2]);
        resolve.normal[0] = norm > 0.0f ? cross / norm : Float32x4{};
      } else {
        for (int c = 0; c < 3; ++c) resolve.normal[c] = LoadRow(*vertex_normals_in_cam, corner[c]);
      }
    }
  };
  if (frame.candidates != nullptr) {
    set_up([candidates = frame.candidates](int i) { return candidates[i]; });
  } else {
    set_up([](int i) { return i; });
  }
  return counts;
}

// Counting sort of the drawn triangles into bands, keeping increasing ids in each band.
void BinTriangles(const Frame& frame, int num_bands) {
  Rasterizer::Scratch& s = frame.scratch;
  const auto face = [&](int i) { return frame.candidates != nullptr ? frame.candidates[i] : i; };
  s.band_begin.assign(num_bands + 1, 0);
  for (int i = 0; i < frame.num_candidates; ++i) {
    const int f = face(i);
    for (int band = s.first_band[f]; band <= s.last_band[f]; ++band) ++s.band_begin[band + 1];
  }
  for (int band = 0; band < num_bands; ++band) s.band_begin[band + 1] += s.band_begin[band];
  s.band_triangles.resize(s.band_begin[num_bands]);
  s.band_cursor.assign(s.band_begin.begin(), s.band_begin.end() - 1);
  for (int i = 0; i < frame.num_candidates; ++i) {
    const int f = face(i);
    for (int band = s.first_band[f]; band <= s.last_band[f]; ++band) {
      s.band_triangles[s.band_cursor[band]++] = f;
    }
  }
}

// Z-tests and resolves the rows of one band; returns the number of covered pixels.
inline int RasterizeBand(const Frame& frame, int band) {
  Rasterizer::Scratch& s = frame.scratch;
  Rasterization* out = &frame.out;
  const int width = frame.camera.width;
  const int height = frame.camera.height;
  const int band_y0 = band * kBandHeight;
  const int band_y1 = std::min(band_y0 + kBandHeight, height) - 1;
  const int* triangles_begin = s.band_triangles.data() + s.band_begin[band];
  const int* triangles_end = s.band_triangles.data() + s.band_begin[band + 1];
  const ZTestSetup* z_setups = s.z_setups.data();
  const std::uint8_t* is_wide = s.is_wide.data();

  // The columns this call may cover in the band: the union of its triangles' bounds.
  int span_begin = width;
  int span_end = 0;
  for (const int* f = triangles_begin; f != triangles_end; ++f) {
    span_begin = std::min<int>(span_begin, z_setups[*f].x0);
    span_end = std::max<int>(span_end, z_setups[*f].x1 + 1);
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
  float* inverse_depth = out->depth.pixels.data();
  std::int32_t* id_image = out->triangle_id.pixels.data();
  for (const int* f = triangles_begin; f != triangles_end; ++f) {
    const ZTestSetup& t = z_setups[*f];
    const int y_begin = std::max<int>(t.y0, band_y0);
    const int y_end = std::min<int>(t.y1, band_y1);
    if (is_wide[*f]) {
      const WideEdges& e = s.wide_edges[*f];
      ZTestTriangle(t, e.edge, e.step_x, e.step_y, *f, y_begin, y_end, width, inverse_depth,
                    id_image);
    } else if (t.x1 - t.x0 + 4 <= width) {
      ZTestTriangleLanes(t, *f, y_begin, y_end, width, inverse_depth, id_image);
    } else {  // the strips of four columns would not fit the image
      const std::int64_t edge[3] = {t.edge[0], t.edge[1], t.edge[2]};
      const std::int64_t step_x[3] = {t.step_x[0], t.step_x[1], t.step_x[2]};
      const std::int64_t step_y[3] = {t.step_y[0], t.step_y[1], t.step_y[2]};
      ZTestTriangle(t, edge, step_x, step_y, *f, y_begin, y_end, width, inverse_depth, id_image);
    }
  }

  // Resolve those columns, then empty the pixels outside them that the last call covered.
  const bool with_points = frame.attributes != Attributes::kNone;
  int num_covered = 0;
  for (int y = band_y0; y <= band_y1; ++y) {
    const RowOutput row = {&out->depth.at(0, y), &out->barycentrics.at(0, y),
                           with_points ? &out->points.at(0, y) : nullptr,
                           with_points ? &out->normals.at(0, y) : nullptr};
    std::int32_t* ids = &out->triangle_id.at(0, y);
    const auto resolve_row = [&]<Attributes kAttributes>() {
      return ResolveRow<kAttributes>(s.resolve_setups.data(), y, span_begin, span_end, ids,
                                     row);
    };
    switch (frame.attributes) {
      case Attributes::kNone:
        num_covered += resolve_row.operator()<Attributes::kNone>();
        break;
      case Attributes::kFlatNormals:
        num_covered += resolve_row.operator()<Attributes::kFlatNormals>();
        break;
      case Attributes::kVertexNormals:
        num_covered += resolve_row.operator()<Attributes::kVertexNormals>();
        break;
    }
    const auto clear_covered = [&](int begin, int end) {
      for (int x = begin; x < end; ++x) {
        if (ids[x] < 0) continue;
        ids[x] = -1;
        row.Clear(x);
      }
    };
    clear_covered(frame.written_begin[y], std::min(frame.written_end[y], span_begin));
    clear_covered(std::max(frame.written_begin[y], span_end), frame.written_end[y]);
    frame.written_begin[y] = span_begin;
    frame.written_end[y] = span_end;
  }
  return num_covered;
}

// The heavy steps compiled twice, for AVX2 and for the baseline instruction set, each with
// everything it calls inlined. Both give the same bits: integer arithmetic, and float arithmetic
// without fused multiply-adds (AVX2 does not enable FMA). Off x86-64, only the baseline.
struct Kernels {
  SetUpCounts (*set_up_triangles)(const Frame& frame, int begin, int end);
  int (*rasterize_band)(const Frame& frame, int band);
};

__attribute__((flatten)) SetUpCounts SetUpTrianglesBaseline(const Frame& frame, int begin,
                                                             int end) {
  return SetUpTriangles(frame, begin, end);
}
__attribute__((flatten)) int RasterizeBandBaseline(const Frame& frame, int band) {
  return RasterizeBand(frame, band);
}
constexpr Kernels kBaselineKernels = {SetUpTrianglesBaseline, RasterizeBandBaseline};

#if defined(__x86_64__)
__attribute__((target("avx2"), flatten)) SetUpCounts SetUpTrianglesAvx2(const Frame& frame,
                                                                       int begin, int end) {
  return SetUpTriangles(frame, begin, end);
}
__attribute__((target("avx2"), flatten)) int RasterizeBandAvx2(const Frame& frame, int band) {
  return RasterizeBand(frame, band);
}
constexpr Kernels kAvx2Kernels = {SetUpTrianglesAvx2, RasterizeBandAvx2};
#else
constexpr Kernels kAvx2Kernels = kBaselineKernels;  // never chosen: no processor has AVX2
#endif

// -1: as the processor allows; else the forced internal::InstructionSet.
std::atomic<int> forced_instruction_set{-1};

bool UseAvx2() {
  const int forced = forced_instruction_set.load(std::memory_order_relaxed);
  return forced >= 0 ? forced == static_cast<int>(internal::InstructionSet::kAvx2)
                     : internal::ProcessorHasAvx2();
}

}  // namespace

namespace internal {

bool ProcessorHasAvx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

InstructionSet RasterizerInstructionSet() {
  return UseAvx2() ? InstructionSet::kAvx2 : InstructionSet::kBaseline;
}

void ForceRasterizerInstructionSet(std::optional<InstructionSet> instruction_set) {
  HT_CHECK(instruction_set != InstructionSet::kAvx2 || ProcessorHasAvx2(),
           "this processor has no AVX2");
  forced_instruction_set.store(instruction_set ? static_cast<int>(*instruction_set) : -1,
                               std::memory_order_relaxed);
}

}  // namespace internal

void RasterizerOptions::Check() const {
  HT_CHECK(std::isfinite(z_near) && z_near > 0, "RasterizerOptions::z_near must be positive, got "
                                                    << z_near);
  HT_CHECK(num_threads >= 0, "RasterizerOptions::num_threads must be >= 0, got " << num_threads);
}

Rasterizer::Rasterizer(RasterizerOptions options)
    : options_(std::move(options)), scratch_(std::make_unique<Scratch>()) {
  options_.Check();
  const std::vector<std::uint8_t>& mask = options_.triangle_mask;
  for (int f = 0; f < static_cast<int>(mask.size()); ++f) {
    if (mask[f] != 0) scratch_->selected_faces.push_back(f);
  }
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
  s.z_setups.resize(num_faces);
  s.resolve_setups.resize(num_faces);
  s.wide_edges.resize(num_faces);
  s.is_wide.resize(num_faces);
  s.first_band.resize(num_faces);
  s.last_band.resize(num_faces);

  const Attributes attributes = point_channels == 0            ? Attributes::kNone
                                : vertex_normals_in_cam == nullptr ? Attributes::kFlatNormals
                                                                   : Attributes::kVertexNormals;
  const int num_bands = (height + kBandHeight - 1) / kBandHeight;
  const int num_threads = options_.num_threads > 0 ? options_.num_threads : omp_get_max_threads();
  const bool masked = !options_.triangle_mask.empty();
  const Frame frame = {camera,
                       options_,
                       vertices_in_cam,
                       faces,
                       masked ? s.selected_faces.data() : nullptr,
                       masked ? static_cast<int>(s.selected_faces.size()) : num_faces,
                       vertex_normals_in_cam,
                       attributes,
                       s,
                       *out,
                       out->written_begin_,
                       out->written_end_};
  int num_culled = 0;
  int num_skipped = 0;
  int num_covered = 0;

  const Kernels kernels = UseAvx2() ? kAvx2Kernels : kBaselineKernels;
#pragma omp parallel num_threads(num_threads) reduction(+ : num_culled, num_skipped)
  {
    // Each thread one contiguous part of the vertices, then of the faces.
    const int thread = omp_get_thread_num();
    const int threads = omp_get_num_threads();
    const auto part = [&](int n, int i) {
      return static_cast<int>(static_cast<std::int64_t>(n) * i / threads);
    };
    SnapVertices(frame, part(num_vertices, thread), part(num_vertices, thread + 1));
#pragma omp barrier
    const SetUpCounts counts =
        kernels.set_up_triangles(frame, part(frame.num_candidates, thread),
                                 part(frame.num_candidates, thread + 1));
    num_culled += counts.culled;
    num_skipped += counts.skipped;
#pragma omp barrier
#pragma omp single
    BinTriangles(frame, num_bands);

#pragma omp for schedule(dynamic, 1) reduction(+ : num_covered)
    for (int band = 0; band < num_bands; ++band) num_covered += kernels.rasterize_band(frame, band);
  }

  out->num_covered_pixels = num_covered;
  out->num_culled_triangles = num_culled;
  out->num_skipped_triangles = num_skipped;
}

}  // namespace headtrack
