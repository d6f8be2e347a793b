#include "headtrack/closest_point_query.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <omp.h>

#include "headtrack/error.h"
#include "metrics/point_triangle_distance.h"

namespace headtrack {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr float kInfinityF = std::numeric_limits<float>::infinity();

// SAH build: kBins centroid bins per axis; a node becomes a leaf when it holds at most
// kMinLeafSize triangles, or at most kMaxLeafSize and splitting does not pay.
constexpr int kBins = 16;
constexpr int kMinLeafSize = 4;
constexpr int kMaxLeafSize = 16;
constexpr double kTraversalCost = 2.0;  // relative to one point-triangle test
// Below this depth SAH splits are replaced by median splits, which halve the count, so the tree
// is at most kMedianDepth + 31 deep and fits the traversal stack.
constexpr int kMedianDepth = 32;
// A wide node pushes at most 3 children per level.
constexpr int kStackSize = 3 * (kMedianDepth + 32);
// QueryMany hands out points in chunks of this many rows.
constexpr Eigen::Index kChunkSize = 256;

struct Box {
  Eigen::Array3d lo = Eigen::Array3d::Constant(kInfinity);
  Eigen::Array3d hi = Eigen::Array3d::Constant(-kInfinity);

  void Grow(const Box& other) {
    lo = lo.min(other.lo);
    hi = hi.max(other.hi);
  }
  void Grow(const Eigen::Array3d& point) {
    lo = lo.min(point);
    hi = hi.max(point);
  }
  bool empty() const { return (lo > hi).any(); }
  double HalfArea() const {
    if (empty()) return 0.0;
    const Eigen::Array3d e = hi - lo;
    return e.x() * e.y() + e.y() * e.z() + e.z() * e.x();
  }
};

// A node of the binary tree that the SAH builds and Refit updates. Inner nodes have count 0 and
// children `first` and `first + 1`; leaves hold the triangles at slots [first, first + count)
// of the leaf order.
struct Node {
  Box box;
  std::int32_t first = 0;
  std::int32_t count = 0;
};

// The tree that queries traverse: the binary tree with every other level collapsed, so that a
// node has up to 4 children whose boxes are tested at once with 4-wide float SIMD. Half the
// levels means half the dependent loads and branches, which bound the query time. Float boxes
// are exact (the vertices are floats); the distances to them are rounded down (LowerBounds).
struct WideNode {
  // Per child slot; an empty slot has lo = +inf, hi = -inf.
  Eigen::Array4f lo_x, lo_y, lo_z, hi_x, hi_y, hi_z;
  // Per child slot: >= 0 a wide node, else ~(binary leaf node index); kNoChild when empty.
  std::array<std::int32_t, 4> child;
};
constexpr std::int32_t kNoChild = std::numeric_limits<std::int32_t>::min();

// A query point bracketed by floats: lo <= p <= hi coordinate-wise.
struct FloatBracket {
  Eigen::Array4f lo_x, lo_y, lo_z, hi_x, hi_y, hi_z;

  explicit FloatBracket(const Eigen::Vector3d& p) {
    float lo[3], hi[3];
    for (int k = 0; k < 3; ++k) {
      const float rounded = static_cast<float>(p[k]);
      lo[k] = static_cast<double>(rounded) <= p[k] ? rounded : std::nextafter(rounded, -kInfinityF);
      hi[k] = static_cast<double>(rounded) >= p[k] ? rounded : std::nextafter(rounded, kInfinityF);
    }
    lo_x.setConstant(lo[0]), lo_y.setConstant(lo[1]), lo_z.setConstant(lo[2]);
    hi_x.setConstant(hi[0]), hi_y.setConstant(hi[1]), hi_z.setConstant(hi[2]);
  }
};

// Lower bounds of the squared distances from p to the 4 child boxes of a wide node: each float
// operation below rounds by at most 2^-24 relative (subtractions of floats are exact when tiny),
// five of them compound to less than 3e-7, and the final factor takes away 1e-6. Gaps are capped
// at 1e18 so that their squares stay finite (a smaller gap is still a lower bound).
inline Eigen::Array4f LowerBounds(const WideNode& node, const FloatBracket& p) {
  constexpr float kMaxGap = 1e18f;
  const Eigen::Array4f dx = (node.lo_x - p.hi_x).max(p.lo_x - node.hi_x).max(0.0f).min(kMaxGap);
  const Eigen::Array4f dy = (node.lo_y - p.hi_y).max(p.lo_y - node.hi_y).max(0.0f).min(kMaxGap);
  const Eigen::Array4f dz = (node.lo_z - p.hi_z).max(p.lo_z - node.hi_z).max(0.0f).min(kMaxGap);
  return (dx * dx + dy * dy + dz * dz) * (1.0f - 1e-6f);
}

// Checks the options against a mesh of num_faces triangles; the mask, or null for all triangles.
const std::uint8_t* CheckedMask(const ClosestPointQueryOptions& options, int num_faces) {
  options.Check();
  const auto& mask = options.triangle_mask;
  HT_CHECK(mask.empty() || mask.size() == static_cast<std::size_t>(num_faces),
           "triangle_mask has " << mask.size() << " entries for " << num_faces << " faces");
  return mask.empty() ? nullptr : mask.data();
}

}  // namespace

struct ClosestPointQuery::Impl {
  Points3f vertices;
  Triangles faces;
  std::vector<Node> nodes;                // root first; empty when there are no faces
  std::vector<WideNode> wide_nodes;       // root first; empty when there are no faces
  std::vector<std::array<std::int32_t, 4>> wide_sources;  // binary node of each child, or -1
  std::vector<std::int32_t> order;        // triangle id at each leaf slot
  std::vector<internal::PreparedTriangle> prepared;  // per leaf slot
  std::vector<std::int32_t> slot_of;      // leaf slot of each triangle

  // The box of a triangle's float vertices; empty when a vertex is not finite.
  Box TriangleBox(int triangle) const {
    Box box;
    for (int i = 0; i < 3; ++i) {
      const Eigen::Array3d v = vertices.row(faces(triangle, i)).transpose().cast<double>().array();
      if (!v.isFinite().all()) return Box{};
      box.Grow(v);
    }
    return box;
  }

  void Build();
  void BuildNode(int node, int begin, int end, int depth, const std::vector<Box>& boxes,
                 const std::vector<Eigen::Array3d>& centroids);
  // Adds the wide node standing for binary node `node` and its descendants; returns its index.
  int Collapse(int node);
  // Prepares the triangles in leaf order and sets every node's box from the vertices.
  void Update();
  // hint: a triangle likely to be near p, allowed by the mask (the answer for a neighbouring
  // point with the same options), or -1. It only speeds up the search: the answer is the same
  // without it.
  ClosestPoint Query(const Eigen::Vector3d& p, double bound2, const std::uint8_t* mask,
                     int hint) const;
};

void ClosestPointQuery::Impl::Build() {
  const int num_faces = static_cast<int>(faces.rows());
  order.resize(num_faces);
  nodes.clear();
  if (num_faces == 0) return;
  std::vector<Box> boxes(num_faces);
  std::vector<Eigen::Array3d> centroids(num_faces);
  Eigen::Array3d centroid_sum = Eigen::Array3d::Zero();
  int num_finite = 0;
  for (int t = 0; t < num_faces; ++t) {
    order[t] = t;
    boxes[t] = TriangleBox(t);
    if (!boxes[t].empty()) {
      centroids[t] = (boxes[t].lo + boxes[t].hi) * 0.5;
      centroid_sum += centroids[t];
      ++num_finite;
    }
  }
  // Triangles with a non-finite vertex go where the others are, so they do not stretch the bins.
  const Eigen::Array3d fallback =
      num_finite > 0 ? Eigen::Array3d(centroid_sum / num_finite) : Eigen::Array3d::Zero();
  for (int t = 0; t < num_faces; ++t) {
    if (boxes[t].empty()) centroids[t] = fallback;
  }
  nodes.reserve(2 * (num_faces / kMinLeafSize) + 1);
  nodes.emplace_back();
  BuildNode(0, 0, num_faces, 0, boxes, centroids);
  wide_nodes.clear();
  wide_sources.clear();
  Collapse(0);
}

int ClosestPointQuery::Impl::Collapse(int node) {
  // Children: the binary children, then repeatedly the inner child with the largest box
  // replaced by its two children.
  std::array<std::int32_t, 4> sources;
  sources.fill(-1);
  int num_children = 0;
  if (nodes[node].count > 0) {
    sources[num_children++] = node;  // a leaf root
  } else {
    sources[num_children++] = nodes[node].first;
    sources[num_children++] = nodes[node].first + 1;
  }
  while (num_children < 4) {
    int widest = -1;
    double widest_area = -1.0;
    for (int i = 0; i < num_children; ++i) {
      const Node& c = nodes[sources[i]];
      if (c.count == 0 && c.box.HalfArea() > widest_area) {
        widest = i;
        widest_area = c.box.HalfArea();
      }
    }
    if (widest < 0) break;
    const int first = nodes[sources[widest]].first;
    sources[widest] = first;
    sources[num_children++] = first + 1;
  }
  const int index = static_cast<int>(wide_nodes.size());
  wide_nodes.emplace_back();
  wide_sources.push_back(sources);
  for (int i = 0; i < 4; ++i) {
    std::int32_t child = kNoChild;
    if (sources[i] >= 0) child = nodes[sources[i]].count > 0 ? ~sources[i] : Collapse(sources[i]);
    wide_nodes[index].child[i] = child;
  }
  return index;
}

void ClosestPointQuery::Impl::BuildNode(int node, int begin, int end, int depth,
                                        const std::vector<Box>& boxes,
                                        const std::vector<Eigen::Array3d>& centroids) {
  const int count = end - begin;
  Box bounds;
  Box centroid_bounds;
  for (int i = begin; i < end; ++i) {
    bounds.Grow(boxes[order[i]]);
    centroid_bounds.Grow(centroids[order[i]]);
  }
  nodes[node].box = bounds;
  const auto make_leaf = [&] {
    nodes[node].first = begin;
    nodes[node].count = count;
  };
  if (count <= kMinLeafSize) return make_leaf();

  const Eigen::Array3d extent = centroid_bounds.hi - centroid_bounds.lo;
  int axis = 0;
  extent.maxCoeff(&axis);

  int mid = begin;
  if (!(extent[axis] > 0.0)) {
    // Every centroid is the same point: no plane separates them.
    if (count <= kMaxLeafSize) return make_leaf();
    mid = begin + count / 2;
  } else if (depth >= kMedianDepth) {
    mid = begin + count / 2;
    std::nth_element(order.begin() + begin, order.begin() + mid, order.begin() + end,
                     [&](int a, int b) { return centroids[a][axis] < centroids[b][axis]; });
  } else {
    // Binned SAH along the axis of largest centroid extent (the other two axes add build time
    // and nothing measurable to the queries).
    const double scale = kBins / extent[axis];
    const auto bin_of = [&](int triangle) {
      const double offset = centroids[triangle][axis] - centroid_bounds.lo[axis];
      return std::clamp(static_cast<int>(offset * scale), 0, kBins - 1);
    };
    std::array<Box, kBins> bin_boxes;
    std::array<int, kBins> bin_counts{};
    for (int i = begin; i < end; ++i) {
      const int bin = bin_of(order[i]);
      bin_boxes[bin].Grow(boxes[order[i]]);
      ++bin_counts[bin];
    }
    // right_cost[s]: area times count of bins [s, kBins).
    std::array<double, kBins> right_cost{};
    Box right;
    int right_count = 0;
    for (int s = kBins - 1; s > 0; --s) {
      right.Grow(bin_boxes[s]);
      right_count += bin_counts[s];
      right_cost[s] = right.HalfArea() * right_count;
    }
    double best_cost = kInfinity;
    int best_split = 0;  // bins [0, best_split) go left
    Box left;
    int left_count = 0;
    for (int s = 1; s < kBins; ++s) {
      left.Grow(bin_boxes[s - 1]);
      left_count += bin_counts[s - 1];
      if (left_count == 0 || left_count == count) continue;
      const double cost = left.HalfArea() * left_count + right_cost[s];
      if (cost < best_cost) {
        best_cost = cost;
        best_split = s;
      }
    }
    // The first and last centroids fall in bins 0 and kBins - 1, so some split separates them.
    const double area = bounds.HalfArea();
    const double split_cost = area > 0.0 ? kTraversalCost + best_cost / area : kInfinity;
    if (count <= kMaxLeafSize && split_cost >= count) return make_leaf();
    mid = static_cast<int>(std::partition(order.begin() + begin, order.begin() + end,
                                          [&](int t) { return bin_of(t) < best_split; }) -
                           order.begin());
  }

  const int left = static_cast<int>(nodes.size());
  nodes.emplace_back();
  nodes.emplace_back();
  nodes[node].first = left;
  nodes[node].count = 0;
  BuildNode(left, begin, mid, depth + 1, boxes, centroids);
  BuildNode(left + 1, mid, end, depth + 1, boxes, centroids);
}

void ClosestPointQuery::Impl::Update() {
  const int num_slots = static_cast<int>(order.size());
  prepared.resize(num_slots);
  slot_of.resize(num_slots);
  for (int slot = 0; slot < num_slots; ++slot) {
    const int t = order[slot];
    slot_of[t] = slot;
    const auto vertex = [&](int i) -> Eigen::Vector3d {
      return vertices.row(faces(t, i)).transpose().cast<double>();
    };
    prepared[slot] = internal::PrepareTriangle(vertex(0), vertex(1), vertex(2));
  }
  // Children come after their parent, so a reverse sweep sees children first.
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    Node& node = nodes[i];
    node.box = Box{};
    if (node.count > 0) {
      for (int slot = node.first; slot < node.first + node.count; ++slot) {
        node.box.Grow(TriangleBox(order[slot]));
      }
    } else {
      node.box.Grow(nodes[node.first].box);
      node.box.Grow(nodes[node.first + 1].box);
    }
  }
  // The binary boxes are float coordinates (or infinities), so the casts are exact.
  for (std::size_t i = 0; i < wide_nodes.size(); ++i) {
    WideNode& wide = wide_nodes[i];
    for (int c = 0; c < 4; ++c) {
      const int source = wide_sources[i][c];
      const Box box = source >= 0 ? nodes[source].box : Box{};
      wide.lo_x[c] = static_cast<float>(box.lo.x());
      wide.lo_y[c] = static_cast<float>(box.lo.y());
      wide.lo_z[c] = static_cast<float>(box.lo.z());
      wide.hi_x[c] = static_cast<float>(box.hi.x());
      wide.hi_y[c] = static_cast<float>(box.hi.y());
      wide.hi_z[c] = static_cast<float>(box.hi.z());
    }
  }
}

ClosestPoint ClosestPointQuery::Impl::Query(const Eigen::Vector3d& p, double bound2,
                                            const std::uint8_t* mask, int hint) const {
  ClosestPoint result;
  if (wide_nodes.empty() || !p.allFinite()) return result;
  double best = bound2;
  int best_triangle = std::numeric_limits<int>::max();
  int best_slot = -1;
  internal::TrianglePoint best_point;
  if (hint >= 0 &&
      internal::ClosestOnPreparedTriangle(prepared[slot_of[hint]], p, best, &best_point)) {
    best = best_point.squared_distance;
    best_triangle = hint;
    best_slot = slot_of[hint];
  }

  // Depth first, nearest child first. Children whose box is farther than the best distance are
  // skipped; boxes at exactly that distance are visited, as they may hold a tie with a lower id.
  const FloatBracket bracket(p);
  struct Entry {
    std::int32_t child;  // as WideNode::child
    float squared_distance;
  };
  std::array<Entry, kStackSize> stack;
  int top = 0;
  stack[top++] = {0, 0.0f};
  while (top > 0) {
    const Entry entry = stack[--top];
    if (entry.squared_distance > best) continue;
    if (entry.child < 0) {
      const Node& leaf = nodes[~entry.child];
      for (int slot = leaf.first; slot < leaf.first + leaf.count; ++slot) {
        const int t = order[slot];
        if (mask != nullptr && mask[t] == 0) continue;
        internal::TrianglePoint candidate;
        // Ties go to the lower triangle id, whatever the visiting order.
        if (internal::ClosestOnPreparedTriangle(prepared[slot], p, best, &candidate) &&
            (candidate.squared_distance < best || t < best_triangle)) {
          best = candidate.squared_distance;
          best_triangle = t;
          best_slot = slot;
          best_point = candidate;
        }
      }
      continue;
    }
    const WideNode& node = wide_nodes[entry.child];
    const Eigen::Array4f d2 = LowerBounds(node, bracket);
    // Push the children within reach, farthest first, so that the nearest is popped next.
    const int first = top;
    for (int c = 0; c < 4; ++c) {
      if (node.child[c] == kNoChild || d2[c] > best) continue;
      Entry e{node.child[c], d2[c]};
      int i = top++;
      for (; i > first && stack[i - 1].squared_distance < e.squared_distance; --i) {
        stack[i] = stack[i - 1];
      }
      stack[i] = e;
    }
  }

  if (best_slot < 0) return result;
  const internal::PreparedTriangle& t = prepared[best_slot];
  const Eigen::Vector3d& b = best_point.barycentrics;
  result.triangle = best_triangle;
  result.barycentrics = b;
  result.point = b[0] * t.a + b[1] * t.b + b[2] * t.c;
  result.squared_distance = best_point.squared_distance;
  return result;
}

double ClosestPoint::distance() const { return std::sqrt(squared_distance); }

void ClosestPointQueryOptions::Check() const {
  HT_CHECK(max_distance >= 0.0, "max_distance must be >= 0, got " << max_distance);
  HT_CHECK(num_threads >= 0, "num_threads must be >= 0, got " << num_threads);
}

ClosestPointQuery::ClosestPointQuery(const Points3f& vertices, const Triangles& faces)
    : impl_(std::make_unique<Impl>()) {
  if (faces.size() > 0) {
    HT_CHECK(faces.minCoeff() >= 0 && faces.maxCoeff() < vertices.rows(),
             "face index out of range [0, " << vertices.rows() << ")");
  }
  impl_->vertices = vertices;
  impl_->faces = faces;
  impl_->Build();
  impl_->Update();
}

ClosestPointQuery::~ClosestPointQuery() = default;
ClosestPointQuery::ClosestPointQuery(ClosestPointQuery&&) noexcept = default;
ClosestPointQuery& ClosestPointQuery::operator=(ClosestPointQuery&&) noexcept = default;

void ClosestPointQuery::Refit(const Points3f& vertices) {
  HT_CHECK(vertices.rows() == impl_->vertices.rows(),
           "Refit needs " << impl_->vertices.rows() << " vertices, got " << vertices.rows());
  impl_->vertices = vertices;
  impl_->Update();
}

ClosestPoint ClosestPointQuery::Query(const Eigen::Vector3d& point,
                                      const ClosestPointQueryOptions& options) const {
  const std::uint8_t* mask = CheckedMask(options, num_faces());
  return impl_->Query(point, options.max_distance * options.max_distance, mask, -1);
}

std::vector<ClosestPoint> ClosestPointQuery::QueryMany(
    const Points3f& points, const ClosestPointQueryOptions& options) const {
  const std::uint8_t* mask = CheckedMask(options, num_faces());
  const double bound2 = options.max_distance * options.max_distance;
  const int num_threads = options.num_threads > 0 ? options.num_threads : omp_get_max_threads();
  const Eigen::Index n = points.rows();
  std::vector<ClosestPoint> results(n);
  // Neighbouring rows (scan pixels) are usually near each other: within a chunk, each query
  // starts from the previous answer, which bounds the search from the start. Chunks are fixed,
  // so the answers do not depend on the threads.
  const Eigen::Index num_chunks = (n + kChunkSize - 1) / kChunkSize;
#pragma omp parallel for schedule(dynamic, 1) num_threads(num_threads)
  for (Eigen::Index chunk = 0; chunk < num_chunks; ++chunk) {
    int hint = -1;
    for (Eigen::Index i = chunk * kChunkSize; i < std::min(n, (chunk + 1) * kChunkSize); ++i) {
      results[i] = impl_->Query(points.row(i).transpose().cast<double>(), bound2, mask, hint);
      if (results[i].found()) hint = results[i].triangle;
    }
  }
  return results;
}

Eigen::Vector3d ClosestPointQuery::FaceNormal(int triangle) const {
  HT_CHECK(triangle >= 0 && triangle < impl_->faces.rows(),
           "triangle " << triangle << " outside [0, " << impl_->faces.rows() << ")");
  const auto vertex = [&](int i) -> Eigen::Vector3d {
    return impl_->vertices.row(impl_->faces(triangle, i)).transpose().cast<double>();
  };
  const Eigen::Vector3d n = (vertex(1) - vertex(0)).cross(vertex(2) - vertex(0));
  const double norm = n.norm();
  return norm > 0.0 && std::isfinite(norm) ? Eigen::Vector3d(n / norm) : Eigen::Vector3d::Zero();
}

Eigen::Vector3d ClosestPointQuery::InterpolatedNormal(const ClosestPoint& closest,
                                                      const Points3f& vertex_normals) const {
  HT_CHECK(closest.found(), "InterpolatedNormal of a query that found no triangle");
  HT_CHECK(vertex_normals.rows() == impl_->vertices.rows(),
           "vertex_normals has " << vertex_normals.rows() << " rows for "
                                 << impl_->vertices.rows() << " vertices");
  Eigen::Vector3d n = Eigen::Vector3d::Zero();
  for (int i = 0; i < 3; ++i) {
    n += closest.barycentrics[i] *
         vertex_normals.row(impl_->faces(closest.triangle, i)).transpose().cast<double>();
  }
  const double norm = n.norm();
  if (norm > 0.0 && std::isfinite(norm)) return n / norm;
  return FaceNormal(closest.triangle);
}

const Points3f& ClosestPointQuery::vertices() const { return impl_->vertices; }
const Triangles& ClosestPointQuery::faces() const { return impl_->faces; }

std::vector<std::uint8_t> TriangleMask(const std::vector<int>& triangle_ids, int num_faces) {
  HT_CHECK(num_faces >= 0, "num_faces must be >= 0, got " << num_faces);
  std::vector<std::uint8_t> mask(num_faces, 0);
  for (const int t : triangle_ids) {
    HT_CHECK(t >= 0 && t < num_faces, "triangle id " << t << " outside [0, " << num_faces << ")");
    mask[t] = 1;
  }
  return mask;
}

}  // namespace headtrack
