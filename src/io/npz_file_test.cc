#include "io/npz_file.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/testing/scratch_folder.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

const fs::path kDefaultModel = fs::path(HEADTRACK_DATA_DIR) / "models" / "ict_facekit_light.npz";

class NpzFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("headtrack_npz_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  size_t FilesInFolder() const {
    return std::distance(fs::directory_iterator(folder_), fs::directory_iterator());
  }

  // A zip with the given raw entries, written by libzip directly (to hold broken .npy data).
  fs::path ZipWithEntries(const std::string& file,
                          const std::vector<std::pair<std::string, std::string>>& entries) {
    const fs::path path = folder_ / file;
    int code = 0;
    zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
    EXPECT_NE(archive, nullptr);
    for (const auto& [name, bytes] : entries) {
      zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
      EXPECT_GE(zip_file_add(archive, name.c_str(), source, 0), 0);
    }
    EXPECT_EQ(zip_close(archive), 0);
    return path;
  }

  fs::path folder_;
};

using test_support::ExpectInputError;

std::string NpyText(const NpyArray& array) {
  const std::vector<char> bytes = SerializeNpy(array);
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::pair<std::string, NpyArray>> SampleArrays() {
  std::vector<float> vertices(300);
  for (size_t i = 0; i < vertices.size(); ++i) vertices[i] = 0.001f * static_cast<float>(i % 17);
  const std::vector<int32_t> faces = {0, 1, 2, 2, 1, 3};
  const std::vector<int8_t> regions = {0, -1, 5, 7};
  const std::vector<uint32_t> parents = {4294967295u, 0, 1};
  return {{"v_template", NpyArray::FromData(vertices.data(), {100, 3})},
          {"faces", NpyArray::FromData(faces.data(), {2, 3})},
          {"vertex_region", NpyArray::FromData(regions.data(), {4})},
          {"parents", NpyArray::FromData(parents.data(), {3})},
          {"expr_names", NpyArray::FromStrings({"jawOpen", "eyeBlink_L"})}};
}

// Reference values read with Python's zipfile and struct modules from the shared file.
TEST_F(NpzFileTest, ReadsTheDefaultModel) {
  const NpzFile npz = NpzFile::Read(kDefaultModel);
  EXPECT_EQ(npz.names(), (std::vector<std::string>{
                             "v_template", "faces", "uv", "faces_uv", "shapedirs", "exprdirs",
                             "expr_names", "region_names", "vertex_region", "face_region",
                             "landmarks_ibug68", "fitting_vertices", "rigid_vertices"}));
  EXPECT_EQ(npz.Get("v_template").dtype, "<f4");
  EXPECT_EQ(npz.Get("faces").shape, (std::vector<int64_t>{48836, 3}));
  EXPECT_EQ(npz.Get("exprdirs").shape, (std::vector<int64_t>{24591, 3, 53}));
  EXPECT_EQ(npz.Get("expr_names").dtype, "<U24");

  const std::vector<float> v = npz.GetArray<float>("v_template", {-1, 3});
  ASSERT_EQ(v.size(), 24591u * 3);
  EXPECT_FLOAT_EQ(v[1], -0.024825099855661392f);
  EXPECT_FLOAT_EQ(v[2], 0.11838699877262115f);
  EXPECT_FLOAT_EQ(v[v.size() - 3], -0.031293001025915146f);
  const std::vector<int> faces = npz.GetArray<int>("faces", {-1, 3});
  EXPECT_EQ(faces[0], 873);
  EXPECT_EQ(faces[1], 11);
  EXPECT_EQ(faces[2], 870);
  const std::vector<float> shapedirs = npz.GetArray<float>("shapedirs", {24591, 3, 100});
  EXPECT_FLOAT_EQ(shapedirs[((1 * 3) + 2) * 100 + 5], 3.9999998989515007e-05f);
  const std::vector<std::string> names = npz.Get("expr_names").ToStrings(npz.path().string());
  ASSERT_EQ(names.size(), 53u);
  EXPECT_EQ(names.front(), "browDown_L");
  const std::vector<int8_t> regions = npz.GetArray<int8_t>("vertex_region", {24591});
  EXPECT_EQ(regions[9409], 1);
  EXPECT_EQ(regions.back(), 8);
}

TEST_F(NpzFileTest, WriteReadRoundTripCompressedAndStored) {
  const auto arrays = SampleArrays();
  for (const bool compress : {true, false}) {
    const fs::path path = folder_ / (compress ? "deflate.npz" : "stored.npz");
    WriteNpz(path, arrays, compress);
    const NpzFile npz = NpzFile::Read(path);
    EXPECT_EQ(npz.path(), path);
    ASSERT_EQ(npz.names().size(), arrays.size());
    for (const auto& [name, array] : arrays) {
      ASSERT_TRUE(npz.Contains(name)) << name;
      EXPECT_EQ(npz.Get(name).dtype, array.dtype);
      EXPECT_EQ(npz.Get(name).shape, array.shape);
      EXPECT_EQ(npz.Get(name).data, array.data);
    }
    // The compression method of the first local file header: 8 = deflate, 0 = stored.
    const std::vector<char> bytes = ReadFileBytes(path);
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "PK\x03\x04");
    EXPECT_EQ(bytes[8], compress ? 8 : 0);
  }
  EXPECT_LT(fs::file_size(folder_ / "deflate.npz"), fs::file_size(folder_ / "stored.npz"));
  EXPECT_EQ(FilesInFolder(), 2u);  // no temporary files left
}

// A stored archive holds the .npy bytes verbatim: check them without our reader.
TEST_F(NpzFileTest, StoredEntriesHoldNumpyAlignedNpyFiles) {
  const auto arrays = SampleArrays();
  const fs::path path = folder_ / "stored.npz";
  WriteNpz(path, arrays, false);
  const std::vector<char> bytes = ReadFileBytes(path);
  const std::string text(bytes.begin(), bytes.end());
  for (const auto& [name, array] : arrays) {
    const size_t entry = text.find(name + ".npy");
    ASSERT_NE(entry, std::string::npos) << name;
    const size_t npy = text.find("\x93NUMPY", entry);
    ASSERT_NE(npy, std::string::npos);
    EXPECT_EQ(text.substr(npy, text.find('\n', npy) + 1 - npy).size() % 64, 0u) << name;
    EXPECT_EQ(text.substr(npy, SerializeNpy(array).size()), NpyText(array)) << name;
  }
}

TEST_F(NpzFileTest, EmptyArchiveRoundTrips) {
  const fs::path path = folder_ / "empty.npz";
  WriteNpz(path, {});
  EXPECT_EQ(fs::file_size(path), 22u);
  EXPECT_TRUE(NpzFile::Read(path).names().empty());
}

TEST_F(NpzFileTest, GetArrayChecksShapeTypeAndFiniteness) {
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  const std::vector<double> with_nan = {1, std::nan(""), 3};
  const std::vector<double> with_inf = {1, INFINITY};
  const fs::path path = folder_ / "checks.npz";
  WriteNpz(path, {{"v_template", NpyArray::FromData(values.data(), {3, 2})},
                  {"weights", NpyArray::FromData(with_nan.data(), {3})},
                  {"scale", NpyArray::FromData(with_inf.data(), {2})},
                  {"names", NpyArray::FromStrings({"a"})}});
  const NpzFile npz = NpzFile::Read(path);
  EXPECT_EQ(npz.GetArray<float>("v_template", {-1, 2}), values);
  EXPECT_EQ(npz.GetArray<int32_t>("v_template", {3, 2}), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  ExpectInputError(
      [&] {
        npz.GetArray<float>("v_template", {-1, 3});
      },
      path, "array 'v_template' has shape (3, 2), expected (*, 3)");
  ExpectInputError([&] { npz.GetArray<float>("v_template", {6}); }, path,
                   "array 'v_template' has shape (3, 2), expected (6,)");
  ExpectInputError([&] { npz.GetArray<float>("names", {1}); }, path, "array 'names': ");
  ExpectInputError([&] { npz.GetArray<double>("weights", {3}); }, path,
                   "array 'weights' has a non-finite value (nan) at flat index 1");
  ExpectInputError([&] { npz.GetArray<float>("scale", {2}); }, path,
                   "array 'scale' has a non-finite value (inf)");
  ExpectInputError([&] { npz.Get("exprdirs"); }, path,
                   "missing array 'exprdirs' (arrays: v_template, weights, scale, names)");
}

TEST_F(NpzFileTest, BigEndianArrayIsAnErrorNamingFileAndArray) {
  NpyArray big;
  big.dtype = ">f8";
  big.shape = {1};
  big.data = {0x3f, static_cast<char>(0xf0), 0, 0, 0, 0, 0, 0};  // 1.0 big-endian
  const fs::path path = folder_ / "big.npz";
  WriteNpz(path, {{"v", big}});
  ExpectInputError([&] { NpzFile::Read(path).GetArray<double>("v", {1}); }, path,
                   "array 'v': array of dtype '>f8' is big-endian");
}

TEST_F(NpzFileTest, BrokenArchivesThrowInputErrorNamingTheFile) {
  const fs::path good = folder_ / "good.npz";
  WriteNpz(good, SampleArrays());
  const std::vector<char> bytes = ReadFileBytes(good);
  const auto write = [&](const std::string& name, const std::string& content) {
    const fs::path path = folder_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };

  const fs::path truncated =
      write("truncated.npz", std::string(bytes.begin(), bytes.begin() + bytes.size() / 2));
  ExpectInputError([&] { NpzFile::Read(truncated); }, truncated, "not a readable .npz");

  const fs::path text = write("text.npz", "just some text, not a zip archive");
  ExpectInputError([&] { NpzFile::Read(text); }, text, "not a readable .npz");

  // Flip bytes inside the compressed data of the first entry (v_template.npy, after its 30-byte
  // local header and 14-byte name).
  std::string corrupt(bytes.begin(), bytes.end());
  for (size_t i = 60; i < 90; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
  const fs::path flipped = write("flipped.npz", corrupt);
  ExpectInputError([&] { NpzFile::Read(flipped); }, flipped, "v_template");

  const fs::path missing = folder_ / "missing.npz";
  ExpectInputError([&] { NpzFile::Read(missing); }, missing, "no such file");
}

TEST_F(NpzFileTest, BrokenEntriesThrowInputErrorNamingFileAndEntry) {
  const fs::path garbage = ZipWithEntries("garbage.npz", {{"a.npy", "not an npy file at all"}});
  ExpectInputError([&] { NpzFile::Read(garbage); }, garbage, "entry 'a.npy': not a .npy array");

  std::string header = NpyText(NpyArray::FromStrings({"x"}));
  header.replace(header.find("'<U1'"), 5, "'<Q1'");
  const fs::path bad_dtype = ZipWithEntries("dtype.npz", {{"b.npy", header}});
  ExpectInputError([&] { NpzFile::Read(bad_dtype); }, bad_dtype,
                   "entry 'b.npy': unsupported dtype");

  const std::vector<float> values(100, 1.0f);
  const std::string full = NpyText(NpyArray::FromData(values.data(), {100}));
  const fs::path short_data =
      ZipWithEntries("short.npz", {{"c.npy", full.substr(0, full.size() - 8)}});
  ExpectInputError([&] { NpzFile::Read(short_data); }, short_data,
                   "entry 'c.npy': array of shape (100,) and dtype '<f4' needs 400 data bytes, "
                   "found 392");
}

TEST_F(NpzFileTest, FailedWriteLeavesNoPartialFile) {
  const fs::path path = folder_ / "model.npz";
  WriteNpz(path, SampleArrays());
  const auto before = ReadFileBytes(path);
  NpyArray inconsistent;
  inconsistent.dtype = "<f4";
  inconsistent.shape = {10};
  inconsistent.data.resize(12);
  EXPECT_THROW(WriteNpz(path, {{"a", inconsistent}}), CheckError);
  EXPECT_THROW(WriteNpz(path, {{"a", SampleArrays()[0].second}, {"a", SampleArrays()[1].second}}),
               CheckError);
  EXPECT_EQ(ReadFileBytes(path), before);
  EXPECT_EQ(FilesInFolder(), 1u);
  EXPECT_THROW(WriteNpz(folder_ / "no_such_folder" / "x.npz", SampleArrays()), Error);
  EXPECT_EQ(FilesInFolder(), 1u);
}

}  // namespace
}  // namespace headtrack
