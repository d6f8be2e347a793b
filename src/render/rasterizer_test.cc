#include "headtrack/rasterizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "headtrack/error.h"
#include "render/instruction_set.h"
#include "render/reference_rasterizer.h"

namespace headtrack {
namespace {

// fx = fy = 64 with an integer principal point and power-of-two depths make unprojection and
// projection exact in float, so vertices can sit exactly on pixel centers and edges.
PinholeCamera SmallCamera(int width = 64, int height = 48) {
  return {.fx = 64.0, .fy = 64.0, .cx = width / 2.0, .cy = height / 2.0, .width = width,
          .height = height};
}

Eigen::RowVector3f Unproject(const PinholeCamera& camera, double u, double v, double z) {
  return camera.Unproject(Eigen::Vector2d(u, v), z).cast<float>().transpose();
}

struct Mesh {
  Points3f vertices;  // camera frame, metres
  Triangles faces;
  Points3f normals;   // per vertex, not unit length

  int AddVertex(const Eigen::RowVector3f& v) {
    vertices.conservativeResize(vertices.rows() + 1, 3);
    vertices.row(vertices.rows() - 1) = v;
    return static_cast<int>(vertices.rows() - 1);
  }
  void AddFace(int a, int b, int c) {
    faces.conservativeResize(faces.rows() + 1, 3);
    faces.row(faces.rows() - 1) << a, b, c;
  }
};

// Quad with corners (u0, v0) and (u1, v1) in pixels at depth z, facing the camera, as the two
// triangles (top-left, bottom-right, top-right) and (top-left, bottom-left, bottom-right).
void AddFrontQuad(const PinholeCamera& camera, double u0, double v0, double u1, double v1,
                  double z, Mesh* mesh) {
  const int a = mesh->AddVertex(Unproject(camera, u0, v0, z));
  const int b = mesh->AddVertex(Unproject(camera, u1, v0, z));
  const int c = mesh->AddVertex(Unproject(camera, u1, v1, z));
  const int d = mesh->AddVertex(Unproject(camera, u0, v1, z));
  mesh->AddFace(a, c, b);
  mesh->AddFace(a, d, c);
}

// Many small triangles, overlapping, of both windings, some partly outside the image, some on
// exact pixel positions (edges through pixel centers), duplicated (depth ties), sharing an edge,
// degenerate, or crossing the near plane (z_near = 0.01).
Mesh RandomMesh(const PinholeCamera& camera, int num_triangles, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<>(lo, hi)(rng);
  };
  auto half_steps = [&](int lo, int hi) {
    return std::uniform_int_distribution<>(lo, hi)(rng) * 0.5;
  };
  Mesh mesh;
  for (int t = 0; t < num_triangles; ++t) {
    const int kind = t % 10;
    const int n = static_cast<int>(mesh.faces.rows());
    if (kind == 7 && n > 0) {  // duplicate of the previous triangle: equal depths
      mesh.AddFace(mesh.faces(n - 1, 0), mesh.faces(n - 1, 1), mesh.faces(n - 1, 2));
      continue;
    }
    if (kind == 8 && n > 0) {  // degenerate: a repeated vertex, or three collinear ones
      const int a = mesh.faces(n - 1, 0);
      const int b = mesh.faces(n - 1, 1);
      if (t % 20 < 10) {
        mesh.AddFace(a, b, b);
      } else {
        mesh.AddFace(a, b, mesh.AddVertex(0.5f * (mesh.vertices.row(a) + mesh.vertices.row(b))));
      }
      continue;
    }
    if (kind == 9 && n > 0) {  // shares the edge (b, c) of the previous triangle, other side
      const int a = mesh.faces(n - 1, 0);
      const int b = mesh.faces(n - 1, 1);
      const int c = mesh.faces(n - 1, 2);
      const Eigen::RowVector3f mirrored =
          mesh.vertices.row(b) + mesh.vertices.row(c) - mesh.vertices.row(a);
      mesh.AddFace(c, b, mesh.AddVertex(mirrored + Eigen::RowVector3f(0, 0, 0.01f)));
      continue;
    }
    int ids[3];
    if (kind == 6) {  // on the half-pixel grid at a power-of-two depth: exact edge cases
      const double u = half_steps(-10, 2 * camera.width + 10);
      const double v = half_steps(-10, 2 * camera.height + 10);
      const double z = t % 20 < 10 ? 0.5 : 1.0;
      for (int& id : ids) id = mesh.AddVertex(Unproject(camera, u + half_steps(-20, 20),
                                                        v + half_steps(-20, 20), z));
    } else {
      const double u = uniform(-8, camera.width + 8);
      const double v = uniform(-8, camera.height + 8);
      const double z = uniform(0.3, 1.2);
      for (int& id : ids) {
        double vz = z + uniform(-0.1, 0.1);
        if (uniform(0, 1) < 0.02) vz = 0.005;  // nearer than z_near
        id = mesh.AddVertex(Unproject(camera, u + uniform(-10, 10), v + uniform(-10, 10), vz));
      }
    }
    mesh.AddFace(ids[0], ids[1], ids[2]);
  }
  mesh.normals = Points3f::Random(mesh.vertices.rows(), 3);
  return mesh;
}

// Identical ids everywhere, the other buffers within float rounding, the same counts.
void ExpectSameRasterization(const Rasterization& fast, const Rasterization& reference) {
  ASSERT_EQ(fast.width(), reference.width());
  ASSERT_EQ(fast.height(), reference.height());
  EXPECT_EQ(fast.num_covered_pixels, reference.num_covered_pixels);
  EXPECT_EQ(fast.num_culled_triangles, reference.num_culled_triangles);
  EXPECT_EQ(fast.num_skipped_triangles, reference.num_skipped_triangles);
  const bool with_points = !reference.points.empty();
  ASSERT_EQ(fast.points.empty(), !with_points);
  int failures = 0;
  for (int y = 0; y < fast.height() && failures < 10; ++y) {
    for (int x = 0; x < fast.width() && failures < 10; ++x) {
      const auto distance = [&](auto at) {
        return ((fast.*at)(x, y) - (reference.*at)(x, y)).norm();
      };
      const bool same = fast.triangle_id.at(x, y) == reference.triangle_id.at(x, y) &&
                        std::abs(fast.depth.at(x, y) - reference.depth.at(x, y)) <= 1e-6f &&
                        distance(&Rasterization::barycentrics_at) <= 1e-6f &&
                        (!with_points || (distance(&Rasterization::point_at) <= 1e-6f &&
                                          distance(&Rasterization::normal_at) <= 1e-5f));
      if (!same) {
        ++failures;
        ADD_FAILURE() << "pixel (" << x << ", " << y << "): triangle " << fast.triangle_id.at(x, y)
                      << " vs " << reference.triangle_id.at(x, y) << ", depth "
                      << fast.depth.at(x, y) << " vs " << reference.depth.at(x, y);
      }
    }
  }
}

// The instruction sets this processor runs; each forced in turn for the scope of a
// ForcedInstructionSet.
std::vector<internal::InstructionSet> AvailableInstructionSets() {
  std::vector<internal::InstructionSet> sets = {internal::InstructionSet::kBaseline};
  if (internal::ProcessorHasAvx2()) sets.push_back(internal::InstructionSet::kAvx2);
  return sets;
}

struct ForcedInstructionSet {
  explicit ForcedInstructionSet(internal::InstructionSet set) {
    internal::ForceRasterizerInstructionSet(set);
  }
  ~ForcedInstructionSet() { internal::ForceRasterizerInstructionSet(std::nullopt); }
  ForcedInstructionSet(const ForcedInstructionSet&) = delete;
  ForcedInstructionSet& operator=(const ForcedInstructionSet&) = delete;
};

TEST(Rasterizer, MatchesReferenceOnRandomMeshes) {
  const PinholeCamera camera = SmallCamera(96, 72);
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    const Mesh mesh = RandomMesh(camera, 400, seed);
    for (const bool cull : {true, false}) {
      for (const bool vertex_normals : {false, true}) {
        RasterizerOptions options;
        options.cull_back_faces = cull;
        if (seed == 3) {  // half the triangles masked out
          options.triangle_mask.resize(mesh.faces.rows());
          for (size_t t = 0; t < options.triangle_mask.size(); ++t) {
            options.triangle_mask[t] = (t * 7 / 3) % 2;
          }
        }
        Rasterization reference;
        internal::RasterizeReference(camera, mesh.vertices, mesh.faces,
                                     vertex_normals ? &mesh.normals : nullptr, options, &reference);
        ASSERT_GT(reference.num_covered_pixels, camera.width * camera.height / 8);
        ASSERT_GT(reference.num_skipped_triangles, 0);
        if (cull) {
          ASSERT_GT(reference.num_culled_triangles, 0);
        }
        for (const internal::InstructionSet set : AvailableInstructionSets()) {
          const ForcedInstructionSet forced(set);
          ASSERT_EQ(internal::RasterizerInstructionSet(), set);
          for (const int threads : {1, 2, 3}) {
            SCOPED_TRACE(testing::Message()
                         << "seed " << seed << " cull " << cull << " normals " << vertex_normals
                         << " instruction set " << static_cast<int>(set) << " threads " << threads);
            options.num_threads = threads;
            Rasterizer rasterizer(options);
            Rasterization fast;
            if (vertex_normals) {
              rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, mesh.normals, &fast);
            } else {
              rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, &fast);
            }
            ExpectSameRasterization(fast, reference);
          }
        }
      }
    }
  }
}

TEST(Rasterizer, FrontoParallelQuadFillsExpectedPixelsAtExactDepth) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  // Left edge on pixel centers (u = 10, included), right edge on centers (u = 31, excluded),
  // top edge between rows (5.5), bottom edge on centers (v = 20, excluded): columns 10..30 and
  // rows 6..19. The diagonal passes through pixel centers too.
  AddFrontQuad(camera, 10.0, 5.5, 31.0, 20.0, 0.5, &mesh);
  Rasterization out;
  Rasterizer().Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_covered_pixels, 21 * 14);
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const bool inside = x >= 10 && x <= 30 && y >= 6 && y <= 19;
      ASSERT_EQ(out.covered(x, y), inside) << x << ", " << y;
      if (!inside) {
        EXPECT_EQ(out.depth.at(x, y), 0.0f);
        EXPECT_EQ(out.triangle_id.at(x, y), -1);
        continue;
      }
      EXPECT_EQ(out.depth.at(x, y), 0.5f);
      EXPECT_NEAR(out.barycentrics_at(x, y).sum(), 1.0f, 1e-6f);
      EXPECT_TRUE(out.normal_at(x, y).isApprox(Eigen::Vector3f(0, 0, -1)));
    }
  }
}

// A cube 0.2 m wide centered on the optical axis, front face at z = 0.5: faces listed
// -x, +x, -y, +y, -z (the front, triangles 8 and 9), +z, counter-clockwise seen from outside.
Mesh CubeOnAxis() {
  Mesh mesh;
  for (int i = 0; i < 8; ++i) {
    mesh.AddVertex(Eigen::RowVector3f(i & 1 ? 0.1f : -0.1f, i & 2 ? 0.1f : -0.1f,
                                      i & 4 ? 0.7f : 0.5f));
  }
  const int quads[6][4] = {{0, 4, 6, 2}, {1, 3, 7, 5}, {0, 1, 5, 4},
                           {2, 6, 7, 3}, {0, 2, 3, 1}, {4, 5, 7, 6}};
  for (const auto& q : quads) {
    mesh.AddFace(q[0], q[1], q[2]);
    mesh.AddFace(q[0], q[2], q[3]);
  }
  return mesh;
}

TEST(Rasterizer, CubeSeenHeadOnShowsOnlyItsFrontFace) {
  PinholeCamera camera = SmallCamera();
  camera.cx = 31.5;
  camera.cy = 23.5;
  const Mesh cube = CubeOnAxis();
  // The front face spans 64 * 0.1 / 0.5 = 12.8 pixels either side of the center: u in
  // [18.7, 44.3] and v in [10.7, 36.3], so pixels 19..44 and 11..36.
  for (const bool cull : {true, false}) {
    RasterizerOptions options;
    options.cull_back_faces = cull;
    Rasterization out;
    Rasterizer(options).Rasterize(camera, cube.vertices, cube.faces, &out);
    EXPECT_EQ(out.num_culled_triangles, cull ? 10 : 0);
    EXPECT_EQ(out.num_covered_pixels, 26 * 26);
    for (int y = 0; y < camera.height; ++y) {
      for (int x = 0; x < camera.width; ++x) {
        const bool inside = x >= 19 && x <= 44 && y >= 11 && y <= 36;
        ASSERT_EQ(out.covered(x, y), inside) << x << ", " << y;
        if (!inside) continue;
        EXPECT_EQ(out.depth.at(x, y), 0.5f);
        const int id = out.triangle_id.at(x, y);
        EXPECT_TRUE(id == 8 || id == 9) << id;
        EXPECT_TRUE(out.normal_at(x, y).isApprox(Eigen::Vector3f(0, 0, -1)));
      }
    }
  }
}

TEST(Rasterizer, BackFaceCullingSkipsTrianglesFacingAway) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  AddFrontQuad(camera, 10.0, 10.0, 30.0, 30.0, 1.0, &mesh);
  mesh.faces.col(1).swap(mesh.faces.col(2));  // now both face away from the camera

  RasterizerOptions options;
  Rasterization out;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_culled_triangles, 2);
  EXPECT_EQ(out.num_covered_pixels, 0);

  options.cull_back_faces = false;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_culled_triangles, 0);
  EXPECT_EQ(out.num_covered_pixels, 20 * 20);
  // The normal is the face's own (outward) one: away from the camera.
  EXPECT_TRUE(out.normal_at(20, 20).isApprox(Eigen::Vector3f(0, 0, 1)));
}

TEST(Rasterizer, TriangleMaskRendersOnlySelectedTriangles) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  AddFrontQuad(camera, 0.0, 0.0, 64.0, 48.0, 1.0, &mesh);   // triangles 0, 1: background
  AddFrontQuad(camera, 20.0, 20.0, 30.0, 30.0, 0.5, &mesh);  // triangles 2, 3: in front
  RasterizerOptions options;
  options.triangle_mask = {1, 1, 0, 0};
  Rasterization out;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_covered_pixels, 64 * 48);
  EXPECT_EQ(out.depth.at(25, 25), 1.0f);
  EXPECT_LE(out.triangle_id.at(25, 25), 1);

  options.triangle_mask = {0, 0, 1, 0};
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const int id = out.triangle_id.at(x, y);
      ASSERT_TRUE(id == -1 || id == 2) << id;
    }
  }
  EXPECT_GT(out.num_covered_pixels, 0);

  options.triangle_mask = {1, 1, 1};  // one entry short
  EXPECT_THROW(Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out), CheckError);
}

TEST(Rasterizer, BarycentricsReproduceThePixelRay) {
  const PinholeCamera camera = PinholeCamera::AzureKinectNfovUnbinned();
  // A tilted plane z = 0.5 + 0.4 x - 0.3 y covering the whole image, and random triangles over it.
  Mesh mesh;
  auto on_plane = [](float x, float y) {
    return Eigen::RowVector3f(x, y, 0.5f + 0.4f * x - 0.3f * y);
  };
  const int a = mesh.AddVertex(on_plane(-0.6f, -0.6f));
  const int b = mesh.AddVertex(on_plane(0.6f, -0.6f));
  const int c = mesh.AddVertex(on_plane(0.6f, 0.6f));
  const int d = mesh.AddVertex(on_plane(-0.6f, 0.6f));
  mesh.AddFace(a, c, b);
  mesh.AddFace(a, d, c);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto random_point = [&] { return Eigen::RowVector3f(uniform(rng), uniform(rng), uniform(rng)); };
  for (int t = 0; t < 300; ++t) {
    const Eigen::RowVector3f spread(0.2f, 0.2f, 0.05f);
    const Eigen::RowVector3f center =
        Eigen::RowVector3f(0, 0, 0.45f) + random_point().cwiseProduct(spread);
    const int a = mesh.AddVertex(center + 0.02f * random_point());
    const int b = mesh.AddVertex(center + 0.02f * random_point());
    mesh.AddFace(a, b, mesh.AddVertex(center + 0.02f * random_point()));
  }
  RasterizerOptions options;
  options.cull_back_faces = false;
  Rasterization out;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  ASSERT_EQ(out.num_covered_pixels, camera.width * camera.height);
  double max_ray_error = 0.0;
  double max_interpolation_error = 0.0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const Eigen::Vector3d on_ray =
          camera.Unproject(Eigen::Vector2d(x, y), static_cast<double>(out.depth.at(x, y)));
      max_ray_error = std::max(max_ray_error, (on_ray - out.point_at(x, y).cast<double>()).norm());
      const Eigen::Vector3f bary = out.barycentrics_at(x, y);
      ASSERT_TRUE((bary.array() >= 0.0f).all() && (bary.array() <= 1.0f).all()) << bary;
      const int id = out.triangle_id.at(x, y);
      Eigen::Vector3f interpolated = Eigen::Vector3f::Zero();
      for (int i = 0; i < 3; ++i) {
        interpolated += bary[i] * mesh.vertices.row(mesh.faces(id, i)).transpose();
      }
      max_interpolation_error = std::max<double>(max_interpolation_error,
                                                 (interpolated - out.point_at(x, y)).norm());
    }
  }
  EXPECT_LE(max_ray_error, 1e-6);
  EXPECT_LE(max_interpolation_error, 1e-6);
}

TEST(Rasterizer, SharedEdgesCoverEveryPixelExactlyOnce) {
  // A grid of quads with jittered inner vertices on the quarter-pixel grid (often exactly on
  // pixel centers), varying depths, random diagonals and windings. The outer border lies between
  // pixel centers, at u = 4.5 and 59.5, v = 4.5 and 43.5.
  const PinholeCamera camera = SmallCamera();
  constexpr int kColumns = 12;
  constexpr int kRows = 9;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> quarter_steps(-4, 4);
  std::uniform_int_distribution<int> coin(0, 1);
  Mesh mesh;
  for (int j = 0; j < kRows; ++j) {
    for (int i = 0; i < kColumns; ++i) {
      double u = 4.5 + i * 5.0;
      double v = 4.5 + j * 39.0 / (kRows - 1);
      if (i > 0 && i < kColumns - 1) u = std::round(u) + 0.25 * quarter_steps(rng);
      if (j > 0 && j < kRows - 1) v = std::round(v) + 0.25 * quarter_steps(rng);
      const double z = (i + j) % 3 == 0 ? 0.5 : ((i + j) % 3 == 1 ? 1.0 : 2.0);
      mesh.AddVertex(Unproject(camera, u, v, z));
    }
  }
  for (int j = 0; j + 1 < kRows; ++j) {
    for (int i = 0; i + 1 < kColumns; ++i) {
      const int a = j * kColumns + i, b = a + 1, c = a + kColumns + 1, d = a + kColumns;
      int tris[2][3] = {{a, b, c}, {a, c, d}};
      if (coin(rng)) {  // the other diagonal
        tris[0][2] = d;
        tris[1][0] = b;
      }
      for (auto& t : tris) {
        if (coin(rng)) std::swap(t[1], t[2]);
        mesh.AddFace(t[0], t[1], t[2]);
      }
    }
  }

  RasterizerOptions options;
  options.cull_back_faces = false;
  options.triangle_mask.assign(mesh.faces.rows(), 0);
  Image<int> coverage(camera.width, camera.height);
  Rasterization out;
  for (int t = 0; t < mesh.faces.rows(); ++t) {
    options.triangle_mask[t] = 1;
    Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
    options.triangle_mask[t] = 0;
    for (size_t p = 0; p < coverage.pixels.size(); ++p) {
      coverage.pixels[p] += out.triangle_id.pixels[p] == t;
    }
  }
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const bool inside = x >= 5 && x <= 59 && y >= 5 && y <= 43;
      ASSERT_EQ(coverage.at(x, y), inside ? 1 : 0) << "pixel " << x << ", " << y;
    }
  }
}

TEST(Rasterizer, EqualDepthKeepsLowerTriangleId) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  AddFrontQuad(camera, 10.0, 10.0, 30.0, 30.0, 1.0, &mesh);  // 0, 1
  AddFrontQuad(camera, 10.0, 10.0, 30.0, 30.0, 1.0, &mesh);  // 2, 3: same place
  AddFrontQuad(camera, 20.0, 20.0, 40.0, 40.0, 0.5, &mesh);  // 4, 5: nearer, overlapping
  for (const int threads : {1, 2}) {
    RasterizerOptions options;
    options.num_threads = threads;
    Rasterization out;
    Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
    for (int y = 10; y < 40; ++y) {
      for (int x = 10; x < 40; ++x) {
        const int id = out.triangle_id.at(x, y);
        if (x >= 20 && y >= 20) {
          EXPECT_TRUE(id == 4 || id == 5) << id;
        } else if (x < 30 && y < 30) {
          EXPECT_TRUE(id == 0 || id == 1) << id;
        }
      }
    }
  }
}

TEST(Rasterizer, NearPlaneSkipsWholeTriangles) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  const int a = mesh.AddVertex(Unproject(camera, 10, 10, 0.5));
  const int b = mesh.AddVertex(Unproject(camera, 30, 30, 0.5));
  const int c = mesh.AddVertex(Eigen::RowVector3f(0.001f, -0.001f, 0.005f));  // in the image
  const int far = mesh.AddVertex(Eigen::RowVector3f(1000.0f, 0.0f, 0.05f));  // u ~ 1.3e6 px
  mesh.AddFace(a, b, c);
  mesh.AddFace(a, far, b);
  RasterizerOptions options;
  options.cull_back_faces = false;
  Rasterization out;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_skipped_triangles, 2);
  EXPECT_EQ(out.num_covered_pixels, 0);

  options.z_near = 0.001;
  Rasterizer(options).Rasterize(camera, mesh.vertices, mesh.faces, &out);
  EXPECT_EQ(out.num_skipped_triangles, 1);
  EXPECT_GT(out.num_covered_pixels, 0);
  EXPECT_EQ(out.triangle_id.at(20, 19), 0);
}

void ExpectIdenticalBuffers(const Rasterization& a, const Rasterization& b) {
  EXPECT_EQ(a.depth.pixels, b.depth.pixels);
  EXPECT_EQ(a.triangle_id.pixels, b.triangle_id.pixels);
  EXPECT_EQ(a.barycentrics.pixels, b.barycentrics.pixels);
  EXPECT_EQ(a.points.pixels, b.points.pixels);
  EXPECT_EQ(a.normals.pixels, b.normals.pixels);
  EXPECT_EQ(a.num_covered_pixels, b.num_covered_pixels);
}

TEST(Rasterizer, ReusedOutputEqualsFreshOutput) {
  const PinholeCamera camera = SmallCamera(96, 72);
  const Mesh first = RandomMesh(camera, 300, 11);
  const Mesh second = RandomMesh(camera, 200, 12);
  RasterizerOptions options;
  options.num_threads = 2;
  Rasterization fresh;
  Rasterizer(options).Rasterize(camera, second.vertices, second.faces, &fresh);

  // The second call must clear whatever the first one covered and the second does not.
  Rasterizer rasterizer(options);
  Rasterization reused;
  rasterizer.Rasterize(camera, first.vertices, first.faces, first.normals, &reused);
  rasterizer.Rasterize(camera, second.vertices, second.faces, &reused);
  ExpectIdenticalBuffers(reused, fresh);

  // Also after buffers filled by someone else.
  Rasterization from_reference;
  internal::RasterizeReference(camera, first.vertices, first.faces, nullptr, options,
                               &from_reference);
  rasterizer.Rasterize(camera, second.vertices, second.faces, &from_reference);
  ExpectIdenticalBuffers(from_reference, fresh);

  // Without points and normals: the same depth, ids and barycentrics.
  options.compute_points_and_normals = false;
  Rasterization depth_only;
  Rasterizer(options).Rasterize(camera, second.vertices, second.faces, &depth_only);
  EXPECT_TRUE(depth_only.points.empty());
  EXPECT_TRUE(depth_only.normals.empty());
  EXPECT_EQ(depth_only.depth.pixels, fresh.depth.pixels);
  EXPECT_EQ(depth_only.triangle_id.pixels, fresh.triangle_id.pixels);
  EXPECT_EQ(depth_only.barycentrics.pixels, fresh.barycentrics.pixels);
}

TEST(Rasterizer, InstructionSetsGiveIdenticalBuffers) {
  if (AvailableInstructionSets().size() < 2) GTEST_SKIP() << "this processor has no AVX2";
  const PinholeCamera camera = SmallCamera(160, 120);
  const Mesh mesh = RandomMesh(camera, 1500, 21);
  for (const bool points : {false, true}) {
    for (const bool vertex_normals : {false, true}) {
      SCOPED_TRACE(testing::Message() << "points " << points << " normals " << vertex_normals);
      RasterizerOptions options;
      options.compute_points_and_normals = points;
      Rasterization out[2];
      for (int i = 0; i < 2; ++i) {
        const ForcedInstructionSet forced(AvailableInstructionSets()[i]);
        Rasterizer rasterizer(options);
        if (vertex_normals) {
          rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, mesh.normals, &out[i]);
        } else {
          rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, &out[i]);
        }
      }
      ASSERT_GT(out[0].num_covered_pixels, camera.width * camera.height / 4);
      ExpectIdenticalBuffers(out[0], out[1]);
    }
  }
}

TEST(Rasterizer, InterpolatesAndNormalizesVertexNormals) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  AddFrontQuad(camera, 10.0, 10.0, 30.0, 30.0, 1.0, &mesh);
  mesh.normals.resize(4, 3);
  mesh.normals << 0, 0, -2, 1, 0, -1, 0, 3, -3, -1, -1, -1;
  Rasterization out;
  Rasterizer().Rasterize(camera, mesh.vertices, mesh.faces, mesh.normals, &out);
  for (const auto& [x, y] : {std::pair{12, 11}, std::pair{20, 20}, std::pair{28, 25}}) {
    const Eigen::Vector3f b = out.barycentrics_at(x, y);
    Eigen::Vector3f expected = Eigen::Vector3f::Zero();
    for (int i = 0; i < 3; ++i) {
      expected += b[i] * mesh.normals.row(mesh.faces(out.triangle_id.at(x, y), i)).transpose();
    }
    EXPECT_TRUE(out.normal_at(x, y).isApprox(expected.normalized(), 1e-6f))
        << out.normal_at(x, y).transpose() << " vs " << expected.normalized().transpose();
  }
}

TEST(Rasterizer, RejectsBadArguments) {
  const PinholeCamera camera = SmallCamera();
  Mesh mesh;
  AddFrontQuad(camera, 10.0, 10.0, 30.0, 30.0, 1.0, &mesh);
  Rasterization out;
  Rasterizer rasterizer;
  Triangles bad_faces = mesh.faces;
  bad_faces(1, 2) = 4;
  EXPECT_THROW(rasterizer.Rasterize(camera, mesh.vertices, bad_faces, &out), CheckError);
  EXPECT_THROW(rasterizer.Rasterize(camera, mesh.vertices, mesh.faces, Points3f(3, 3), &out),
               CheckError);
  EXPECT_THROW(rasterizer.Rasterize(PinholeCamera{}, mesh.vertices, mesh.faces, &out), CheckError);
}

TEST(Rasterizer, ImagesWiderThan16BitsMatchTheReference) {
  const PinholeCamera camera = SmallCamera(40000, 6);  // columns beyond 32767
  Mesh mesh;
  AddFrontQuad(camera, 32700.0, 1.0, 32900.5, 4.5, 1.0, &mesh);
  AddFrontQuad(camera, 39990.25, 0.5, 40100.0, 5.0, 0.5, &mesh);  // leaves the image
  Rasterization reference, fast;
  internal::RasterizeReference(camera, mesh.vertices, mesh.faces, nullptr, RasterizerOptions(),
                               &reference);
  ASSERT_GT(reference.num_covered_pixels, 200 * 3);
  Rasterizer().Rasterize(camera, mesh.vertices, mesh.faces, &fast);
  ExpectSameRasterization(fast, reference);
}

TEST(RasterizerOptions, CheckRejectsBadValues) {
  EXPECT_NO_THROW(RasterizerOptions().Check());
  RasterizerOptions options;
  options.z_near = 0.0;
  EXPECT_THROW(options.Check(), CheckError);
  options.z_near = std::nan("");
  EXPECT_THROW(Rasterizer{options}, CheckError);
  options = {};
  options.num_threads = -1;
  EXPECT_THROW(options.Check(), CheckError);
}

}  // namespace
}  // namespace headtrack
