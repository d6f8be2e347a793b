#include "headtrack/multi_frame_fit.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <Eigen/Cholesky>

#include "core/stopwatch.h"
#include "fit/rotation_difference.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

using RowMatrix = Eigen::MatrixXd;

// The frame energy: everything but the identity prior and the temporal terms, which the joint
// problem owns.
DepthFitOptions FrameEnergyOptions(DepthFitOptions options) {
  options.optimize_identity = true;
  options.identity_weight = 0.0;
  options.temporal_expression_weight = 0.0;
  options.temporal_joints_weight = 0.0;
  options.temporal_rotation_weight = 0.0;
  options.temporal_translation_weight = 0.0;
  return options;
}

}  // namespace

// The blocks of one Gauss-Newton linearization (see the header): frame f's diagonal block
// a[f] (m x m), its coupling to the frame before, c[f] = A_{f-1,f} (m x m, zero when not
// linked), its coupling to the identity b[f] (m x K), gradients g[f] and the identity block.
struct MultiFrameFit::Linearization {
  std::vector<RowMatrix> a, b, c;
  std::vector<Eigen::VectorXd> g;
  Eigen::MatrixXd d;
  Eigen::VectorXd g_identity;
  std::vector<bool> linked;
  double cost = 0.0;
};

MultiFrameFit::MultiFrameFit(const HeadModel& model, const DepthFitOptions& options)
    : options_(options), frame_energy_(model, FrameEnergyOptions(options)) {
  const ParameterLayout& layout = frame_energy_.layout();
  for (int column = 0; column < layout.size; ++column) {
    if (column >= layout.identity && column < layout.identity + layout.num_identity) continue;
    frame_columns_.push_back(column);
  }
  frame_size_ = static_cast<int>(frame_columns_.size());
}

AssociationStats MultiFrameFit::Associate(const HeadState& state, const PointCloud& scan,
                                          const PinholeCamera& camera,
                                          std::vector<Correspondence>* correspondences) {
  return frame_energy_.Associate(state, scan, camera, correspondences);
}

void MultiFrameFit::CheckProblem(const std::vector<HeadState>& states,
                                 const MultiFrameTerms& terms) const {
  HT_CHECK(!states.empty(), "MultiFrameFit: no frames");
  HT_CHECK(states.size() == terms.frames.size() &&
               states.size() == terms.linked_to_previous.size(),
           "MultiFrameFit: " << states.size() << " states, " << terms.frames.size()
                             << " frame terms, " << terms.linked_to_previous.size()
                             << " links");
  HT_CHECK(!terms.linked_to_previous.front(), "MultiFrameFit: the first frame has no previous one");
  for (size_t f = 0; f < states.size(); ++f) {
    HT_CHECK(terms.frames[f].previous == nullptr,
             "MultiFrameFit: frame " << f << " has its own temporal terms; use linked_to_previous");
    HT_CHECK(states[f].identity == states.front().identity,
             "MultiFrameFit: frame " << f << " has another identity than frame 0");
  }
}

double MultiFrameFit::TemporalCost(const HeadState& state, const HeadState& previous) const {
  const DepthFitOptions& o = options_;
  double cost = 0.5 * o.temporal_expression_weight *
                (state.expression - previous.expression).cast<double>().squaredNorm();
  if (state.joint_rotations.size() > 0) {
    cost += 0.5 * o.temporal_joints_weight *
            (state.joint_rotations - previous.joint_rotations).squaredNorm();
  }
  const Eigen::Matrix3d m =
      state.cam_from_head.rotation * previous.cam_from_head.rotation.transpose();
  cost += 0.5 * o.temporal_rotation_weight * internal::RotationDifference(m).squaredNorm() /
          (o.temporal_rotation_sigma * o.temporal_rotation_sigma);
  cost += 0.5 * o.temporal_translation_weight *
          (state.cam_from_head.translation - previous.cam_from_head.translation).squaredNorm() /
          (o.temporal_translation_sigma_m * o.temporal_translation_sigma_m);
  return cost;
}

double MultiFrameFit::Cost(const std::vector<HeadState>& states,
                           const MultiFrameTerms& terms) const {
  CheckProblem(states, terms);
  double cost = 0.5 * options_.identity_weight *
                states.front().identity.cast<double>().squaredNorm();
  for (size_t f = 0; f < states.size(); ++f) {
    cost += frame_energy_.Cost(states[f], terms.frames[f]);
    if (terms.linked_to_previous[f]) cost += TemporalCost(states[f], states[f - 1]);
  }
  return cost;
}

void MultiFrameFit::Linearize(const std::vector<HeadState>& states, const MultiFrameTerms& terms,
                              Linearization* lin) const {
  CheckProblem(states, terms);
  const ParameterLayout& layout = frame_energy_.layout();
  const int n = static_cast<int>(states.size());
  const int m = frame_size_;
  const int k = layout.num_identity;
  lin->a.assign(n, RowMatrix());
  lin->b.assign(n, RowMatrix());
  lin->c.assign(n, RowMatrix::Zero(m, m));
  lin->g.assign(n, Eigen::VectorXd());
  lin->linked = terms.linked_to_previous;
  const Eigen::VectorXd identity = states.front().identity.cast<double>();
  lin->d = options_.identity_weight * Eigen::MatrixXd::Identity(k, k);
  lin->g_identity = options_.identity_weight * identity;
  lin->cost = 0.5 * options_.identity_weight * identity.squaredNorm();

  const Eigen::VectorXi frame_columns =
      Eigen::Map<const Eigen::VectorXi>(frame_columns_.data(), m);
  NormalEquations equations;
  for (int f = 0; f < n; ++f) {
    frame_energy_.Linearize(states[f], terms.frames[f], &equations);
    const Eigen::MatrixXd& h = equations.hessian;
    lin->a[f] = h(frame_columns, frame_columns);
    lin->b[f] = h(frame_columns, Eigen::seqN(layout.identity, k));
    lin->g[f] = equations.gradient(frame_columns);
    lin->d += h.block(layout.identity, layout.identity, k, k);
    lin->g_identity += equations.gradient.segment(layout.identity, k);
    lin->cost += equations.cost;
  }

  // Temporal terms: residual rows with their Jacobians on the current frame (jc) and on the
  // previous one (jp), both m wide.
  auto local = [&](int column) { return column < layout.identity ? column : column - k; };
  const DepthFitOptions& o = options_;
  for (int f = 1; f < n; ++f) {
    if (!terms.linked_to_previous[f]) continue;
    const HeadState& cur = states[f];
    const HeadState& prev = states[f - 1];
    std::vector<std::pair<Eigen::RowVectorXd, Eigen::RowVectorXd>> jacobians;
    std::vector<double> residuals;
    auto add_linear = [&](double weight, int column, double difference) {
      if (weight <= 0) return;
      const double w = std::sqrt(weight);
      Eigen::RowVectorXd jc = Eigen::RowVectorXd::Zero(m), jp = Eigen::RowVectorXd::Zero(m);
      if (column >= 0) {
        jc[local(column)] = w;
        jp[local(column)] = -w;
      }
      jacobians.emplace_back(std::move(jc), std::move(jp));
      residuals.push_back(w * difference);
    };
    for (int e = 0; e < layout.num_expression; ++e) {
      add_linear(o.temporal_expression_weight, layout.expression >= 0 ? layout.expression + e : -1,
                 cur.expression[e] - prev.expression[e]);
    }
    for (size_t j = 0; j < layout.joint_ids.size(); ++j) {
      for (int axis = 0; axis < 3; ++axis) {
        const int joint = layout.joint_ids[j];
        add_linear(o.temporal_joints_weight, layout.joints + 3 * static_cast<int>(j) + axis,
                   cur.joint_rotations(axis, joint) - prev.joint_rotations(axis, joint));
      }
    }
    const double w_tr = std::sqrt(o.temporal_rotation_weight) / o.temporal_rotation_sigma;
    if (w_tr > 0) {
      const Eigen::Matrix3d rm = cur.cam_from_head.rotation * prev.cam_from_head.rotation.transpose();
      const Eigen::Vector3d r = internal::RotationDifference(rm);
      // Left increments a (current) and b (previous): M -> exp(a) M exp(-b); the derivative of
      // vee(M - M^T) / 2 is (tr(M) I - M) / 2 in a and -(tr(M) I - M^T) / 2 in b.
      const Eigen::Matrix3d dc = 0.5 * (rm.trace() * Eigen::Matrix3d::Identity() - rm);
      const Eigen::Matrix3d dp = -0.5 * (rm.trace() * Eigen::Matrix3d::Identity() - rm.transpose());
      for (int axis = 0; axis < 3; ++axis) {
        Eigen::RowVectorXd jc = Eigen::RowVectorXd::Zero(m), jp = Eigen::RowVectorXd::Zero(m);
        if (layout.rotation >= 0) {
          jc.segment<3>(local(layout.rotation)) = w_tr * dc.row(axis);
          jp.segment<3>(local(layout.rotation)) = w_tr * dp.row(axis);
        }
        jacobians.emplace_back(std::move(jc), std::move(jp));
        residuals.push_back(w_tr * r[axis]);
      }
    }
    const double w_tt =
        std::sqrt(o.temporal_translation_weight) / o.temporal_translation_sigma_m;
    for (int axis = 0; axis < 3 && w_tt > 0; ++axis) {
      add_linear(w_tt * w_tt, layout.translation >= 0 ? layout.translation + axis : -1,
                 cur.cam_from_head.translation[axis] - prev.cam_from_head.translation[axis]);
    }
    for (size_t row = 0; row < residuals.size(); ++row) {
      const auto& [jc, jp] = jacobians[row];
      lin->a[f] += jc.transpose() * jc;
      lin->a[f - 1] += jp.transpose() * jp;
      lin->c[f] += jp.transpose() * jc;
      lin->g[f] += jc.transpose() * residuals[row];
      lin->g[f - 1] += jp.transpose() * residuals[row];
      lin->cost += 0.5 * residuals[row] * residuals[row];
    }
  }
}

Eigen::VectorXd MultiFrameFit::SolveLinearization(
    const Linearization& lin, double damping,
    const std::vector<std::vector<bool>>* fixed) const {
  const int n = static_cast<int>(lin.a.size());
  const int m = frame_size_;
  const int k = static_cast<int>(lin.d.rows());
  auto is_fixed = [&](int f, int i) { return fixed != nullptr && (*fixed)[f][i]; };

  // Damped, bounded blocks; right-hand sides [B_f | g_f].
  std::vector<RowMatrix> a(n), c(n), rhs(n);
  for (int f = 0; f < n; ++f) {
    a[f] = lin.a[f];
    a[f].diagonal() += damping * lin.a[f].diagonal().cwiseMax(1e-9);
    c[f] = lin.c[f];
    rhs[f].resize(m, k + 1);
    rhs[f] << lin.b[f], lin.g[f];
    for (int i = 0; i < m; ++i) {
      if (!is_fixed(f, i)) continue;
      a[f].row(i).setZero();
      a[f].col(i).setZero();
      a[f](i, i) = 1.0;
      c[f].col(i).setZero();
      if (f + 1 < n) c[f + 1].row(i).setZero();
      rhs[f].row(i).setZero();
    }
  }

  // Block-tridiagonal Cholesky: L_f L_f^T = A_f - E_f E_f^T, E_f = (L_{f-1}^-1 C_f)^T; then
  // X = A^-1 [B | g] by forward and back substitution.
  std::vector<Eigen::LLT<Eigen::MatrixXd>> l(n);
  std::vector<RowMatrix> e(n);
  std::vector<RowMatrix> z(n);
  for (int f = 0; f < n; ++f) {
    Eigen::MatrixXd block = a[f];
    z[f] = rhs[f];
    if (f > 0 && lin.linked[f]) {
      e[f] = l[f - 1].matrixL().solve(c[f]).transpose();
      block.noalias() -= e[f] * e[f].transpose();
      z[f].noalias() -= e[f] * z[f - 1];
    }
    l[f].compute(block);
    if (l[f].info() != Eigen::Success) return Eigen::VectorXd();
    l[f].matrixL().solveInPlace(z[f]);
  }
  for (int f = n - 1; f >= 0; --f) {
    if (f + 1 < n && lin.linked[f + 1]) z[f].noalias() -= e[f + 1].transpose() * z[f + 1];
    l[f].matrixU().solveInPlace(z[f]);
  }

  // Schur complement for the identity, then the frames.
  Eigen::MatrixXd s = lin.d;
  s.diagonal() += damping * lin.d.diagonal().cwiseMax(1e-9);
  Eigen::VectorXd s_rhs = -lin.g_identity;
  for (int f = 0; f < n; ++f) {
    const RowMatrix b = rhs[f].leftCols(k);
    s.noalias() -= b.transpose() * z[f].leftCols(k);
    s_rhs.noalias() += b.transpose() * z[f].col(k);
  }
  const Eigen::LLT<Eigen::MatrixXd> s_llt(s);
  if (s_llt.info() != Eigen::Success) return Eigen::VectorXd();
  const Eigen::VectorXd identity_delta = s_llt.solve(s_rhs);

  Eigen::VectorXd delta(n * m + k);
  for (int f = 0; f < n; ++f) {
    delta.segment(f * m, m) = -z[f].col(k) - z[f].leftCols(k) * identity_delta;
  }
  delta.tail(k) = identity_delta;
  return delta;
}

void MultiFrameFit::LinearizeDense(const std::vector<HeadState>& states,
                                   const MultiFrameTerms& terms, Eigen::MatrixXd* hessian,
                                   Eigen::VectorXd* gradient) const {
  Linearization lin;
  Linearize(states, terms, &lin);
  const int n = static_cast<int>(states.size());
  const int m = frame_size_;
  const int k = identity_size();
  hessian->setZero(n * m + k, n * m + k);
  gradient->resize(n * m + k);
  for (int f = 0; f < n; ++f) {
    hessian->block(f * m, f * m, m, m) = lin.a[f];
    hessian->block(f * m, n * m, m, k) = lin.b[f];
    hessian->block(n * m, f * m, k, m) = lin.b[f].transpose();
    if (f > 0) {
      hessian->block((f - 1) * m, f * m, m, m) = lin.c[f];
      hessian->block(f * m, (f - 1) * m, m, m) = lin.c[f].transpose();
    }
    gradient->segment(f * m, m) = lin.g[f];
  }
  hessian->block(n * m, n * m, k, k) = lin.d;
  gradient->tail(k) = lin.g_identity;
}

Eigen::VectorXd MultiFrameFit::SolveStructured(const std::vector<HeadState>& states,
                                               const MultiFrameTerms& terms,
                                               double damping) const {
  Linearization lin;
  Linearize(states, terms, &lin);
  return SolveLinearization(lin, damping, nullptr);
}

HeadState MultiFrameFit::Move(const HeadState& state, const Eigen::VectorXd& frame_delta,
                              const Eigen::VectorXd& identity_delta) const {
  const ParameterLayout& layout = frame_energy_.layout();
  HT_CHECK(frame_delta.size() == frame_size_ && identity_delta.size() == layout.num_identity,
           "MultiFrameFit::Move: steps of " << frame_delta.size() << " and "
                                            << identity_delta.size() << ", expected "
                                            << frame_size_ << " and " << layout.num_identity);
  Eigen::VectorXd delta(layout.size);
  for (int i = 0; i < frame_size_; ++i) delta[frame_columns_[i]] = frame_delta[i];
  delta.segment(layout.identity, layout.num_identity) = identity_delta;
  return frame_energy_.Step(state, delta);
}

MultiFrameStep MultiFrameFit::Step(const MultiFrameTerms& terms, int max_retries,
                                   double* damping, std::vector<HeadState>* states) const {
  Linearization lin;
  Linearize(*states, terms, &lin);
  MultiFrameStep result;
  result.cost_before = lin.cost;
  result.cost_after = lin.cost;
  const int n = static_cast<int>(states->size());
  const int m = frame_size_;
  const int k = identity_size();

  // Bounds per frame; entries at a bound that the gradient pushes outward stay there.
  std::vector<Eigen::VectorXd> lower(n), upper(n);
  std::vector<std::vector<bool>> fixed(n, std::vector<bool>(m, false));
  Eigen::VectorXd layout_lower, layout_upper;
  const Eigen::VectorXi frame_columns =
      Eigen::Map<const Eigen::VectorXi>(frame_columns_.data(), m);
  for (int f = 0; f < n; ++f) {
    frame_energy_.StepBounds((*states)[f], &layout_lower, &layout_upper);
    lower[f] = layout_lower(frame_columns);
    upper[f] = layout_upper(frame_columns);
    for (int i = 0; i < m; ++i) {
      const bool at_lower = lower[f][i] >= 0.0 && lin.g[f][i] > 0.0;
      const bool at_upper = upper[f][i] <= 0.0 && lin.g[f][i] < 0.0;
      if (at_lower || at_upper) {
        fixed[f][i] = true;
        ++result.fixed_at_bounds;
      }
    }
  }

  for (int attempt = 0; attempt <= max_retries; ++attempt) {
    const Eigen::VectorXd delta = SolveLinearization(lin, *damping, &fixed);
    if (delta.size() == 0) {
      *damping *= 8.0;
      continue;
    }
    std::vector<HeadState> trial(n);
    const Eigen::VectorXd identity_delta = delta.tail(k);
    for (int f = 0; f < n; ++f) {
      Eigen::VectorXd frame_delta = delta.segment(f * m, m).cwiseMax(lower[f]).cwiseMin(upper[f]);
      for (int i = 0; i < m; ++i) {
        if (fixed[f][i]) frame_delta[i] = 0.0;
      }
      trial[f] = Move((*states)[f], frame_delta, identity_delta);
    }
    const double cost = Cost(trial, terms);
    if (std::isfinite(cost) && cost < lin.cost) {
      *states = std::move(trial);
      result.accepted = true;
      result.cost_after = cost;
      *damping = std::max(*damping / 3.0, 1e-12);
      break;
    }
    *damping *= 8.0;
  }
  return result;
}

MultiFrameSolveSummary MultiFrameFit::Solve(const MultiFrameTerms& terms, int max_iterations,
                                            double function_tolerance,
                                            std::vector<HeadState>* states) const {
  MultiFrameSolveSummary summary;
  double damping = 1e-4;
  const Stopwatch stopwatch;
  summary.initial_cost = summary.final_cost = Cost(*states, terms);
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    const MultiFrameStep step = Step(terms, 10, &damping, states);
    ++summary.iterations;
    if (!step.accepted) {
      summary.converged = true;
      break;
    }
    summary.final_cost = step.cost_after;
    summary.cost_per_iteration.push_back(step.cost_after);
    if (step.cost_before - step.cost_after <= function_tolerance * step.cost_before) {
      summary.converged = true;
      break;
    }
  }
  summary.seconds = stopwatch.seconds();
  return summary;
}

}  // namespace headtrack
