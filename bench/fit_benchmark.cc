// Fixed-correspondence fitting of one frame, ours (SolveWithFixedTerms) against the same energy
// in Ceres (SolveWithCeres), one thread each, both to the same convergence test: the ratio of
// the two times is our speed-up. Frame: the default model rendered with 1 mm Kinect-like noise
// into the half-resolution camera, correspondences from one association at a perturbed state.
// Argument: 0 pose + expression, 1 with identity. The time is the solve alone (manual time:
// the problem construction of Ceres and our energy's construction are left out); the counters
// give the final costs, which agree to ~1e-6.
#include <benchmark/benchmark.h>

#include <chrono>

#include <Eigen/Cholesky>

#include "fit/ceres_depth_fit_problem.h"
#include "fit/testing/synthetic_frame.h"
#include "headtrack/depth_fit_energy.h"
#include "headtrack/frame_fitter.h"
#include "headtrack/multi_frame_fit.h"

namespace headtrack {
namespace {

constexpr double kFunctionTolerance = 1e-10;

struct FixedTermsFrame {
  HeadModel model;
  DepthFitOptions options;
  HeadState start;
  FitTerms terms;
};

const FixedTermsFrame& Frame(bool with_identity) {
  static const auto make = [](bool identity) {
    FixedTermsFrame frame{HeadModel::Load(testing::DefaultModelPath()), {}, {}, {}};
    frame.options.optimize_identity = identity;
    frame.options.num_threads = 1;
    frame.options.pixel_stride = 2;  // ~3,500 correspondences: Ceres takes seconds already
    HeadState truth = HeadState::Zero(frame.model);
    truth.identity = SampleIdentity(frame.model.num_identity(), 3) * 0.5f;
    truth.expression = frame.model.ExpressionFromWeights(
        {{"jawOpen", 0.4f}, {"mouthSmile_L", 0.6f}, {"eyeBlink_R", 0.8f}});
    truth.cam_from_head = testing::TypicalCamFromHead(frame.model, -15.0);
    frame.start = truth;
    frame.start.expression.setZero();
    frame.start.cam_from_head.rotation =
        Eigen::AngleAxisd(0.03, Eigen::Vector3d(0.2, 1.0, 0.1).normalized()).toRotationMatrix() *
        truth.cam_from_head.rotation;
    frame.start.cam_from_head.translation += Eigen::Vector3d(0.002, -0.001, 0.003);
    const PinholeCamera camera = testing::HalfAzureKinect();
    const PreprocessedDepth depth = testing::RenderSyntheticFrame(frame.model, truth, camera, 1.0);
    DepthFitEnergy energy(frame.model, frame.options);
    energy.Associate(frame.start, depth.cloud, camera, &frame.terms.correspondences);
    return frame;
  };
  static const FixedTermsFrame without = make(false);
  static const FixedTermsFrame with = make(true);
  return with_identity ? with : without;
}

void BM_FixedTermsOurs(benchmark::State& state) {
  const FixedTermsFrame& frame = Frame(state.range(0) != 0);
  const DepthFitEnergy energy(frame.model, frame.options);
  double cost = 0.0;
  int iterations = 0;
  for (auto _ : state) {
    HeadState fit = frame.start;
    const auto start = std::chrono::steady_clock::now();
    cost = SolveWithFixedTerms(energy, frame.terms, 500, kFunctionTolerance, &fit, &iterations);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.counters["final_cost"] = cost;
  state.counters["iterations"] = iterations;
  state.counters["correspondences"] = static_cast<double>(frame.terms.correspondences.size());
}
BENCHMARK(BM_FixedTermsOurs)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_FixedTermsCeres(benchmark::State& state) {
  const FixedTermsFrame& frame = Frame(state.range(0) != 0);
  CeresFitOptions options;
  options.function_tolerance = kFunctionTolerance;
  options.num_threads = 1;
  CeresFitResult result;
  for (auto _ : state) {
    result = SolveWithCeres(frame.model, frame.options, frame.terms, frame.start, options);
    state.SetIterationTime(result.seconds);
  }
  state.counters["final_cost"] = result.final_cost;
  state.counters["iterations"] = result.iterations;
  state.counters["correspondences"] = static_cast<double>(frame.terms.correspondences.size());
}
BENCHMARK(BM_FixedTermsCeres)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// One damped Gauss-Newton step of the joint problem of N frames sharing one identity
// (MultiFrameFit, offline phase 3): every frame holds the same correspondences at a slightly
// different state, consecutive frames linked. Structured: linearization, block-tridiagonal
// elimination and the identity's Schur complement (SolveStructured); Dense: the same system
// assembled densely and solved by LDLT. The counter of the structured run is the largest
// difference between the two steps.
struct JointProblem {
  std::vector<HeadState> states;
  MultiFrameTerms terms;
};

// Frames of one person turning from -20 to 20 degrees with changing expressions, each with the
// correspondences of one association at a slightly perturbed state.
JointProblem MakeJointProblem(int frames) {
  const FixedTermsFrame& frame = Frame(false);
  const HeadModel& model = frame.model;
  const PinholeCamera camera = testing::HalfAzureKinect();
  JointProblem problem;
  for (int f = 0; f < frames; ++f) {
    HeadState truth = HeadState::Zero(model);
    truth.identity = SampleIdentity(model.num_identity(), 3) * 0.5f;
    truth.expression = model.ExpressionFromWeights(
        {{"jawOpen", 0.3f * f / frames}, {"mouthSmile_L", 0.5f - 0.4f * f / frames}});
    truth.cam_from_head = testing::TypicalCamFromHead(model, -20.0 + 40.0 * f / frames);
    const PreprocessedDepth depth = testing::RenderSyntheticFrame(model, truth, camera, 1.0, f);
    HeadState state = truth;
    state.identity.setZero();
    state.cam_from_head.translation += Eigen::Vector3d(0.001, -0.001, 0.002);
    problem.terms.frames.emplace_back();
    DepthFitEnergy(model, frame.options)
        .Associate(state, depth.cloud, camera, &problem.terms.frames.back().correspondences);
    problem.states.push_back(state);
    problem.terms.linked_to_previous.push_back(f > 0);
  }
  return problem;
}

MultiFrameFit JointFit() {
  DepthFitOptions options = Frame(false).options;
  options.temporal_expression_weight = 10.0;
  return MultiFrameFit(Frame(false).model, options);
}

Eigen::VectorXd DenseStep(const MultiFrameFit& fit, const JointProblem& problem) {
  Eigen::MatrixXd hessian;
  Eigen::VectorXd gradient;
  fit.LinearizeDense(problem.states, problem.terms, &hessian, &gradient);
  hessian.diagonal() += 1e-4 * hessian.diagonal().cwiseMax(1e-9);
  return hessian.ldlt().solve(-gradient);
}

void BM_JointStepStructured(benchmark::State& state) {
  const MultiFrameFit fit = JointFit();
  const JointProblem problem = MakeJointProblem(static_cast<int>(state.range(0)));
  Eigen::VectorXd step;
  for (auto _ : state) {
    step = fit.SolveStructured(problem.states, problem.terms, 1e-4);
    benchmark::DoNotOptimize(step.data());
  }
  state.counters["unknowns"] = static_cast<double>(step.size());
  const Eigen::VectorXd dense = DenseStep(fit, problem);
  state.counters["relative_difference_to_dense"] = (step - dense).norm() / dense.norm();
  state.counters["step_norm"] = dense.norm();
}
BENCHMARK(BM_JointStepStructured)->Arg(10)->Arg(30)->Arg(60)->Unit(benchmark::kMillisecond);

void BM_JointStepDense(benchmark::State& state) {
  const MultiFrameFit fit = JointFit();
  const JointProblem problem = MakeJointProblem(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const Eigen::VectorXd step = DenseStep(fit, problem);
    benchmark::DoNotOptimize(step.data());
  }
}
BENCHMARK(BM_JointStepDense)->Arg(10)->Arg(30)->Arg(60)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace headtrack
