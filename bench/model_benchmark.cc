// Head model evaluation speed: the default model (24,591 vertices, 53 expressions), identity
// cached, a dense expression vector and a rigid transform per call.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "headtrack/head_model.h"
#include "headtrack/model_path.h"

namespace headtrack {
namespace {

const HeadModel& DefaultModel() {
  static const HeadModel model = HeadModel::Load(ResolveModelPath());
  return model;
}

void BM_HeadModelEvaluate(benchmark::State& state) {
  const HeadModel& model = DefaultModel();
  const IdentityShape shape = model.ShapeIdentity(SampleIdentity(model.num_identity(), 1));
  Eigen::VectorXf expression = (Eigen::VectorXf::Random(model.num_expression()).array() + 1.0f) / 2;
  const SimilarityTransform cam_from_head =
      SimilarityTransform::FromYawPitchRoll(10, 5, 0, Eigen::Vector3d(0, 0, 0.45));
  Points3f vertices;
  for (auto _ : state) {
    expression(0) += 1e-6f;  // a new expression every frame
    model.Evaluate(shape, expression, {}, cam_from_head, &vertices);
    benchmark::DoNotOptimize(vertices.data());
    benchmark::ClobberMemory();
  }
  state.counters["vertices"] = model.num_vertices();
}
BENCHMARK(BM_HeadModelEvaluate)->Unit(benchmark::kMillisecond);

void BM_HeadModelShapeIdentity(benchmark::State& state) {
  const HeadModel& model = DefaultModel();
  const Eigen::VectorXf identity = SampleIdentity(model.num_identity(), 2);
  for (auto _ : state) {
    IdentityShape shape = model.ShapeIdentity(identity);
    benchmark::DoNotOptimize(shape.shaped.data());
  }
}
BENCHMARK(BM_HeadModelShapeIdentity)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace headtrack
