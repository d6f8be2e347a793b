#include "headtrack/sequence_tracking.h"

#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/progress.h"
#include "headtrack/error.h"
#include "headtrack/mesh_io.h"
#include "headtrack/sequence.h"

namespace headtrack {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kFramesFile = "frames.jsonl";
constexpr const char* kPartialFramesFile = "frames.jsonl.part";
constexpr const char* kOutputs[] = {"frames.jsonl", "frames.jsonl.part", "identity.json",
                                    "summary.json"};

std::string FrameFileName(int frame, const char* extension) {
  std::ostringstream name;
  name << std::setw(5) << std::setfill('0') << frame << extension;
  return name.str();
}

// Makes the output folder ready: refuses one that holds files unless overwrite, and then
// removes only what an earlier run wrote.
void PrepareOutput(const SequenceTrackingOptions& options) {
  namespace fs = std::filesystem;
  const fs::path& out = options.output;
  if (fs::exists(out) && !fs::is_directory(out)) {
    HT_THROW_INPUT(out, "the output must be a folder; this is a file");
  }
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (!options.overwrite) {
      HT_THROW_INPUT(out, "the output folder is not empty; pass --overwrite to replace the "
                          "results of an earlier run there");
    }
    for (const char* name : kOutputs) fs::remove(out / name);
    if (fs::is_directory(out / "meshes")) {
      for (const auto& entry : fs::directory_iterator(out / "meshes")) {
        if (entry.path().extension() == ".ply") fs::remove(entry.path());
      }
    }
  }
  fs::create_directories(out);
  if (options.save_meshes) fs::create_directories(out / "meshes");
}

Json Row(const Eigen::Matrix3d& m, int r) { return Json::array({m(r, 0), m(r, 1), m(r, 2)}); }

Json FrameJson(const HeadModel& model, const FrameResult& result) {
  Json json;
  json["frame"] = result.frame;
  json["status"] = TrackStatusName(result.status);
  if (result.status == TrackStatus::kLost) {
    json["message"] = result.message;
  } else {
    const SimilarityTransform& pose = result.state.cam_from_head;
    json["rotation"] = Json::array({Row(pose.rotation, 0), Row(pose.rotation, 1), Row(pose.rotation, 2)});
    json["translation"] = Json::array({pose.translation.x(), pose.translation.y(), pose.translation.z()});
    json["scale"] = pose.scale;
    Json expression = Json::object();
    for (int k = 0; k < model.num_expression(); ++k) {
      expression[model.expression_names()[k]] = result.state.expression[k];
    }
    json["expression"] = std::move(expression);
    if (model.num_joints() > 0) {
      Json joints = Json::object();
      for (int j = 0; j < model.num_joints(); ++j) {
        const Eigen::Vector3d r = result.state.joint_rotations.col(j);
        joints[model.joint_names()[j]] = Json::array({r.x(), r.y(), r.z()});
      }
      json["joint_rotations"] = std::move(joints);
    }
  }
  json["cost"] = result.fit.final_cost;
  json["iterations"] = result.fit.iterations;
  json["correspondences"] = result.fit.num_correspondences;
  json["rms_mm"] = result.rms_m * 1000.0;
  json["initialized"] = result.initialized;
  json["ms"] = result.seconds_total * 1000.0;
  return json;
}

void WriteJson(const std::filesystem::path& path, const Json& json) {
  WriteFileAtomically(path, [&](std::ostream& out) { out << json.dump(2) << "\n"; }, false);
}

}  // namespace

SequenceTrackingSummary TrackSequence(const HeadModel& model,
                                      const SequenceTrackingOptions& options,
                                      const std::function<void(const FrameResult&)>& on_frame) {
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

  Tracker tracker(model, sequence.calibration().camera, options.tracker);
  SequenceTrackingSummary summary;
  const std::filesystem::path partial = options.output / kPartialFramesFile;
  std::ofstream frames_out(partial, std::ios::trunc);
  if (!frames_out) HT_THROW_INPUT(partial, "cannot create the file");
  std::unique_ptr<Progress> progress;
  if (options.progress) {
    progress = std::make_unique<Progress>("track", static_cast<long>(indices.size()), "frames");
  }
  for (int index : indices) {
    SequenceFrame frame = sequence.ReadFrame(index);
    const FrameResult result = tracker.Track(frame.number, frame.depth, frame.color);
    ++summary.frames;
    (result.status == TrackStatus::kTracked ? summary.tracked : summary.lost)++;
    summary.seconds += result.seconds_total;
    summary.seconds_preprocess += result.seconds_preprocess;
    summary.seconds_initialize += result.seconds_initialize;
    summary.seconds_render += result.fit.seconds_render;
    summary.seconds_associate += result.fit.seconds_associate;
    summary.seconds_assemble += result.fit.seconds_assemble;
    summary.seconds_solve += result.fit.seconds_solve;
    frames_out << FrameJson(model, result).dump() << "\n";
    frames_out.flush();
    if (!frames_out) HT_THROW_INPUT(partial, "write failed");
    if (options.save_meshes && result.status == TrackStatus::kTracked) {
      TriangleMesh mesh = model.EvaluateMesh(result.state.identity, result.state.expression,
                                             result.state.joint_rotations,
                                             result.state.cam_from_head);
      WriteMesh(options.output / "meshes" / FrameFileName(result.frame, ".ply"), mesh);
    }
    if (on_frame) on_frame(result);
    if (progress) progress->Advance();
  }
  if (progress) progress->Finish();
  frames_out.close();
  summary.frames_per_second = summary.seconds > 0 ? summary.frames / summary.seconds : 0.0;

  Json identity;
  identity["identity"] = std::vector<float>(tracker.identity().data(),
                                            tracker.identity().data() + tracker.identity().size());
  identity["model"] = model.source().string();
  identity["fixed_after_frames"] = options.tracker.identity_frames;
  WriteJson(options.output / "identity.json", identity);

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
  WriteJson(options.output / "summary.json", json);
  std::filesystem::rename(partial, options.output / kFramesFile);
  return summary;
}

}  // namespace headtrack
