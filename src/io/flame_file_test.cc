#include "io/flame_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "headtrack/error.h"
#include "io/npz_file.h"
#include "io/testing/python_pickle_writer.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;
using test_support::FlameNpzArrays;
using test_support::FlamePickle;
using test_support::PythonPickleWriter;

constexpr int kVertices = 7;
constexpr int kJoints = 3;
constexpr int kComponents = 4;

// A small FLAME-like model with random values (a sparse joint regressor, chain of joints).
FlameFileContents SmallFlame() {
  std::mt19937 random(11);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const auto fill = [&](Eigen::Index rows, Eigen::Index cols) {
    return Eigen::MatrixXd::NullaryExpr(rows, cols, [&] { return uniform(random); }).eval();
  };
  FlameFileContents flame;
  flame.v_template = fill(kVertices, 3) * 0.1;
  flame.faces.resize(5, 3);
  flame.faces << 0, 1, 2, 2, 1, 3, 3, 4, 5, 5, 6, 0, 6, 4, 2;
  flame.shapedirs = fill(3 * kVertices, kComponents);
  flame.posedirs = fill(3 * kVertices, 9 * (kJoints - 1));
  flame.joint_regressor = Eigen::MatrixXd::Zero(kJoints, kVertices);
  flame.joint_regressor(0, 0) = 0.25;
  flame.joint_regressor(0, 3) = 0.75;
  flame.joint_regressor(1, 5) = 1.0;
  flame.joint_regressor(2, 1) = 0.5;
  flame.joint_regressor(2, 6) = 0.5;
  flame.parents = {-1, 0, 1};
  flame.weights = fill(kVertices, kJoints).cwiseAbs();
  return flame;
}

void ExpectSame(const FlameFileContents& actual, const FlameFileContents& expected) {
  EXPECT_EQ(actual.v_template, expected.v_template);
  EXPECT_EQ(actual.faces, expected.faces);
  EXPECT_EQ(actual.shapedirs, expected.shapedirs);
  EXPECT_EQ(actual.posedirs, expected.posedirs);
  EXPECT_EQ(actual.joint_regressor, expected.joint_regressor);
  EXPECT_EQ(actual.parents, expected.parents);
  EXPECT_EQ(actual.weights, expected.weights);
}

class FlameFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("headtrack_flame_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  fs::path Write(const std::string& name, const std::string& bytes) {
    const fs::path path = folder_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The arrays of SmallFlame() with one of them replaced (or removed when `array` is empty).
  fs::path NpzWith(const std::string& key, const std::optional<NpyArray>& array) {
    auto arrays = FlameNpzArrays(SmallFlame());
    std::erase_if(arrays, [&](const auto& entry) { return entry.first == key; });
    if (array) arrays.emplace_back(key, *array);
    const fs::path path = folder_ / ("model_" + key + ".npz");
    WriteNpz(path, arrays);
    return path;
  }

  fs::path folder_;
};

using test_support::ExpectInputError;

TEST_F(FlameFileTest, Protocol2PickleWithChumpyAndSparseRoundTrips) {
  const FlameFileContents flame = SmallFlame();
  const std::string bytes = FlamePickle(flame, 2);
  // The generic_model.pkl layout: Python 2 globals and objects made by copy_reg._reconstructor.
  EXPECT_NE(bytes.find("ccopy_reg\n_reconstructor\n"), std::string::npos);
  EXPECT_NE(bytes.find("cchumpy.ch\nCh\n"), std::string::npos);
  EXPECT_NE(bytes.find("cscipy.sparse.csc\ncsc_matrix\n"), std::string::npos);
  ExpectSame(ReadFlameFile(Write("generic_model.pkl", bytes)), flame);
}

TEST_F(FlameFileTest, Protocol4PickleRoundTrips) {
  const FlameFileContents flame = SmallFlame();
  const std::string bytes = FlamePickle(flame, 4);
  EXPECT_EQ(bytes.substr(0, 3), "\x80\x04\x95");  // PROTO 4, FRAME
  ExpectSame(ReadFlameFile(Write("flame2023.PKL", bytes)), flame);
}

TEST_F(FlameFileTest, NpzRoundTrips) {
  const FlameFileContents flame = SmallFlame();
  const fs::path path = folder_ / "flame.npz";
  WriteNpz(path, FlameNpzArrays(flame));
  ExpectSame(ReadFlameFile(path), flame);
}

// Hand-worked memory order: numpy's (V, 3, K) element [v][c][k] sits at ((v * 3) + c) * K + k
// and must land in row 3v + c, column k.
TEST_F(FlameFileTest, BasesKeepNumpysVertexCoordinateComponentOrder) {
  std::vector<double> raw(kVertices * 3 * kComponents);
  for (int v = 0; v < kVertices; ++v) {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < kComponents; ++k)
        raw[((v * 3) + c) * kComponents + k] = 1000 * v + 100 * c + k;
    }
  }
  const FlameFileContents flame = ReadFlameFile(
      NpzWith("shapedirs", NpyArray::FromData(raw.data(), {kVertices, 3, kComponents})));
  ASSERT_EQ(flame.shapedirs.rows(), 3 * kVertices);
  ASSERT_EQ(flame.shapedirs.cols(), kComponents);
  for (int v = 0; v < kVertices; ++v) {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < kComponents; ++k) {
        EXPECT_EQ(flame.shapedirs(3 * v + c, k), 1000 * v + 100 * c + k);
      }
    }
  }
}

TEST_F(FlameFileTest, KinematicTreeAcceptsRootMarkersAndJointIds) {
  // int32 with -1 for the root, and joint ids that are not column numbers.
  const std::vector<int32_t> table = {-1, 10, 20, 10, 20, 30};
  const FlameFileContents flame =
      ReadFlameFile(NpzWith("kintree_table", NpyArray::FromData(table.data(), {2, 3})));
  EXPECT_EQ(flame.parents, (std::vector<int>{-1, 0, 1}));
  // uint32 with 4294967295 for the root; a tree rather than a chain.
  const std::vector<uint32_t> unsigned_table = {4294967295u, 0, 0, 0, 1, 2};
  EXPECT_EQ(
      ReadFlameFile(NpzWith("kintree_table", NpyArray::FromData(unsigned_table.data(), {2, 3})))
          .parents,
      (std::vector<int>{-1, 0, 0}));
}

TEST_F(FlameFileTest, PickleArraysAreFoundInsideOtherWrappersAndDenseRegressors) {
  const FlameFileContents flame = SmallFlame();
  const auto arrays = FlameNpzArrays(flame);
  PythonPickleWriter writer(2);
  writer.Dict([&] {
    for (const auto& [key, array] : arrays) {
      writer.Str(key);
      if (key == "posedirs") {
        // A chumpy object without 'x' whose only array sits in a nested Ch.
        writer.Instance("chumpy.reordering", "Reshape", [&] {
          writer.Dict([&] {
            writer.Str("a");
            writer.ChumpyArray(array);
            writer.Str("newshape");
            writer.Tuple(1, [&] { writer.Int(-1); });
          });
        });
      } else {
        writer.NdArray(array, /*fortran=*/key == "weights");  // J_regressor stays dense
      }
    }
  });
  ExpectSame(ReadFlameFile(Write("model.pkl", writer.Finish())), flame);
}

TEST_F(FlameFileTest, BadContentIsAnErrorNamingFileAndKey) {
  const FlameFileContents flame = SmallFlame();
  fs::path path = NpzWith("weights", std::nullopt);
  ExpectInputError([&] { ReadFlameFile(path); }, path, "missing array 'weights'");

  const std::vector<double> posedirs(kVertices * 3 * 36, 0.0);
  path = NpzWith("posedirs", NpyArray::FromData(posedirs.data(), {kVertices, 3, 36}));
  ExpectInputError([&] { ReadFlameFile(path); }, path,
                   "array 'posedirs' has shape (7, 3, 36), expected (7, 3, 18)");

  std::vector<double> weights(kVertices * kJoints, 0.5);
  weights[4] = std::nan("");
  path = NpzWith("weights", NpyArray::FromData(weights.data(), {kVertices, kJoints}));
  ExpectInputError([&] { ReadFlameFile(path); }, path, "array 'weights' has a non-finite value");

  const std::vector<int32_t> faces = {0, 1, 7};
  path = NpzWith("f", NpyArray::FromData(faces.data(), {1, 3}));
  ExpectInputError([&] { ReadFlameFile(path); }, path,
                   "array 'f': triangle 0 has vertex index 7, expected 0..6");

  const std::vector<int64_t> cycle = {-1, 2, 1, 0, 1, 2};  // joint 1's parent is joint 2
  path = NpzWith("kintree_table", NpyArray::FromData(cycle.data(), {2, 3}));
  ExpectInputError(
      [&] { ReadFlameFile(path); }, path,
      "array 'kintree_table': joint 1 has parent id 2, expected the id of an earlier joint");

  const std::vector<int64_t> no_root = {0, 0, 1, 0, 1, 2};
  path = NpzWith("kintree_table", NpyArray::FromData(no_root.data(), {2, 3}));
  ExpectInputError([&] { ReadFlameFile(path); }, path, "the root (column 0) has parent id 0");

  const std::vector<double> regressor(4 * kVertices, 0.0);
  path = NpzWith("J_regressor", NpyArray::FromData(regressor.data(), {4, kVertices}));
  ExpectInputError([&] { ReadFlameFile(path); }, path,
                   "array 'J_regressor' has shape (4, 7), expected (3, 7)");

  PythonPickleWriter writer(2);
  writer.Dict([&] {
    for (const auto& [key, array] : FlameNpzArrays(flame)) {
      writer.Str(key);
      if (key == "shapedirs") {
        writer.Str("not an array");
      } else {
        writer.NdArray(array);
      }
    }
  });
  path = Write("strings.pkl", writer.Finish());
  ExpectInputError([&] { ReadFlameFile(path); }, path,
                   "key 'shapedirs' holds a bytes, expected a numpy array");

  PythonPickleWriter list_writer(2);
  list_writer.List([&] { list_writer.Int(1); });
  path = Write("list.pkl", list_writer.Finish());
  ExpectInputError([&] { ReadFlameFile(path); }, path,
                   "expected a pickled dict of FLAME arrays, found a list");

  path = folder_ / "model.obj";
  ExpectInputError([&] { ReadFlameFile(path); }, path, "unknown FLAME file type '.obj'");
  path = folder_ / "absent.pkl";
  ExpectInputError([&] { ReadFlameFile(path); }, path, "no such file");
}

TEST_F(FlameFileTest, TruncatedOrCorruptedPicklesAreInputErrors) {
  const std::string bytes = FlamePickle(SmallFlame(), 2);
  for (const size_t size :
       {size_t{0}, size_t{1}, size_t{2}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    const fs::path path = Write("truncated.pkl", bytes.substr(0, size));
    ExpectInputError([&] { ReadFlameFile(path); }, path, "pickle byte");
  }
  std::mt19937 random(3);
  std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
  for (int trial = 0; trial < 300; ++trial) {
    std::string corrupt = bytes;
    corrupt[position(random)] ^= static_cast<char>(1 + trial % 255);
    const fs::path path = Write("corrupt.pkl", corrupt);
    try {
      ReadFlameFile(path);  // a flip inside float data still gives a valid model
    } catch (const InputError& error) {
      EXPECT_EQ(error.source(), path.string());
    } catch (const std::exception& error) {
      FAIL() << "trial " << trial << ": " << error.what();
    }
  }
}

}  // namespace
}  // namespace headtrack
