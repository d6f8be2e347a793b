#include "core/file_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "headtrack/error.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("headtrack_file_util_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  fs::path folder_;
};

TEST_F(FileUtilTest, WritesAndLeavesNoTemporaryFile) {
  const fs::path path = folder_ / "a.txt";
  WriteFileAtomically(path, [](std::ostream& out) { out << "hello"; });
  const std::vector<char> bytes = ReadFileBytes(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "hello");
  EXPECT_EQ(std::distance(fs::directory_iterator(folder_), fs::directory_iterator()), 1);
}

TEST_F(FileUtilTest, FailedWriteKeepsOldFileAndLeavesNothingElse) {
  const fs::path path = folder_ / "a.txt";
  WriteFileAtomically(path, [](std::ostream& out) { out << "old"; });
  EXPECT_THROW(WriteFileAtomically(path,
                                   [](std::ostream& out) {
                                     out << "partial";
                                     throw Error("writer failed");
                                   }),
               Error);
  const std::vector<char> bytes = ReadFileBytes(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(folder_), fs::directory_iterator()), 1);
}

TEST_F(FileUtilTest, MissingFolderIsAnErrorNamingThePath) {
  const fs::path path = folder_ / "missing" / "a.txt";
  try {
    WriteFileAtomically(path, [](std::ostream& out) { out << "x"; });
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
  }
}

TEST_F(FileUtilTest, ReadingMissingFileNamesIt) {
  try {
    ReadFileBytes(folder_ / "nope.bin");
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("nope.bin: no such file"), std::string::npos);
  }
}

TEST(LowerExtension, LowersAndKeepsDot) { EXPECT_EQ(LowerExtension("a/b/Mesh.PLY"), ".ply"); }

}  // namespace
}  // namespace headtrack
