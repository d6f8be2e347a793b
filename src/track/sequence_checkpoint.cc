#include "track/sequence_checkpoint.h"

#include <sstream>
#include <string>
#include <utility>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

using Json = nlohmann::ordered_json;

template <typename Matrix>
Json Values(const Matrix& m) {
  Json array = Json::array();
  for (Eigen::Index i = 0; i < m.size(); ++i) array.push_back(m.data()[i]);
  return array;
}

template <typename Matrix>
void ReadValues(const Json& array, Matrix* m) {
  HT_CHECK(array.is_array() && static_cast<Eigen::Index>(array.size()) == m->size(),
           "checkpoint array of " << array.size() << " values, expected " << m->size());
  for (Eigen::Index i = 0; i < m->size(); ++i) {
    m->data()[i] = array[i].get<typename Matrix::Scalar>();
  }
}

Json StateJson(const HeadState& state) {
  return {{"rotation", Values(state.cam_from_head.rotation)},
          {"translation", Values(state.cam_from_head.translation)},
          {"scale", state.cam_from_head.scale},
          {"identity", Values(state.identity)},
          {"expression", Values(state.expression)},
          {"joints", Values(state.joint_rotations)}};
}

HeadState ReadState(const Json& json) {
  HeadState state;
  ReadValues(json.at("rotation"), &state.cam_from_head.rotation);
  ReadValues(json.at("translation"), &state.cam_from_head.translation);
  state.cam_from_head.scale = json.at("scale").get<double>();
  state.identity.resize(json.at("identity").size());
  ReadValues(json.at("identity"), &state.identity);
  state.expression.resize(json.at("expression").size());
  ReadValues(json.at("expression"), &state.expression);
  state.joint_rotations.resize(3, json.at("joints").size() / 3);
  ReadValues(json.at("joints"), &state.joint_rotations);
  return state;
}

Json ResultJson(const FrameResult& r) {
  return {{"frame", r.frame},
          {"tracked", r.status == TrackStatus::kTracked},
          {"message", r.message},
          {"initialized", r.initialized},
          {"identity_phase", r.identity_phase},
          {"state", StateJson(r.state)},
          {"iterations", r.fit.iterations},
          {"initial_cost", r.fit.initial_cost},
          {"final_cost", r.fit.final_cost},
          {"correspondences", r.fit.num_correspondences},
          {"rms_m", r.rms_m},
          {"coverage", r.coverage},
          {"seconds", {r.seconds_preprocess, r.seconds_initialize, r.fit.seconds_render,
                       r.fit.seconds_associate, r.fit.seconds_assemble, r.fit.seconds_solve,
                       r.seconds_total}}};
}

FrameResult ReadResult(const Json& json) {
  FrameResult r;
  r.frame = json.at("frame").get<int>();
  r.status = json.at("tracked").get<bool>() ? TrackStatus::kTracked : TrackStatus::kLost;
  r.message = json.at("message").get<std::string>();
  r.initialized = json.at("initialized").get<bool>();
  r.identity_phase = json.at("identity_phase").get<bool>();
  r.state = ReadState(json.at("state"));
  r.fit.iterations = json.at("iterations").get<int>();
  r.fit.initial_cost = json.at("initial_cost").get<double>();
  r.fit.final_cost = json.at("final_cost").get<double>();
  r.fit.num_correspondences = json.at("correspondences").get<int>();
  r.rms_m = json.at("rms_m").get<double>();
  r.coverage = json.at("coverage").get<double>();
  const Json& s = json.at("seconds");
  r.seconds_preprocess = s.at(0).get<double>();
  r.seconds_initialize = s.at(1).get<double>();
  r.fit.seconds_render = s.at(2).get<double>();
  r.fit.seconds_associate = s.at(3).get<double>();
  r.fit.seconds_assemble = s.at(4).get<double>();
  r.fit.seconds_solve = s.at(5).get<double>();
  r.seconds_total = s.at(6).get<double>();
  return r;
}

Json MemoryJson(const TrackerMemory& m) {
  return {{"tracking", m.tracking},
          {"state", StateJson(m.state)},
          {"previous", StateJson(m.previous)},
          {"has_previous", m.has_previous},
          {"identity_frames_done", m.identity_frames_done},
          {"identity_fixed", m.identity_fixed}};
}

TrackerMemory ReadMemory(const Json& json) {
  TrackerMemory m;
  m.tracking = json.at("tracking").get<bool>();
  m.state = ReadState(json.at("state"));
  m.previous = ReadState(json.at("previous"));
  m.has_previous = json.at("has_previous").get<bool>();
  m.identity_frames_done = json.at("identity_frames_done").get<int>();
  m.identity_fixed = json.at("identity_fixed").get<bool>();
  return m;
}

Json FramesJson(const std::vector<OfflineFrame>& frames) {
  Json array = Json::array();
  for (const OfflineFrame& frame : frames) {
    array.push_back({{"tracked", frame.tracked},
                     {"message", frame.message},
                     {"state", StateJson(frame.state)}});
  }
  return array;
}

void ReadFrame(const Json& json, OfflineFrame* frame) {
  frame->tracked = json.at("tracked").get<bool>();
  frame->message = json.at("message").get<std::string>();
  frame->state = ReadState(json.at("state"));
}

void ReadFrames(const Json& json, std::vector<OfflineFrame>* frames) {
  HT_CHECK(json.size() == frames->size(),
           "checkpoint with " << json.size() << " frames, the run has " << frames->size());
  for (size_t i = 0; i < frames->size(); ++i) ReadFrame(json.at(i), &(*frames)[i]);
}

}  // namespace

template <typename Read>
auto SequenceCheckpoint::ReadRecords(const Read& read) const {
  try {
    return read();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& error) {
    HT_THROW_INPUT(path_, "a record does not hold what was expected (" << error.what()
                                                                       << "); run without "
                                                                          "--resume to start again");
  }
}

SequenceCheckpoint::SequenceCheckpoint(std::filesystem::path path, Json fingerprint, bool resume)
    : path_(std::move(path)) {
  std::vector<Json> lines;
  if (resume) {
    std::ifstream in(path_);
    if (!in) HT_THROW_INPUT(path_, "cannot open the checkpoint");
    std::vector<std::string> texts;
    for (std::string text; std::getline(in, text);) texts.push_back(text);
    for (size_t i = 0; i < texts.size(); ++i) {
      try {
        lines.push_back(Json::parse(texts[i]));
      } catch (const Json::exception&) {
        if (i + 1 == texts.size()) break;  // cut short by the interruption
        HT_THROW_INPUT(path_, "line " << i + 1 << " is not valid JSON; the checkpoint is damaged "
                                      "(run without --resume to start again)");
      }
    }
    if (lines.empty() || lines.front().value("kind", "") != "start") {
      HT_THROW_INPUT(path_, "not a headtrack checkpoint (its first line must be the \"start\" "
                            "record)");
    }
    if (lines.front().at("fingerprint") != fingerprint) {
      HT_THROW_INPUT(path_, "the interrupted run used other options or inputs ("
                                << lines.front().at("fingerprint").dump()
                                << "); resume with the same ones, or start again without "
                                   "--resume");
    }
    ReadRecords([&] {
      for (size_t i = 1; i < lines.size(); ++i) {
        const Json& line = lines[i];
        const std::string kind = line.at("kind").get<std::string>();
        if (kind == "online") {
          online_results_.push_back(ReadResult(line.at("result")));
          tracker_memory_ = ReadMemory(line.at("memory"));
        } else if (kind == "identity") {
          identity_phase_ = line;
        } else if (kind == "expression") {
          HT_CHECK(line.at("index").get<size_t>() == expression_frames_.size(),
                   "expression records out of order");
          expression_frames_.push_back(line);
        } else if (kind == "joint") {
          last_joint_round_ = line;
        }
      }
    });
  } else {
    lines.push_back({{"kind", "start"}, {"fingerprint", std::move(fingerprint)}});
  }
  // Rewrite the valid lines (dropping a line cut short) and append from there.
  WriteFileAtomically(path_, [&](std::ostream& out) {
    for (const Json& line : lines) out << line.dump() << "\n";
  }, false);
  out_.open(path_, std::ios::app);
  if (!out_) HT_THROW_INPUT(path_, "cannot open the checkpoint for writing");
}

void SequenceCheckpoint::Append(const Json& line) {
  out_ << line.dump() << "\n";
  out_.flush();
  if (!out_) HT_THROW_INPUT(path_, "writing the checkpoint failed (disk full?)");
}

void SequenceCheckpoint::AddOnlineResult(const FrameResult& result, const TrackerMemory& memory) {
  Append({{"kind", "online"}, {"result", ResultJson(result)}, {"memory", MemoryJson(memory)}});
}

void SequenceCheckpoint::AddIdentityPhase(const std::vector<OfflineFrame>& frames,
                                          const SequenceTrackingSummary& summary) {
  identity_phase_ = {{"kind", "identity"},
                     {"keyframes", summary.keyframes},
                     {"cost_before", summary.identity_cost_before},
                     {"cost_after", summary.identity_cost_after},
                     {"seconds", summary.seconds_identity},
                     {"frames", FramesJson(frames)}};
  Append(identity_phase_);
}

void SequenceCheckpoint::RestoreIdentityPhase(std::vector<OfflineFrame>* frames,
                                              SequenceTrackingSummary* summary) const {
  ReadRecords([&] {
    summary->keyframes = identity_phase_.at("keyframes").get<std::vector<int>>();
    summary->identity_cost_before = identity_phase_.at("cost_before").get<double>();
    summary->identity_cost_after = identity_phase_.at("cost_after").get<double>();
    summary->seconds_identity = identity_phase_.at("seconds").get<double>();
    ReadFrames(identity_phase_.at("frames"), frames);
  });
}

int SequenceCheckpoint::RestoreExpressionPhase(std::vector<OfflineFrame>* frames,
                                               double* seconds) const {
  return ReadRecords([&] {
    *seconds = 0.0;
    HT_CHECK(expression_frames_.size() <= frames->size(),
             "checkpoint with more frames than the run");
    for (size_t i = 0; i < expression_frames_.size(); ++i) {
      ReadFrame(expression_frames_[i].at("frame"), &(*frames)[i]);
      *seconds += expression_frames_[i].at("seconds").get<double>();
    }
    return static_cast<int>(expression_frames_.size());
  });
}

void SequenceCheckpoint::AddExpressionFrame(int index, const OfflineFrame& frame, double seconds) {
  Json line = {{"kind", "expression"},
               {"index", index},
               {"seconds", seconds},
               {"frame", FramesJson({frame}).at(0)}};
  expression_frames_.push_back(line);
  Append(line);
}

int SequenceCheckpoint::RestoreJointRounds(std::vector<OfflineFrame>* frames,
                                           SequenceTrackingSummary* summary) const {
  if (last_joint_round_.is_null()) return 0;
  return ReadRecords([&] {
    summary->joint_cost_before = last_joint_round_.at("cost_before").get<double>();
    summary->joint_cost_after = last_joint_round_.at("cost_after").get<double>();
    summary->joint_round_costs = last_joint_round_.at("round_costs").get<std::vector<double>>();
    summary->seconds_joint = last_joint_round_.at("seconds").get<double>();
    ReadFrames(last_joint_round_.at("frames"), frames);
    return last_joint_round_.at("round").get<int>() + 1;
  });
}

void SequenceCheckpoint::AddJointRound(int round, const std::vector<OfflineFrame>& frames,
                                       const SequenceTrackingSummary& summary) {
  last_joint_round_ = {{"kind", "joint"},
                       {"round", round},
                       {"cost_before", summary.joint_cost_before},
                       {"cost_after", summary.joint_cost_after},
                       {"round_costs", summary.joint_round_costs},
                       {"seconds", summary.seconds_joint},
                       {"frames", FramesJson(frames)}};
  Append(last_joint_round_);
}

void SequenceCheckpoint::Remove() {
  out_.close();
  std::filesystem::remove(path_);
}

}  // namespace headtrack
