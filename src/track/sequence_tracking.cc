#include "headtrack/sequence_tracking.h"

#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "headtrack/error.h"
#include "headtrack/mesh_io.h"
#include "headtrack/result_report.h"
#include "headtrack/sequence.h"
#include "io/npz_file.h"
#include "track/sequence_checkpoint.h"

namespace headtrack {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kFramesFile = "frames.jsonl";
constexpr const char* kCheckpointFile = "checkpoint.jsonl";
// What a run writes (and an --overwrite run removes).
constexpr const char* kOutputs[] = {"frames.jsonl", "frames.jsonl.part", "identity.json",
                                    "summary.json", "params.npz", "neutral.obj",
                                    "checkpoint.jsonl", "arkit.csv", "overlay.mp4",
                                    "report.html"};

// Makes the output folder ready: refuses one that holds files unless overwrite (or resume, which
// needs the earlier run's checkpoint), and then removes only what an earlier run wrote.
void PrepareOutput(const SequenceTrackingOptions& options) {
  namespace fs = std::filesystem;
  const fs::path& out = options.output;
  if (fs::exists(out) && !fs::is_directory(out)) {
    HT_THROW_INPUT(out, "the output must be a folder; this is a file");
  }
  if (options.resume) {
    if (!fs::exists(out / kCheckpointFile)) {
      HT_THROW_INPUT(out, "nothing to resume: no " << kCheckpointFile
                              << " (the run completed, or never started here)");
    }
    return;
  }
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (!options.overwrite) {
      HT_THROW_INPUT(out, "the output folder is not empty; pass --overwrite to replace the "
                          "results of an earlier run there"
                              << (fs::exists(out / kCheckpointFile)
                                      ? ", or --resume to continue the interrupted run"
                                      : ""));
    }
    for (const char* name : kOutputs) fs::remove(out / name);
    fs::remove_all(out / "online");
    if (fs::is_directory(out / "overlay")) {
      for (const auto& entry : fs::directory_iterator(out / "overlay")) {
        if (entry.path().extension() == ".png") fs::remove(entry.path());
      }
    }
    if (fs::is_directory(out / "meshes")) {
      for (const auto& entry : fs::directory_iterator(out / "meshes")) {
        if (entry.path().extension() == ".ply") fs::remove(entry.path());
      }
    }
  }
  fs::create_directories(out);
}

Json Row(const Eigen::Matrix3d& m, int r) { return Json::array({m(r, 0), m(r, 1), m(r, 2)}); }

// The pose and shape fields of a frames.jsonl line.
void AddStateFields(const HeadModel& model, const HeadState& state, Json* json) {
  const SimilarityTransform& pose = state.cam_from_head;
  (*json)["rotation"] =
      Json::array({Row(pose.rotation, 0), Row(pose.rotation, 1), Row(pose.rotation, 2)});
  (*json)["translation"] =
      Json::array({pose.translation.x(), pose.translation.y(), pose.translation.z()});
  (*json)["scale"] = pose.scale;
  Json expression = Json::object();
  for (int k = 0; k < model.num_expression(); ++k) {
    expression[model.expression_names()[k]] = state.expression[k];
  }
  (*json)["expression"] = std::move(expression);
  if (model.num_joints() > 0) {
    Json joints = Json::object();
    for (int j = 0; j < model.num_joints(); ++j) {
      const Eigen::Vector3d r = state.joint_rotations.col(j);
      joints[model.joint_names()[j]] = Json::array({r.x(), r.y(), r.z()});
    }
    (*json)["joint_rotations"] = std::move(joints);
  }
}

Json OnlineFrameJson(const HeadModel& model, const FrameResult& result) {
  Json json;
  json["frame"] = result.frame;
  json["status"] = TrackStatusName(result.status);
  if (result.status == TrackStatus::kLost) {
    json["message"] = result.message;
  } else {
    AddStateFields(model, result.state, &json);
  }
  json["cost"] = result.fit.final_cost;
  json["iterations"] = result.fit.iterations;
  json["correspondences"] = result.fit.num_correspondences;
  json["rms_mm"] = result.rms_m * 1000.0;
  json["coverage"] = result.coverage;
  json["initialized"] = result.initialized;
  json["ms"] = result.seconds_total * 1000.0;
  return json;
}

// Offline lines hold no times, so that a resumed run writes the same file.
Json OfflineFrameJson(const HeadModel& model, const OfflineFrame& frame,
                      const FrameQuality& quality) {
  Json json;
  json["frame"] = frame.number;
  json["status"] = frame.tracked ? "tracked" : "lost";
  if (!frame.tracked) {
    json["message"] = frame.message;
    return json;
  }
  AddStateFields(model, frame.state, &json);
  json["cost"] = quality.cost;
  json["correspondences"] = quality.correspondences;
  json["rms_mm"] = quality.rms_m * 1000.0;
  json["coverage"] = quality.coverage;
  return json;
}

void WriteJson(const std::filesystem::path& path, const Json& json) {
  WriteFileAtomically(path, [&](std::ostream& out) { out << json.dump(2) << "\n"; }, false);
}

void WriteLines(const std::filesystem::path& path, const std::vector<Json>& lines) {
  WriteFileAtomically(path, [&](std::ostream& out) {
    for (const Json& line : lines) out << line.dump() << "\n";
  }, false);
}

Json IdentityJson(const HeadModel& model, const Eigen::VectorXf& identity) {
  Json json;
  json["identity"] = std::vector<float>(identity.data(), identity.data() + identity.size());
  json["model"] = model.source().string();
  return json;
}

Json OnlineSummaryJson(const HeadModel& model, const SequenceTrackingOptions& options,
                       const SequenceTrackingSummary& summary) {
  Json json;
  json["sequence"] = options.sequence.string();
  json["model"] = model.source().string();
  json["frames"] = summary.frames;
  json["tracked"] = summary.tracked;
  json["lost"] = summary.lost;
  json["seconds"] = summary.seconds;
  json["frames_per_second"] = summary.frames_per_second;
  json["seconds_per_stage"] = {{"preprocess", summary.seconds_preprocess},
                               {"initialize", summary.seconds_initialize},
                               {"render", summary.seconds_render},
                               {"associate", summary.seconds_associate},
                               {"assemble", summary.seconds_assemble},
                               {"solve", summary.seconds_solve}};
  json["subsample"] = options.tracker.subsample;
  json["threads"] = options.tracker.num_threads;
  if (summary.resumed) json["resumed_after_frames"] = summary.resumed_frames;
  return json;
}

// The options that decide the result: a resumed run must use the same ones.
Json Fingerprint(const HeadModel& model, const SequenceTrackingOptions& options) {
  const TrackerOptions& t = options.tracker;
  const OfflineOptions& o = options.offline_options;
  Json json;
  json["sequence"] = std::filesystem::absolute(options.sequence).lexically_normal().string();
  json["model"] = model.source().string();
  json["frames"] = {options.first_frame, options.last_frame};
  json["offline"] = options.offline;
  json["tracker"] = {t.subsample, t.fit.max_iterations, t.fit.energy.pixel_stride,
                     t.identity_frames, t.identity_iterations, t.num_threads};
  if (options.offline) {
    json["offline_options"] = {o.keyframes, o.identity_rounds, o.identity_iterations,
                               o.expression.max_iterations, o.expression.energy.pixel_stride,
                               o.joint_rounds, o.joint_iterations, o.joint_energy.pixel_stride,
                               o.num_threads};
  }
  return json;
}

void WriteParams(const std::filesystem::path& path, const HeadModel& model,
                 const std::vector<OfflineFrame>& frames, const Eigen::VectorXf& identity) {
  const int64_t n = static_cast<int64_t>(frames.size());
  const int64_t e = model.num_expression();
  std::vector<int32_t> numbers;
  std::vector<uint8_t> tracked;
  std::vector<float> rotation, translation, scale, expression;
  for (const OfflineFrame& frame : frames) {
    numbers.push_back(frame.number);
    tracked.push_back(frame.tracked);
    const SimilarityTransform& pose = frame.state.cam_from_head;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) rotation.push_back(static_cast<float>(pose.rotation(r, c)));
      translation.push_back(static_cast<float>(pose.translation[r]));
    }
    scale.push_back(static_cast<float>(pose.scale));
    for (int k = 0; k < e; ++k) expression.push_back(frame.state.expression[k]);
  }
  WriteNpz(path, {{"frame", NpyArray::FromData(numbers.data(), {n})},
                  {"tracked", NpyArray::FromData(reinterpret_cast<const bool*>(tracked.data()), {n})},
                  {"rotation", NpyArray::FromData(rotation.data(), {n, 3, 3})},
                  {"translation", NpyArray::FromData(translation.data(), {n, 3})},
                  {"scale", NpyArray::FromData(scale.data(), {n})},
                  {"expression", NpyArray::FromData(expression.data(), {n, e})},
                  {"identity", NpyArray::FromData(identity.data(), {identity.size()})},
                  {"expression_names", NpyArray::FromStrings(model.expression_names())}});
}

// Every frame's scan at the tracking resolution, cropped around its online pose, kept in memory
// up to kBudgetBytes (the offline phases visit every frame several times); beyond the budget a
// frame is read and preprocessed again when asked.
class ScanCache {
 public:
  ScanCache(const Sequence& sequence, const std::vector<int>& indices,
            const std::vector<FrameResult>& online, const Tracker& tracker)
      : sequence_(sequence), indices_(indices), online_(online), tracker_(tracker),
        scans_(indices.size()) {}

  const TrackingScan& Get(int index) {
    if (scans_[index]) return *scans_[index];
    TrackingScan scan = tracker_.PrepareScan(sequence_.ReadFrame(indices_[index]).depth,
                                             &online_[index].state.cam_from_head);
    const double bytes = 4.0 * (scan.depth.cloud.points.size() + scan.depth.cloud.normals.size() +
                                scan.depth.depth.pixels.size());
    if (bytes_ + bytes > kBudgetBytes) {
      uncached_ = std::move(scan);
      return uncached_;
    }
    bytes_ += bytes;
    scans_[index] = std::make_unique<TrackingScan>(std::move(scan));
    return *scans_[index];
  }

 private:
  static constexpr double kBudgetBytes = 2e9;
  const Sequence& sequence_;
  const std::vector<int>& indices_;
  const std::vector<FrameResult>& online_;
  const Tracker& tracker_;
  std::vector<std::unique_ptr<TrackingScan>> scans_;
  TrackingScan uncached_;
  double bytes_ = 0.0;
};

// The three offline phases, each skipped or continued from what the checkpoint holds, each
// recorded in it; fills the offline fields of *summary.
void RunOfflinePhases(const SequenceTrackingOptions& options, const ScanSource& scans,
                      OfflineReconstructor* reconstructor, SequenceCheckpoint* checkpoint,
                      std::vector<OfflineFrame>* frames, SequenceTrackingSummary* summary) {
  const int n = static_cast<int>(frames->size());
  if (checkpoint->has_identity_phase()) {
    checkpoint->RestoreIdentityPhase(frames, summary);
  } else {
    const std::vector<int> keyframes = reconstructor->ChooseKeyframes(*frames);
    const IdentityPhaseSummary identity = reconstructor->FitIdentity(keyframes, scans, frames);
    for (int k : identity.keyframes) summary->keyframes.push_back((*frames)[k].number);
    summary->identity_cost_before = identity.initial_cost;
    summary->identity_cost_after = identity.final_cost;
    summary->seconds_identity = identity.seconds;
    checkpoint->AddIdentityPhase(*frames, *summary);
  }

  const int expressions_done = checkpoint->RestoreExpressionPhase(frames, &summary->seconds_expression);
  std::unique_ptr<Progress> progress;
  if (options.progress && expressions_done < n) {
    progress = std::make_unique<Progress>("offline: expressions", n - expressions_done, "frames");
  }
  for (int p = expressions_done; p < n; ++p) {
    const Stopwatch watch;
    if ((*frames)[p].tracked) reconstructor->FitExpression(p, scans, frames);
    const double seconds = watch.seconds();
    summary->seconds_expression += seconds;
    checkpoint->AddExpressionFrame(p, (*frames)[p], seconds);
    if (progress) progress->Advance();
  }
  progress.reset();

  const int rounds = options.offline_options.joint_rounds;
  const int rounds_done = checkpoint->RestoreJointRounds(frames, summary);
  if (options.progress && rounds_done < rounds) {
    progress = std::make_unique<Progress>("offline: joint refinement", rounds - rounds_done, "rounds");
  }
  for (int round = rounds_done; round < rounds; ++round) {
    const JointRoundSummary joint = reconstructor->RefineJointly(scans, frames);
    if (round == 0) summary->joint_cost_before = joint.solve.initial_cost;
    summary->joint_cost_after = joint.solve.final_cost;
    summary->joint_round_costs.push_back(joint.solve.final_cost);
    summary->seconds_joint += joint.seconds;
    checkpoint->AddJointRound(round, *frames, *summary);
    if (progress) progress->Advance();
  }
}

}  // namespace

SequenceTrackingSummary TrackSequence(const HeadModel& model,
                                      const SequenceTrackingOptions& options,
                                      const std::function<void(const FrameResult&)>& on_frame) {
  namespace fs = std::filesystem;
  const Sequence sequence = Sequence::Open(options.sequence);
  std::vector<int> indices;
  for (int i = 0; i < sequence.num_frames(); ++i) {
    const int number = sequence.frame_numbers()[i];
    if ((options.first_frame < 0 || number >= options.first_frame) &&
        (options.last_frame < 0 || number <= options.last_frame)) {
      indices.push_back(i);
    }
  }
  if (indices.empty()) {
    HT_THROW_INPUT(options.sequence, "no frame numbered in the range " << options.first_frame
                                         << ":" << options.last_frame << " (the sequence has "
                                         << sequence.frame_numbers().front() << " to "
                                         << sequence.frame_numbers().back() << ")");
  }
  PrepareOutput(options);
  const fs::path& out = options.output;
  SequenceCheckpoint checkpoint(out / kCheckpointFile, Fingerprint(model, options), options.resume);

  Tracker tracker(model, sequence.calibration().camera, options.tracker);
  SequenceTrackingSummary summary;
  const int n = static_cast<int>(indices.size());

  // The online pass, frame by frame, continuing after the checkpoint's frames.
  std::vector<FrameResult> results = checkpoint.online_results();
  HT_CHECK(static_cast<int>(results.size()) <= n, "checkpoint with more frames than the run");
  summary.resumed = options.resume;
  summary.resumed_frames = static_cast<int>(results.size());
  if (!results.empty()) tracker.Restore(checkpoint.tracker_memory());
  {
    std::unique_ptr<Progress> progress;
    if (options.progress && static_cast<int>(results.size()) < n) {
      progress = std::make_unique<Progress>(options.offline ? "track (online pass)" : "track",
                                            static_cast<long>(n - results.size()), "frames");
    }
    for (int p = static_cast<int>(results.size()); p < n; ++p) {
      const SequenceFrame frame = sequence.ReadFrame(indices[p]);
      results.push_back(tracker.Track(frame.number, frame.depth, frame.color));
      checkpoint.AddOnlineResult(results.back(), tracker.memory());
      if (on_frame) on_frame(results.back());
      if (progress) progress->Advance();
    }
  }
  for (const FrameResult& result : results) {
    ++summary.frames;
    (result.status == TrackStatus::kTracked ? summary.tracked : summary.lost)++;
    summary.seconds += result.seconds_total;
    summary.seconds_preprocess += result.seconds_preprocess;
    summary.seconds_initialize += result.seconds_initialize;
    summary.seconds_render += result.fit.seconds_render;
    summary.seconds_associate += result.fit.seconds_associate;
    summary.seconds_assemble += result.fit.seconds_assemble;
    summary.seconds_solve += result.fit.seconds_solve;
  }
  summary.frames_per_second = summary.seconds > 0 ? summary.frames / summary.seconds : 0.0;

  // Online results: the whole result without offline, OUT/online/ with it.
  const fs::path online_folder = options.offline ? out / "online" : out;
  fs::create_directories(online_folder);
  std::vector<Json> online_lines;
  for (const FrameResult& result : results) online_lines.push_back(OnlineFrameJson(model, result));
  Json online_identity = IdentityJson(model, tracker.identity());
  online_identity["fixed_after_frames"] = options.tracker.identity_frames;
  WriteJson(online_folder / "identity.json", online_identity);
  WriteJson(online_folder / "summary.json", OnlineSummaryJson(model, options, summary));
  WriteLines(online_folder / kFramesFile, online_lines);

  std::vector<HeadState> final_states;
  std::vector<bool> final_tracked;
  if (!options.offline) {
    for (const FrameResult& result : results) {
      final_states.push_back(result.state);
      final_tracked.push_back(result.status == TrackStatus::kTracked);
    }
  } else {
    summary.offline = true;
    const Stopwatch offline_watch;
    std::vector<OfflineFrame> frames(n);
    for (int p = 0; p < n; ++p) {
      frames[p].number = results[p].frame;
      frames[p].tracked = results[p].status == TrackStatus::kTracked;
      frames[p].message = results[p].message;
      frames[p].state = results[p].state;
    }
    ScanCache cache(sequence, indices, results, tracker);
    const ScanSource scans = [&](int index) -> const TrackingScan& { return cache.Get(index); };
    OfflineReconstructor reconstructor(model, options.offline_options);
    RunOfflinePhases(options, scans, &reconstructor, &checkpoint, &frames, &summary);

    // The result.
    std::vector<Json> lines;
    for (int p = 0; p < n; ++p) {
      const FrameQuality quality =
          frames[p].tracked ? reconstructor.Measure(p, scans, frames) : FrameQuality{};
      lines.push_back(OfflineFrameJson(model, frames[p], quality));
      final_states.push_back(frames[p].state);
      final_tracked.push_back(frames[p].tracked);
      summary.offline_tracked += frames[p].tracked;
    }
    const Eigen::VectorXf identity = frames.front().state.identity;
    summary.seconds_offline = offline_watch.seconds();
    WriteParams(out / "params.npz", model, frames, identity);
    WriteMesh(out / "neutral.obj",
              model.EvaluateMesh(identity, model.ZeroExpression(),
                                 JointRotations::Zero(3, model.num_joints()),
                                 SimilarityTransform()));
    Json identity_json = IdentityJson(model, identity);
    identity_json["keyframes"] = summary.keyframes;
    WriteJson(out / "identity.json", identity_json);
    Json json = OnlineSummaryJson(model, options, summary);
    json["offline"] = {{"tracked", summary.offline_tracked},
                       {"keyframes", summary.keyframes},
                       {"identity_cost_before", summary.identity_cost_before},
                       {"identity_cost_after", summary.identity_cost_after},
                       {"joint_cost_before", summary.joint_cost_before},
                       {"joint_cost_after", summary.joint_cost_after},
                       {"joint_round_costs", summary.joint_round_costs},
                       {"seconds_identity", summary.seconds_identity},
                       {"seconds_expression", summary.seconds_expression},
                       {"seconds_joint", summary.seconds_joint},
                       {"seconds", summary.seconds_offline}};
    WriteJson(out / "summary.json", json);
    WriteLines(out / kFramesFile, lines);
  }

  if (options.save_meshes) {
    fs::create_directories(out / "meshes");
    for (int p = 0; p < n; ++p) {
      if (!final_tracked[p]) continue;
      const HeadState& state = final_states[p];
      WriteMesh(out / "meshes" / (SequenceFrameName(results[p].frame) + ".ply"),
                model.EvaluateMesh(state.identity, state.expression, state.joint_rotations,
                                   state.cam_from_head));
    }
  }
  if (options.report) {
    std::vector<ArkitExportFrame> arkit;
    for (int p = 0; p < n; ++p) arkit.push_back({results[p].frame, final_tracked[p], final_states[p]});
    WriteArkitCsv(out / "arkit.csv", model, arkit, options.frames_per_second);
    ResultReportOptions report;
    report.sequence = options.sequence;
    report.result = out;
    report.video = options.video;
    report.png_frames = options.png_frames;
    report.frames_per_second = options.frames_per_second;
    report.num_threads = options.tracker.num_threads;
    summary.report = WriteResultReport(model, report);
  }
  checkpoint.Remove();
  return summary;
}

}  // namespace headtrack
