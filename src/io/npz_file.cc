#include "io/npz_file.h"

#include <zip.h>

#include <fstream>
#include <memory>
#include <set>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

constexpr std::string_view kNpySuffix = ".npy";

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipPointer = std::unique_ptr<zip_t, ZipCloser>;
using ZipFilePointer = std::unique_ptr<zip_file_t, ZipFileCloser>;

std::string ZipErrorString(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

// The decompressed bytes of entry `index`; libzip checks the CRC when the entry is read to its
// end. Reads in chunks so that a corrupt size field cannot make us allocate more than the
// entry really inflates to.
std::vector<char> ReadEntry(zip_t* archive, zip_uint64_t index, const std::string& entry,
                            const std::string& source) {
  ZipFilePointer file(zip_fopen_index(archive, index, 0));
  if (!file) {
    HT_THROW_INPUT(source, "cannot open entry '" << entry << "' (" << zip_strerror(archive) << ")");
  }
  std::vector<char> bytes;
  constexpr size_t kChunk = size_t{1} << 20;
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    const zip_int64_t read = zip_fread(file.get(), bytes.data() + old_size, kChunk);
    if (read < 0) {
      HT_THROW_INPUT(source,
                     "corrupt entry '" << entry << "' (" << zip_file_strerror(file.get()) << ")");
    }
    bytes.resize(old_size + static_cast<size_t>(read));
    if (read == 0) break;
  }
  return bytes;
}

std::string EndOfCentralDirectoryOnly() {
  // An empty zip archive: "PK\5\6" and 18 zero bytes. libzip writes no file for no entries.
  return std::string("PK\x05\x06", 4) + std::string(18, '\0');
}

}  // namespace

NpzFile NpzFile::Read(const fs::path& path) {
  const std::string source = path.string();
  if (!fs::exists(path)) throw InputError(source, "no such file");
  int code = 0;
  ZipPointer archive(zip_open(source.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!archive) {
    HT_THROW_INPUT(source, "not a readable .npz (zip) archive: " << ZipErrorString(code));
  }
  NpzFile npz;
  npz.path_ = path;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* raw_name = zip_get_name(archive.get(), i, 0);
    if (raw_name == nullptr) HT_THROW_INPUT(source, "entry " << i << " has no name");
    std::string name = raw_name;
    if (!name.empty() && name.back() == '/') continue;  // a folder entry
    const std::vector<char> bytes = ReadEntry(archive.get(), i, name, source);
    NpyArray array;
    try {
      array = ParseNpy(bytes, source);
    } catch (const InputError& error) {
      throw InputError(source, "entry '" + name + "': " + error.problem());
    }
    if (name.ends_with(kNpySuffix)) name.resize(name.size() - kNpySuffix.size());
    npz.arrays_.emplace_back(std::move(name), std::move(array));
  }
  return npz;
}

std::vector<std::string> NpzFile::names() const {
  std::vector<std::string> names;
  for (const auto& [name, array] : arrays_) names.push_back(name);
  return names;
}

bool NpzFile::Contains(const std::string& name) const {
  for (const auto& entry : arrays_) {
    if (entry.first == name) return true;
  }
  return false;
}

const NpyArray& NpzFile::Get(const std::string& name) const {
  for (const auto& entry : arrays_) {
    if (entry.first == name) return entry.second;
  }
  std::string list;
  for (const auto& entry : arrays_) list += (list.empty() ? "" : ", ") + entry.first;
  HT_THROW_INPUT(path_.string(), "missing array '" << name << "' (arrays: " << list << ")");
}

template <typename T>
std::vector<T> NpzFile::GetArray(const std::string& name,
                                 const std::vector<int64_t>& expected_shape) const {
  return CheckedArrayValues<T>(Get(name), name, expected_shape, path_.string());
}

void WriteNpz(const fs::path& path, const std::vector<std::pair<std::string, NpyArray>>& arrays,
              bool compress) {
  std::set<std::string> seen;
  std::vector<std::vector<char>> buffers;  // must outlive zip_close
  for (const auto& [name, array] : arrays) {
    HT_CHECK(!name.empty() && seen.insert(name).second,
             "duplicate or empty npz name '" << name << "'");
    buffers.push_back(SerializeNpy(array));
  }
  const std::string target = path.string();
  WriteFileAtomicallyVia(path, [&](const fs::path& temporary) {
    if (arrays.empty()) {
      std::ofstream stream(temporary, std::ios::binary);
      stream << EndOfCentralDirectoryOnly();
      if (!stream.flush()) throw Error(target + ": write failed");
      return;
    }
    int code = 0;
    ZipPointer archive(zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
    if (!archive) throw Error(target + ": cannot create zip archive: " + ZipErrorString(code));
    for (size_t i = 0; i < arrays.size(); ++i) {
      zip_source_t* data =
          zip_source_buffer(archive.get(), buffers[i].data(), buffers[i].size(), 0);
      const std::string entry = arrays[i].first + std::string(kNpySuffix);
      const zip_int64_t index =
          data == nullptr ? -1 : zip_file_add(archive.get(), entry.c_str(), data, ZIP_FL_ENC_UTF_8);
      if (index < 0) {
        if (data != nullptr) zip_source_free(data);
        throw Error(target + ": cannot add '" + entry + "': " + zip_strerror(archive.get()));
      }
      if (zip_set_file_compression(archive.get(), index, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                   0) != 0) {
        throw Error(target + ": cannot set compression: " + zip_strerror(archive.get()));
      }
    }
    if (zip_close(archive.get()) != 0) {
      throw Error(target + ": cannot write zip archive: " + zip_strerror(archive.get()));
    }
    archive.release();  // zip_close freed it
  });
}

#define HEADTRACK_INSTANTIATE_GET_ARRAY(T)                                                      \
  template std::vector<T> NpzFile::GetArray<T>(const std::string&, const std::vector<int64_t>&) \
      const;
HEADTRACK_INSTANTIATE_GET_ARRAY(float)
HEADTRACK_INSTANTIATE_GET_ARRAY(double)
HEADTRACK_INSTANTIATE_GET_ARRAY(int8_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(uint8_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(int16_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(uint16_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(int32_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(uint32_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(int64_t)
HEADTRACK_INSTANTIATE_GET_ARRAY(uint64_t)
#undef HEADTRACK_INSTANTIATE_GET_ARRAY

}  // namespace headtrack
