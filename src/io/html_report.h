// A self-contained single-file HTML page for people (report.html): headings, paragraphs, tables,
// line plots drawn as inline SVG, PNG images embedded as base64 and videos referenced by a
// relative file name. No scripts, no network: the page opens offline in any browser.
// All text given here is plain text; it is escaped on output.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "headtrack/image.h"

namespace headtrack {

// One curve of a LinePlot.
struct PlotSeries {
  std::string name{};  // shown in the legend
  // One value per x of the plot; a NaN (or infinity) breaks the line there.
  std::vector<double> y{};
  // RGB; unset: the plot's palette color for the series' index (10 colors, then dashed, then
  // dotted).
  std::optional<std::array<std::uint8_t, 3>> color{};
};

struct LinePlot {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  std::vector<double> x{};  // increasing, e.g. frame numbers or seconds
  std::vector<PlotSeries> series{};
  // The y axis spans the data rounded out to ticks; these fix either end (e.g. y_min = 0 for an
  // error). Data outside is clipped.
  std::optional<double> y_min{};
  std::optional<double> y_max{};
};

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);

  void AddHeading(std::string_view text);
  void AddParagraph(std::string_view text);
  // rows of cells, each row as long as header (if header is not empty). A key/value table is
  // two columns.
  void AddTable(const std::vector<std::vector<std::string>>& rows,
                const std::vector<std::string>& header = {});
  // Requires every series to have one y per x.
  void AddLinePlot(const LinePlot& plot);
  // image: RGB or gray, encoded as PNG.
  void AddImage(const ColorImage& image, std::string_view caption = {});
  // png: the bytes of a PNG file (checked for the PNG signature).
  void AddPngImage(std::span<const std::uint8_t> png, std::string_view caption = {});
  // A <video> element playing `relative_file` (e.g. "overlay.mp4"), a path relative to the
  // report's folder.
  void AddVideo(const std::filesystem::path& relative_file, std::string_view caption = {});

  // The whole page.
  std::string Html() const;

 private:
  std::string title_;
  std::string body_;  // HTML of the sections added so far
};

// Writes report.Html() atomically; throws Error naming `path` if it cannot be written.
void WriteHtmlReport(const std::filesystem::path& path, const HtmlReport& report);

// Building blocks, exposed for tests.
// Text with & < > " ' replaced by entities, safe in element content and quoted attributes.
std::string EscapeHtml(std::string_view text);
// Standard base64 (RFC 4648) with '=' padding.
std::string Base64Encode(std::span<const std::uint8_t> bytes);
// The plot as an <svg> element (title, axes with ticks and labels, one <g class="series"> of
// polylines per series, legend). The plot area is the <rect class="plot-area">: x maps linearly
// from the x range to its width, y from the y range to its height (upwards).
std::string LinePlotSvg(const LinePlot& plot);

}  // namespace headtrack
