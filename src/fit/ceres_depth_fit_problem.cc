#include "fit/ceres_depth_fit_problem.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ceres/ceres.h>
#include <ceres/rotation.h>

#include "headtrack/error.h"

namespace headtrack {
namespace {

// Derivatives per pass of Ceres' dynamic jets (the largest block has 100 coefficients).
constexpr int kStride = 32;

// The parameter blocks a model point depends on, in this order: rotation increment (3),
// translation (3), log scale (1, when estimated), then the optimized coefficient blocks
// (identity K, expression E), whose columns the point's rows hold side by side.
struct PointBlocks {
  Eigen::Matrix3d initial_rotation;  // R_initial: R = exp([w]x) R_initial
  double initial_scale = 1.0;        // s = initial_scale exp(log scale)
  bool log_scale = false;
  std::vector<int> coefficient_sizes;
  int num_coefficients = 0;
};

// Head-frame model points, linear in the optimized coefficients x:
//   u = base + rows x (metres, head frame),  p_cam = s R u + weight_sum t.
// weight_sum is the (float) barycentrics' sum, which our energy carries through exactly.
struct ModelPoints {
  std::vector<Eigen::Vector3d> base;
  std::vector<double> weight_sum;
  std::vector<double> rows;  // per point 3 x num_coefficients, row-major
};

// One point term: point-to-plane (1 residual) n.(p - q) * scale, or point (3) (p - q) * scale.
struct PointResidual {
  const PointBlocks* blocks;
  const ModelPoints* points;
  int index;
  bool plane;
  Eigen::Vector3d target;  // q, camera frame
  Eigen::Vector3d normal;  // n (plane only)
  double scale;

  template <typename T>
  bool operator()(T const* const* parameters, T* residuals) const {
    const int n = blocks->num_coefficients;
    const double* rows = points->rows.data() + 3L * index * n;
    const Eigen::Vector3d& base = points->base[index];
    T u[3];
    for (int c = 0; c < 3; ++c) {
      T sum(0.0);
      int column = 0;
      int block = blocks->log_scale ? 3 : 2;
      for (int size : blocks->coefficient_sizes) {
        const T* x = parameters[block++];
        for (int k = 0; k < size; ++k, ++column) sum += rows[c * n + column] * x[k];
      }
      u[c] = base[c] + sum;
    }
    const Eigen::Matrix3d& r0 = blocks->initial_rotation;
    T v[3], rotated[3];
    for (int i = 0; i < 3; ++i) v[i] = r0(i, 0) * u[0] + r0(i, 1) * u[1] + r0(i, 2) * u[2];
    ceres::AngleAxisRotatePoint(parameters[0], v, rotated);
    T s(blocks->initial_scale);
    if (blocks->log_scale) s *= exp(parameters[2][0]);
    const T* t = parameters[1];
    const double weight_sum = points->weight_sum[index];
    T d[3];
    for (int i = 0; i < 3; ++i) d[i] = s * rotated[i] + weight_sum * t[i] - target[i];
    if (plane) {
      residuals[0] = scale * (normal[0] * d[0] + normal[1] * d[1] + normal[2] * d[2]);
    } else {
      for (int i = 0; i < 3; ++i) residuals[i] = scale * d[i];
    }
    return true;
  }
};

// weight * (x - reference) for one block: priors, temporal expression and translation terms.
struct ScaledDifference {
  Eigen::VectorXd reference;
  double weight;

  template <typename T>
  bool operator()(T const* const* parameters, T* residuals) const {
    for (Eigen::Index k = 0; k < reference.size(); ++k) {
      residuals[k] = weight * (parameters[0][k] - reference[k]);
    }
    return true;
  }
};

// Temporal rotation: weight * vee(M - M^T) / 2 with M = exp([w]x) R_initial R_previous^T.
struct RotationDifference {
  Eigen::Matrix3d initial_from_previous;  // R_initial R_previous^T
  double weight;

  template <typename T>
  bool operator()(const T* w, T* residuals) const {
    T increment[9];
    ceres::AngleAxisToRotationMatrix(w, increment);  // column-major
    const Eigen::Map<const Eigen::Matrix<T, 3, 3>> r(increment);
    const Eigen::Matrix<T, 3, 3> m = r * initial_from_previous.cast<T>();
    residuals[0] = weight * 0.5 * (m(2, 1) - m(1, 2));
    residuals[1] = weight * 0.5 * (m(0, 2) - m(2, 0));
    residuals[2] = weight * 0.5 * (m(1, 0) - m(0, 1));
    return true;
  }
};

template <typename Functor>
ceres::DynamicAutoDiffCostFunction<Functor, kStride>* MakeDynamic(Functor* functor,
                                                                  const std::vector<int>& sizes,
                                                                  int num_residuals) {
  auto* cost = new ceres::DynamicAutoDiffCostFunction<Functor, kStride>(functor);
  for (int size : sizes) cost->AddParameterBlock(size);
  cost->SetNumResiduals(num_residuals);
  return cost;
}

// The Ceres problem of one frame, its parameters and what its residual blocks refer to.
class CeresDepthFitProblem {
 public:
  CeresDepthFitProblem(const HeadModel& model, const DepthFitOptions& options,
                       const FitTerms& terms, const HeadState& initial);
  CeresDepthFitProblem(const CeresDepthFitProblem&) = delete;
  CeresDepthFitProblem& operator=(const CeresDepthFitProblem&) = delete;

  ceres::Problem& problem() { return *problem_; }
  HeadState State() const;  // the state at the current parameter values
  double Cost();             // at the current parameter values (Problem::Evaluate)

  // Bounded expression coefficients: those on a bound whose cost gradient points out of it
  // (ascending ids; empty without bounds).
  bool has_expression_bounds() const { return bounded_expression_; }
  std::vector<int> ExpressionsPushedOutOfBounds();
  // Holds the given expression coefficients fixed in the next solves, frees the others.
  void HoldExpressions(const std::vector<int>& held);

 private:
  ceres::LossFunction* DataLoss(double weight);
  void AddPoint(const std::array<int, 3>& vertices, const Eigen::Vector3f& barycentrics);

  const HeadModel& model_;
  const HeadState initial_;
  bool fit_identity_ = false;    // identity coefficients are unknowns
  bool fit_expression_ = false;  // expression coefficients are unknowns
  bool bounded_expression_ = false;

  // Parameters.
  Eigen::Vector3d rotation_increment_ = Eigen::Vector3d::Zero();
  Eigen::Vector3d translation_;
  double log_scale_ = 0.0;
  Eigen::VectorXd identity_;
  Eigen::VectorXd expression_;

  PointBlocks blocks_;
  std::vector<double*> point_parameters_;
  ModelPoints points_;
  std::unique_ptr<ceres::LossFunction> robust_;  // null: plain least squares
  std::map<double, std::unique_ptr<ceres::LossFunction>> data_losses_;  // by weight
  std::vector<std::unique_ptr<ceres::Manifold>> manifolds_;
  std::unique_ptr<ceres::Problem> problem_;  // declared last: destroyed first
};

CeresDepthFitProblem::CeresDepthFitProblem(const HeadModel& model, const DepthFitOptions& options,
                                           const FitTerms& terms, const HeadState& initial)
    : model_(model), initial_(initial) {
  options.Check();
  HT_CHECK(model.num_joints() == 0, "the Ceres reference supports models without joints only");
  HT_CHECK(initial.identity.size() == model.num_identity() &&
               initial.expression.size() == model.num_expression(),
           "HeadState sizes do not match the model");
  const bool bounded = model.expression_kind() == ExpressionKind::kBlendshapes;
  if (bounded) {
    HT_CHECK((initial.expression.array() >= 0).all() && (initial.expression.array() <= 1).all(),
             "the initial expression must lie in [0, 1]");
  }
  translation_ = initial.cam_from_head.translation;
  identity_ = initial.identity.cast<double>();
  expression_ = initial.expression.cast<double>();

  fit_identity_ = options.optimize_identity && model.num_identity() > 0;
  fit_expression_ = options.optimize_expression && model.num_expression() > 0;
  bounded_expression_ = fit_expression_ && bounded;
  blocks_.initial_rotation = initial.cam_from_head.rotation;
  blocks_.initial_scale = initial.cam_from_head.scale;
  blocks_.log_scale = options.estimate_scale;
  point_parameters_ = {rotation_increment_.data(), translation_.data()};
  std::vector<int> point_sizes = {3, 3};
  if (options.estimate_scale) {
    point_parameters_.push_back(&log_scale_);
    point_sizes.push_back(1);
  }
  if (fit_identity_) {
    point_parameters_.push_back(identity_.data());
    blocks_.coefficient_sizes.push_back(model.num_identity());
  }
  if (fit_expression_) {
    point_parameters_.push_back(expression_.data());
    blocks_.coefficient_sizes.push_back(model.num_expression());
  }
  for (int size : blocks_.coefficient_sizes) {
    point_sizes.push_back(size);
    blocks_.num_coefficients += size;
  }

  switch (options.loss) {
    case RobustLoss::kNone: break;
    case RobustLoss::kHuber:
      robust_ = std::make_unique<ceres::HuberLoss>(options.loss_threshold);
      break;
    case RobustLoss::kTukey:  // Ceres' c^2/3 (1 - (1 - s/c^2)^3) is ours (checked by the tests)
      robust_ = std::make_unique<ceres::TukeyLoss>(options.loss_threshold);
      break;
  }

  ceres::Problem::Options problem_options;
  problem_options.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  problem_options.manifold_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  problem_ = std::make_unique<ceres::Problem>(problem_options);
  ceres::Problem& problem = *problem_;
  problem.AddParameterBlock(rotation_increment_.data(), 3);
  problem.AddParameterBlock(translation_.data(), 3);
  if (!options.optimize_pose) {
    problem.SetParameterBlockConstant(rotation_increment_.data());
    problem.SetParameterBlockConstant(translation_.data());
  }
  if (options.estimate_scale) problem.AddParameterBlock(&log_scale_, 1);
  if (model.num_identity() > 0) {
    problem.AddParameterBlock(identity_.data(), model.num_identity());
    if (!fit_identity_) problem.SetParameterBlockConstant(identity_.data());
  }
  if (model.num_expression() > 0) {
    problem.AddParameterBlock(expression_.data(), model.num_expression());
    if (!fit_expression_) problem.SetParameterBlockConstant(expression_.data());
    if (bounded_expression_) {
      for (int k = 0; k < model.num_expression(); ++k) {
        problem.SetParameterLowerBound(expression_.data(), k, 0.0);
        problem.SetParameterUpperBound(expression_.data(), k, 1.0);
      }
    }
  }

  // Data terms.
  const int num_vertices = model.num_vertices();
  const double inv_sigma = 1.0 / options.sigma_m;
  for (const Correspondence& c : terms.correspondences) {
    for (int v : c.vertices) {
      HT_CHECK(v >= 0 && v < num_vertices, "correspondence vertex " << v << " out of range");
    }
    const int index = static_cast<int>(points_.base.size());
    AddPoint(c.vertices, c.barycentrics);
    const Eigen::Vector3d q = c.scan_point.cast<double>();
    const Eigen::Vector3d n = c.scan_normal.cast<double>();
    if (options.point_to_plane_weight > 0) {
      problem.AddResidualBlock(
          MakeDynamic(new PointResidual{&blocks_, &points_, index, true, q, n, inv_sigma},
                      point_sizes, 1),
          DataLoss(c.weight * options.point_to_plane_weight), point_parameters_);
    }
    if (options.point_to_point_weight > 0) {
      problem.AddResidualBlock(
          MakeDynamic(new PointResidual{&blocks_, &points_, index, false, q, n, inv_sigma},
                      point_sizes, 3),
          DataLoss(c.weight * options.point_to_point_weight), point_parameters_);
    }
  }
  // Landmarks: no robust loss.
  const double landmark_scale = std::sqrt(options.landmark_weight) / options.landmark_sigma_m;
  for (const LandmarkTarget& l : terms.landmarks) {
    HT_CHECK(l.vertex >= 0 && l.vertex < num_vertices,
             "landmark vertex " << l.vertex << " out of range");
    const int index = static_cast<int>(points_.base.size());
    AddPoint({l.vertex, l.vertex, l.vertex}, Eigen::Vector3f(1, 0, 0));
    problem.AddResidualBlock(
        MakeDynamic(new PointResidual{&blocks_, &points_, index, false, l.point.cast<double>(),
                                      Eigen::Vector3d::Zero(), landmark_scale},
                    point_sizes, 3),
        nullptr, point_parameters_);
  }

  // Priors and temporal terms.
  auto add_difference = [&](double* block, const Eigen::VectorXd& reference, double weight) {
    const int size = static_cast<int>(reference.size());
    if (weight <= 0 || size == 0) return;
    problem.AddResidualBlock(MakeDynamic(new ScaledDifference{reference, weight}, {size}, size),
                             nullptr, block);
  };
  add_difference(identity_.data(), Eigen::VectorXd::Zero(model.num_identity()),
                 std::sqrt(options.identity_weight));
  add_difference(expression_.data(), Eigen::VectorXd::Zero(model.num_expression()),
                 std::sqrt(options.expression_weight));
  if (terms.previous != nullptr) {
    const HeadState& previous = *terms.previous;
    HT_CHECK(previous.expression.size() == model.num_expression(),
             "previous HeadState sizes do not match the model");
    add_difference(expression_.data(), previous.expression.cast<double>(),
                   std::sqrt(options.temporal_expression_weight));
    add_difference(translation_.data(), previous.cam_from_head.translation,
                   std::sqrt(options.temporal_translation_weight) /
                       options.temporal_translation_sigma_m);
    const double rotation_weight =
        std::sqrt(options.temporal_rotation_weight) / options.temporal_rotation_sigma;
    if (rotation_weight > 0) {
      problem.AddResidualBlock(
          new ceres::AutoDiffCostFunction<RotationDifference, 3, 3>(new RotationDifference{
              initial.cam_from_head.rotation * previous.cam_from_head.rotation.transpose(),
              rotation_weight}),
          nullptr, rotation_increment_.data());
    }
  }
}

// rho of the data terms scaled by `weight` (0.5 weight rho(s) per block, as ours).
ceres::LossFunction* CeresDepthFitProblem::DataLoss(double weight) {
  std::unique_ptr<ceres::LossFunction>& loss = data_losses_[weight];
  if (!loss) {
    loss = std::make_unique<ceres::ScaledLoss>(robust_.get(), weight, ceres::DO_NOT_TAKE_OWNERSHIP);
  }
  return loss.get();
}

// Appends the linear form of the point sum_i b_i v_i: the coefficients held fixed are folded
// into `base`, in double from the float model arrays as our energy does.
void CeresDepthFitProblem::AddPoint(const std::array<int, 3>& vertices,
                                    const Eigen::Vector3f& barycentrics) {
  const HeadModel& model = model_;
  const Eigen::MatrixXf& identity_basis = model.identity_basis();
  const Eigen::MatrixXf& expression_basis = model.expression_basis();
  const int n = blocks_.num_coefficients;
  Eigen::Vector3d base = Eigen::Vector3d::Zero();
  double weight_sum = 0.0;
  const size_t offset = points_.rows.size();
  points_.rows.resize(offset + 3 * n, 0.0);
  double* rows = points_.rows.data() + offset;
  for (int i = 0; i < 3; ++i) {
    const double b = barycentrics[i];
    weight_sum += b;
    if (b == 0.0) continue;
    const int v = vertices[i];
    for (int c = 0; c < 3; ++c) {
      const int row = 3 * v + c;
      double fixed_identity = 0.0, fixed_expression = 0.0;
      int column = 0;
      for (int k = 0; k < model.num_identity(); ++k) {
        const double basis = identity_basis(row, k);
        if (fit_identity_) {
          rows[c * n + column++] += b * basis;
        } else {
          fixed_identity += basis * identity_[k];
        }
      }
      for (int k = 0; k < model.num_expression(); ++k) {
        const double basis = expression_basis(row, k);
        if (fit_expression_) {
          rows[c * n + column++] += b * basis;
        } else {
          fixed_expression += basis * expression_[k];
        }
      }
      base[c] += b * (static_cast<double>(model.template_vertices()(v, c)) + fixed_identity +
                      fixed_expression);
    }
  }
  points_.base.push_back(base);
  points_.weight_sum.push_back(weight_sum);
}

std::vector<int> CeresDepthFitProblem::ExpressionsPushedOutOfBounds() {
  if (!bounded_expression_) return {};
  problem_->SetManifold(expression_.data(), nullptr);
  ceres::Problem::EvaluateOptions evaluate;
  evaluate.parameter_blocks = {expression_.data()};
  std::vector<double> gradient;
  HT_CHECK(problem_->Evaluate(evaluate, nullptr, nullptr, &gradient, nullptr),
           "Ceres could not evaluate the gradient");
  std::vector<int> pushed;
  for (int k = 0; k < expression_.size(); ++k) {
    if ((expression_[k] <= 0.0 && gradient[k] > 0.0) ||
        (expression_[k] >= 1.0 && gradient[k] < 0.0)) {
      pushed.push_back(k);
    }
  }
  return pushed;
}

void CeresDepthFitProblem::HoldExpressions(const std::vector<int>& held) {
  if (!bounded_expression_) return;
  ceres::Manifold* manifold = nullptr;
  if (!held.empty()) {
    manifolds_.push_back(
        std::make_unique<ceres::SubsetManifold>(static_cast<int>(expression_.size()), held));
    manifold = manifolds_.back().get();
  }
  problem_->SetManifold(expression_.data(), manifold);
}

double CeresDepthFitProblem::Cost() {
  double cost = 0.0;
  HT_CHECK(problem_->Evaluate(ceres::Problem::EvaluateOptions(), &cost, nullptr, nullptr, nullptr),
           "Ceres could not evaluate the cost");
  return cost;
}

HeadState CeresDepthFitProblem::State() const {
  HeadState state = initial_;
  Eigen::Matrix3d increment;  // column-major, as Ceres writes it
  ceres::AngleAxisToRotationMatrix(rotation_increment_.data(), increment.data());
  state.cam_from_head.rotation = increment * initial_.cam_from_head.rotation;
  state.cam_from_head.translation = translation_;
  state.cam_from_head.scale = initial_.cam_from_head.scale * std::exp(log_scale_);
  state.identity = identity_.cast<float>();
  state.expression = expression_.cast<float>();
  return state;
}

}  // namespace

void CeresFitOptions::Check() const {
  HT_CHECK(max_iterations >= 1, "CeresFitOptions::max_iterations must be >= 1");
  HT_CHECK(function_tolerance >= 0, "CeresFitOptions::function_tolerance must be >= 0");
  HT_CHECK(num_threads >= 1, "CeresFitOptions::num_threads must be >= 1");
}

double EvaluateCostWithCeres(const HeadModel& model, const DepthFitOptions& options,
                             const FitTerms& terms, const HeadState& state) {
  return CeresDepthFitProblem(model, options, terms, state).Cost();
}

CeresFitResult SolveWithCeres(const HeadModel& model, const DepthFitOptions& options,
                              const FitTerms& terms, const HeadState& initial,
                              const CeresFitOptions& ceres_options) {
  ceres_options.Check();
  CeresDepthFitProblem problem(model, options, terms, initial);
  ceres::Solver::Options solver_options;
  solver_options.minimizer_type = ceres::TRUST_REGION;
  solver_options.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  solver_options.linear_solver_type = ceres::DENSE_NORMAL_CHOLESKY;
  solver_options.max_num_iterations = ceres_options.max_iterations;
  solver_options.function_tolerance = ceres_options.function_tolerance;
  solver_options.gradient_tolerance = 0.0;  // converge on the cost decrease, as ours
  solver_options.parameter_tolerance = 1e-14;
  solver_options.num_threads = ceres_options.num_threads;
  solver_options.logging_type = ceres::SILENT;

  // Ceres keeps bounds by projecting its steps, which crawls along the bounds and stops short
  // of the minimum when many blendshapes rest on one. An active-set loop around it reaches the
  // minimum: hold the coefficients that sit on a bound and are pushed outward, take one Ceres
  // iteration, repeat; done when Ceres converges and the held set is still the right one.
  const bool bounded = problem.has_expression_bounds();
  CeresFitResult result;
  std::vector<int> held;
  bool ceres_converged = false;
  int rounds = 0;
  while (result.iterations < ceres_options.max_iterations) {
    const std::vector<int> pushed = problem.ExpressionsPushedOutOfBounds();
    if (rounds > 0 && ceres_converged && pushed == held) {
      result.converged = true;
      break;
    }
    held = pushed;
    problem.HoldExpressions(held);
    solver_options.max_num_iterations =
        bounded ? 1 : ceres_options.max_iterations - result.iterations;
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options, &problem.problem(), &summary);
    if (rounds++ == 0) result.initial_cost = summary.initial_cost;
    result.seconds += summary.total_time_in_seconds;
    // summary.iterations[0] is the start; a round counts at least one, so the loop ends.
    result.iterations += std::max(1, static_cast<int>(summary.iterations.size()) - 1);
    result.report = summary.BriefReport();
    ceres_converged = summary.termination_type == ceres::CONVERGENCE;
    if (!bounded || (!ceres_converged && summary.termination_type != ceres::NO_CONVERGENCE)) {
      result.converged = ceres_converged;
      break;
    }
    // The next round continues with the trust region where this one left it.
    solver_options.initial_trust_region_radius = summary.iterations.back().trust_region_radius;
  }
  result.report += " (" + std::to_string(rounds) + " rounds)";
  result.final_cost = problem.Cost();
  result.state = problem.State();
  return result;
}

}  // namespace headtrack
