#include "headtrack/result_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/stopwatch.h"
#include "headtrack/arkit_blendshapes.h"
#include "headtrack/error.h"
#include "headtrack/image_io.h"
#include "headtrack/sequence.h"
#include "io/html_report.h"
#include "io/video_writer.h"
#include "metrics/overlay_image.h"
#include "metrics/sequence_evaluation.h"
#include "model/live_link_face_csv.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// `image` scaled down if needed and centered on a dark canvas of width x height: video frames
// must share one size while the overlay's width follows each frame's crop.
ColorImage FitIntoCanvas(const ColorImage& image, int width, int height) {
  ColorImage canvas(width, height, 3, 24);
  const double scale = std::min({1.0, static_cast<double>(width) / image.width,
                                 static_cast<double>(height) / image.height});
  cv::Mat source(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat scaled = source;
  if (scale < 1.0) {
    cv::resize(source, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
  }
  const int x0 = (width - scaled.cols) / 2;
  const int y0 = (height - scaled.rows) / 2;
  for (int y = 0; y < scaled.rows; ++y) {
    const std::uint8_t* row = scaled.ptr<std::uint8_t>(y);
    std::copy(row, row + 3 * scaled.cols, &canvas.at(x0, y0 + y, 0));
  }
  return canvas;
}

std::string Format(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string Percent(double fraction) {
  return std::isfinite(fraction) ? Format(100.0 * fraction, 1) + " %" : "-";
}

Json ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Json();
  try {
    return Json::parse(in);
  } catch (const Json::exception&) {
    HT_THROW_INPUT(path, "not valid JSON");
  }
}

// Expression curves of OUT/frames.jsonl: name -> one value per evaluated frame (NaN when lost).
std::map<std::string, std::vector<double>> ExpressionCurves(const fs::path& frames_file,
                                                            const std::vector<int>& numbers) {
  std::map<int, Json> by_frame;
  std::ifstream in(frames_file);
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty()) continue;
    try {
      Json json = Json::parse(line);
      const int frame = json.at("frame").get<int>();
      by_frame[frame] = std::move(json);
    } catch (const Json::exception& error) {
      HT_THROW_INPUT(frames_file, "line " << line_number << ": " << error.what());
    }
  }
  std::map<std::string, std::vector<double>> curves;
  for (size_t i = 0; i < numbers.size(); ++i) {
    const auto found = by_frame.find(numbers[i]);
    if (found == by_frame.end() || !found->second.contains("expression")) continue;
    for (const auto& [name, value] : found->second.at("expression").items()) {
      std::vector<double>& curve = curves[name];
      curve.resize(numbers.size(), std::nan(""));
      curve[i] = value.get<double>();
    }
  }
  return curves;
}

double Variance(const std::vector<double>& values) {
  double sum = 0.0, sum2 = 0.0;
  int count = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v, sum2 += v * v, ++count;
  }
  return count > 1 ? sum2 / count - (sum / count) * (sum / count) : 0.0;
}

}  // namespace

bool WriteArkitCsv(const fs::path& path, const HeadModel& model,
                   const std::vector<ArkitExportFrame>& frames, double frames_per_second) {
  const ArkitMapping mapping = MapExpressionsToArkit(model.expression_names());
  if (mapping.empty()) return false;
  std::vector<LiveLinkFaceFrame> rows;
  LiveLinkFaceFrame last;  // zeros until the first tracked frame
  const int first_number = frames.empty() ? 0 : frames.front().number;
  for (const ArkitExportFrame& frame : frames) {
    if (frame.tracked) {
      last.blendshapes = ArkitWeights(mapping, frame.state.expression);
      last.head = ArkitHeadAngles(frame.state.cam_from_head);
      last.eyes = ArkitEyeAngles(last.blendshapes);
    }
    LiveLinkFaceFrame row = last;
    row.seconds = (frame.number - first_number) / frames_per_second;
    rows.push_back(row);
  }
  WriteLiveLinkFaceCsv(path, rows, frames_per_second);
  return true;
}

void ResultReportOptions::Check() const {
  HT_CHECK(max_mm > 0, "ResultReportOptions::max_mm must be > 0");
  HT_CHECK(panel_height >= 64, "ResultReportOptions::panel_height must be >= 64");
  HT_CHECK(frames_per_second > 0, "ResultReportOptions::frames_per_second must be > 0");
  HT_CHECK(stills >= 0, "ResultReportOptions::stills must be >= 0");
  HT_CHECK(num_threads >= 0, "ResultReportOptions::num_threads must be >= 0");
}

ResultReportSummary WriteResultReport(const HeadModel& model, const ResultReportOptions& options) {
  options.Check();
  const Stopwatch stopwatch;
  ResultReportSummary summary;
  const fs::path& out = options.result;

  SequenceEvaluationOptions evaluation_options;
  evaluation_options.sequence = options.sequence;
  evaluation_options.result = out;
  evaluation_options.model = model.source().string();
  evaluation_options.region = options.region;
  evaluation_options.metrics.num_threads = options.num_threads;
  evaluation_options.preprocessing.num_threads = options.num_threads;
  // Overlay pictures of every frame (the video, optional PNGs, the report's stills), drawn
  // while the result is evaluated.
  const std::vector<int> numbers = Sequence::Open(options.sequence).frame_numbers();
  std::vector<int> still_frames;
  for (int s = 0; s < options.stills && options.report && !numbers.empty(); ++s) {
    still_frames.push_back(numbers[(2 * s + 1) * numbers.size() / (2 * options.stills)]);
  }
  std::vector<std::pair<int, ColorImage>> stills;
  std::unique_ptr<VideoWriter> video;
  if (options.video) {
    VideoWriterOptions video_options;
    video_options.fps = options.frames_per_second;
    video = std::make_unique<VideoWriter>(out / "overlay.mp4", video_options);
  }
  if (options.png_frames) fs::create_directories(out / "overlay");
  OverlayOptions overlay;
  overlay.max_mm = options.max_mm;
  overlay.panel_height = options.panel_height;
  int canvas_width = 0, canvas_height = 0;
  const auto draw = [&](FrameScanEvaluation&& frame) {
    const int number = frame.frame.frame;
    const bool still =
        std::find(still_frames.begin(), still_frames.end(), number) != still_frames.end();
    if (!video && !options.png_frames && !still) return;
    overlay.title = "frame " + std::to_string(number) +
                    (frame.frame.evaluated ? "  L2 " + Format(frame.frame.l2_mm, 2) + " mm"
                                           : "  " + frame.frame.skip_reason);
    ColorImage picture =
        frame.scan.size() == 0
            ? ColorImage(options.panel_height * 2, options.panel_height, 3, 24)
            : RenderOverlay(frame.camera, frame.scan, frame.mesh, frame.distances_mm, overlay);
    if (canvas_width == 0) {
      // Room for crops a little wider than the first one; even sizes for the codec.
      canvas_width = (static_cast<int>(picture.width * 1.2) + 1) / 2 * 2;
      canvas_height = (picture.height + 1) / 2 * 2;
    }
    const ColorImage fitted = FitIntoCanvas(picture, canvas_width, canvas_height);
    if (video) video->AddFrame(fitted);
    if (options.png_frames) WriteColorPng(out / "overlay" / (SequenceFrameName(number) + ".png"), fitted);
    if (still) stills.emplace_back(number, std::move(picture));
  };
  const bool drawing = video || options.png_frames || !still_frames.empty();
  const SequenceEvaluation evaluation =
      EvaluateSequence(evaluation_options, drawing ? draw : std::function<void(FrameScanEvaluation&&)>());
  if (video) {
    const VideoWriterSummary written = video->Finish();
    summary.video_codec = written.codec;
    summary.video_frames = written.frames;
    summary.written.push_back(out / "overlay.mp4");
  }
  if (options.png_frames) summary.written.push_back(out / "overlay");

  const bool has_online = fs::exists(out / "online" / "frames.jsonl");
  SequenceEvaluation online;
  if (has_online) {
    SequenceEvaluationOptions online_options = evaluation_options;
    online_options.result = out / "online";
    online = EvaluateSequence(online_options);
  }
  auto metrics = [](const SequenceEvaluation& e) {
    ReportedMetrics m;
    m.evaluated = e.num_evaluated;
    m.l2_mm = e.l2_mm, m.nc = e.nc, m.pr_1_5mm = e.precision, m.pr_3mm = e.wide_precision;
    m.vertex_error_median_mm = e.vertex_error_median_mm;
    m.identity_error_median_mm = e.identity_error_median_mm;
    return m;
  };
  summary.result = metrics(evaluation);
  summary.has_online = has_online;
  if (has_online) summary.online = metrics(online);

  if (options.report) {
    const Json run = ReadJsonFile(out / "summary.json");
    HtmlReport report("headtrack: " + options.sequence.filename().string());
    report.AddParagraph("Sequence " + fs::absolute(options.sequence).lexically_normal().string() +
                        ", result " + fs::absolute(out).lexically_normal().string() + ", model " +
                        evaluation.model_name + ". Metrics over the " + options.region +
                        " region (DPHM's scan-to-mesh L2, normal consistency NC and the share "
                        "of scan points within 1.5 and 3 mm" +
                        (evaluation.num_vertex_error_frames > 0
                             ? "; vertex errors against the simulation's ground truth"
                             : "") +
                        "), means over the evaluated frames.");
    std::vector<std::string> header = {"", has_online ? "offline" : "result"};
    if (has_online) header.push_back("online");
    std::vector<std::vector<std::string>> rows;
    auto add_row = [&](const std::string& name, auto value_of) {
      std::vector<std::string> row = {name, value_of(evaluation)};
      if (has_online) row.push_back(value_of(online));
      rows.push_back(row);
    };
    add_row("frames evaluated", [](const SequenceEvaluation& e) {
      return std::to_string(e.num_evaluated) + " of " + std::to_string(e.frames.size());
    });
    add_row("L2 (mm)", [](const SequenceEvaluation& e) { return Format(e.l2_mm, 3); });
    add_row("NC", [](const SequenceEvaluation& e) { return Format(e.nc, 4); });
    add_row("PR@1.5mm", [](const SequenceEvaluation& e) { return Percent(e.precision); });
    add_row("PR@3mm", [](const SequenceEvaluation& e) { return Percent(e.wide_precision); });
    if (evaluation.num_vertex_error_frames > 0) {
      add_row("vertex error median (mm)",
              [](const SequenceEvaluation& e) { return Format(e.vertex_error_median_mm, 3); });
      add_row("vertex error p95 (mm)",
              [](const SequenceEvaluation& e) { return Format(e.vertex_error_p95_mm, 3); });
      add_row("expression error",
              [](const SequenceEvaluation& e) { return Format(e.expression_error, 4); });
    }
    if (std::isfinite(evaluation.identity_error_median_mm)) {
      add_row("neutral identity error, median (mm)",
              [](const SequenceEvaluation& e) { return Format(e.identity_error_median_mm, 3); });
    }
    report.AddHeading("Summary");
    report.AddTable(rows, header);
    if (run.is_object()) {
      std::vector<std::vector<std::string>> timing;
      if (run.contains("frames_per_second")) {
        timing.push_back({"online tracking", Format(run["frames_per_second"].get<double>(), 1) +
                                                 " frames/s"});
      }
      if (run.contains("offline")) {
        const Json& o = run["offline"];
        timing.push_back({"offline phases", Format(o.value("seconds", 0.0), 1) + " s"});
        timing.push_back({"identity phase cost (keyframes)",
                          Format(o.value("identity_cost_before", 0.0), 1) + " -> " +
                              Format(o.value("identity_cost_after", 0.0), 1)});
        timing.push_back({"joint refinement cost", Format(o.value("joint_cost_before", 0.0), 1) +
                                                       " -> " +
                                                       Format(o.value("joint_cost_after", 0.0), 1)});
      }
      if (!timing.empty()) report.AddTable(timing, {"run", ""});
    }

    std::vector<double> x(numbers.begin(), numbers.end());
    auto per_frame = [&](const SequenceEvaluation& e, double FrameEvaluation::*field) {
      std::vector<double> values;
      for (const FrameEvaluation& frame : e.frames) {
        values.push_back(frame.evaluated ? frame.*field : std::nan(""));
      }
      values.resize(x.size(), std::nan(""));
      return values;
    };
    LinePlot l2;
    l2.title = "Scan-to-mesh distance per frame (" + options.region + ")";
    l2.x_label = "frame";
    l2.y_label = "L2 (mm)";
    l2.x = x;
    l2.y_min = 0.0;
    l2.series.push_back({has_online ? "offline" : "result", per_frame(evaluation, &FrameEvaluation::l2_mm), {}});
    if (has_online) l2.series.push_back({"online", per_frame(online, &FrameEvaluation::l2_mm), {}});
    // Curves over time need at least two frames; one frame gets its values in a table.
    const bool curves_over_time = numbers.size() >= 2;
    if (curves_over_time) {
      report.AddHeading("Per-frame error");
      report.AddLinePlot(l2);
    }
    if (curves_over_time && evaluation.num_vertex_error_frames > 0) {
      LinePlot vertex = l2;
      vertex.title = "Median vertex error against the ground truth (" + options.region + ")";
      vertex.y_label = "median vertex error (mm)";
      vertex.series = {{has_online ? "offline" : "result",
                        per_frame(evaluation, &FrameEvaluation::vertex_error_median_mm), {}}};
      if (has_online) {
        vertex.series.push_back(
            {"online", per_frame(online, &FrameEvaluation::vertex_error_median_mm), {}});
      }
      report.AddLinePlot(vertex);
    }

    // The six expressions that move most (of a single frame: the six largest).
    const auto curves = ExpressionCurves(out / "frames.jsonl", numbers);
    std::vector<std::pair<double, std::string>> by_variance;
    for (const auto& [name, values] : curves) {
      by_variance.emplace_back(curves_over_time ? Variance(values) : values.front(), name);
    }
    std::sort(by_variance.rbegin(), by_variance.rend());
    if (!curves_over_time && !by_variance.empty() && std::isfinite(by_variance.front().first)) {
      std::vector<std::vector<std::string>> rows;
      for (size_t k = 0; k < std::min<size_t>(6, by_variance.size()); ++k) {
        rows.push_back({by_variance[k].second, Format(by_variance[k].first, 3)});
      }
      report.AddHeading("Expressions");
      report.AddTable(rows, {"largest expression coefficients", ""});
    }
    if (curves_over_time && !by_variance.empty()) {
      LinePlot expressions;
      expressions.title = "Main expression coefficients";
      expressions.x_label = "frame";
      expressions.y_label = "coefficient";
      expressions.x = x;
      for (size_t k = 0; k < std::min<size_t>(6, by_variance.size()); ++k) {
        expressions.series.push_back({by_variance[k].second, curves.at(by_variance[k].second), {}});
      }
      report.AddHeading("Expressions");
      report.AddLinePlot(expressions);
    }

    if (!stills.empty()) {
      report.AddHeading("Overlays");
      report.AddParagraph("Left: the scan shaded, the fitted mesh in orange over it. Right: each "
                          "scan point's distance to the mesh, 0 to " + Format(options.max_mm, 1) +
                          " mm.");
      for (const auto& [number, image] : stills) {
        report.AddImage(image, "frame " + std::to_string(number));
      }
    }
    if (summary.video_frames > 0) report.AddVideo("overlay.mp4", "every frame");
    WriteHtmlReport(out / "report.html", report);
    summary.written.push_back(out / "report.html");
  }
  summary.seconds = stopwatch.seconds();
  return summary;
}

}  // namespace headtrack
