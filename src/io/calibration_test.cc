#include "headtrack/calibration.h"

#include <gtest/gtest.h>

#include <string>

#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {

using test_support::ExpectError;

const std::string kShared = HEADTRACK_DATA_DIR;

using CalibrationTest = test_support::ScratchFolderTest;

TEST(Calibration, ReadsKinectPersonCalibration) {
  const Calibration calibration = ReadCalibration(kShared + "/data/kinect_person/calibration.json");
  const PinholeCamera expected = PinholeCamera::KinectV1();
  EXPECT_EQ(calibration.camera.fx, expected.fx);
  EXPECT_EQ(calibration.camera.fy, expected.fy);
  EXPECT_EQ(calibration.camera.cx, expected.cx);
  EXPECT_EQ(calibration.camera.cy, expected.cy);
  EXPECT_EQ(calibration.camera.width, 640);
  EXPECT_EQ(calibration.camera.height, 480);
  EXPECT_TRUE(calibration.has_size());
  EXPECT_EQ(calibration.depth_scale, 1000.0);
}

TEST_F(CalibrationTest, RoundTripIsExact) {
  Calibration calibration;
  calibration.camera = {.fx = 504.123456789012,
                        .fy = 503.9,
                        .cx = 319.5 + 1e-9,
                        .cy = -0.25,
                        .width = 640,
                        .height = 576};
  calibration.depth_scale = 4000.0 / 3.0;
  WriteCalibration(Path("calibration.json"), calibration);
  const Calibration read = ReadCalibration(Path("calibration.json"));
  EXPECT_EQ(read.camera.fx, calibration.camera.fx);
  EXPECT_EQ(read.camera.fy, calibration.camera.fy);
  EXPECT_EQ(read.camera.cx, calibration.camera.cx);
  EXPECT_EQ(read.camera.cy, calibration.camera.cy);
  EXPECT_EQ(read.camera.width, 640);
  EXPECT_EQ(read.camera.height, 576);
  EXPECT_EQ(read.depth_scale, calibration.depth_scale);
  EXPECT_EQ(FileCount(), 1);
}

TEST_F(CalibrationTest, OptionalFieldsDefault) {
  const auto path = WriteFile("calibration.json",
                              R"({"fx": 500, "fy": 501, "cx": 320, "cy": 240, "note": "ignored"})");
  const Calibration calibration = ReadCalibration(path);
  EXPECT_EQ(calibration.camera.fx, 500.0);
  EXPECT_EQ(calibration.camera.cy, 240.0);
  EXPECT_FALSE(calibration.has_size());
  EXPECT_EQ(calibration.depth_scale, 1000.0);
  // Without a size, the written file has none either.
  WriteCalibration(Path("written.json"), calibration);
  EXPECT_FALSE(ReadCalibration(Path("written.json")).has_size());
}

// ---- bad input ----

TEST_F(CalibrationTest, InvalidFilesAreErrorsNamingTheField) {
  const struct {
    const char* json;
    const char* expected;
  } cases[] = {
      {R"({"fx": 525, "fy": 525, "cx": 319.5)", "not valid JSON"},
      {"", "not valid JSON"},
      {"[525, 525, 319.5, 239.5]", "expected a JSON object"},
      {R"({"fy": 525, "cx": 319.5, "cy": 239.5})", "missing field 'fx'"},
      {R"({"fx": "525", "fy": 525, "cx": 319.5, "cy": 239.5})",
       "field 'fx' must be a positive number, found \"525\""},
      {R"({"fx": -525, "fy": 525, "cx": 319.5, "cy": 239.5})",
       "field 'fx' must be a positive number"},
      {R"({"fx": 0, "fy": 525, "cx": 319.5, "cy": 239.5})", "field 'fx' must be a positive number"},
      {R"({"fx": 525, "fy": 525, "cx": null, "cy": 239.5})",
       "field 'cx' must be a number, found null"},
      {R"({"fx": 525, "fy": 525, "cx": 1, "cy": 2, "width": 640})",
       "only one of 'width' and 'height'"},
      {R"({"fx": 525, "fy": 525, "cx": 1, "cy": 2, "width": 640.5, "height": 480})",
       "field 'width' must be a positive integer"},
      {R"({"fx": 525, "fy": 525, "cx": 1, "cy": 2, "width": 640, "height": 0})",
       "field 'height' must be a positive integer"},
      {R"({"fx": 525, "fy": 525, "cx": 1, "cy": 2, "depth_scale": -1})",
       "field 'depth_scale' must be a positive number"},
  };
  for (const auto& test : cases) {
    const auto path = WriteFile("calibration.json", test.json);
    ExpectError([&] { ReadCalibration(path); }, path, {test.expected});
  }
}

TEST_F(CalibrationTest, MissingFileAndMissingFolderAreErrors) {
  ExpectError([&] { ReadCalibration(Path("none.json")); }, Path("none.json"), {"no such file"},
              /*input_error=*/false);
  Calibration calibration;
  calibration.camera = PinholeCamera::KinectV1();
  const auto path = Path("missing") / "calibration.json";
  ExpectError([&] { WriteCalibration(path, calibration); }, path, {"does not exist"},
              /*input_error=*/false);
  EXPECT_EQ(FileCount(), 0);
}

}  // namespace
}  // namespace headtrack
