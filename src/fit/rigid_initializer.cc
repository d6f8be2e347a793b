#include "headtrack/rigid_initializer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Geometry>

#include "core/stopwatch.h"
#include "fit/face_landmark_detector.h"
#include "headtrack/closest_point_query.h"
#include "headtrack/error.h"
#include "headtrack/rasterizer.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack {
namespace {

constexpr int kNumLandmarks = 68;
constexpr int kFirstNonJawLandmark = 17;
// The match distance halves every this many ICP iterations until it reaches the inlier distance.
constexpr int kIterationsPerHalving = 3;
// Fewer matches than this cannot constrain a pose (7 unknowns at most).
constexpr int kMinMatches = 12;
// Head center below the top of the body and behind its front, in head radii: the skull's center
// lies about 11 cm below the top of the hair and 7 cm behind the face or cheek.
constexpr double kCenterBelowTop = 0.8;
constexpr double kCenterBehindFront = 0.5;
// Bodies whose median depth is within this distance (metres) of the nearest one compete for the
// head: the highest top wins (a chest can be nearer than the face).
constexpr double kCompetingBodyDepth = 0.15;

// Selects a quantile of `values` (reorders them); values must not be empty.
double Quantile(std::vector<double>* values, double q) {
  const size_t k = static_cast<size_t>(q * static_cast<double>(values->size() - 1) + 0.5);
  std::nth_element(values->begin(), values->begin() + static_cast<long>(k), values->end());
  return (*values)[k];
}

// The model's surface in the head frame, with its closest-point structure.
struct ModelSurface {
  Points3f vertices;                   // V x 3, head frame, metres (rest pose of the identity)
  Points3f normals;                    // V x 3 vertex normals of `faces`
  Triangles faces;                     // the triangles of regions and context regions
  std::vector<std::uint8_t> is_match;  // per row of faces: 1 for `regions`, 0 for context
  std::vector<int> surface_vertices;   // vertices of `faces`
  std::unique_ptr<ClosestPointQuery> query;
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // head frame: box center of `regions`

  // The first identity components, added to the given identity during refinement.
  Points3f base_vertices;  // V x 3: the given identity's rest shape
  Eigen::MatrixXf basis;   // 3V x K, row 3v + c
  Eigen::VectorXd offset;  // K coefficients added to the given identity

  int num_components() const { return static_cast<int>(basis.cols()); }

  // Moves the surface to base_vertices + basis * offset.
  void SetOffset(const Eigen::VectorXd& new_offset) {
    offset = new_offset;
    const Eigen::VectorXf flat = basis * offset.cast<float>();
    vertices = base_vertices + Eigen::Map<const Points3f>(flat.data(), vertices.rows(), 3);
    TriangleMesh mesh;
    mesh.vertices = vertices;
    mesh.faces = faces;
    normals = mesh.ComputeVertexNormals();
    query->Refit(vertices);
  }
};

ModelSurface BuildModelSurface(const HeadModel& model, const IdentityShape& identity_shape,
                               const RigidInitOptions& options) {
  ModelSurface surface;
  model.Evaluate(identity_shape, model.ZeroExpression(), {}, SimilarityTransform::Identity(),
                 &surface.vertices);
  const bool has_regions = !model.region_names().empty();
  const std::vector<int> match_triangles =
      has_regions ? model.RegionTriangles(options.regions) : model.RegionTriangles({});
  std::vector<std::string> context;
  if (has_regions) {
    for (const std::string& name : options.context_regions) {
      if (model.RegionIndex(name) >= 0) context.push_back(name);
    }
  }
  std::vector<int> context_triangles;
  if (!context.empty()) context_triangles = model.RegionTriangles(context);

  std::vector<std::uint8_t> kind(model.num_triangles(), 0);  // 1 context, 2 match
  for (int t : context_triangles) kind[t] = 1;
  for (int t : match_triangles) kind[t] = 2;
  const Triangles& all = model.triangles();
  const long count = std::count_if(kind.begin(), kind.end(), [](std::uint8_t k) { return k > 0; });
  surface.faces.resize(count, 3);
  surface.is_match.reserve(count);
  std::vector<std::uint8_t> used(model.num_vertices(), 0);
  Eigen::Array3d lo = Eigen::Array3d::Constant(std::numeric_limits<double>::infinity());
  Eigen::Array3d hi = -lo;
  long row = 0;
  for (int t = 0; t < model.num_triangles(); ++t) {
    if (kind[t] == 0) continue;
    surface.faces.row(row++) = all.row(t);
    surface.is_match.push_back(kind[t] == 2 ? 1 : 0);
    for (int c = 0; c < 3; ++c) {
      const int v = all(t, c);
      used[v] = 1;
      if (kind[t] == 2) {
        const Eigen::Array3d p = surface.vertices.row(v).transpose().cast<double>().array();
        lo = lo.min(p);
        hi = hi.max(p);
      }
    }
  }
  for (int v = 0; v < model.num_vertices(); ++v) {
    if (used[v]) surface.surface_vertices.push_back(v);
  }
  if (!match_triangles.empty()) surface.center = (0.5 * (lo + hi)).matrix();

  TriangleMesh mesh;
  mesh.vertices = surface.vertices;
  mesh.faces = surface.faces;
  surface.normals = mesh.ComputeVertexNormals();
  surface.query = std::make_unique<ClosestPointQuery>(surface.vertices, surface.faces);
  surface.base_vertices = surface.vertices;
  surface.basis =
      model.identity_basis().leftCols(std::min(options.identity_components, model.num_identity()));
  surface.offset = Eigen::VectorXd::Zero(surface.num_components());
  return surface;
}

// Scan points (camera frame, metres) with their normals (unit, toward the camera; NaN when the
// scan has none).
struct ScanPoints {
  std::vector<Eigen::Vector3d> points;
  std::vector<Eigen::Vector3d> normals;
  int size() const { return static_cast<int>(points.size()); }
};

bool UsablePoint(const PointCloud& scan, int i) {
  if (!scan.points.row(i).allFinite()) return false;
  return scan.normals.rows() == 0 || scan.normals.row(i).allFinite();
}

// The usable scan points within `radius` of `center`, an even subsample of at most max_points.
ScanPoints PointsNear(const PointCloud& scan, const Eigen::Vector3d& center, double radius,
                      int max_points) {
  std::vector<int> near;
  for (int i = 0; i < scan.size(); ++i) {
    if (!UsablePoint(scan, i)) continue;
    if ((scan.points.row(i).transpose().cast<double>() - center).squaredNorm() <= radius * radius) {
      near.push_back(i);
    }
  }
  const double step = std::max(1.0, static_cast<double>(near.size()) / max_points);
  ScanPoints result;
  for (double k = 0.0; k < static_cast<double>(near.size()); k += step) {
    const int i = near[static_cast<size_t>(k)];
    result.points.push_back(scan.points.row(i).transpose().cast<double>());
    Eigen::Vector3d normal = Eigen::Vector3d::Constant(std::numeric_limits<double>::quiet_NaN());
    if (scan.normals.rows() > 0) normal = scan.normals.row(i).transpose().cast<double>();
    result.normals.push_back(normal);
  }
  return result;
}

// Below this share of valid pixels in their bounding box, an organized scan counts as sparse.
constexpr double kSparseDensity = 0.2;

// Where the head is: the top of the body, found on the scan grid.
struct HeadLocation {
  bool found = false;
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // camera frame, metres
  std::string message;
};

HeadLocation LocateHead(const PointCloud& scan, const PinholeCamera& camera,
                        const RigidInitOptions& options) {
  HeadLocation location;
  const int n = scan.size();
  // Connected surfaces: 4-neighbours on the grid closer than connect_jump_m in depth. An
  // unorganized cloud is one surface.
  std::vector<int> label(n, -1);
  int num_labels = 0;
  // Sparse depth (a few thousand scattered pixels, DPHM's sparsity study) has no grid
  // neighbours: it is one surface, of unknown area.
  bool sparse = false;
  if (scan.is_organized()) {
    int usable = 0, x_min = scan.width, x_max = -1, y_min = scan.height, y_max = -1;
    for (int i = 0; i < n; ++i) {
      if (!UsablePoint(scan, i)) continue;
      ++usable;
      x_min = std::min(x_min, i % scan.width), x_max = std::max(x_max, i % scan.width);
      y_min = std::min(y_min, i / scan.width), y_max = std::max(y_max, i / scan.width);
    }
    const double box = usable > 0 ? double(x_max - x_min + 1) * (y_max - y_min + 1) : 1.0;
    sparse = usable > 0 && usable < kSparseDensity * box;
  }
  if (scan.is_organized() && !sparse) {
    std::vector<int> stack;
    for (int seed = 0; seed < n; ++seed) {
      if (label[seed] >= 0 || !UsablePoint(scan, seed)) continue;
      label[seed] = num_labels;
      stack.assign(1, seed);
      while (!stack.empty()) {
        const int i = stack.back();
        stack.pop_back();
        const int x = i % scan.width;
        const int y = i / scan.width;
        const int neighbours[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (const auto& [nx, ny] : neighbours) {
          if (nx < 0 || ny < 0 || nx >= scan.width || ny >= scan.height) continue;
          const int j = ny * scan.width + nx;
          if (label[j] >= 0 || !UsablePoint(scan, j)) continue;
          if (std::abs(scan.points(j, 2) - scan.points(i, 2)) > options.connect_jump_m) continue;
          label[j] = num_labels;
          stack.push_back(j);
        }
      }
      ++num_labels;
    }
  } else {
    for (int i = 0; i < n; ++i) {
      if (UsablePoint(scan, i)) label[i] = 0;
    }
    num_labels = 1;
  }
  if (std::none_of(label.begin(), label.end(), [](int l) { return l >= 0; })) {
    location.message = "the scan has no valid points";
    return location;
  }

  // Area of each surface (a pixel at depth z covers z^2 / (fx fy) square metres) and its depths.
  std::vector<double> area(num_labels, 0.0);
  std::vector<std::vector<double>> depths(num_labels);
  for (int i = 0; i < n; ++i) {
    if (label[i] < 0) continue;
    const double z = scan.points(i, 2);
    area[label[i]] += z * z / (camera.fx * camera.fy);
    depths[label[i]].push_back(z);
  }
  std::vector<double> median_depth(num_labels, std::numeric_limits<double>::infinity());
  double nearest = std::numeric_limits<double>::infinity();
  double largest_area = 0.0;
  for (int l = 0; l < num_labels; ++l) {
    largest_area = std::max(largest_area, area[l]);
    if (area[l] < options.min_surface_m2 && !sparse) continue;
    median_depth[l] = Quantile(&depths[l], 0.5);
    nearest = std::min(nearest, median_depth[l]);
  }
  if (!std::isfinite(nearest)) {
    std::ostringstream message;
    message << "no surface of at least " << options.min_surface_m2 << " m^2 (largest "
            << largest_area << " m^2)";
    location.message = message.str();
    return location;
  }

  // Among the nearest bodies, the one reaching highest in the image (smallest y / z); its top is
  // a low quantile, robust to a few flying pixels.
  std::vector<std::vector<double>> elevations(num_labels);
  for (int i = 0; i < n; ++i) {
    const int l = label[i];
    if (l >= 0 && median_depth[l] <= nearest + kCompetingBodyDepth) {
      elevations[l].push_back(scan.points(i, 1) / scan.points(i, 2));
    }
  }
  int body = -1;
  double body_top = std::numeric_limits<double>::infinity();
  for (int l = 0; l < num_labels; ++l) {
    if (elevations[l].empty()) continue;
    const double top = Quantile(&elevations[l], 0.02);
    if (top < body_top) {
      body_top = top;
      body = l;
    }
  }
  // The top slab of the body, 2 head radii tall: its top, middle and front.
  double y_top = std::numeric_limits<double>::infinity();
  for (int i = 0; i < n; ++i) {
    if (label[i] == body && scan.points(i, 1) / scan.points(i, 2) <= body_top) {
      y_top = std::min<double>(y_top, scan.points(i, 1));
    }
  }
  std::vector<double> xs;
  std::vector<double> zs;
  for (int i = 0; i < n; ++i) {
    if (label[i] == body && scan.points(i, 1) <= y_top + 2.0 * options.head_radius_m) {
      xs.push_back(scan.points(i, 0));
      zs.push_back(scan.points(i, 2));
    }
  }
  location.found = true;
  location.center = {Quantile(&xs, 0.5), y_top + kCenterBelowTop * options.head_radius_m,
                     Quantile(&zs, 0.05) + kCenterBehindFront * options.head_radius_m};
  return location;
}

// The outcome of ICP at the final match distance.
struct Alignment {
  SimilarityTransform cam_from_head;
  double score = 0.0;  // sum of the inliers' Tukey weights
  int num_inliers = 0;
  double rms_m = 0.0;
};

// Matches of scan points to the model at match distance `tau`, with point-to-plane residuals in
// the head frame; accumulates the Gauss-Newton system of an increment applied to the scan points
// in the head frame, x -> exp(s) exp([w]x) x + t, unknowns (w, t[, s]).
// With num_components > 0, the surface's identity offset is an unknown too (after the 7).
struct MatchStatistics {
  Eigen::MatrixXd hessian;
  Eigen::VectorXd gradient;
  double score = 0.0;
  int num_matches = 0;
  double squared_residuals = 0.0;
};

MatchStatistics Match(const ModelSurface& surface, const ScanPoints& scan,
                      const SimilarityTransform& cam_from_head, double tau, int num_components,
                      const RigidInitOptions& options) {
  const SimilarityTransform head_from_cam = cam_from_head.Inverse();
  Points3f queries(scan.size(), 3);
  for (int i = 0; i < scan.size(); ++i) {
    queries.row(i) = (head_from_cam * scan.points[i]).transpose().cast<float>();
  }
  ClosestPointQueryOptions query_options;
  query_options.max_distance = tau;
  query_options.num_threads = options.num_threads;
  const std::vector<ClosestPoint> closest = surface.query->QueryMany(queries, query_options);
  const double min_cos = std::cos(options.max_normal_angle_deg * std::numbers::pi / 180.0);

  MatchStatistics stats;
  const int num_unknowns = 7 + num_components;
  stats.hessian = Eigen::MatrixXd::Zero(num_unknowns, num_unknowns);
  stats.gradient = Eigen::VectorXd::Zero(num_unknowns);
  Eigen::VectorXd jacobian(num_unknowns);
  for (int i = 0; i < scan.size(); ++i) {
    const ClosestPoint& match = closest[i];
    if (!match.found() || !surface.is_match[match.triangle]) continue;
    const Eigen::Vector3d normal = surface.query->InterpolatedNormal(match, surface.normals);
    const Eigen::Vector3d& scan_normal = scan.normals[i];
    if (scan_normal.allFinite() && normal.dot(head_from_cam.rotation * scan_normal) < min_cos) {
      continue;
    }
    const Eigen::Vector3d q = queries.row(i).transpose().cast<double>();
    const double distance = match.distance();
    const double u = distance / tau;
    const double weight = (1.0 - u * u) * (1.0 - u * u);
    const double residual = normal.dot(q - match.point);
    jacobian.head<3>() = q.cross(normal);
    jacobian.segment<3>(3) = normal;
    jacobian(6) = normal.dot(q);
    if (num_components > 0) {
      // The closest point moves with the identity offset: y = sum_k b_k (v_k + B_k offset).
      Eigen::RowVectorXd shape_jacobian = Eigen::RowVectorXd::Zero(num_components);
      for (int c = 0; c < 3; ++c) {
        const int v = surface.faces(match.triangle, c);
        shape_jacobian -= match.barycentrics(c) * normal.transpose() *
                          surface.basis.middleRows(3 * v, 3).cast<double>();
      }
      jacobian.tail(num_components) = shape_jacobian.transpose();
    }
    stats.hessian.selfadjointView<Eigen::Upper>().rankUpdate(jacobian, weight);
    stats.gradient += weight * residual * jacobian;
    stats.score += weight;
    stats.squared_residuals += residual * residual;
    ++stats.num_matches;
  }
  stats.hessian.triangularView<Eigen::StrictlyLower>() = stats.hessian.transpose().eval();
  return stats;
}

// Robust point-to-plane ICP from cam_from_head; the match distance shrinks from
// initial_inlier_distance_m to inlier_distance_m. With fit_identity, the surface's identity
// offset is estimated too (and left in *surface).
Alignment RunIcp(ModelSurface* surface, const ScanPoints& scan, SimilarityTransform cam_from_head,
                 int iterations, bool fit_identity, const RigidInitOptions& options) {
  const int num_components = fit_identity ? surface->num_components() : 0;
  // Pose unknowns first (scale only if estimated), then the identity offset.
  std::vector<int> unknowns = {0, 1, 2, 3, 4, 5};
  if (options.estimate_scale) unknowns.push_back(6);
  for (int k = 0; k < num_components; ++k) unknowns.push_back(7 + k);
  const int n = static_cast<int>(unknowns.size());
  for (int k = 0; k < iterations; ++k) {
    const double tau =
        std::max(options.inlier_distance_m,
                 options.initial_inlier_distance_m * std::pow(0.5, k / kIterationsPerHalving));
    const MatchStatistics stats =
        Match(*surface, scan, cam_from_head, tau, num_components, options);
    if (stats.num_matches < kMinMatches) break;
    Eigen::MatrixXd hessian = stats.hessian(unknowns, unknowns);
    Eigen::VectorXd gradient = stats.gradient(unknowns);
    hessian.diagonal().array() += 1e-9;
    // Prior: identity_prior_m^2 per match and unit coefficient (one standard deviation).
    const double prior = stats.num_matches * options.identity_prior_m * options.identity_prior_m;
    for (int c = 0; c < num_components; ++c) {
      hessian(n - num_components + c, n - num_components + c) += prior;
      gradient(n - num_components + c) += prior * surface->offset(c);
    }
    const Eigen::VectorXd solution = -hessian.ldlt().solve(gradient);
    if (!solution.allFinite()) break;
    if (num_components > 0) surface->SetOffset(surface->offset + solution.tail(num_components));
    // The increment moves the scan points in the head frame: head_from_cam <- increment * it.
    SimilarityTransform increment;
    const Eigen::Vector3d w = solution.head<3>();
    if (w.norm() > 0.0) increment.rotation = Eigen::AngleAxisd(w.norm(), w / w.norm()).matrix();
    increment.translation = solution.segment<3>(3);
    const double log_scale = options.estimate_scale ? solution(6) : 0.0;
    increment.scale = std::exp(log_scale);
    SimilarityTransform head_from_cam = increment * cam_from_head.Inverse();
    head_from_cam.rotation = Eigen::Quaterniond(head_from_cam.rotation).normalized().matrix();
    cam_from_head = head_from_cam.Inverse();
    const bool converged =
        w.norm() < 1e-5 && increment.translation.norm() < 1e-6 && std::abs(log_scale) < 1e-6;
    if (converged && tau <= options.inlier_distance_m) break;
  }
  const MatchStatistics final_stats =
      Match(*surface, scan, cam_from_head, options.inlier_distance_m, 0, options);
  Alignment alignment;
  alignment.cam_from_head = cam_from_head;
  alignment.score = final_stats.score;
  alignment.num_inliers = final_stats.num_matches;
  alignment.rms_m = final_stats.num_matches > 0
                        ? std::sqrt(final_stats.squared_residuals / final_stats.num_matches)
                        : 0.0;
  return alignment;
}

// Moves cam_from_head so that the model surface it shows the camera (vertices facing it, near
// `center`) has the centroid of `scan`.
SimilarityTransform CenterOnScan(const ModelSurface& surface, const ScanPoints& scan,
                                 SimilarityTransform cam_from_head, const Eigen::Vector3d& center,
                                 double radius) {
  Eigen::Vector3d scan_centroid = Eigen::Vector3d::Zero();
  for (const Eigen::Vector3d& p : scan.points) scan_centroid += p;
  scan_centroid /= scan.size();
  for (int pass = 0; pass < 2; ++pass) {
    Eigen::Vector3d model_centroid = Eigen::Vector3d::Zero();
    int count = 0;
    for (int v : surface.surface_vertices) {
      const Eigen::Vector3d p = cam_from_head * surface.vertices.row(v).transpose().cast<double>();
      const Eigen::Vector3d n =
          cam_from_head.rotation * surface.normals.row(v).transpose().cast<double>();
      if (n.dot(p) < 0.0 && (p - center).norm() <= radius) {
        model_centroid += p;
        ++count;
      }
    }
    if (count == 0) break;
    cam_from_head.translation += scan_centroid - model_centroid / count;
  }
  return cam_from_head;
}

// Renders the model surface at cam_from_head and compares it with the scan pixel by pixel: the
// fraction of the pixels where `regions` is visible and the scan valid whose depths differ by at
// most max_difference_m; -1 when the scan is not organized like the camera.
double FaceAgreement(const ModelSurface& surface, const PointCloud& scan,
                     const PinholeCamera& camera, const SimilarityTransform& cam_from_head,
                     double max_difference_m, int num_threads) {
  if (!scan.is_organized() || scan.width != camera.width || scan.height != camera.height) {
    return -1.0;
  }
  Points3f vertices = surface.vertices;
  cam_from_head.TransformPoints(vertices);
  RasterizerOptions options;
  options.compute_points_and_normals = false;
  options.num_threads = num_threads;
  Rasterizer rasterizer(options);
  Rasterization rasterization;
  rasterizer.Rasterize(camera, vertices, surface.faces, &rasterization);
  int compared = 0;
  int agreeing = 0;
  for (int y = 0; y < camera.height; ++y) {
    for (int x = 0; x < camera.width; ++x) {
      const int triangle = rasterization.triangle_id.at(x, y);
      const int i = y * camera.width + x;
      if (triangle < 0 || !surface.is_match[triangle] || !scan.points.row(i).allFinite()) continue;
      ++compared;
      if (std::abs(rasterization.depth.at(x, y) - scan.points(i, 2)) <= max_difference_m) {
        ++agreeing;
      }
    }
  }
  return compared > 0 ? static_cast<double>(agreeing) / compared : 0.0;
}

// Refines cam_from_head on the scan points near the model's head center and fills the summary.
void RefineAndSummarize(ModelSurface* surface, const PointCloud& scan,
                        const SimilarityTransform& cam_from_head, const Eigen::VectorXf& identity,
                        const PinholeCamera& camera, const RigidInitOptions& options,
                        RigidInitSummary* summary) {
  const ScanPoints points = PointsNear(scan, cam_from_head * surface->center, options.head_radius_m,
                                       options.refine_points);
  Alignment alignment = {cam_from_head};
  if (points.size() >= kMinMatches) {
    alignment = RunIcp(surface, points, cam_from_head, options.refine_iterations,
                       surface->num_components() > 0, options);
  }
  summary->cam_from_head = alignment.cam_from_head;
  const int num_components = surface->num_components();
  summary->identity =
      Eigen::VectorXf::Zero(std::max<Eigen::Index>(identity.size(), num_components));
  summary->identity.head(identity.size()) = identity;
  summary->identity.head(num_components) += surface->offset.cast<float>();
  summary->num_inliers = alignment.num_inliers;
  summary->num_scan_points = points.size();
  summary->rms_m = alignment.rms_m;
  summary->inlier_fraction =
      points.size() > 0 ? static_cast<double>(alignment.num_inliers) / points.size() : 0.0;

  summary->face_agreement = FaceAgreement(*surface, scan, camera, alignment.cam_from_head,
                                          options.inlier_distance_m, options.num_threads);

  std::ostringstream message;
  message << alignment.num_inliers << " of " << points.size() << " scan points near the head ("
          << static_cast<int>(100.0 * summary->inlier_fraction + 0.5) << "%) within "
          << options.inlier_distance_m * 1000.0 << " mm, RMS " << summary->rms_m * 1000.0 << " mm";
  if (summary->face_agreement >= 0.0) {
    message << ", face agreement " << static_cast<int>(100.0 * summary->face_agreement + 0.5)
            << "%";
  }
  summary->found =
      alignment.num_inliers >= options.min_inliers &&
      summary->inlier_fraction >= options.min_inlier_fraction &&
      summary->rms_m <= options.max_rms_m &&
      (summary->face_agreement < 0.0 || summary->face_agreement >= options.min_face_agreement);
  if (!summary->found) {
    message << ": not a head alignment (needs " << options.min_inliers << " inliers, "
            << options.min_inlier_fraction * 100.0 << "%, RMS <= " << options.max_rms_m * 1000.0
            << " mm, face agreement " << options.min_face_agreement * 100.0 << "%)";
  }
  summary->message = message.str();
}

void CheckScan(const PointCloud& scan) {
  HT_CHECK(
      scan.normals.rows() == 0 || scan.normals.rows() == scan.points.rows(),
      "scan has " << scan.normals.rows() << " normals for " << scan.points.rows() << " points");
}

}  // namespace

void RigidInitOptions::Check() const {
  HT_CHECK(connect_jump_m > 0.0, "connect_jump_m " << connect_jump_m);
  HT_CHECK(min_surface_m2 >= 0.0, "min_surface_m2 " << min_surface_m2);
  HT_CHECK(head_radius_m > 0.0 && std::isfinite(head_radius_m), "head_radius_m " << head_radius_m);
  HT_CHECK(!hypotheses_yaw_pitch_deg.empty(), "no rotation hypotheses");
  for (const Eigen::Vector2d& h : hypotheses_yaw_pitch_deg) {
    HT_CHECK(h.allFinite(), "hypothesis " << h.transpose() << " is not finite");
  }
  HT_CHECK(hypothesis_iterations >= 0, "hypothesis_iterations " << hypothesis_iterations);
  HT_CHECK(refine_iterations >= 0, "refine_iterations " << refine_iterations);
  HT_CHECK(hypothesis_points >= kMinMatches, "hypothesis_points " << hypothesis_points);
  HT_CHECK(refine_points >= kMinMatches, "refine_points " << refine_points);
  HT_CHECK(inlier_distance_m > 0.0 && initial_inlier_distance_m >= inlier_distance_m,
           "match distances " << initial_inlier_distance_m << " -> " << inlier_distance_m
                              << " m: need initial >= final > 0");
  HT_CHECK(max_normal_angle_deg > 0.0 && max_normal_angle_deg <= 180.0,
           "max_normal_angle_deg " << max_normal_angle_deg);
  HT_CHECK(min_inliers >= 0, "min_inliers " << min_inliers);
  HT_CHECK(min_inlier_fraction >= 0.0 && min_inlier_fraction <= 1.0,
           "min_inlier_fraction " << min_inlier_fraction);
  HT_CHECK(max_rms_m > 0.0, "max_rms_m " << max_rms_m);
  HT_CHECK(min_face_agreement >= 0.0 && min_face_agreement <= 1.0,
           "min_face_agreement " << min_face_agreement);
  HT_CHECK(landmark_outlier_m > 0.0, "landmark_outlier_m " << landmark_outlier_m);
  HT_CHECK(min_landmarks >= 3, "min_landmarks " << min_landmarks << " must be at least 3");
  HT_CHECK(identity_components >= 0, "identity_components " << identity_components);
  HT_CHECK(identity_prior_m > 0.0, "identity_prior_m " << identity_prior_m);
  HT_CHECK(num_threads >= 0, "num_threads " << num_threads);
}

RigidInitSummary InitializeRigidFromDepth(const HeadModel& model,
                                          const IdentityShape& identity_shape,
                                          const PointCloud& scan, const PinholeCamera& camera,
                                          const RigidInitOptions& options) {
  const Stopwatch stopwatch;
  options.Check();
  camera.Check();
  CheckScan(scan);
  RigidInitSummary summary;
  const HeadLocation head = LocateHead(scan, camera, options);
  if (!head.found) {
    summary.message = "no head found: " + head.message;
    summary.seconds = stopwatch.seconds();
    return summary;
  }
  ModelSurface surface = BuildModelSurface(model, identity_shape, options);
  const ScanPoints points =
      PointsNear(scan, head.center, options.head_radius_m, options.hypothesis_points);
  if (points.size() < kMinMatches) {
    summary.message = "no head found: too few scan points near the top of the nearest surface";
    summary.seconds = stopwatch.seconds();
    return summary;
  }

  // The head faces the camera upright when its +y is the camera's -y and its +z the camera's -z.
  const Eigen::Matrix3d cam_from_front = Eigen::Vector3d(1, -1, -1).asDiagonal();
  Alignment best;
  best.score = -1.0;
  for (const Eigen::Vector2d& yaw_pitch : options.hypotheses_yaw_pitch_deg) {
    SimilarityTransform cam_from_head = SimilarityTransform::FromYawPitchRoll(
        yaw_pitch.x(), yaw_pitch.y(), 0.0, Eigen::Vector3d::Zero());
    cam_from_head.rotation = cam_from_front * cam_from_head.rotation;
    cam_from_head.translation = head.center - cam_from_head.rotation * surface.center;
    cam_from_head =
        CenterOnScan(surface, points, cam_from_head, head.center, options.head_radius_m);
    const Alignment alignment =
        RunIcp(&surface, points, cam_from_head, options.hypothesis_iterations, false, options);
    ++summary.hypotheses_tried;
    if (alignment.score > best.score) best = alignment;
  }
  RefineAndSummarize(&surface, scan, best.cam_from_head, identity_shape.identity, camera, options,
                     &summary);
  summary.seconds = stopwatch.seconds();
  return summary;
}

RigidInitSummary AlignLandmarks(const HeadModel& model, const IdentityShape& identity_shape,
                                const std::vector<Eigen::Vector2d>& landmarks_px,
                                const PointCloud& scan, const PinholeCamera& camera,
                                const RigidInitOptions& options) {
  const Stopwatch stopwatch;
  options.Check();
  camera.Check();
  CheckScan(scan);
  HT_CHECK(landmarks_px.size() == kNumLandmarks,
           landmarks_px.size() << " landmarks; expected the iBUG " << kNumLandmarks);
  RigidInitSummary summary;
  summary.hypotheses_tried = 1;
  const std::vector<int>& landmark_vertices = model.landmark_vertices();
  if (static_cast<int>(landmark_vertices.size()) != kNumLandmarks) {
    summary.message = "the model has no iBUG-68 landmark vertices";
    summary.seconds = stopwatch.seconds();
    return summary;
  }
  if (!scan.is_organized()) {
    summary.message = "landmarks need an organized scan (one point per pixel)";
    summary.seconds = stopwatch.seconds();
    return summary;
  }

  // Lift each landmark to the scan point at its pixel, or the nearest usable one within 2 px.
  Points3f shaped;
  model.Evaluate(identity_shape, model.ZeroExpression(), {}, SimilarityTransform::Identity(),
                 &shaped);
  std::vector<Eigen::Vector3d> model_points;  // head frame
  std::vector<Eigen::Vector3d> scan_points;   // camera frame
  const int first = options.use_jaw_landmarks ? 0 : kFirstNonJawLandmark;
  constexpr int kSearchRadius = 2;
  for (int k = first; k < kNumLandmarks; ++k) {
    const Eigen::Vector2d& pixel = landmarks_px[k];
    if (!pixel.allFinite()) continue;
    const long px = std::lround(pixel.x());
    const long py = std::lround(pixel.y());
    int best = -1;
    long best_distance = std::numeric_limits<long>::max();
    for (long y = py - kSearchRadius; y <= py + kSearchRadius; ++y) {
      for (long x = px - kSearchRadius; x <= px + kSearchRadius; ++x) {
        if (x < 0 || y < 0 || x >= scan.width || y >= scan.height) continue;
        const int i = static_cast<int>(y * scan.width + x);
        const long distance = (x - px) * (x - px) + (y - py) * (y - py);
        if (distance < best_distance && UsablePoint(scan, i)) {
          best = i;
          best_distance = distance;
        }
      }
    }
    if (best < 0) continue;
    model_points.push_back(shaped.row(landmark_vertices[k]).transpose().cast<double>());
    scan_points.push_back(scan.points.row(best).transpose().cast<double>());
  }
  const int num_lifted = static_cast<int>(model_points.size());
  if (num_lifted < options.min_landmarks) {
    std::ostringstream message;
    message << "only " << num_lifted << " of " << kNumLandmarks - first
            << " landmarks have depth; need " << options.min_landmarks;
    summary.message = message.str();
    summary.seconds = stopwatch.seconds();
    return summary;
  }

  // Umeyama on the kept landmarks; drop those far from their model landmark and fit again.
  std::vector<int> kept(num_lifted);
  for (int i = 0; i < num_lifted; ++i) kept[i] = i;
  SimilarityTransform cam_from_head;
  for (int round = 0; round < 4; ++round) {
    Eigen::Matrix3Xd from(3, kept.size());
    Eigen::Matrix3Xd to(3, kept.size());
    for (size_t j = 0; j < kept.size(); ++j) {
      from.col(static_cast<long>(j)) = model_points[kept[j]];
      to.col(static_cast<long>(j)) = scan_points[kept[j]];
    }
    const Eigen::Matrix4d similarity = Eigen::umeyama(from, to, options.estimate_scale);
    const double scale = similarity.topLeftCorner<3, 3>().col(0).norm();
    cam_from_head.scale = scale;
    cam_from_head.rotation = similarity.topLeftCorner<3, 3>() / scale;
    cam_from_head.translation = similarity.topRightCorner<3, 1>();

    std::vector<double> residuals(num_lifted);
    for (int i = 0; i < num_lifted; ++i) {
      residuals[i] = (cam_from_head * model_points[i] - scan_points[i]).norm();
    }
    std::vector<double> kept_residuals;
    for (int i : kept) kept_residuals.push_back(residuals[i]);
    const double threshold =
        std::max(options.landmark_outlier_m, 3.0 * Quantile(&kept_residuals, 0.5));
    std::vector<int> inliers;
    for (int i = 0; i < num_lifted; ++i) {
      if (residuals[i] <= threshold) inliers.push_back(i);
    }
    if (inliers == kept || static_cast<int>(inliers.size()) < options.min_landmarks) break;
    kept = inliers;
  }
  summary.landmarks_used = static_cast<int>(kept.size());

  ModelSurface surface = BuildModelSurface(model, identity_shape, options);
  RefineAndSummarize(&surface, scan, cam_from_head, identity_shape.identity, camera, options,
                     &summary);
  summary.message = std::to_string(summary.landmarks_used) + " landmarks, " + summary.message;
  summary.seconds = stopwatch.seconds();
  return summary;
}

RigidInitSummary InitializeRigidFromLandmarks(const HeadModel& model,
                                              const IdentityShape& identity_shape,
                                              const ColorImage& color, const PointCloud& scan,
                                              const PinholeCamera& camera,
                                              const RigidInitOptions& options) {
  const Stopwatch stopwatch;
  options.Check();
  FaceLandmarkDetector detector(options.landmark_model_path);
  std::vector<Eigen::Vector2d> landmarks = detector.Detect(color);
  RigidInitSummary summary;
  if (landmarks.empty()) {
    summary.message = "no face detected in the color image";
  } else if (!scan.is_organized()) {
    summary.message = "landmarks need an organized scan (one point per pixel)";
  } else {
    // Pixel centers sit at integers: u_scan + 0.5 = (u_color + 0.5) * scan width / color width.
    const double sx = static_cast<double>(scan.width) / color.width;
    const double sy = static_cast<double>(scan.height) / color.height;
    for (Eigen::Vector2d& pixel : landmarks) {
      pixel = {(pixel.x() + 0.5) * sx - 0.5, (pixel.y() + 0.5) * sy - 0.5};
    }
    summary = AlignLandmarks(model, identity_shape, landmarks, scan, camera, options);
  }
  summary.seconds = stopwatch.seconds();
  return summary;
}

}  // namespace headtrack
