// Helpers for the reader and writer tests: a scratch folder per test, and a check that an error
// names its file and says what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "headtrack/error.h"
#include "headtrack/triangle_mesh.h"

namespace headtrack::test_support {

namespace fs = std::filesystem;

// A fresh, empty folder for each test, removed afterwards.
class ScratchFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    folder_ = fs::temp_directory_path() /
              (std::string("headtrack_") + info->test_suite_name() + "_" + info->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  fs::path Path(const std::string& name) const { return folder_ / name; }

  // Writes `bytes` (text or binary) to a file in the folder and returns its path.
  fs::path WriteFile(const std::string& name, std::string_view bytes) const {
    const fs::path path = Path(name);
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  int FileCount() const {
    return static_cast<int>(
        std::distance(fs::directory_iterator(folder_), fs::directory_iterator()));
  }

  fs::path folder_;
};

// Expects `run` to throw an Error whose message contains the path and each fragment; an
// InputError unless `input_error` is false (missing files and unwritable folders are plain Errors).
inline void ExpectError(const std::function<void()>& run, const fs::path& path,
                        std::initializer_list<std::string_view> fragments,
                        bool input_error = true) {
  try {
    run();
  } catch (const Error& error) {
    const std::string message = error.what();
    if (input_error) {
      EXPECT_NE(dynamic_cast<const InputError*>(&error), nullptr)
          << "not an InputError: " << message;
    }
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    for (const std::string_view fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << message;
    }
    return;
  }
  ADD_FAILURE() << "expected an error for " << path;
}

// Expects `run` to throw an InputError whose source is exactly `path` and whose message contains
// `fragment`.
inline void ExpectInputError(const std::function<void()>& run, const fs::path& path,
                             const std::string& fragment) {
  try {
    run();
    ADD_FAILURE() << "expected an InputError mentioning '" << fragment << "'";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), path.string()) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

// A tetrahedron with values that are not exact in decimal, normals and colors: round trips of
// mesh writers must keep every bit of it.
inline TriangleMesh Tetrahedron() {
  TriangleMesh mesh;
  mesh.vertices.resize(4, 3);
  mesh.vertices << 0.1f, -0.2f, 0.3f, 1.0f / 3.0f, 0.0f, 1e-7f, 0.0f, 12345.678f, 0.0f, -1.5f, 2.5f,
      3.25f;
  mesh.faces.resize(4, 3);
  mesh.faces << 0, 2, 1, 0, 1, 3, 1, 2, 3, 2, 0, 3;
  mesh.normals = mesh.ComputeVertexNormals();
  mesh.colors.resize(4, 3);
  mesh.colors << 0, 1, 2, 255, 128, 7, 10, 20, 30, 200, 100, 50;
  return mesh;
}

// Equal shapes and equal entries (Eigen's == requires equal shapes).
template <typename Matrix>
bool SameMatrix(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && a == b;
}

}  // namespace headtrack::test_support
