#include "model/live_link_face_csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "headtrack/error.h"

namespace headtrack {
namespace {

namespace fs = std::filesystem;

// Live Link Face's header line, spelled out here rather than built from the implementation.
const char* const kAppHeader =
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,"
    "EyeLookUpLeft,EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,"
    "EyeLookOutRight,EyeLookUpRight,EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,"
    "JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,MouthLeft,MouthSmileLeft,"
    "MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,"
    "MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,"
    "BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,"
    "TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,"
    "RightEyePitch,RightEyeRoll";

class LiveLinkFaceCsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("headtrack_llf_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // A data row of 63 fields with the given timecode; every float is `value`.
  static std::string Row(const std::string& timecode, const std::string& value = "0.5") {
    std::string row = timecode + ",61";
    for (int i = 0; i < 61; ++i) row += "," + value;
    return row;
  }
  // Expects ReadLiveLinkFaceCsv to throw an InputError naming the file and containing `where`.
  void ExpectReadError(const fs::path& path, const std::string& where) const {
    try {
      ReadLiveLinkFaceCsv(path, 30.0);
      FAIL() << "expected InputError for " << where;
    } catch (const InputError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      EXPECT_NE(message.find(where), std::string::npos) << message;
    }
  }

  fs::path dir_;
};

std::vector<LiveLinkFaceFrame> RandomFrames(int count, double frames_per_second) {
  std::mt19937 random(3);
  std::uniform_real_distribution<float> weight(0.0f, 1.0f);
  std::uniform_real_distribution<float> angle(-1.5f, 1.5f);
  std::vector<LiveLinkFaceFrame> frames(count);
  for (int i = 0; i < count; ++i) {
    frames[i].seconds = 3600.0 + i / frames_per_second;
    for (float& w : frames[i].blendshapes) w = weight(random);
    for (float& a : frames[i].head) a = angle(random);
    for (float& a : frames[i].eyes) a = angle(random);
  }
  frames[0].blendshapes[0] = 1e-7f;  // tiny values must survive fixed notation
  frames[0].head[0] = -0.0f;
  return frames;
}

TEST(LiveLinkFaceColumnNames, AreTheAppsSixtyThree) {
  std::string joined;
  for (std::string_view name : LiveLinkFaceColumnNames()) {
    joined += (joined.empty() ? "" : ",") + std::string(name);
  }
  EXPECT_EQ(joined, kAppHeader);
}

TEST(LiveLinkFaceTimecode, CountsFramesAndSubFrames) {
  EXPECT_EQ(LiveLinkFaceTimecode(0.0, 30.0), "00:00:00:00.000");
  EXPECT_EQ(LiveLinkFaceTimecode(3661.5, 30.0), "01:01:01:15.000");
  EXPECT_EQ(LiveLinkFaceTimecode(1.0 / 60.0, 60.0), "00:00:00:01.000");
  EXPECT_EQ(LiveLinkFaceTimecode(2.01, 30.0), "00:00:02:00.300");  // 0.3 of a frame
  EXPECT_EQ(LiveLinkFaceTimecode(45.0 / 60.0, 60.0), "00:00:00:45.000");
  EXPECT_EQ(LiveLinkFaceTimecode(59.99999999, 30.0), "00:01:00:00.000");  // rounds up a second
  EXPECT_EQ(LiveLinkFaceTimecode(29.0 / 29.97, 29.97), "00:00:00:29.000");
  EXPECT_EQ(LiveLinkFaceTimecode(100 * 3600.0, 30.0), "100:00:00:00.000");
  EXPECT_THROW(LiveLinkFaceTimecode(-1.0, 30.0), CheckError);
}

TEST_F(LiveLinkFaceCsvTest, WritesTheAppsHeaderAndOneRowPerFrame) {
  std::vector<LiveLinkFaceFrame> frames(2);
  frames[1].seconds = 3661.5;
  frames[1].blendshapes[17] = 0.25f;  // JawOpen
  frames[1].head = {0.5f, -0.125f, 0.0f};
  const fs::path path = dir_ / "arkit.csv";
  WriteLiveLinkFaceCsv(path, frames, 30.0);

  std::istringstream text(Read(path));
  std::string header, row0, row1, rest;
  std::getline(text, header);
  std::getline(text, row0);
  std::getline(text, row1);
  EXPECT_FALSE(std::getline(text, rest));
  EXPECT_EQ(header, kAppHeader);
  std::string expected0 = "00:00:00:00.000,61";
  for (int i = 0; i < 61; ++i) expected0 += ",0";
  EXPECT_EQ(row0, expected0);
  std::string expected1 = "01:01:01:15.000,61";
  for (int i = 0; i < 52; ++i) expected1 += i == 17 ? ",0.25" : ",0";
  expected1 += ",0.5,-0.125,0,0,0,0,0,0,0";
  EXPECT_EQ(row1, expected1);
}

TEST_F(LiveLinkFaceCsvTest, RoundTripsEveryValue) {
  const std::vector<LiveLinkFaceFrame> frames = RandomFrames(40, 60.0);
  const fs::path path = dir_ / "arkit.csv";
  WriteLiveLinkFaceCsv(path, frames, 60.0);
  const std::vector<LiveLinkFaceFrame> read = ReadLiveLinkFaceCsv(path, 60.0);
  ASSERT_EQ(read.size(), frames.size());
  for (size_t f = 0; f < frames.size(); ++f) {
    EXPECT_NEAR(read[f].seconds, frames[f].seconds, 1e-9) << f;
    EXPECT_EQ(read[f].blendshapes, frames[f].blendshapes) << f;
    EXPECT_EQ(read[f].head, frames[f].head) << f;
    EXPECT_EQ(read[f].eyes, frames[f].eyes) << f;
  }
}

TEST_F(LiveLinkFaceCsvTest, ReadsAppVariants) {
  // "BlendshapeCount" spelling, a byte order mark, CRLF, a blank line, a count other than 61 and
  // the app's time-of-day timecodes with sub-frames.
  std::string header = kAppHeader;
  header.replace(header.find("BlendShapeCount"), 15, "BlendshapeCount");
  std::string second_row = Row("14:03:52:28.207", "0.25");
  second_row.replace(second_row.find(",61,"), 4, ",52,");
  const fs::path path =
      Write("take.csv", "\xEF\xBB\xBF" + header + "\r\n" + Row("14:03:52:28.000") + "\r\n\r\n" +
                            second_row + "\r\n");
  const auto frames = ReadLiveLinkFaceCsv(path, 60.0);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_NEAR(frames[0].seconds, 14 * 3600 + 3 * 60 + 52 + 28.0 / 60.0, 1e-9);
  EXPECT_NEAR(frames[1].seconds, 14 * 3600 + 3 * 60 + 52 + 28.207 / 60.0, 1e-9);
  EXPECT_EQ(frames[0].blendshapes[0], 0.5f);
  EXPECT_EQ(frames[1].eyes[5], 0.25f);
}

TEST_F(LiveLinkFaceCsvTest, FindsColumnsByName) {
  // JawOpen and TongueOut swapped, lower case names.
  std::string header = kAppHeader;
  header.replace(header.find("JawOpen"), 7, "tongueout");
  header.replace(header.find("TongueOut"), 9, "jawopen");
  std::string row = "00:00:01:00.000,61";
  for (int i = 0; i < 61; ++i) row += i == 17 ? ",0.75" : ",0";  // under "tongueout"
  const auto frames = ReadLiveLinkFaceCsv(Write("swapped.csv", header + "\n" + row + "\n"), 30.0);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].blendshapes[51], 0.75f);  // TongueOut
  EXPECT_EQ(frames[0].blendshapes[17], 0.0f);   // JawOpen
  EXPECT_NEAR(frames[0].seconds, 1.0, 1e-12);
}

TEST_F(LiveLinkFaceCsvTest, BadHeadersNameFileLineAndColumn) {
  std::string unknown = kAppHeader;
  unknown.replace(unknown.find("EyeLookDownLeft"), 15, "EyeLookDownLeftt");
  ExpectReadError(Write("unknown.csv", unknown + "\n"), "line 1, column 4: unknown column");

  std::string repeated = kAppHeader;
  repeated.replace(repeated.find("EyeLookDownLeft"), 15, "EyeBlinkLeft");
  ExpectReadError(Write("repeated.csv", repeated + "\n"),
                  "line 1, column 4: column 'EyeBlinkLeft'");

  std::string missing = kAppHeader;
  missing.erase(missing.find(",RightEyeRoll"));
  ExpectReadError(Write("missing.csv", "\n" + missing + "\n"),
                  "line 2: the header has no column "
                  "'RightEyeRoll'");
  ExpectReadError(Write("empty.csv", ""), "empty file");
}

TEST_F(LiveLinkFaceCsvTest, BadRowsNameFileLineAndColumn) {
  const std::string header = std::string(kAppHeader) + "\n";
  std::string bad_number = Row("00:00:00:01.000");
  bad_number.replace(bad_number.find("0.5", bad_number.find(",61,") + 4 + 17 * 4), 3, "abc");
  ExpectReadError(Write("number.csv", header + Row("00:00:00:00.000") + "\n" + bad_number + "\n"),
                  "line 3, column 20 (JawOpen): 'abc' is not a finite number");
  ExpectReadError(Write("nan.csv", header + Row("00:00:00:00.000", "nan") + "\n"),
                  "line 2, column 3 (EyeBlinkLeft)");
  ExpectReadError(Write("short.csv", header + Row("00:00:00:00.000") + ",1\n"),
                  "line 2: 64 fields, expected 63");
  ExpectReadError(Write("timecode.csv", header + Row("00:00:00.000") + "\n"),
                  "line 2, column 1 (Timecode): '00:00:00.000'");
  ExpectReadError(Write("minutes.csv", header + Row("00:61:00:00.000") + "\n"),
                  "line 2, column 1 (Timecode)");
  ExpectReadError(Write("rate.csv", header + Row("00:00:00:45.000") + "\n"),
                  "frame 45.000 is not below the frame rate");
  std::string count = Row("00:00:00:00.000");
  count.replace(count.find(",61,"), 4, ",x,");
  ExpectReadError(Write("count.csv", header + count + "\n"), "line 2, column 2 (BlendShapeCount)");
  EXPECT_THROW(ReadLiveLinkFaceCsv(dir_ / "absent.csv", 30.0), Error);
}

TEST_F(LiveLinkFaceCsvTest, FailedWritesLeaveNoFile) {
  std::vector<LiveLinkFaceFrame> frames = RandomFrames(3, 30.0);
  EXPECT_THROW(WriteLiveLinkFaceCsv(dir_ / "no_such_dir" / "arkit.csv", frames, 30.0), Error);
  frames[2].eyes[1] = std::nanf("");
  EXPECT_THROW(WriteLiveLinkFaceCsv(dir_ / "arkit.csv", frames, 30.0), CheckError);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace headtrack
