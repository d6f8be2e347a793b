#include "io/html_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <ostream>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// The page's look; no external resources.
constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1000px; margin: 0 auto; padding: 16px 24px; }
h1 { font-size: 24px; margin: 8px 0 16px; }
h2 { font-size: 18px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p { white-space: pre-line; line-height: 1.4; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
th { background: #f2f2f2; }
figure { margin: 12px 0 20px; }
figure img, figure video, figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
)";

// ---- line plots ----
// Pixel layout of a plot's SVG.
constexpr double kSvgWidth = 960;
constexpr double kAreaLeft = 72;   // room for the y tick labels and the y label
constexpr double kAreaRight = 20;  // right margin
constexpr double kAreaHeight = 300;
constexpr double kTitleHeight = 30;
constexpr double kBelowArea = 46;  // x tick labels and the x label
constexpr double kLegendColumnWidth = 180;
constexpr double kLegendRowHeight = 18;
constexpr size_t kLegendNameLength = 26;  // longer names are cut (the full name is a tooltip)
constexpr double kAreaWidth = kSvgWidth - kAreaLeft - kAreaRight;
constexpr size_t kLegendColumns = static_cast<size_t>(kAreaWidth / kLegendColumnWidth);

// tab10: distinct colors that stay readable on white.
constexpr std::array<std::array<std::uint8_t, 3>, 10> kPalette = {{{31, 119, 180},
                                                                   {255, 127, 14},
                                                                   {44, 160, 44},
                                                                   {214, 39, 40},
                                                                   {148, 103, 189},
                                                                   {140, 86, 75},
                                                                   {227, 119, 194},
                                                                   {127, 127, 127},
                                                                   {188, 189, 34},
                                                                   {23, 190, 207}}};
// Dash patterns for the 1st, 2nd, 3rd round through the palette.
constexpr const char* kDashes[] = {"", "6 3", "2 2"};

// A number with `decimals` decimals; SVG coordinates get one (a tenth of a pixel).
std::string Number(double value, int decimals = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string SeriesColor(const LinePlot& plot, size_t index) {
  const std::array<std::uint8_t, 3> rgb =
      plot.series[index].color.value_or(kPalette[index % kPalette.size()]);
  return "rgb(" + std::to_string(rgb[0]) + "," + std::to_string(rgb[1]) + "," +
         std::to_string(rgb[2]) + ")";
}

// The series' stroke-dasharray attribute (with a leading space), or nothing for a solid line.
std::string DashAttribute(size_t index) {
  const std::string dash = kDashes[(index / kPalette.size()) % std::size(kDashes)];
  return dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"";
}

// 1, 2 or 5 times a power of ten, near `raw` (> 0).
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  return (fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0) * power;
}

struct Axis {
  double min = 0;
  double max = 1;
  double step = 1;
  std::vector<double> ticks;
  int decimals = 0;  // enough to tell ticks apart

  // 0 at min, 1 at max.
  double Fraction(double value) const { return (value - min) / (max - min); }
};

// An axis over [lo, hi] with about `tick_count` ticks; unless fixed, each end is rounded out to
// a tick.
Axis MakeAxis(double lo, double hi, int tick_count, bool round_min, bool round_max) {
  if (!(hi > lo)) {  // a single value (or none): a unit range around it
    const double half = lo == 0 ? 1.0 : 0.5 * std::abs(lo);
    if (round_min) lo -= half;
    if (round_max) hi += half;
    if (!(hi > lo)) hi = lo + 1;
  }
  Axis axis;
  axis.step = NiceStep((hi - lo) / tick_count);
  axis.min = round_min ? std::floor(lo / axis.step + 1e-9) * axis.step : lo;
  axis.max = round_max ? std::ceil(hi / axis.step - 1e-9) * axis.step : hi;
  const double tolerance = 1e-9 * axis.step;
  for (double k = std::ceil((axis.min - tolerance) / axis.step);
       k * axis.step <= axis.max + tolerance; ++k) {
    axis.ticks.push_back(k * axis.step + 0.0);  // + 0.0: no "-0"
  }
  axis.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(axis.step) + 1e-9)));
  return axis;
}

std::string Text(double x, double y, const std::string& attributes, std::string_view text) {
  return "<text x=\"" + Number(x) + "\" y=\"" + Number(y) + "\" " + attributes + ">" +
         EscapeHtml(text) + "</text>\n";
}

// The series' polylines in plot-area coordinates (y down): one per run of finite points, a dot
// for a run of one point.
std::string SeriesSvg(const LinePlot& plot, size_t index, const Axis& x_axis, const Axis& y_axis) {
  const PlotSeries& series = plot.series[index];
  const std::string color = SeriesColor(plot, index);
  std::string svg =
      "<g class=\"series\" data-name=\"" + EscapeHtml(series.name) + "\" fill=\"none\" stroke=\"" +
      color + "\" stroke-width=\"1.5\" stroke-linejoin=\"round\"" + DashAttribute(index) + ">\n";
  const auto px = [&](size_t i) { return x_axis.Fraction(plot.x[i]) * kAreaWidth; };
  const auto py = [&](size_t i) { return (1 - y_axis.Fraction(series.y[i])) * kAreaHeight; };
  const auto finite = [&](size_t i) {
    return std::isfinite(plot.x[i]) && std::isfinite(series.y[i]);
  };
  for (size_t begin = 0; begin < plot.x.size();) {
    if (!finite(begin)) {
      ++begin;
      continue;
    }
    size_t end = begin;
    while (end < plot.x.size() && finite(end)) ++end;
    if (end - begin == 1) {
      svg += "<circle cx=\"" + Number(px(begin)) + "\" cy=\"" + Number(py(begin)) +
             "\" r=\"2\" fill=\"" + color + "\" stroke=\"none\"/>\n";
    } else {
      svg += "<polyline points=\"";
      for (size_t i = begin; i < end; ++i) {
        svg += (i > begin ? " " : "") + Number(px(i)) + "," + Number(py(i));
      }
      svg += "\"/>\n";
    }
    begin = end;
  }
  return svg + "</g>\n";
}

std::string LegendSvg(const LinePlot& plot, double top) {
  std::string svg = "<g class=\"legend\" font-size=\"12\">\n";
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& series = plot.series[i];
    const double x = kAreaLeft + static_cast<double>(i % kLegendColumns) * kLegendColumnWidth;
    const double y = top + static_cast<double>(i / kLegendColumns) * kLegendRowHeight + 12;
    svg += "<line x1=\"" + Number(x) + "\" y1=\"" + Number(y - 4) + "\" x2=\"" + Number(x + 24) +
           "\" y2=\"" + Number(y - 4) + "\" stroke=\"" + SeriesColor(plot, i) +
           "\" stroke-width=\"2\"" + DashAttribute(i) + "/>\n";
    std::string name = series.name;
    if (name.size() > kLegendNameLength) name = name.substr(0, kLegendNameLength - 1) + "...";
    svg += "<text x=\"" + Number(x + 30) + "\" y=\"" + Number(y) + "\"><title>" +
           EscapeHtml(series.name) + "</title>" + EscapeHtml(name) + "</text>\n";
  }
  return svg + "</g>\n";
}

std::string Figure(const std::string& content, std::string_view caption) {
  std::string html = "<figure>\n" + content;
  if (!caption.empty()) html += "<figcaption>" + EscapeHtml(caption) + "</figcaption>\n";
  return html + "</figure>\n";
}

// A relative path as a URL path: unreserved characters and '/' kept, the rest %XX.
std::string UrlPath(const std::filesystem::path& relative) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string url;
  for (const char c : relative.generic_string()) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      url += c;
    } else {
      url += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return url;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string Base64Encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  encoded.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t count = std::min<size_t>(3, bytes.size() - i);
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (count > 1) group |= std::uint32_t{bytes[i + 1]} << 8;
    if (count > 2) group |= bytes[i + 2];
    for (size_t k = 0; k < 4; ++k) {
      encoded += k <= count ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=';
    }
  }
  return encoded;
}

std::string LinePlotSvg(const LinePlot& plot) {
  for (const PlotSeries& series : plot.series) {
    HT_CHECK(series.y.size() == plot.x.size(), "series '" << series.name << "' has "
                                                          << series.y.size() << " values for "
                                                          << plot.x.size() << " x values");
  }
  HT_CHECK(!(plot.y_min && plot.y_max) || *plot.y_max > *plot.y_min,
           "y range " << *plot.y_min << " .. " << *plot.y_max);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x_lo = kInf, x_hi = -kInf, y_lo = kInf, y_hi = -kInf;
  for (size_t i = 0; i < plot.x.size(); ++i) {
    if (!std::isfinite(plot.x[i])) continue;
    x_lo = std::min(x_lo, plot.x[i]);
    x_hi = std::max(x_hi, plot.x[i]);
    for (const PlotSeries& series : plot.series) {
      if (!std::isfinite(series.y[i])) continue;
      y_lo = std::min(y_lo, series.y[i]);
      y_hi = std::max(y_hi, series.y[i]);
    }
  }
  if (x_lo > x_hi) x_lo = x_hi = 0;  // nothing finite: empty axes
  if (plot.y_min) y_lo = *plot.y_min;
  if (plot.y_max) y_hi = *plot.y_max;
  if (y_lo > y_hi) {  // no finite value, or all beyond a fixed end
    if (plot.y_min) {
      y_hi = y_lo;
    } else {
      y_lo = y_hi = plot.y_max.value_or(0.0);
    }
  }
  const Axis x_axis = MakeAxis(x_lo, x_hi, 8, false, false);
  const Axis y_axis = MakeAxis(y_lo, y_hi, 5, !plot.y_min, !plot.y_max);

  const double top = plot.title.empty() ? 10 : kTitleHeight;
  const double bottom = top + kAreaHeight;
  const auto page_x = [&](double x) { return kAreaLeft + x_axis.Fraction(x) * kAreaWidth; };
  const auto page_y = [&](double y) { return bottom - y_axis.Fraction(y) * kAreaHeight; };
  const size_t legend_rows = (plot.series.size() + kLegendColumns - 1) / kLegendColumns;
  const double svg_height =
      bottom + kBelowArea + static_cast<double>(legend_rows) * kLegendRowHeight + 8;

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"line-plot\" width=\"" +
                    Number(kSvgWidth) + "\" height=\"" + Number(svg_height) + "\" viewBox=\"0 0 " +
                    Number(kSvgWidth) + " " + Number(svg_height) +
                    "\" font-family=\"system-ui, sans-serif\" font-size=\"11\" fill=\"#222\">\n";
  if (!plot.title.empty()) {
    svg += Text(kSvgWidth / 2, 20, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"",
                plot.title);
  }
  svg += "<g class=\"grid\" stroke=\"#e4e4e4\">\n";
  for (const double tick : x_axis.ticks) {
    svg += "<line x1=\"" + Number(page_x(tick)) + "\" y1=\"" + Number(top) + "\" x2=\"" +
           Number(page_x(tick)) + "\" y2=\"" + Number(bottom) + "\"/>\n";
  }
  for (const double tick : y_axis.ticks) {
    svg += "<line x1=\"" + Number(kAreaLeft) + "\" y1=\"" + Number(page_y(tick)) + "\" x2=\"" +
           Number(kAreaLeft + kAreaWidth) + "\" y2=\"" + Number(page_y(tick)) + "\"/>\n";
  }
  svg += "</g>\n";
  for (const double tick : x_axis.ticks) {
    svg += Text(page_x(tick), bottom + 16, "class=\"x-tick\" text-anchor=\"middle\"",
                Number(tick, x_axis.decimals));
  }
  for (const double tick : y_axis.ticks) {
    svg += Text(kAreaLeft - 6, page_y(tick) + 4, "class=\"y-tick\" text-anchor=\"end\"",
                Number(tick, y_axis.decimals));
  }
  if (!plot.x_label.empty()) {
    svg += Text(kAreaLeft + kAreaWidth / 2, bottom + 36, "text-anchor=\"middle\" font-size=\"12\"",
                plot.x_label);
  }
  if (!plot.y_label.empty()) {
    svg += "<text transform=\"translate(16," + Number((top + bottom) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + EscapeHtml(plot.y_label) +
           "</text>\n";
  }
  // The data, clipped to the plot area by a nested <svg>.
  svg += "<svg class=\"plot-area\" x=\"" + Number(kAreaLeft) + "\" y=\"" + Number(top) +
         "\" width=\"" + Number(kAreaWidth) + "\" height=\"" + Number(kAreaHeight) + "\">\n";
  for (size_t i = 0; i < plot.series.size(); ++i) svg += SeriesSvg(plot, i, x_axis, y_axis);
  svg += "</svg>\n";
  svg += "<rect x=\"" + Number(kAreaLeft) + "\" y=\"" + Number(top) + "\" width=\"" +
         Number(kAreaWidth) + "\" height=\"" + Number(kAreaHeight) +
         "\" fill=\"none\" stroke=\"#999\"/>\n";
  svg += LegendSvg(plot, bottom + kBelowArea);
  return svg + "</svg>\n";
}

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::AddHeading(std::string_view text) {
  body_ += "<h2>" + EscapeHtml(text) + "</h2>\n";
}

void HtmlReport::AddParagraph(std::string_view text) {
  body_ += "<p>" + EscapeHtml(text) + "</p>\n";
}

void HtmlReport::AddTable(const std::vector<std::vector<std::string>>& rows,
                          const std::vector<std::string>& header) {
  body_ += "<table>\n";
  if (!header.empty()) {
    body_ += "<thead><tr>";
    for (const std::string& cell : header) body_ += "<th>" + EscapeHtml(cell) + "</th>";
    body_ += "</tr></thead>\n";
  }
  body_ += "<tbody>\n";
  for (const std::vector<std::string>& row : rows) {
    HT_CHECK(header.empty() || row.size() == header.size(),
             "a table row of " << row.size() << " cells under " << header.size() << " columns");
    body_ += "<tr>";
    for (const std::string& cell : row) body_ += "<td>" + EscapeHtml(cell) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
}

void HtmlReport::AddLinePlot(const LinePlot& plot) { body_ += Figure(LinePlotSvg(plot), {}); }

void HtmlReport::AddImage(const ColorImage& image, std::string_view caption) {
  HT_CHECK(!image.empty() && (image.channels == 1 || image.channels == 3),
           image.width << " x " << image.height << " x " << image.channels);
  const cv::Mat pixels(image.height, image.width, CV_8UC(image.channels),
                       const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  if (image.channels == 3) {
    cv::cvtColor(pixels, bgr, cv::COLOR_RGB2BGR);
  } else {
    bgr = pixels;
  }
  std::vector<std::uint8_t> png;
  HT_CHECK(cv::imencode(".png", bgr, png), "PNG encoding failed");
  AddPngImage(png, caption);
}

void HtmlReport::AddPngImage(std::span<const std::uint8_t> png, std::string_view caption) {
  HT_CHECK(png.size() > sizeof(kPngSignature) &&
               std::equal(std::begin(kPngSignature), std::end(kPngSignature), png.begin()),
           "not PNG bytes");
  body_ += Figure("<img alt=\"" + EscapeHtml(caption) + "\" src=\"data:image/png;base64," +
                      Base64Encode(png) + "\">\n",
                  caption);
}

void HtmlReport::AddVideo(const std::filesystem::path& relative_file, std::string_view caption) {
  HT_CHECK(!relative_file.empty() && relative_file.is_relative(), relative_file.string());
  body_ += Figure("<video controls muted preload=\"metadata\" src=\"" + UrlPath(relative_file) +
                      "\"></video>\n",
                  caption);
}

std::string HtmlReport::Html() const {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>" +
         EscapeHtml(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
         EscapeHtml(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
}

void WriteHtmlReport(const std::filesystem::path& path, const HtmlReport& report) {
  const std::string html = report.Html();
  WriteFileAtomically(path, [&](std::ostream& stream) {
    stream.write(html.data(), static_cast<std::streamsize>(html.size()));
  });
}

}  // namespace headtrack
