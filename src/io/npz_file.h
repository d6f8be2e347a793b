// NpzFile: NumPy's .npz archives (a zip of .npy files, as np.savez / np.savez_compressed write).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/npy_array.h"

namespace headtrack {

// All arrays of one .npz file, read eagerly.
class NpzFile {
 public:
  // Reads every entry (stored or deflate). Throws InputError naming the file (and the entry) for
  // a file that is not a zip, a truncated or corrupt archive, or an entry that is not a valid
  // .npy array.
  static NpzFile Read(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Array names in archive order, without ".npy".
  std::vector<std::string> names() const;
  bool Contains(const std::string& name) const;
  // Throws InputError "<path>: missing array 'x' (arrays: a, b, c)".
  const NpyArray& Get(const std::string& name) const;

  // A typed copy of array `name` after checking its shape: expected_shape has one entry per
  // dimension, -1 matching any extent. Float outputs are checked to be finite. T is float,
  // double, or a signed/unsigned integer of 8-64 bits. Errors name the file and the array, e.g.
  // "<path>: array 'v_template' has shape (10, 2), expected (*, 3)".
  template <typename T>
  std::vector<T> GetArray(const std::string& name,
                          const std::vector<int64_t>& expected_shape) const;

 private:
  std::filesystem::path path_;
  std::vector<std::pair<std::string, NpyArray>> arrays_;
};

// Writes `arrays` (name without ".npy", array) as an .npz that np.load reads, atomically: no
// partial file is left on failure. compress = true deflates the entries (np.savez_compressed),
// false stores them (np.savez). Names must be unique and non-empty (HT_CHECK).
void WriteNpz(const std::filesystem::path& path,
              const std::vector<std::pair<std::string, NpyArray>>& arrays, bool compress = true);

}  // namespace headtrack
