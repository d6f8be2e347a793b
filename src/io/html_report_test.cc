#include "io/html_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "headtrack/image_io.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;
using Point = std::pair<double, double>;
using Rgb = std::array<std::uint8_t, 3>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- reading the generated text back ----

// The numeric value of attribute `name` in the first element at or after `from` that has it.
double NumericAttribute(const std::string& text, const std::string& name, size_t from = 0) {
  const std::string key = " " + name + "=\"";
  const size_t at = text.find(key, from);
  if (at == std::string::npos) ADD_FAILURE() << "no attribute " << name;
  return at == std::string::npos ? kNaN : std::stod(text.substr(at + key.size()));
}

// The polylines ("x,y x,y ...") and dots of the series named `name`, in plot-area coordinates.
struct SeriesShapes {
  std::vector<std::vector<Point>> polylines;
  std::vector<Point> dots;
};

SeriesShapes ParseSeries(const std::string& svg, const std::string& name) {
  SeriesShapes shapes;
  const size_t begin = svg.find("<g class=\"series\" data-name=\"" + name + "\"");
  if (begin == std::string::npos) {
    ADD_FAILURE() << "no series " << name;
    return shapes;
  }
  const std::string group = svg.substr(begin, svg.find("</g>", begin) - begin);
  for (size_t at = group.find("points=\""); at != std::string::npos;
       at = group.find("points=\"", at + 1)) {
    const size_t start = at + 8;
    std::string points = group.substr(start, group.find('"', start) - start);
    std::replace(points.begin(), points.end(), ',', ' ');
    std::istringstream stream(points);
    std::vector<Point>& line = shapes.polylines.emplace_back();
    for (double x, y; stream >> x >> y;) line.emplace_back(x, y);
  }
  for (size_t at = group.find("<circle"); at != std::string::npos;
       at = group.find("<circle", at + 1)) {
    shapes.dots.emplace_back(NumericAttribute(group, "cx", at), NumericAttribute(group, "cy", at));
  }
  return shapes;
}

// The plot area's size (the nested <svg class="plot-area">).
std::pair<double, double> PlotAreaSize(const std::string& svg) {
  const size_t at = svg.find("<svg class=\"plot-area\"");
  EXPECT_NE(at, std::string::npos);
  return {NumericAttribute(svg, "width", at), NumericAttribute(svg, "height", at)};
}

std::vector<std::string> TickLabels(const std::string& svg, const std::string& axis) {
  std::vector<std::string> labels;
  const std::string key = "class=\"" + axis + "-tick\"";
  for (size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1)) {
    const size_t start = svg.find('>', at) + 1;
    labels.push_back(svg.substr(start, svg.find('<', start) - start));
  }
  return labels;
}

// Data (x, y) in an x range [x0, x1] and y range [y0, y1] -> plot-area pixels (y down).
std::vector<Point> Expected(const std::vector<double>& x, const std::vector<double>& y, double x0,
                            double x1, double y0, double y1, std::pair<double, double> size) {
  std::vector<Point> points;
  for (size_t i = 0; i < x.size(); ++i) {
    points.emplace_back((x[i] - x0) / (x1 - x0) * size.first,
                        size.second - (y[i] - y0) / (y1 - y0) * size.second);
  }
  return points;
}

// Coordinates are written with one decimal.
void ExpectPoints(const std::vector<Point>& actual, const std::vector<Point>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i].first, expected[i].first, 0.051) << "point " << i;
    EXPECT_NEAR(actual[i].second, expected[i].second, 0.051) << "point " << i;
  }
}

std::vector<std::uint8_t> Base64Decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> bytes;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    bits = bits << 6 | static_cast<std::uint32_t>(alphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes.push_back(static_cast<std::uint8_t>(bits >> count));
    }
  }
  return bytes;
}

std::vector<double> Iota(int count) {
  std::vector<double> values(count);
  for (int i = 0; i < count; ++i) values[i] = i;
  return values;
}

// ---- text ----

TEST(EscapeHtml, ReplacesTheFiveSpecialCharacters) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#39;d");
  EXPECT_EQ(EscapeHtml("plain text, 3 mm"), "plain text, 3 mm");
  EXPECT_EQ(EscapeHtml("&amp;"), "&amp;amp;");
}

TEST(HtmlReport, EscapesEveryTextItIsGiven) {
  const std::string evil = "<script>x</script>";
  HtmlReport report(evil);
  report.AddHeading(evil);
  report.AddParagraph(evil);
  report.AddTable({{evil, "1"}}, {evil, "value"});
  report.AddLinePlot({.title = evil,
                      .x_label = evil,
                      .y_label = evil,
                      .x = {0, 1},
                      .series = {{.name = evil, .y = {0, 1}}}});
  report.AddVideo("overlay.mp4", evil);
  const std::string html = report.Html();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Title (twice), heading, paragraph, two cells, plot title, labels, series group and legend
  // (name and tooltip), video caption.
  size_t count = 0;
  for (size_t at = html.find("&lt;script&gt;"); at != std::string::npos;
       at = html.find("&lt;script&gt;", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 13u);
}

TEST(Base64Encode, MatchesRfc4648TestVectors) {
  const auto encode = [](const std::string& text) {
    return Base64Encode(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg==");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  const std::vector<std::uint8_t> high = {0xFF, 0xFE, 0x00, 0xFB};
  EXPECT_EQ(Base64Encode(high), "//4A+w==");
}

// ---- plots ----

TEST(LinePlotSvg, PolylineMapsDataLinearlyOntoThePlotArea) {
  // x 0 .. 10 is the x range; y 0 .. 10 rounds to ticks 0, 2, .., 10: the same range.
  const std::vector<double> x = Iota(11);
  const std::vector<double> ramp = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<double> wave = {5, 7, 3, 9, 1, 5, 5, 6, 4, 10, 0};
  const std::string svg =
      LinePlotSvg({.x = x, .series = {{.name = "ramp", .y = ramp}, {.name = "wave", .y = wave}}});
  const auto size = PlotAreaSize(svg);
  EXPECT_GT(size.first, 500);
  EXPECT_GT(size.second, 200);
  const SeriesShapes ramp_shapes = ParseSeries(svg, "ramp");
  ASSERT_EQ(ramp_shapes.polylines.size(), 1u);
  EXPECT_TRUE(ramp_shapes.dots.empty());
  ExpectPoints(ramp_shapes.polylines[0], Expected(x, ramp, 0, 10, 0, 10, size));
  // The first point is the bottom-left corner, the last the top-right one.
  EXPECT_NEAR(ramp_shapes.polylines[0].front().second, size.second, 0.051);
  EXPECT_NEAR(ramp_shapes.polylines[0].back().second, 0.0, 0.051);
  const SeriesShapes wave_shapes = ParseSeries(svg, "wave");
  ASSERT_EQ(wave_shapes.polylines.size(), 1u);
  ExpectPoints(wave_shapes.polylines[0], Expected(x, wave, 0, 10, 0, 10, size));
}

TEST(LinePlotSvg, NanBreaksTheLineAndALonePointBecomesADot) {
  const std::vector<double> x = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> y = {1, 2, 3, kNaN, 2, kNaN, 4, inf, 0};
  const std::string svg = LinePlotSvg({.x = x, .series = {{.name = "gappy", .y = y}}});
  const auto size = PlotAreaSize(svg);
  const SeriesShapes shapes = ParseSeries(svg, "gappy");
  // Runs [0, 3) and a lone 4 and 6 and 8; x spans 10 .. 90, y 0 .. 4 (ticks of 1).
  ASSERT_EQ(shapes.polylines.size(), 1u);
  ExpectPoints(shapes.polylines[0], Expected({10, 20, 30}, {1, 2, 3}, 10, 90, 0, 4, size));
  ExpectPoints(shapes.dots, Expected({50, 70, 90}, {2, 4, 0}, 10, 90, 0, 4, size));
}

TEST(LinePlotSvg, TicksAreRoundNumbersAndFixedEndsAreKept) {
  const std::vector<double> x = {0, 1, 2};
  const std::string rounded =
      LinePlotSvg({.x = x, .series = {{.name = "a", .y = {0.13, 0.87, 0.5}}}});
  // Range 0.74 / 5 ticks -> a step of 0.2, the ends rounded out to 0 and 1.
  EXPECT_EQ(TickLabels(rounded, "y"),
            (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_EQ(TickLabels(rounded, "x"),
            (std::vector<std::string>{"0.0", "0.5", "1.0", "1.5", "2.0"}));

  // Fixed ends: y from 0 to 5 though the data reach 10 (clipped by the plot area).
  const std::string fixed = LinePlotSvg(
      {.x = x, .series = {{.name = "b", .y = {0, 10, 2.5}}}, .y_min = 0.0, .y_max = 5.0});
  EXPECT_EQ(TickLabels(fixed, "y"), (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
  const SeriesShapes shapes = ParseSeries(fixed, "b");
  ASSERT_EQ(shapes.polylines.size(), 1u);
  ExpectPoints(shapes.polylines[0], Expected(x, {0, 10, 2.5}, 0, 2, 0, 5, PlotAreaSize(fixed)));
}

TEST(LinePlotSvg, DozensOfSeriesOverHundredsOfFramesCycleColorsThenDashes) {
  constexpr int kFrames = 600;
  constexpr int kSeries = 36;
  LinePlot plot{.x = Iota(kFrames)};
  for (int s = 0; s < kSeries; ++s) {
    PlotSeries& series = plot.series.emplace_back();
    series.name = "curve_" + std::to_string(s);
    for (int i = 0; i < kFrames; ++i) series.y.push_back(std::sin(0.01 * i * (s + 1)));
  }
  const std::string svg = LinePlotSvg(plot);
  for (int s = 0; s < kSeries; ++s) {
    const SeriesShapes shapes = ParseSeries(svg, "curve_" + std::to_string(s));
    ASSERT_EQ(shapes.polylines.size(), 1u);
    EXPECT_EQ(shapes.polylines[0].size(), static_cast<size_t>(kFrames));
  }
  // Series 0 and 10 share the first palette color; 10 is dashed, 20 dotted.
  const auto group = [&](int s) {
    const size_t at = svg.find("data-name=\"curve_" + std::to_string(s) + "\"");
    return svg.substr(at, svg.find('>', at) - at);
  };
  EXPECT_NE(group(0).find("stroke=\"rgb(31,119,180)\""), std::string::npos) << group(0);
  EXPECT_NE(group(10).find("stroke=\"rgb(31,119,180)\""), std::string::npos) << group(10);
  EXPECT_EQ(group(0).find("dasharray"), std::string::npos);
  EXPECT_NE(group(10).find("stroke-dasharray=\"6 3\""), std::string::npos);
  EXPECT_NE(group(20).find("stroke-dasharray=\"2 2\""), std::string::npos);
  // Every series is in the legend, inside the SVG's height.
  const size_t legend = svg.find("<g class=\"legend\"");
  ASSERT_NE(legend, std::string::npos);
  double lowest = 0;
  int entries = 0;
  for (size_t at = svg.find("<text", legend); at != std::string::npos;
       at = svg.find("<text", at + 1), ++entries) {
    lowest = std::max(lowest, NumericAttribute(svg, "y", at));
  }
  EXPECT_EQ(entries, kSeries);
  EXPECT_LT(lowest, NumericAttribute(svg, "height"));
}

TEST(LinePlotSvg, SeriesOfAnotherLengthIsCheckError) {
  EXPECT_THROW(LinePlotSvg({.x = {0, 1, 2}, .series = {{.name = "short", .y = {1, 2}}}}),
               CheckError);
}

// ---- images, video, writing ----

using HtmlReportTest = test_support::ScratchFolderTest;

TEST_F(HtmlReportTest, EmbeddedImageDecodesToTheSamePixels) {
  ColorImage image(5, 3, 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 17);
  HtmlReport report("images");
  report.AddImage(image, "a & b");
  const std::string html = report.Html();
  const std::string prefix = "src=\"data:image/png;base64,";
  const size_t start = html.find(prefix);
  ASSERT_NE(start, std::string::npos);
  const size_t data = start + prefix.size();
  const std::vector<uint8_t> png = Base64Decode(html.substr(data, html.find('"', data) - data));
  const fs::path path = Path("decoded.png");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  const ColorImage decoded = ReadColorPng(path);
  EXPECT_EQ(decoded.width, 5);
  EXPECT_EQ(decoded.height, 3);
  EXPECT_EQ(decoded.pixels, image.pixels);
  EXPECT_NE(html.find("<figcaption>a &amp; b</figcaption>"), std::string::npos);

  const std::vector<uint8_t> not_png = {'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0};
  EXPECT_THROW(report.AddPngImage(not_png), CheckError);
}

TEST(HtmlReport, VideoPointsAtTheRelativeFileAsAUrl) {
  HtmlReport report("video");
  report.AddVideo("clips/overlay #1.mp4");
  EXPECT_NE(report.Html().find("<video controls muted preload=\"metadata\" "
                               "src=\"clips/overlay%20%231.mp4\">"),
            std::string::npos);
  EXPECT_THROW(report.AddVideo("/tmp/overlay.mp4"), CheckError);
}

TEST_F(HtmlReportTest, WritesThePageAndLeavesNothingWhenTheFolderIsMissing) {
  HtmlReport report("written");
  report.AddTable({{"frames", "120"}, {"mean error", "0.41 mm"}});
  const fs::path path = Path("report.html");
  WriteHtmlReport(path, report);
  std::ifstream stream(path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(stream), {}), report.Html());

  const fs::path missing = Path("missing/report.html");
  test_support::ExpectError([&] { WriteHtmlReport(missing, report); }, missing, {"does not exist"},
                            /*input_error=*/false);
  EXPECT_EQ(FileCount(), 1);
}

// ---- the page in a browser ----

// Pixels of a line drawn in `color` on white: antialiasing mixes the two, so a pixel counts if
// it is the color blended with white at weight >= 0.45.
bool IsLineColor(const ColorImage& image, int x, int y, const Rgb& color) {
  double dot = 0, norm = 0;
  for (int c = 0; c < 3; ++c) {
    dot += (255.0 - image.at(x, y, c)) * (255.0 - color[c]);
    norm += (255.0 - color[c]) * (255.0 - color[c]);
  }
  const double weight = dot / norm;
  if (weight < 0.45) return false;
  for (int c = 0; c < 3; ++c) {
    if (std::abs(image.at(x, y, c) - (255.0 - weight * (255.0 - color[c]))) > 24) return false;
  }
  return true;
}

struct PixelSet {
  int count = 0;
  int min_x = std::numeric_limits<int>::max(), max_x = -1;
  int min_y = std::numeric_limits<int>::max(), max_y = -1;
  std::map<int, int> rows;               // row -> pixels in it
  std::map<int, std::vector<int>> cols;  // column -> rows
};

template <typename Match>
PixelSet FindPixels(const ColorImage& image, Match match) {
  PixelSet set;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!match(x, y)) continue;
      ++set.count;
      set.min_x = std::min(set.min_x, x);
      set.max_x = std::max(set.max_x, x);
      set.min_y = std::min(set.min_y, y);
      set.max_y = std::max(set.max_y, y);
      ++set.rows[y];
      set.cols[x].push_back(y);
    }
  }
  return set;
}

// Writes a report with two plots and an image, screenshots it with headless Chromium and checks
// that the lines and the image were drawn where they belong.
TEST_F(HtmlReportTest, ChromiumDrawsThePlotsAndTheImage) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    FAIL() << "chromium is not installed: run scripts/setup (it installs Debian's chromium, "
              "which this check of report.html needs)";
  }
  const Rgb red = {230, 25, 25};
  const Rgb blue = {25, 25, 230};
  const Rgb green = {20, 170, 40};
  constexpr int kFrames = 200;
  const std::vector<double> x = Iota(kFrames);
  std::vector<double> ramp, flat, wave;
  for (int i = 0; i < kFrames; ++i) {
    ramp.push_back(i);
    flat.push_back(i >= 80 && i < 120 ? kNaN : 1.5);  // above the wave, a gap at 80 .. 119
    wave.push_back(std::sin(i * 0.08));
  }
  HtmlReport report("Browser check");
  report.AddParagraph("Two plots and an image.");
  report.AddLinePlot(
      {.title = "ramp", .x = x, .series = {{.name = "ramp", .y = ramp, .color = red}}});
  report.AddLinePlot({.title = "flat and wave",
                      .x = x,
                      .series = {{.name = "flat", .y = flat, .color = blue},
                                 {.name = "wave", .y = wave, .color = green}},
                      .y_min = -2.0,
                      .y_max = 2.0});
  const Rgb magenta = {255, 0, 255};
  const Rgb orange = {255, 160, 0};
  ColorImage image(240, 120, 3);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      for (int c = 0; c < 3; ++c) image.at(x, y, c) = (x < 120 ? magenta : orange)[c];
    }
  }
  report.AddImage(image, "magenta and orange");
  const fs::path page = Path("report.html");
  WriteHtmlReport(page, report);

  const fs::path screenshot = Path("screenshot.png");
  const std::string command =
      "timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
      "--force-device-scale-factor=1 --no-first-run --user-data-dir='" +
      Path("profile").string() + "' --screenshot='" + screenshot.string() +
      "' --window-size=1200,1600 'file://" + page.string() + "' > '" +
      Path("chromium.log").string() + "' 2>&1";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "chromium took " << seconds << " s\n";
  if (status != 0 || !fs::exists(screenshot)) {
    std::ifstream log(Path("chromium.log"));
    FAIL() << "chromium failed (status " << status << "):\n"
           << command << "\n"
           << std::string(std::istreambuf_iterator<char>(log), {});
  }
  const ColorImage shot = ReadColorPng(screenshot);
  ASSERT_EQ(shot.width, 1200);
  ASSERT_EQ(shot.height, 1600);

  const auto line = [&](const Rgb& color) {
    return FindPixels(shot, [&](int x, int y) { return IsLineColor(shot, x, y, color); });
  };
  const PixelSet red_pixels = line(red);
  const PixelSet blue_pixels = line(blue);
  const PixelSet green_pixels = line(green);
  // The ramp spans the first plot's width and rises from left to right.
  ASSERT_GT(red_pixels.count, 0) << "no ramp drawn";
  EXPECT_GT(red_pixels.max_x - red_pixels.min_x, 800);
  EXPECT_GT(red_pixels.max_y - red_pixels.min_y, 250);
  // Columns inside the line's ends; the legend's swatch lies below the plot, further down.
  const int ramp_start = red_pixels.min_x + 4;
  const int ramp_end = red_pixels.max_x - 40;
  ASSERT_TRUE(red_pixels.cols.count(ramp_start) && red_pixels.cols.count(ramp_end));
  EXPECT_GT(red_pixels.cols.at(ramp_start).front(), red_pixels.cols.at(ramp_end).back() + 200);
  // The wave spans the second plot, below the first.
  ASSERT_GT(green_pixels.count, 0) << "no wave drawn";
  EXPECT_GT(green_pixels.max_x - green_pixels.min_x, 800);
  EXPECT_GT(green_pixels.max_y - green_pixels.min_y, 100);
  EXPECT_GT(green_pixels.min_y, red_pixels.max_y);
  // The flat line is one row (the row with most blue pixels) with a gap at frames 80 .. 119.
  ASSERT_GT(blue_pixels.count, 0) << "no flat line drawn";
  const int flat_row =
      std::max_element(blue_pixels.rows.begin(), blue_pixels.rows.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; })
          ->first;
  EXPECT_GT(flat_row, red_pixels.max_y);
  // Frame -> column from the wave, which spans all frames.
  const auto column = [&](double frame) {
    return static_cast<int>(green_pixels.min_x +
                            frame / (kFrames - 1) * (green_pixels.max_x - green_pixels.min_x));
  };
  const auto blue_near_row = [&](int column_index) {
    if (!blue_pixels.cols.count(column_index)) return false;
    for (const int y : blue_pixels.cols.at(column_index)) {
      if (std::abs(y - flat_row) <= 2) return true;
    }
    return false;
  };
  int drawn_outside_gap = 0, drawn_in_gap = 0;
  for (int frame = 5; frame < kFrames - 5; ++frame) {
    if (frame >= 82 && frame <= 117) {
      drawn_in_gap += blue_near_row(column(frame));
    } else if (frame < 78 || frame > 121) {
      drawn_outside_gap += blue_near_row(column(frame));
    }
  }
  EXPECT_EQ(drawn_in_gap, 0);
  EXPECT_GT(drawn_outside_gap, 140);
  // The image: exactly its magenta half and orange half, unscaled, below the plots.
  const auto exact = [&](const Rgb& color) {
    return FindPixels(shot, [&](int x, int y) {
      for (int c = 0; c < 3; ++c) {
        if (std::abs(shot.at(x, y, c) - color[c]) > 3) return false;
      }
      return true;
    });
  };
  const PixelSet magenta_pixels = exact(magenta);
  const PixelSet orange_pixels = exact(orange);
  EXPECT_EQ(magenta_pixels.count, 120 * 120);
  EXPECT_EQ(orange_pixels.count, 120 * 120);
  EXPECT_EQ(magenta_pixels.max_x + 1, orange_pixels.min_x);
  EXPECT_EQ(magenta_pixels.min_y, orange_pixels.min_y);
  EXPECT_GT(magenta_pixels.min_y, green_pixels.max_y);
}

}  // namespace
}  // namespace headtrack
