// Exact closest point of a triangle to a point, in double precision: the kernel that
// ClosestPointQuery runs at its leaves and that its tests run over every triangle.
//
// The projection of p onto the triangle's plane is inside the triangle when its barycentrics are
// all >= 0; then the closest point is that projection. Otherwise the closest point lies on an
// edge whose line separates the projection from the triangle (an edge with a negative
// barycentric), so only those edges (at most two) are tested as segments. A triangle whose angle
// at its first vertex has |sin| <= kDegenerateSine (zero area, collinear or repeated vertices)
// has no reliable plane: all three edges are tested as segments, which is exact at zero area and
// off by at most the triangle's width (<= 1e-8 times its edges) for a sliver.
//
// Barycentrics use the scalar triple product form, v = (p - a) . ((c - a) x n) / |n|^2 with
// n = (b - a) x (c - a), whose rounding error grows like 1 / sin(angle) rather than the
// 1 / sin^2(angle) of the Gram-matrix (dot product) form.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace headtrack::internal {

// Triangles with |sin| of the angle at their first vertex at or below this are degenerate.
inline constexpr double kDegenerateSine = 1e-8;

// A triangle (a, b, c) with what every query against it needs, computed once.
struct PreparedTriangle {
  // In the order the query reads them.
  Eigen::Vector3d a;
  Eigen::Vector3d unit_normal;  // n / |n| with n = (b - a) x (c - a); zero when degenerate
  Eigen::Vector3d to_v;         // ((c - a) x n) / |n|^2: v = (p - a) . to_v, the weight of b
  Eigen::Vector3d to_w;         // (n x (b - a)) / |n|^2: w = (p - a) . to_w, the weight of c
  Eigen::Vector3d b, c;
  bool degenerate = true;
};

inline PreparedTriangle PrepareTriangle(const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                        const Eigen::Vector3d& c) {
  PreparedTriangle t;
  t.a = a;
  t.b = b;
  t.c = c;
  if (!a.allFinite() || !b.allFinite() || !c.allFinite()) {
    // All NaN, so that no edge of it yields a distance: such a triangle is never closest.
    t.a = t.b = t.c = Eigen::Vector3d::Constant(std::numeric_limits<double>::quiet_NaN());
  }
  const Eigen::Vector3d ab = t.b - t.a;
  const Eigen::Vector3d ac = t.c - t.a;
  const Eigen::Vector3d n = ab.cross(ac);
  const double n2 = n.squaredNorm();
  const double scale2 = ab.squaredNorm() * ac.squaredNorm();
  t.degenerate = !(n2 > kDegenerateSine * kDegenerateSine * scale2) || !std::isfinite(n2);
  if (t.degenerate) {
    t.unit_normal.setZero();
    t.to_v.setZero();
    t.to_w.setZero();
  } else {
    t.unit_normal = n / std::sqrt(n2);
    t.to_v = ac.cross(n) / n2;
    t.to_w = n.cross(ab) / n2;
  }
  return t;
}

// Squared distance and barycentrics (u, v, w), weights of (a, b, c), of a closest point.
struct TrianglePoint {
  double squared_distance = std::numeric_limits<double>::infinity();
  Eigen::Vector3d barycentrics = Eigen::Vector3d::Zero();
};

// Closest point of the segment from `start` to `end` to p: updates *best_squared_distance and
// *best_s (the point is start + s (end - start), s in [0, 1]) when it is nearer. At s = 0 or 1
// the endpoint itself is used, not start + s (end - start).
inline void ClosestOnSegment(const Eigen::Vector3d& p, const Eigen::Vector3d& start,
                             const Eigen::Vector3d& end, double* best_squared_distance,
                             double* best_s) {
  const Eigen::Vector3d to_p = p - start;
  const Eigen::Vector3d edge = end - start;
  const double along = to_p.dot(edge);
  const double length2 = edge.squaredNorm();
  double s = 0.0;
  double d2 = 0.0;
  if (along <= 0.0 || length2 == 0.0) {
    d2 = to_p.squaredNorm();
  } else if (along >= length2) {
    s = 1.0;
    d2 = (p - end).squaredNorm();
  } else {
    s = along / length2;
    d2 = (to_p - s * edge).squaredNorm();
  }
  if (d2 < *best_squared_distance) {
    *best_squared_distance = d2;
    *best_s = s;
  }
}

// Fills *out and returns true when the triangle's closest point to p has a squared distance
// <= bound; returns false (leaving *out alone) when it is certainly farther. With an infinite
// bound it always succeeds unless p or a vertex is not finite.
inline bool ClosestOnPreparedTriangle(const PreparedTriangle& t, const Eigen::Vector3d& p,
                                      double bound, TrianglePoint* out) {
  const Eigen::Vector3d ap = p - t.a;
  double v = 0.0;
  double w = 0.0;
  double height2 = 0.0;
  if (!t.degenerate) {
    const double height = ap.dot(t.unit_normal);
    height2 = height * height;
    if (height2 > bound) return false;  // the plane is already farther
    v = ap.dot(t.to_v);
    w = ap.dot(t.to_w);
    const double u = 1.0 - v - w;
    if (v >= 0.0 && w >= 0.0 && u >= 0.0) {
      out->squared_distance = height2;
      out->barycentrics = {u, v, w};
      return true;
    }
  }
  // On the boundary: test the edges that separate the projection from the triangle (all three
  // when degenerate). Edge 0 is a->b, edge 1 is a->c, edge 2 is b->c.
  double best = std::numeric_limits<double>::infinity();
  double best_s = 0.0;
  int best_edge = -1;
  const auto test = [&](int edge, const Eigen::Vector3d& start, const Eigen::Vector3d& end) {
    const double before = best;
    ClosestOnSegment(p, start, end, &best, &best_s);
    if (best < before) best_edge = edge;
  };
  if (t.degenerate || w < 0.0) test(0, t.a, t.b);
  if (t.degenerate || v < 0.0) test(1, t.a, t.c);
  if (t.degenerate || 1.0 - v - w < 0.0) test(2, t.b, t.c);
  // An edge is never nearer than the plane; the max undoes rounding to the contrary, so that the
  // answer (and whether it is within the bound) does not depend on the bound.
  best = std::max(best, height2);
  if (best_edge < 0 || best > bound) return false;
  out->squared_distance = best;
  switch (best_edge) {
    case 0: out->barycentrics = {1.0 - best_s, best_s, 0.0}; break;
    case 1: out->barycentrics = {1.0 - best_s, 0.0, best_s}; break;
    default: out->barycentrics = {0.0, 1.0 - best_s, best_s}; break;
  }
  return true;
}

// The closest point of triangle (a, b, c) to p (any units, one frame): squared distance and the
// barycentrics (u, v, w), so that the point is u a + v b + w c.
inline TrianglePoint ClosestPointOnTriangle(const Eigen::Vector3d& p, const Eigen::Vector3d& a,
                                            const Eigen::Vector3d& b, const Eigen::Vector3d& c) {
  TrianglePoint result;
  ClosestOnPreparedTriangle(PrepareTriangle(a, b, c), p,
                            std::numeric_limits<double>::infinity(), &result);
  return result;
}

}  // namespace headtrack::internal
