#include "io/flame_file.h"

#include <algorithm>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>

#include "core/file_util.h"
#include "headtrack/error.h"
#include "io/npz_file.h"
#include "io/pickle_reader.h"

namespace headtrack {
namespace {
namespace fs = std::filesystem;

using RowMajorMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ArrayGetter = std::function<const NpyArray&(const std::string& key)>;

// kintree_table's parent id of the root: -1, or -1 stored as uint32.
constexpr int64_t kRootParentUint32 = 4294967295;
// Chumpy objects wrap their array, possibly in other chumpy objects: how deep we look.
constexpr int kMaxWrapperDepth = 8;
// Densifying J_regressor: J x V is small for any real model.
constexpr int64_t kMaxDenseElements = int64_t{1} << 28;

bool StartsWith(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// The arrays of a FLAME pickle: plain numpy arrays, chumpy objects (the array is under 'x' of
// their state, or the only array in it) and scipy.sparse matrices (made dense).
class PickleArrays {
 public:
  PickleArrays(PyValue root, std::string source)
      : root_(std::move(root)), source_(std::move(source)) {
    if (!root_.is(PyValue::Type::kDict)) {
      HT_THROW_INPUT(source_,
                     "expected a pickled dict of FLAME arrays, found a " << root_.Describe());
    }
  }

  const NpyArray& Get(const std::string& key) {
    const PyValue* value = root_.Find(key);
    if (value == nullptr) {
      std::string keys;
      for (const auto& [name, item] : root_.AsDict().items()) {
        if (name.is(PyValue::Type::kString) || name.is(PyValue::Type::kBytes)) {
          keys += (keys.empty() ? "" : ", ") + name.AsString();
        }
      }
      HT_THROW_INPUT(source_, "missing key '" << key << "' (keys: " << keys << ")");
    }
    const NpyArray* array = Resolve(*value, key, 0);
    if (array == nullptr) {
      HT_THROW_INPUT(source_, "key '" << key << "' holds a " << value->Describe()
                                      << ", expected a numpy array");
    }
    return *array;
  }

 private:
  // The array a value stands for, or nullptr.
  const NpyArray* Resolve(const PyValue& value, const std::string& key, int depth) {
    if (value.is(PyValue::Type::kArray)) return &value.AsArray();
    if (!value.is(PyValue::Type::kObject) || depth > kMaxWrapperDepth) return nullptr;
    const PyObject& object = value.AsObject();
    if (StartsWith(object.module, "scipy.sparse")) {
      converted_.push_back(SparseToDense(object, key));
      return &converted_.back();
    }
    if (!StartsWith(object.module, "chumpy") || !object.state.is(PyValue::Type::kDict)) {
      return nullptr;
    }
    if (const PyValue* x = object.state.Find("x")) {
      if (const NpyArray* array = Resolve(*x, key, depth + 1)) return array;
    }
    const NpyArray* found = nullptr;
    for (const auto& [name, item] : object.state.AsDict().items()) {
      if (const NpyArray* array = Resolve(item, key, depth + 1)) {
        if (found != nullptr) {
          HT_THROW_INPUT(source_, "key '" << key << "' holds a " << value.Describe()
                                          << " with several arrays and no 'x'");
        }
        found = array;
      }
    }
    return found;
  }

  // scipy.sparse csc/csr matrix (state: data, indices, indptr, _shape) -> dense "<f8" array.
  NpyArray SparseToDense(const PyObject& object, const std::string& key) {
    const auto fail = [&](const std::string& what) {
      HT_THROW_INPUT(source_, "key '" << key << "' (" << object.qualified_name() << "): " << what);
    };
    const bool csc = StartsWith(object.name, "csc_");
    if (!csc && !StartsWith(object.name, "csr_")) {
      fail("unsupported sparse format; expected a csc or csr matrix");
    }
    const PyValue& state = object.state;
    const PyValue* shape = state.Find("_shape");
    if (shape == nullptr) shape = state.Find("shape");
    const PyValue* data = state.Find("data");
    const PyValue* indices = state.Find("indices");
    const PyValue* indptr = state.Find("indptr");
    if (shape == nullptr || data == nullptr || indices == nullptr || indptr == nullptr ||
        !shape->is(PyValue::Type::kTuple) || shape->AsList().size() != 2 ||
        !shape->AsList()[0].is(PyValue::Type::kInt) ||
        !shape->AsList()[1].is(PyValue::Type::kInt) || !data->is(PyValue::Type::kArray) ||
        !indices->is(PyValue::Type::kArray) || !indptr->is(PyValue::Type::kArray)) {
      fail("expected a state with data, indices, indptr arrays and a (rows, cols) _shape");
    }
    const int64_t rows = shape->AsList()[0].AsInt(), cols = shape->AsList()[1].AsInt();
    if (rows < 0 || cols < 0 || (rows > 0 && cols > kMaxDenseElements / rows)) {
      fail("bad shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
    }
    const int64_t outer = csc ? cols : rows, inner = csc ? rows : cols;
    const std::vector<double> values =
        CheckedArrayValues<double>(data->AsArray(), key + ".data", {-1}, source_);
    const std::vector<int64_t> index =
        CheckedArrayValues<int64_t>(indices->AsArray(), key + ".indices", {-1}, source_);
    const std::vector<int64_t> pointer =
        CheckedArrayValues<int64_t>(indptr->AsArray(), key + ".indptr", {outer + 1}, source_);
    if (pointer[0] != 0 ||
        pointer.back() > static_cast<int64_t>(std::min(values.size(), index.size()))) {
      fail("indptr does not fit data and indices");
    }
    RowMajorMatrixXd dense = RowMajorMatrixXd::Zero(rows, cols);
    for (int64_t o = 0; o < outer; ++o) {
      if (pointer[o + 1] < pointer[o]) fail("indptr is not non-decreasing");
      for (int64_t p = pointer[o]; p < pointer[o + 1]; ++p) {
        if (index[p] < 0 || index[p] >= inner) {
          fail("index " + std::to_string(index[p]) + " out of range");
        }
        (csc ? dense(index[p], o) : dense(o, index[p])) += values[p];  // duplicates add up
      }
    }
    return NpyArray::FromData(dense.data(), {rows, cols});
  }

  PyValue root_;
  std::string source_;
  std::list<NpyArray> converted_;  // stable addresses
};

// A checked array of expected_shape as a row-major matrix of `rows` rows.
RowMajorMatrixXd Matrix(const NpyArray& array, const std::string& key,
                        const std::vector<int64_t>& expected_shape, int64_t rows,
                        const std::string& source) {
  const std::vector<double> values = CheckedArrayValues<double>(array, key, expected_shape, source);
  return Eigen::Map<const RowMajorMatrixXd>(values.data(), rows, values.size() / rows);
}

// kintree_table (2, J): row 0 parent ids, row 1 joint ids -> parent columns, -1 for the root.
std::vector<int> Parents(const NpyArray& table, const std::string& source) {
  const std::vector<int64_t> values =
      CheckedArrayValues<int64_t>(table, "kintree_table", {2, -1}, source);
  const int64_t num_joints = table.shape[1];
  if (num_joints < 1) HT_THROW_INPUT(source, "array 'kintree_table' has no joints");
  std::unordered_map<int64_t, int> column_of_id;
  for (int j = 0; j < num_joints; ++j) {
    if (!column_of_id.emplace(values[num_joints + j], j).second) {
      HT_THROW_INPUT(source, "array 'kintree_table' repeats joint id " << values[num_joints + j]);
    }
  }
  std::vector<int> parents(num_joints, -1);
  if (values[0] != -1 && values[0] != kRootParentUint32) {
    HT_THROW_INPUT(source, "array 'kintree_table': the root (column 0) has parent id "
                               << values[0] << ", expected -1 or 4294967295");
  }
  for (int j = 1; j < num_joints; ++j) {
    const auto found = column_of_id.find(values[j]);
    if (found == column_of_id.end() || found->second >= j) {
      HT_THROW_INPUT(source, "array 'kintree_table': joint " << j << " has parent id " << values[j]
                                                             << ", expected the id of an "
                                                                "earlier joint");
    }
    parents[j] = found->second;
  }
  return parents;
}

FlameFileContents Assemble(const ArrayGetter& get, const std::string& source) {
  FlameFileContents flame;
  const NpyArray& v_template = get("v_template");
  const int64_t v = v_template.shape.size() == 2 ? v_template.shape[0] : -1;
  if (v < 1) {
    HT_THROW_INPUT(source, "array 'v_template' has shape " << ShapeString(v_template.shape)
                                                           << ", expected (V, 3) with V > 0");
  }
  flame.v_template = Matrix(v_template, "v_template", {v, 3}, v, source);

  const std::vector<int32_t> faces = CheckedArrayValues<int32_t>(get("f"), "f", {-1, 3}, source);
  for (size_t i = 0; i < faces.size(); ++i) {
    if (faces[i] < 0 || faces[i] >= v) {
      HT_THROW_INPUT(source, "array 'f': triangle " << i / 3 << " has vertex index " << faces[i]
                                                    << ", expected 0.." << v - 1);
    }
  }
  flame.faces = Eigen::Map<const Triangles>(faces.data(), faces.size() / 3, 3);

  flame.parents = Parents(get("kintree_table"), source);
  const int64_t j = static_cast<int64_t>(flame.parents.size());
  flame.joint_regressor = Matrix(get("J_regressor"), "J_regressor", {j, v}, j, source);
  flame.weights = Matrix(get("weights"), "weights", {v, j}, v, source);
  flame.shapedirs = Matrix(get("shapedirs"), "shapedirs", {v, 3, -1}, 3 * v, source);
  flame.posedirs = Matrix(get("posedirs"), "posedirs", {v, 3, 9 * (j - 1)}, 3 * v, source);
  return flame;
}

}  // namespace

FlameFileContents ReadFlameFile(const fs::path& path) {
  const std::string source = path.string();
  const std::string extension = LowerExtension(path);
  if (extension == ".npz") {
    const NpzFile npz = NpzFile::Read(path);
    return Assemble([&](const std::string& key) -> const NpyArray& { return npz.Get(key); },
                    source);
  }
  if (extension == ".pkl") {
    if (!fs::exists(path)) throw InputError(source, "no such file");
    PickleArrays arrays(ReadPickleFile(path), source);
    return Assemble([&](const std::string& key) -> const NpyArray& { return arrays.Get(key); },
                    source);
  }
  throw InputError(source, "unknown FLAME file type '" + extension + "': expected .pkl or .npz");
}

}  // namespace headtrack
