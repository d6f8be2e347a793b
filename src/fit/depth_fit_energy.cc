#include "headtrack/depth_fit_energy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <omp.h>

#include "core/stopwatch.h"
#include "fit/rotation_difference.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

using RowMajorXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMajorX3d = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;

Eigen::Matrix3d Skew(const Eigen::Vector3d& a) {
  Eigen::Matrix3d m;
  m << 0, -a.z(), a.y(), a.z(), 0, -a.x(), -a.y(), a.x(), 0;
  return m;
}

// rho(s) and rho'(s) of a squared residual norm s (threshold c in the residual's units).
struct LossValue {
  double rho;
  double derivative;
};

LossValue EvaluateLoss(RobustLoss loss, double c, double s) {
  switch (loss) {
    case RobustLoss::kNone:
      return {s, 1.0};
    case RobustLoss::kHuber: {
      const double c2 = c * c;
      if (s <= c2) return {s, 1.0};
      const double r = std::sqrt(s);
      return {2.0 * c * r - c2, c / r};
    }
    case RobustLoss::kTukey: {
      const double c2 = c * c;
      if (s >= c2) return {c2 / 3.0, 0.0};
      const double u = 1.0 - s / c2;
      return {c2 / 3.0 * (1.0 - u * u * u), u * u};
    }
  }
  return {s, 1.0};
}

}  // namespace

void DepthFitOptions::Check() const {
  HT_CHECK(!regions.empty(), "DepthFitOptions::regions must name at least one region");
  HT_CHECK(max_distance_m > 0, "DepthFitOptions::max_distance_m must be > 0, got " << max_distance_m);
  HT_CHECK(min_normal_dot >= -1 && min_normal_dot <= 1,
           "DepthFitOptions::min_normal_dot must be in [-1, 1], got " << min_normal_dot);
  HT_CHECK(pixel_stride >= 1, "DepthFitOptions::pixel_stride must be >= 1, got " << pixel_stride);
  HT_CHECK(sigma_m > 0 && landmark_sigma_m > 0 && temporal_rotation_sigma > 0 &&
               temporal_translation_sigma_m > 0,
           "DepthFitOptions: every sigma must be > 0");
  HT_CHECK(loss_threshold > 0, "DepthFitOptions::loss_threshold must be > 0");
  for (double w : {point_to_plane_weight, point_to_point_weight, landmark_weight, identity_weight,
                   expression_weight, temporal_expression_weight, temporal_joints_weight,
                   temporal_rotation_weight, temporal_translation_weight}) {
    HT_CHECK(w >= 0 && std::isfinite(w), "DepthFitOptions: weights must be finite and >= 0");
  }
  HT_CHECK(num_threads >= 0, "DepthFitOptions::num_threads must be >= 0");
}

// ---------------------------------------------------------------------------------------------

struct DepthFitEnergy::Impl {
  HeadModel model;
  DepthFitOptions options;
  ParameterLayout layout;
  bool bounded_expression = false;
  std::vector<std::uint8_t> triangle_mask;

  // Fast path (linear models): the bases' rows of the evaluated vertices, row-major (row
  // 3 slot + c holds coordinate c of evaluated vertex `slot`), so that a correspondence reads
  // 3 x 3 contiguous rows and an evaluation is one matrix-vector product.
  RowMajorXf identity_rows;
  RowMajorXf expression_rows;
  Eigen::VectorXd template_values;  // 3 x evaluated vertices
  std::vector<int> slot_of_vertex;  // V entries, -1 for vertices not evaluated

  Rasterizer rasterizer;
  Rasterization rasterization;

  // The vertices the energy reads: those of the region triangles and the landmarks.
  std::vector<int> evaluated_vertices;
  std::vector<std::uint8_t> is_evaluated;  // V entries

  // Identity caches: the shaped vertices in double (fast path, evaluated vertices only) and the
  // model's IdentityShape (models with joints).
  mutable Eigen::VectorXf shaped_identity;
  mutable bool has_shaped = false;
  mutable Eigen::VectorXd shaped;  // 3 x evaluated vertices, head frame
  mutable IdentityShape identity_shape;
  mutable bool has_identity_shape = false;

  // Per-evaluation data used by Cost / Linearize / EvaluateResiduals.
  struct Evaluation {
    // V x 3, camera frame, metres; only the evaluated vertices are set. The identity and
    // expression sums are float matrix-vector products (fast), the rest double: the cost agrees
    // with a double evaluation (Ceres) to about 1e-8 relative.
    RowMajorX3d vertices;
    Points3f vertices_f;  // the same in float, for the rasterizer
    Eigen::Matrix3d scaled_rotation;  // s R
    Eigen::Vector3d translation;
    // Derivatives of head-frame vertex positions with respect to the model parameters of the
    // layout (identity | expression | joints, in layout order), row-major, 3 rows per slot.
    RowMajorXf model_rows;
    std::vector<int> slot_of_vertex;  // V entries, -1 where not needed (generic path)
  };

  mutable Evaluation evaluation_cache;
  mutable HeadState evaluated_state;
  mutable bool has_evaluation = false;

  int model_offset() const {
    if (layout.identity >= 0) return layout.identity;
    if (layout.expression >= 0) return layout.expression;
    if (layout.joints >= 0) return layout.joints;
    return layout.size;
  }
  int num_model_columns() const { return layout.size - model_offset(); }

  const IdentityShape& ShapeFor(const Eigen::VectorXf& identity) const {
    if (!has_identity_shape || identity_shape.identity != identity) {
      identity_shape = model.ShapeIdentity(identity);
      has_identity_shape = true;
    }
    return identity_shape;
  }

  bool fast_path() const { return model.num_joints() == 0; }

  // Fast path: template + identity basis * identity of the evaluated vertices (3 per slot).
  const Eigen::VectorXd& ShapedFor(const Eigen::VectorXf& identity) const {
    if (!has_shaped || shaped_identity != identity) {
      shaped = template_values + (identity_rows * identity).cast<double>();
      shaped_identity = identity;
      has_shaped = true;
    }
    return shaped;
  }

  static bool SameState(const HeadState& a, const HeadState& b) {
    return a.identity == b.identity && a.expression == b.expression &&
           a.joint_rotations == b.joint_rotations && a.cam_from_head.scale == b.cam_from_head.scale &&
           a.cam_from_head.rotation == b.cam_from_head.rotation &&
           a.cam_from_head.translation == b.cam_from_head.translation;
  }

  // The vertices at `state` (cached: association, linearization and the cost of an accepted
  // step share one evaluation) and, when `vertices_needed` is given, the model-parameter
  // derivative rows of those vertices (models with joints).
  const Evaluation& Evaluate(const HeadState& state, const std::vector<int>* vertices_needed) const {
    Evaluation& out = evaluation_cache;
    const bool need_rows = vertices_needed != nullptr && !fast_path();
    if (has_evaluation && !need_rows && SameState(state, evaluated_state)) return out;
    const SimilarityTransform& cam_from_head = state.cam_from_head;
    out.scaled_rotation = cam_from_head.scale * cam_from_head.rotation;
    out.translation = cam_from_head.translation;
    if (out.vertices.rows() != model.num_vertices()) {
      out.vertices.setZero(model.num_vertices(), 3);
      out.vertices_f.setZero(model.num_vertices(), 3);
    }
    if (fast_path()) {
      const Eigen::VectorXd u =
          ShapedFor(state.identity) + (expression_rows * state.expression).cast<double>();
      for (size_t i = 0; i < evaluated_vertices.size(); ++i) {
        const int v = evaluated_vertices[i];
        out.vertices.row(v) =
            (out.scaled_rotation * u.segment<3>(3 * i) + out.translation).transpose();
      }
    } else {
      Points3f all;
      model.Evaluate(ShapeFor(state.identity), state.expression, state.joint_rotations,
                     cam_from_head, &all);
      for (int v : evaluated_vertices) out.vertices.row(v) = all.row(v).cast<double>();
    }
    for (int v : evaluated_vertices) out.vertices_f.row(v) = out.vertices.row(v).cast<float>();
    evaluated_state = state;
    has_evaluation = true;
    if (!need_rows) return out;

    VertexJacobians jacobians;
    model.EvaluateVertexJacobians(ShapeFor(state.identity), state.expression,
                                  state.joint_rotations, *vertices_needed, layout.identity >= 0,
                                  &jacobians);
    const int n = static_cast<int>(vertices_needed->size());
    out.model_rows.resize(3 * n, num_model_columns());
    out.slot_of_vertex.assign(model.num_vertices(), -1);
    for (int i = 0; i < n; ++i) out.slot_of_vertex[(*vertices_needed)[i]] = i;
    const int offset = model_offset();
    if (layout.identity >= 0) {
      out.model_rows.middleCols(layout.identity - offset, layout.num_identity) =
          jacobians.d_identity.cast<float>();
    }
    if (layout.expression >= 0) {
      out.model_rows.middleCols(layout.expression - offset, layout.num_expression) =
          jacobians.d_expression.cast<float>();
    }
    for (size_t j = 0; j < layout.joint_ids.size(); ++j) {
      out.model_rows.middleCols(layout.joints - offset + 3 * static_cast<int>(j), 3) =
          jacobians.d_joint_rotations.middleCols(3 * layout.joint_ids[j], 3).cast<float>();
    }
    // The rows belong to this call only: the next call recomputes them.
    has_evaluation = false;
    return out;
  }

  // G = sum_i b_i dv_i/dtheta (3 x num_model_columns, head frame) for a model point.
  void ModelPointDerivative(const Evaluation& evaluation, const std::array<int, 3>& vertices,
                            const Eigen::Vector3f& b, Eigen::Matrix<float, 3, Eigen::Dynamic>* g) const {
    g->setZero(3, num_model_columns());
    const int offset = model_offset();
    for (int i = 0; i < 3; ++i) {
      if (b[i] == 0.0f) continue;
      const int v = vertices[i];
      if (fast_path()) {
        if (layout.identity >= 0) {
          g->middleCols(layout.identity - offset, layout.num_identity) +=
              b[i] * identity_rows.middleRows(3 * slot_of_vertex[v], 3);
        }
        if (layout.expression >= 0) {
          g->middleCols(layout.expression - offset, layout.num_expression) +=
              b[i] * expression_rows.middleRows(3 * slot_of_vertex[v], 3);
        }
      } else {
        const int slot = evaluation.slot_of_vertex[v];
        HT_CHECK(slot >= 0, "vertex " << v << " has no derivative rows");
        *g += b[i] * evaluation.model_rows.middleRows(3 * slot, 3);
      }
    }
  }

  // out[0 .. num_model_columns) += sum_c m_c dv/dtheta (row c) of vertex v (head frame).
  void AccumulateModelRow(const Evaluation& evaluation, int v, const Eigen::Vector3f& m,
                          float* out) const {
    auto axpy = [&](const RowMajorXf& rows, int first_row, int count, float* target) {
      const float* r0 = rows.row(first_row).data();
      const float* r1 = rows.row(first_row + 1).data();
      const float* r2 = rows.row(first_row + 2).data();
      const float m0 = m[0], m1 = m[1], m2 = m[2];
#pragma omp simd
      for (int k = 0; k < count; ++k) target[k] += m0 * r0[k] + m1 * r1[k] + m2 * r2[k];
    };
    if (fast_path()) {
      const int slot = slot_of_vertex[v];
      const int offset = model_offset();
      if (layout.identity >= 0) {
        axpy(identity_rows, 3 * slot, layout.num_identity, out + (layout.identity - offset));
      }
      if (layout.expression >= 0) {
        axpy(expression_rows, 3 * slot, layout.num_expression, out + (layout.expression - offset));
      }
    } else {
      const int slot = evaluation.slot_of_vertex[v];
      HT_CHECK(slot >= 0, "vertex " << v << " has no derivative rows");
      axpy(evaluation.model_rows, 3 * slot, num_model_columns(), out);
    }
  }

  std::vector<int> VerticesNeeded(const FitTerms& terms) const {
    if (fast_path() || num_model_columns() == 0) return {};
    std::vector<std::uint8_t> used(model.num_vertices(), 0);
    for (const Correspondence& c : terms.correspondences) {
      for (int v : c.vertices) used[v] = 1;
    }
    for (const LandmarkTarget& l : terms.landmarks) used[l.vertex] = 1;
    std::vector<int> vertices;
    for (int v = 0; v < model.num_vertices(); ++v) {
      if (used[v]) vertices.push_back(v);
    }
    return vertices;
  }

  void CheckTerms(const HeadState& state, const FitTerms& terms) const {
    auto check_state = [&](const HeadState& s, const char* which) {
      HT_CHECK(s.identity.size() == model.num_identity() &&
                   s.expression.size() == model.num_expression() &&
                   s.joint_rotations.cols() == model.num_joints() &&
                   (model.num_joints() == 0 || s.joint_rotations.rows() == 3),
               which << " HeadState sizes do not match the model (identity " << s.identity.size()
                     << ", expression " << s.expression.size() << ", joint rotations 3 x "
                     << s.joint_rotations.cols() << ")");
    };
    check_state(state, "the");
    if (terms.previous != nullptr) check_state(*terms.previous, "the previous");
    const int num_vertices = model.num_vertices();
    for (const Correspondence& c : terms.correspondences) {
      for (int v : c.vertices) {
        HT_CHECK(v >= 0 && v < num_vertices && is_evaluated[v],
                 "correspondence vertex " << v << " is not in the regions");
      }
    }
    for (const LandmarkTarget& l : terms.landmarks) {
      HT_CHECK(l.vertex >= 0 && l.vertex < num_vertices && is_evaluated[l.vertex],
               "landmark vertex " << l.vertex << " is neither a landmark nor in the regions");
    }
  }

  Eigen::Vector3d ModelPoint(const Evaluation& evaluation, const std::array<int, 3>& vertices,
                             const Eigen::Vector3f& b) const {
    Eigen::Vector3d p = Eigen::Vector3d::Zero();
    for (int i = 0; i < 3; ++i) {
      p += static_cast<double>(b[i]) *
           evaluation.vertices.row(vertices[i]).transpose();
    }
    return p;
  }

  // Everything of the cost that is not data or landmarks (priors and temporal terms), added to
  // residual rows (when `rows` is given) or to the normal equations.
  double RegularizationCost(const HeadState& state, const FitTerms& terms) const;
  void AddRegularization(const HeadState& state, const FitTerms& terms,
                         std::vector<std::pair<Eigen::VectorXd, double>>* rows) const;
};

// Rows (Jacobian row, residual) of the regularization terms, already scaled by sqrt(weight).
void DepthFitEnergy::Impl::AddRegularization(
    const HeadState& state, const FitTerms& terms,
    std::vector<std::pair<Eigen::VectorXd, double>>* rows) const {
  const int n = layout.size;
  auto add = [&](int column, double scale, double residual) {
    Eigen::VectorXd row = Eigen::VectorXd::Zero(n);
    if (column >= 0) row[column] = scale;
    rows->emplace_back(std::move(row), scale * residual);
  };
  const double w_identity = std::sqrt(options.identity_weight);
  for (int k = 0; k < model.num_identity(); ++k) {
    add(layout.identity >= 0 ? layout.identity + k : -1, w_identity, state.identity[k]);
  }
  const double w_expression = std::sqrt(options.expression_weight);
  for (int k = 0; k < model.num_expression(); ++k) {
    add(layout.expression >= 0 ? layout.expression + k : -1, w_expression, state.expression[k]);
  }
  if (terms.previous == nullptr) return;
  const HeadState& previous = *terms.previous;
  const double w_te = std::sqrt(options.temporal_expression_weight);
  if (w_te > 0) {
    for (int k = 0; k < model.num_expression(); ++k) {
      add(layout.expression >= 0 ? layout.expression + k : -1, w_te,
          state.expression[k] - previous.expression[k]);
    }
  }
  const double w_tj = std::sqrt(options.temporal_joints_weight);
  if (w_tj > 0 && model.num_joints() > 0) {
    for (size_t j = 0; j < layout.joint_ids.size(); ++j) {
      const int joint = layout.joint_ids[j];
      for (int a = 0; a < 3; ++a) {
        add(layout.joints + 3 * static_cast<int>(j) + a, w_tj,
            state.joint_rotations(a, joint) - previous.joint_rotations(a, joint));
      }
    }
  }
  const double w_tr = std::sqrt(options.temporal_rotation_weight) / options.temporal_rotation_sigma;
  if (w_tr > 0) {
    const Eigen::Matrix3d m =
        state.cam_from_head.rotation * previous.cam_from_head.rotation.transpose();
    const Eigen::Vector3d r = internal::RotationDifference(m);
    const Eigen::Matrix3d d = 0.5 * (m.trace() * Eigen::Matrix3d::Identity() - m);
    for (int a = 0; a < 3; ++a) {
      Eigen::VectorXd row = Eigen::VectorXd::Zero(n);
      if (layout.rotation >= 0) row.segment<3>(layout.rotation) = w_tr * d.row(a).transpose();
      rows->emplace_back(std::move(row), w_tr * r[a]);
    }
  }
  const double w_tt =
      std::sqrt(options.temporal_translation_weight) / options.temporal_translation_sigma_m;
  if (w_tt > 0) {
    for (int a = 0; a < 3; ++a) {
      add(layout.translation >= 0 ? layout.translation + a : -1, w_tt,
          state.cam_from_head.translation[a] - previous.cam_from_head.translation[a]);
    }
  }
}

double DepthFitEnergy::Impl::RegularizationCost(const HeadState& state,
                                                const FitTerms& terms) const {
  std::vector<std::pair<Eigen::VectorXd, double>> rows;
  AddRegularization(state, terms, &rows);
  double cost = 0.0;
  for (const auto& row : rows) cost += 0.5 * row.second * row.second;
  return cost;
}

// ---------------------------------------------------------------------------------------------

DepthFitEnergy::DepthFitEnergy(const HeadModel& model, const DepthFitOptions& options)
    : impl_(std::make_unique<Impl>()) {
  options.Check();
  Impl& impl = *impl_;
  impl.model = model;
  impl.options = options;
  impl.bounded_expression = model.expression_kind() == ExpressionKind::kBlendshapes;

  ParameterLayout& layout = impl.layout;
  int next = 0;
  if (options.optimize_pose) {
    layout.rotation = next;
    layout.translation = next + 3;
    next += 6;
  }
  if (options.estimate_scale) layout.log_scale = next++;
  if (options.optimize_identity && model.num_identity() > 0) {
    layout.identity = next;
    layout.num_identity = model.num_identity();
    next += layout.num_identity;
  }
  if (options.optimize_expression && model.num_expression() > 0) {
    layout.expression = next;
    layout.num_expression = model.num_expression();
    next += layout.num_expression;
  }
  if (options.optimize_joints && model.num_joints() > 1) {
    layout.joints = next;
    for (int j = 0; j < model.num_joints(); ++j) {
      if (model.joint_parents()[j] >= 0) layout.joint_ids.push_back(j);
    }
    next += 3 * static_cast<int>(layout.joint_ids.size());
  }
  layout.size = next;

  const std::vector<int> triangles = model.RegionTriangles(options.regions);
  impl.triangle_mask.assign(model.num_triangles(), 0);
  for (int t : triangles) impl.triangle_mask[t] = 1;
  RasterizerOptions raster_options;
  raster_options.cull_back_faces = true;
  raster_options.compute_points_and_normals = true;
  raster_options.triangle_mask = impl.triangle_mask;
  raster_options.num_threads = options.num_threads;
  impl.rasterizer = Rasterizer(raster_options);

  impl.is_evaluated.assign(model.num_vertices(), 0);
  for (int t : triangles) {
    for (int c = 0; c < 3; ++c) impl.is_evaluated[model.triangles()(t, c)] = 1;
  }
  for (int v : model.landmark_vertices()) impl.is_evaluated[v] = 1;
  for (int v = 0; v < model.num_vertices(); ++v) {
    if (impl.is_evaluated[v]) impl.evaluated_vertices.push_back(v);
  }
  impl.slot_of_vertex.assign(model.num_vertices(), -1);
  const int num_evaluated = static_cast<int>(impl.evaluated_vertices.size());
  for (int i = 0; i < num_evaluated; ++i) impl.slot_of_vertex[impl.evaluated_vertices[i]] = i;
  if (impl.fast_path()) {
    impl.identity_rows.resize(3 * num_evaluated, model.num_identity());
    impl.expression_rows.resize(3 * num_evaluated, model.num_expression());
    impl.template_values.resize(3 * num_evaluated);
    for (int i = 0; i < num_evaluated; ++i) {
      const int v = impl.evaluated_vertices[i];
      impl.identity_rows.middleRows(3 * i, 3) = model.identity_basis().middleRows(3 * v, 3);
      impl.expression_rows.middleRows(3 * i, 3) = model.expression_basis().middleRows(3 * v, 3);
      impl.template_values.segment<3>(3 * i) =
          model.template_vertices().row(v).transpose().cast<double>();
    }
  }
}

DepthFitEnergy::~DepthFitEnergy() = default;
DepthFitEnergy::DepthFitEnergy(DepthFitEnergy&&) noexcept = default;
DepthFitEnergy& DepthFitEnergy::operator=(DepthFitEnergy&&) noexcept = default;

const HeadModel& DepthFitEnergy::model() const { return impl_->model; }
const DepthFitOptions& DepthFitEnergy::options() const { return impl_->options; }
const ParameterLayout& DepthFitEnergy::layout() const { return impl_->layout; }

AssociationStats DepthFitEnergy::Associate(const HeadState& state, const PointCloud& scan,
                                           const PinholeCamera& camera,
                                           std::vector<Correspondence>* correspondences) {
  Impl& impl = *impl_;
  HT_CHECK(scan.width == camera.width && scan.height == camera.height && scan.is_organized(),
           "Associate needs an organized scan of the camera's size " << camera.width << "x"
                                                                   << camera.height << ", got "
                                                                   << scan.width << "x"
                                                                   << scan.height);
  HT_CHECK(scan.normals.rows() == scan.points.rows(), "Associate needs scan normals");
  Stopwatch stopwatch;
  const Impl::Evaluation& evaluation = impl.Evaluate(state, nullptr);
  // Render only the sampled pixels: the subsampled camera's pixel (x, y) is the scan's pixel
  // (stride x, stride y).
  const int stride = impl.options.pixel_stride;
  const PinholeCamera render_camera = camera.Subsampled(stride);
  impl.rasterizer.Rasterize(render_camera, evaluation.vertices_f, impl.model.triangles(),
                            &impl.rasterization);
  const Rasterization& r = impl.rasterization;
  const Triangles& faces = impl.model.triangles();
  const float max_distance2 =
      static_cast<float>(impl.options.max_distance_m * impl.options.max_distance_m);
  const float min_dot = static_cast<float>(impl.options.min_normal_dot);

  AssociationStats stats;
  double sum_squares = 0.0;
  stats.seconds_render = stopwatch.seconds();
  stopwatch.Restart();
  for (int y = 0; y < render_camera.height; ++y) {
    for (int x = 0; x < render_camera.width; ++x) {
      const int t = r.triangle_id.at(x, y);
      if (t < 0) continue;
      ++stats.rendered_pixels;
      const long index = static_cast<long>(stride * y) * camera.width + stride * x;
      const Eigen::Vector3f q = scan.points.row(index).transpose();
      const Eigen::Vector3f n = scan.normals.row(index).transpose();
      if (!q.allFinite() || !n.allFinite()) {
        ++stats.no_scan;
        continue;
      }
      const Eigen::Vector3f p = r.point_at(x, y);
      if ((p - q).squaredNorm() > max_distance2) {
        ++stats.too_far;
        continue;
      }
      // Model normals point out of the head, scan normals toward the camera: both toward the
      // camera where the surfaces agree (back faces are culled).
      if (r.normal_at(x, y).dot(n) < min_dot) {
        ++stats.normal_mismatch;
        continue;
      }
      Correspondence c;
      c.vertices = {faces(t, 0), faces(t, 1), faces(t, 2)};
      c.barycentrics = r.barycentrics_at(x, y);
      c.scan_point = q;
      c.scan_normal = n;
      correspondences->push_back(c);
      ++stats.accepted;
      const double plane = n.dot(p - q);
      sum_squares += plane * plane;
    }
  }
  if (stats.accepted > 0) stats.rms_point_to_plane_m = std::sqrt(sum_squares / stats.accepted);
  stats.seconds_associate = stopwatch.seconds();
  return stats;
}

double DepthFitEnergy::Cost(const HeadState& state, const FitTerms& terms) const {
  const Impl& impl = *impl_;
  impl.CheckTerms(state, terms);
  const Impl::Evaluation& evaluation = impl.Evaluate(state, nullptr);
  const DepthFitOptions& o = impl.options;
  const double inv_sigma2 = 1.0 / (o.sigma_m * o.sigma_m);
  const double c = o.loss_threshold;
  const int n = static_cast<int>(terms.correspondences.size());
  // Terms computed in parallel, summed in order: equal inputs give equal costs whatever the
  // threads.
  std::vector<double> terms_of_pairs(n);
#pragma omp parallel for num_threads(o.num_threads > 0 ? o.num_threads : omp_get_max_threads()) schedule(static)
  for (int k = 0; k < n; ++k) {
    const Correspondence& corr = terms.correspondences[k];
    const Eigen::Vector3d d =
        impl.ModelPoint(evaluation, corr.vertices, corr.barycentrics) - corr.scan_point.cast<double>();
    const double plane = corr.scan_normal.cast<double>().dot(d);
    double value = 0.0;
    if (o.point_to_plane_weight > 0) {
      value += o.point_to_plane_weight * EvaluateLoss(o.loss, c, plane * plane * inv_sigma2).rho;
    }
    if (o.point_to_point_weight > 0) {
      value += o.point_to_point_weight * EvaluateLoss(o.loss, c, d.squaredNorm() * inv_sigma2).rho;
    }
    terms_of_pairs[k] = 0.5 * corr.weight * value;
  }
  double data = 0.0;
  for (double value : terms_of_pairs) data += value;
  double landmarks = 0.0;
  const double inv_landmark_sigma2 = 1.0 / (o.landmark_sigma_m * o.landmark_sigma_m);
  for (const LandmarkTarget& l : terms.landmarks) {
    const Eigen::Vector3d v = evaluation.vertices.row(l.vertex).transpose();
    landmarks += 0.5 * o.landmark_weight * (v - l.point.cast<double>()).squaredNorm() *
                 inv_landmark_sigma2;
  }
  return data + landmarks + impl.RegularizationCost(state, terms);
}

namespace {

// One correspondence's (or landmark's) Jacobian rows and residuals, before weighting.
struct PointRows {
  Eigen::Matrix<double, 4, Eigen::Dynamic> jacobian;  // row 0 plane, rows 1..3 point
  Eigen::Vector4d residual;
};

}  // namespace

void DepthFitEnergy::Linearize(const HeadState& state, const FitTerms& terms,
                               NormalEquations* equations) const {
  const Impl& impl = *impl_;
  impl.CheckTerms(state, terms);
  const std::vector<int> vertices = impl.VerticesNeeded(terms);
  const Impl::Evaluation& evaluation = impl.Evaluate(state, &vertices);
  const ParameterLayout& layout = impl.layout;
  const DepthFitOptions& o = impl.options;
  const int size = layout.size;
  const int model_offset = impl.model_offset();
  const Eigen::Matrix3d sr = evaluation.scaled_rotation;
  const Eigen::Vector3d t = evaluation.translation;
  const double inv_sigma = 1.0 / o.sigma_m;
  const double c = o.loss_threshold;
  const int num_threads = o.num_threads > 0 ? o.num_threads : omp_get_max_threads();

  // One Jacobian row of a linear functional a . p of a model point p = sum_i b_i v_i (camera
  // frame), scaled by `scale`, written to row[0 .. size): the pose part from the arm p - t, the
  // model part as sum_i b_i (s R^T a)^T dv_i/dtheta (head-frame derivative rows).
  auto write_row = [&](const std::array<int, 3>& vs, const Eigen::Vector3f& b,
                       const Eigen::Vector3d& arm, const Eigen::Vector3d& a, double scale,
                       float* row) {
    std::fill(row, row + size, 0.0f);
    if (layout.rotation >= 0) {
      const Eigen::Vector3d rotation = arm.cross(a) * scale;  // a . (-[arm]x d) = (arm x a) . d
      for (int k = 0; k < 3; ++k) {
        row[layout.rotation + k] = static_cast<float>(rotation[k]);
        row[layout.translation + k] = static_cast<float>(scale * a[k]);
      }
    }
    if (layout.log_scale >= 0) row[layout.log_scale] = static_cast<float>(scale * a.dot(arm));
    if (model_offset == size) return;
    const Eigen::Vector3f m = (scale * (sr.transpose() * a)).cast<float>();
    for (int i = 0; i < 3; ++i) {
      if (b[i] == 0.0f) continue;
      impl.AccumulateModelRow(evaluation, vs[i], b[i] * m, row + model_offset);
    }
  };

  const int n = static_cast<int>(terms.correspondences.size());
  constexpr int kBlockRows = 256;
  Eigen::MatrixXd hessian = Eigen::MatrixXd::Zero(size, size);
  Eigen::VectorXd gradient = Eigen::VectorXd::Zero(size);
  double cost = 0.0;

#pragma omp parallel num_threads(num_threads)
  {
    Eigen::MatrixXd local_h = Eigen::MatrixXd::Zero(size, size);
    Eigen::VectorXd local_g = Eigen::VectorXd::Zero(size);
    double local_cost = 0.0;
    // Rows are scaled by sqrt(IRLS weight); block_rhs holds sqrt(IRLS weight) * residual.
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> block(kBlockRows, size);
    Eigen::VectorXf block_rhs(kBlockRows);
    Eigen::MatrixXf block_h(size, size);
    int rows = 0;
    auto flush = [&]() {
      if (rows == 0) return;
      block_h.setZero();
      block_h.selfadjointView<Eigen::Lower>().rankUpdate(block.topRows(rows).transpose());
      local_h += block_h.cast<double>();
      local_g += (block.topRows(rows).transpose() * block_rhs.head(rows)).cast<double>();
      rows = 0;
    };
    // Adds the row of a residual `residual` (both scaled by sqrt(weight)) with IRLS weight irls.
    auto add_row = [&](const std::array<int, 3>& vs, const Eigen::Vector3f& b,
                       const Eigen::Vector3d& arm, const Eigen::Vector3d& a, double scale,
                       double residual, double irls) {
      const double root = std::sqrt(irls);
      write_row(vs, b, arm, a, scale * root, block.row(rows).data());
      block_rhs[rows] = static_cast<float>(root * residual);
      if (++rows == kBlockRows) flush();
    };

#pragma omp for schedule(static)
    for (int k = 0; k < n; ++k) {
      const Correspondence& corr = terms.correspondences[k];
      const Eigen::Vector3d p = impl.ModelPoint(evaluation, corr.vertices, corr.barycentrics);
      const Eigen::Vector3d d = p - corr.scan_point.cast<double>();
      const Eigen::Vector3d arm = p - t;
      // Residual f = sqrt(weight) x with x in sigmas; cost 0.5 weight rho(x^2); IRLS weight
      // rho'(x^2).
      if (o.point_to_plane_weight > 0) {
        const double weight = corr.weight * o.point_to_plane_weight;
        const Eigen::Vector3d normal = corr.scan_normal.cast<double>();
        const double x = normal.dot(d) * inv_sigma;
        const LossValue loss = EvaluateLoss(o.loss, c, x * x);
        local_cost += 0.5 * weight * loss.rho;
        if (loss.derivative > 0) {
          add_row(corr.vertices, corr.barycentrics, arm, normal, std::sqrt(weight) * inv_sigma,
                  std::sqrt(weight) * x, loss.derivative);
        }
      }
      if (o.point_to_point_weight > 0) {
        const double weight = corr.weight * o.point_to_point_weight;
        const Eigen::Vector3d x = d * inv_sigma;
        const LossValue loss = EvaluateLoss(o.loss, c, x.squaredNorm());
        local_cost += 0.5 * weight * loss.rho;
        if (loss.derivative > 0) {
          for (int axis = 0; axis < 3; ++axis) {
            add_row(corr.vertices, corr.barycentrics, arm, Eigen::Vector3d::Unit(axis),
                    std::sqrt(weight) * inv_sigma, std::sqrt(weight) * x[axis], loss.derivative);
          }
        }
      }
    }
#pragma omp single
    {
      // Landmarks: point terms of single vertices, no robust loss.
      const double w = std::sqrt(o.landmark_weight) / o.landmark_sigma_m;
      for (const LandmarkTarget& l : terms.landmarks) {
        const std::array<int, 3> vs = {l.vertex, l.vertex, l.vertex};
        const Eigen::Vector3f b(1.0f, 0.0f, 0.0f);
        const Eigen::Vector3d p = evaluation.vertices.row(l.vertex).transpose();
        const Eigen::Vector3d r = w * (p - l.point.cast<double>());
        local_cost += 0.5 * r.squaredNorm();
        for (int axis = 0; axis < 3; ++axis) {
          add_row(vs, b, p - t, Eigen::Vector3d::Unit(axis), w, r[axis], 1.0);
        }
      }
    }
    flush();
    // Summed in thread order, so that equal inputs give equal sums (a resumed run repeats an
    // uninterrupted one exactly).
#pragma omp for ordered schedule(static, 1)
    for (int thread = 0; thread < omp_get_num_threads(); ++thread) {
#pragma omp ordered
      {
        hessian += local_h;
        gradient += local_g;
        cost += local_cost;
      }
    }
  }

  std::vector<std::pair<Eigen::VectorXd, double>> regularization;
  impl.AddRegularization(state, terms, &regularization);
  for (const auto& [row, residual] : regularization) {
    hessian.selfadjointView<Eigen::Lower>().rankUpdate(row);
    gradient += residual * row;
    cost += 0.5 * residual * residual;
  }
  hessian.triangularView<Eigen::StrictlyUpper>() = hessian.transpose();
  equations->hessian = std::move(hessian);
  equations->gradient = std::move(gradient);
  equations->cost = cost;
}

void DepthFitEnergy::EvaluateResiduals(const HeadState& state, const FitTerms& terms,
                                       Eigen::VectorXd* residuals,
                                       Eigen::MatrixXd* jacobian) const {
  const Impl& impl = *impl_;
  impl.CheckTerms(state, terms);
  const std::vector<int> vertices = impl.VerticesNeeded(terms);
  const Impl::Evaluation& evaluation = impl.Evaluate(state, &vertices);
  const ParameterLayout& layout = impl.layout;
  const DepthFitOptions& o = impl.options;
  const int size = layout.size;
  const int model_columns = impl.num_model_columns();
  const Eigen::Matrix3d sr = evaluation.scaled_rotation;
  const Eigen::Vector3d t = evaluation.translation;

  std::vector<double> r;
  std::vector<Eigen::VectorXd> rows;
  // Straightforward double-precision derivative of a model point, one vertex at a time.
  auto point_rows = [&](const std::array<int, 3>& vs, const Eigen::Vector3f& b, double w,
                        const Eigen::Vector3d& d, bool plane, const Eigen::Vector3d& normal,
                        bool point) {
    Eigen::MatrixXd dp = Eigen::MatrixXd::Zero(3, size);
    for (int i = 0; i < 3; ++i) {
      const Eigen::Vector3d v = evaluation.vertices.row(vs[i]).transpose();
      const double bi = b[i];
      if (layout.rotation >= 0) {
        dp.block<3, 3>(0, layout.rotation) += bi * -Skew(v - t);
        dp.block<3, 3>(0, layout.translation) += bi * Eigen::Matrix3d::Identity();
      }
      if (layout.log_scale >= 0) dp.col(layout.log_scale) += bi * (v - t);
      if (model_columns > 0) {
        Eigen::Matrix<float, 3, Eigen::Dynamic> g;
        const std::array<int, 3> single = {vs[i], vs[i], vs[i]};
        impl.ModelPointDerivative(evaluation, single, Eigen::Vector3f(1, 0, 0), &g);
        dp.rightCols(model_columns) += bi * sr * g.cast<double>();
      }
    }
    if (plane) {
      r.push_back(w * normal.dot(d));
      rows.push_back(w * (normal.transpose() * dp).transpose());
    }
    if (point) {
      for (int a = 0; a < 3; ++a) {
        r.push_back(w * d[a]);
        rows.push_back(w * dp.row(a).transpose());
      }
    }
  };
  for (const Correspondence& corr : terms.correspondences) {
    const Eigen::Vector3d d = impl.ModelPoint(evaluation, corr.vertices, corr.barycentrics) -
                              corr.scan_point.cast<double>();
    const Eigen::Vector3d normal = corr.scan_normal.cast<double>();
    if (o.point_to_plane_weight > 0) {
      point_rows(corr.vertices, corr.barycentrics,
                 std::sqrt(corr.weight * o.point_to_plane_weight) / o.sigma_m, d, true, normal,
                 false);
    }
    if (o.point_to_point_weight > 0) {
      point_rows(corr.vertices, corr.barycentrics,
                 std::sqrt(corr.weight * o.point_to_point_weight) / o.sigma_m, d, false, normal,
                 true);
    }
  }
  for (const LandmarkTarget& l : terms.landmarks) {
    const Eigen::Vector3d d =
        evaluation.vertices.row(l.vertex).transpose() - l.point.cast<double>();
    point_rows({l.vertex, l.vertex, l.vertex}, Eigen::Vector3f(1, 0, 0),
               std::sqrt(o.landmark_weight) / o.landmark_sigma_m, d, false, d, true);
  }
  std::vector<std::pair<Eigen::VectorXd, double>> regularization;
  impl.AddRegularization(state, terms, &regularization);
  for (auto& [row, residual] : regularization) {
    r.push_back(residual);
    rows.push_back(std::move(row));
  }
  residuals->resize(static_cast<int>(r.size()));
  jacobian->resize(static_cast<int>(r.size()), size);
  for (size_t i = 0; i < r.size(); ++i) {
    (*residuals)[static_cast<int>(i)] = r[i];
    jacobian->row(static_cast<int>(i)) = rows[i].transpose();
  }
}

HeadState DepthFitEnergy::Step(const HeadState& state, const Eigen::VectorXd& delta) const {
  const ParameterLayout& layout = impl_->layout;
  HT_CHECK(delta.size() == layout.size, "step of size " << delta.size() << ", expected " << layout.size);
  HT_CHECK(layout.joint_ids.empty() || state.joint_rotations.cols() == impl_->model.num_joints(),
           "Step: the state has " << state.joint_rotations.cols() << " joint rotations, the model "
                                  << impl_->model.num_joints());
  HeadState next = state;
  if (layout.rotation >= 0) {
    const Eigen::Vector3d rotation = delta.segment<3>(layout.rotation);
    next.cam_from_head.rotation =
        SimilarityTransform::FromAxisAngle(rotation, Eigen::Vector3d::Zero()).rotation *
        state.cam_from_head.rotation;
    next.cam_from_head.translation += delta.segment<3>(layout.translation);
  }
  if (layout.log_scale >= 0) next.cam_from_head.scale *= std::exp(delta[layout.log_scale]);
  if (layout.identity >= 0) {
    next.identity += delta.segment(layout.identity, layout.num_identity).cast<float>();
  }
  if (layout.expression >= 0) {
    next.expression += delta.segment(layout.expression, layout.num_expression).cast<float>();
    if (impl_->bounded_expression) next.expression = next.expression.cwiseMax(0.0f).cwiseMin(1.0f);
  }
  for (size_t j = 0; j < layout.joint_ids.size(); ++j) {
    next.joint_rotations.col(layout.joint_ids[j]) +=
        delta.segment<3>(layout.joints + 3 * static_cast<int>(j));
  }
  return next;
}

void DepthFitEnergy::StepBounds(const HeadState& state, Eigen::VectorXd* lower,
                                Eigen::VectorXd* upper) const {
  const ParameterLayout& layout = impl_->layout;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  lower->setConstant(layout.size, -kInf);
  upper->setConstant(layout.size, kInf);
  if (layout.expression >= 0 && impl_->bounded_expression) {
    const Eigen::VectorXd e = state.expression.cast<double>();
    lower->segment(layout.expression, layout.num_expression) = -e;
    upper->segment(layout.expression, layout.num_expression) = Eigen::VectorXd::Ones(e.size()) - e;
  }
}

}  // namespace headtrack
