// Test support (header-only): PythonPickleWriter emits pickles with the opcode structure of the
// files the readers meet - FLAME 2020's generic_model.pkl (Python 2 cPickle, protocol 2:
// GLOBAL, BINSTRING/SHORT_BINSTRING, BINPUT/BINGET, numpy arrays via
// numpy.core.multiarray._reconstruct + BUILD, chumpy and scipy.sparse objects via
// copy_reg._reconstructor with dict states) and Python 3 protocol 4 (FRAME, SHORT_BINUNICODE,
// STACK_GLOBAL, MEMOIZE, BINBYTES, NEWOBJ, EMPTY_SET). FlamePickle / FlameNpzArrays build whole
// FLAME-like models from FlameFileContents.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "headtrack/error.h"
#include "io/flame_file.h"
#include "io/npy_array.h"

namespace headtrack::test_support {

class PythonPickleWriter {
 public:
  // How class instances are created: copy_reg._reconstructor(cls, object, None) + REDUCE (the
  // protocol 0/1 path of Python 2), or cls + () + NEWOBJ (Python's path for protocol >= 2).
  // Model pickles hold both.
  enum class ObjectStyle { kReconstructor, kNewObj };

  // protocol 2 (Python 2 style) or 4 (Python 3 style).
  explicit PythonPickleWriter(int protocol)
      : protocol_(protocol),
        object_style_(protocol < 4 ? ObjectStyle::kReconstructor : ObjectStyle::kNewObj) {
    HT_CHECK(protocol == 2 || protocol == 4, protocol);
    out_ = {'\x80', static_cast<char>(protocol)};
  }
  void set_object_style(ObjectStyle style) { object_style_ = style; }

  // The finished pickle (appends STOP; call once).
  std::string Finish() {
    Op('.');
    CommitFrame();
    return out_;
  }

  // ---- scalars and strings ----
  void None() { Op('N'); }
  void Bool(bool value) { Op(value ? '\x88' : '\x89'); }
  void Int(int64_t value) {
    if (value >= 0 && value < 256) {
      Op('K', Le(value, 1));
    } else if (value >= 0 && value < 65536) {
      Op('M', Le(value, 2));
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      Op('J', Le(value, 4));
    } else {  // LONG1 with the minimal two's complement length
      int n = 1;
      while (n < 8 &&
             !(value >= -(int64_t{1} << (8 * n - 1)) && value < (int64_t{1} << (8 * n - 1)))) {
        ++n;
      }
      Op('\x8a', std::string(1, static_cast<char>(n)) + Le(value, n));
    }
  }
  void Float(double value) {
    const uint64_t bits = std::bit_cast<uint64_t>(value);
    std::string big_endian;
    for (int k = 7; k >= 0; --k) big_endian.push_back(static_cast<char>((bits >> (8 * k)) & 0xFF));
    Op('G', big_endian);
  }
  // A Python str: Python 2 str in protocol 2 (raw bytes), Python 3 str in protocol 4. Memoized
  // by value, so repeated strings become BINGETs as interned strings do in real files.
  void Str(std::string_view text) {
    if (GetIfMemoized("s:" + std::string(text))) return;
    if (protocol_ < 4) {
      RawString(text);
    } else {
      UnicodeOp(text);
    }
    Put("s:" + std::string(text));
  }
  // A unicode string (Python 2 unicode / Python 3 str): BINUNICODE or SHORT_BINUNICODE.
  void Unicode(std::string_view utf8) {
    UnicodeOp(utf8);
    Put("");
  }
  // Raw bytes: a Python 2 str (BINSTRING/SHORT_BINSTRING) in protocol 2, bytes
  // (BINBYTES/SHORT_BINBYTES, large ones outside any frame) in protocol 4.
  void Bytes(std::string_view raw) {
    if (protocol_ < 4) {
      RawString(raw);
    } else if (raw.size() < 256) {
      Op('C', std::string(1, static_cast<char>(raw.size())) + std::string(raw));
    } else if (raw.size() >= kFrameSize) {
      CommitFrame();  // pickle's framer writes large payloads between frames
      out_ += 'B' + Le(raw.size(), 4);
      out_ += raw;
    } else {
      Op('B', Le(raw.size(), 4) + std::string(raw));
    }
    Put("");
  }

  // ---- containers ----
  // A class or function: GLOBAL (protocol 2) or STACK_GLOBAL (protocol 4); a repeated global is
  // a BINGET of the memo.
  void Global(const std::string& module, const std::string& name) {
    if (GetIfMemoized("g:" + module + "\n" + name)) return;
    if (protocol_ < 4) {
      Op('c', module + "\n" + name + "\n");
    } else {
      Unicode(module);
      Unicode(name);
      Op('\x93');
    }
    Put("g:" + module + "\n" + name);
  }
  // `count` elements written by `elements`: EMPTY_TUPLE, TUPLE1-3 or MARK ... TUPLE.
  void Tuple(int count, const std::function<void()>& elements) {
    if (count == 0) {
      Op(')');
      return;
    }
    if (count > 3) Op('(');
    elements();
    Op(count > 3 ? 't' : static_cast<char>(0x84 + count));
    Put("");
  }
  // EMPTY_DICT, memo, then MARK key value ... SETITEMS (write keys and values in `items`).
  void Dict(const std::function<void()>& items) {
    Op('}');
    Put("");
    Op('(');
    items();
    Op('u');
  }
  // EMPTY_LIST, memo, MARK items APPENDS.
  void List(const std::function<void()>& items) {
    Op(']');
    Put("");
    Op('(');
    items();
    Op('e');
  }
  // An empty set: set([]) via REDUCE in protocol 2, EMPTY_SET in protocol 4.
  void EmptySet() {
    if (protocol_ < 4) {
      Global("__builtin__", "set");
      Op(']');
      Put("");
      Op('\x85');
      Put("");
      Op('R');
    } else {
      Op('\x8f');
    }
    Put("");
  }

  // ---- objects ----
  // An instance of module.name with BUILD(state written by `state`).
  void Instance(const std::string& module, const std::string& name,
                const std::function<void()>& state) {
    if (object_style_ == ObjectStyle::kReconstructor) {
      Global(protocol_ < 4 ? "copy_reg" : "copyreg", "_reconstructor");
      Tuple(3, [&] {
        Global(module, name);
        Global(protocol_ < 4 ? "__builtin__" : "builtins", "object");
        None();
      });
      Op('R');
    } else {
      Global(module, name);
      Op(')');
      Op('\x81');
    }
    Put("");
    state();
    Op('b');
  }

  // A numpy.dtype object for a descr such as "<f8", "|u1" or "<U24" (memoized per descr, as
  // numpy's builtin dtypes are singletons).
  void Dtype(const std::string& descr) {
    if (GetIfMemoized("d:" + descr)) return;
    Global("numpy", "dtype");
    Tuple(3, [&] {
      Str(descr.substr(1));
      if (protocol_ < 4) {  // old numpy: ('f8', 0, 1); new numpy: ('f8', False, True)
        Int(0);
        Int(1);
      } else {
        Bool(false);
        Bool(true);
      }
    });
    Op('R');
    Put("d:" + descr);
    const bool text = descr[1] == 'U' || descr[1] == 'S';
    const int64_t item_size = NpyItemSize(descr, "Dtype");
    Tuple(8, [&] {
      Int(3);
      Str(descr.substr(0, 1));
      None();
      None();
      None();
      Int(text ? item_size : -1);
      Int(text ? (descr[1] == 'U' ? 4 : 1) : -1);
      Int(text ? 8 : 0);
    });
    Op('b');
  }

  // A numpy array as ndarray.__reduce__ writes it: _reconstruct(ndarray, (0,), b'b') and
  // BUILD((1, shape, dtype, is_fortran, raw bytes)). fortran = true writes the data in
  // Fortran order (as numpy does for Fortran-contiguous arrays).
  void NdArray(const NpyArray& array, bool fortran = false) {
    Global("numpy.core.multiarray", "_reconstruct");
    Tuple(3, [&] {
      Global("numpy", "ndarray");
      Tuple(1, [&] { Int(0); });
      Bytes("b");
    });
    Op('R');
    Put("");
    Tuple(5, [&] {
      Int(1);
      Tuple(static_cast<int>(array.shape.size()), [&] {
        for (const int64_t extent : array.shape) Int(extent);
      });
      Dtype(array.dtype);
      Bool(fortran);
      Bytes(fortran ? ToFortranOrder(array) : std::string(array.data.begin(), array.data.end()));
    });
    Op('b');
  }

  // A chumpy.ch.Ch wrapping `array`, with the state dict Ch.__getstate__ returns.
  void ChumpyArray(const NpyArray& array) {
    Instance("chumpy.ch", "Ch", [&] {
      Dict([&] {
        Str("_dirty_vars");
        EmptySet();
        Str("_itr");
        None();
        Str("_depends_on_deps");
        Dict([] {});
        Str("_make_dense");
        Bool(false);
        Str("_make_sparse");
        Bool(false);
        Str("x");
        NdArray(array);
      });
    });
  }

  // A scipy.sparse csc_matrix holding the non-zero entries of `dense` (int32 indices, f8 data).
  void CscMatrix(const Eigen::MatrixXd& dense, const std::string& module = "scipy.sparse.csc") {
    std::vector<double> data;
    std::vector<int32_t> indices, indptr = {0};
    for (Eigen::Index c = 0; c < dense.cols(); ++c) {
      for (Eigen::Index r = 0; r < dense.rows(); ++r) {
        if (dense(r, c) == 0.0) continue;
        data.push_back(dense(r, c));
        indices.push_back(static_cast<int32_t>(r));
      }
      indptr.push_back(static_cast<int32_t>(data.size()));
    }
    Instance(module, "csc_matrix", [&] {
      Dict([&] {
        Str("_shape");
        Tuple(2, [&] {
          Int(dense.rows());
          Int(dense.cols());
        });
        Str("maxprint");
        Int(50);
        Str("format");
        Str("csc");
        Str("indices");
        NdArray(NpyArray::FromData(indices.data(), {static_cast<int64_t>(indices.size())}));
        Str("indptr");
        NdArray(NpyArray::FromData(indptr.data(), {static_cast<int64_t>(indptr.size())}));
        Str("data");
        NdArray(NpyArray::FromData(data.data(), {static_cast<int64_t>(data.size())}));
      });
    });
  }

  // Appends bytes as they are (to build unusual or broken pickles).
  void Raw(std::string_view bytes) { Op(std::string(bytes)); }

 private:
  static constexpr size_t kFrameSize = 64 * 1024;

  static std::string Le(uint64_t value, int n) {
    std::string bytes;
    for (int k = 0; k < n; ++k) bytes.push_back(static_cast<char>((value >> (8 * k)) & 0xFF));
    return bytes;
  }
  static std::string ToFortranOrder(const NpyArray& array) {
    const int64_t item = NpyItemSize(array.dtype, "ToFortranOrder");
    const int64_t n = array.size();
    std::string out(array.data.size(), '\0');
    for (int64_t c = 0; c < n; ++c) {  // C-order flat index -> Fortran-order flat index
      int64_t rest = c, fortran = 0, stride = 1;
      std::vector<int64_t> index(array.shape.size());
      for (size_t k = array.shape.size(); k-- > 0;) {
        index[k] = rest % array.shape[k];
        rest /= array.shape[k];
      }
      for (size_t k = 0; k < array.shape.size(); ++k) {
        fortran += index[k] * stride;
        stride *= array.shape[k];
      }
      std::copy_n(array.data.data() + c * item, item, out.data() + fortran * item);
    }
    return out;
  }

  void Op(char opcode, const std::string& argument = {}) {
    frame_ += opcode;
    frame_ += argument;
  }
  void Op(const std::string& bytes) { frame_ += bytes; }
  void UnicodeOp(std::string_view utf8) {
    if (protocol_ >= 4 && utf8.size() < 256) {
      Op('\x8c', std::string(1, static_cast<char>(utf8.size())) + std::string(utf8));
    } else {
      Op('X', Le(utf8.size(), 4) + std::string(utf8));
    }
  }
  void RawString(std::string_view raw) {
    if (raw.size() < 256) {
      Op('U', std::string(1, static_cast<char>(raw.size())) + std::string(raw));
    } else {
      Op('T', Le(raw.size(), 4) + std::string(raw));
    }
  }
  // Stores the top of the stack in the next memo slot; a non-empty key remembers it.
  void Put(const std::string& key) {
    const uint64_t index = memo_size_++;
    if (protocol_ >= 4) {
      Op('\x94');
    } else if (index < 256) {
      Op('q', Le(index, 1));
    } else {
      Op('r', Le(index, 4));
    }
    if (!key.empty()) memo_[key] = index;
    if (frame_.size() >= kFrameSize) CommitFrame();
  }
  bool GetIfMemoized(const std::string& key) {
    const auto found = memo_.find(key);
    if (found == memo_.end()) return false;
    if (found->second < 256) {
      Op('h', Le(found->second, 1));
    } else {
      Op('j', Le(found->second, 4));
    }
    return true;
  }
  void CommitFrame() {
    if (frame_.empty()) return;
    if (protocol_ >= 4) out_ += '\x95' + Le(frame_.size(), 8);
    out_ += frame_;
    frame_.clear();
  }

  int protocol_;
  ObjectStyle object_style_;
  std::string out_;    // committed bytes
  std::string frame_;  // the current frame (protocol 4) or pending bytes
  uint64_t memo_size_ = 0;
  std::map<std::string, uint64_t> memo_;
};

// FLAME's arrays as the files hold them: v_template (V, 3) f8, f (F, 3) u4, shapedirs and
// posedirs (V, 3, K) f8, J_regressor (J, V) f8, kintree_table (2, J) i8 with the root's parent
// 4294967295, weights (V, J) f8.
inline std::vector<std::pair<std::string, NpyArray>> FlameNpzArrays(
    const FlameFileContents& flame) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t v = flame.v_template.rows();
  const int64_t j = static_cast<int64_t>(flame.parents.size());
  const auto matrix = [](const Eigen::MatrixXd& m, std::vector<int64_t> shape) {
    const RowMajor row_major = m;
    return NpyArray::FromData(row_major.data(), std::move(shape));
  };
  const Eigen::Matrix<uint32_t, Eigen::Dynamic, 3, Eigen::RowMajor> faces =
      flame.faces.cast<uint32_t>();
  std::vector<int64_t> kintree(2 * j);
  for (int64_t i = 0; i < j; ++i) {
    kintree[i] = flame.parents[i] < 0 ? int64_t{4294967295} : flame.parents[i];
    kintree[j + i] = i;
  }
  return {
      {"f", NpyArray::FromData(faces.data(), {faces.rows(), 3})},
      {"J_regressor", matrix(flame.joint_regressor, {j, v})},
      {"kintree_table", NpyArray::FromData(kintree.data(), {2, j})},
      {"weights", matrix(flame.weights, {v, j})},
      {"posedirs", matrix(flame.posedirs, {v, 3, flame.posedirs.cols()})},
      {"v_template", NpyArray::FromData(flame.v_template.data(), {v, 3})},
      {"shapedirs", matrix(flame.shapedirs, {v, 3, flame.shapedirs.cols()})},
  };
}

// A FLAME pickle laid out like generic_model.pkl: a dict whose shapedirs is a chumpy Ch,
// J_regressor a scipy.sparse csc_matrix, the other arrays plain ndarrays, plus 'J' and the
// 'bs_style'/'bs_type' strings a loader ignores.
inline std::string FlamePickle(const FlameFileContents& flame, int protocol = 2) {
  PythonPickleWriter writer(protocol);
  const std::vector<std::pair<std::string, NpyArray>> arrays = FlameNpzArrays(flame);
  const Eigen::MatrixXd joints = flame.joint_regressor * flame.v_template;
  writer.Dict([&] {
    for (const auto& [key, array] : arrays) {
      writer.Str(key);
      if (key == "shapedirs") {
        writer.ChumpyArray(array);
      } else if (key == "J_regressor") {
        writer.CscMatrix(flame.joint_regressor,
                         protocol < 4 ? "scipy.sparse.csc" : "scipy.sparse._csc");
      } else {
        writer.NdArray(array);
      }
      if (key == "kintree_table") {
        writer.Str("J");
        const Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> j = joints;
        writer.NdArray(NpyArray::FromData(j.data(), {j.rows(), 3}));
      }
    }
    writer.Str("bs_style");
    writer.Str("lbs");
    writer.Str("bs_type");
    writer.Str("lrotmin");
  });
  return writer.Finish();
}

}  // namespace headtrack::test_support
