// A Python pickle reader that runs no Python: a pickle virtual machine (protocols 0-5) that
// builds a tree of PyValue. Class instances stay inert PyObject records (module, name,
// constructor arguments, state); NumPy arrays become NpyArray values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "io/npy_array.h"

namespace headtrack {

class PyDict;
struct PyObject;
class PyValue;
using PyList = std::vector<PyValue>;

// One Python value. Lists, tuples, dicts, objects and arrays are shared by reference, as in
// Python (a pickle may reference one object from several places).
class PyValue {
 public:
  enum class Type {
    kNone,
    kBool,
    kInt,  // fits int64 (larger ints are objects "builtins.int" whose args[0] holds the
           // decimal text or the little-endian two's complement bytes)
    kFloat,
    kString,  // Python 3 str, Python 2 unicode: UTF-8
    kBytes,   // Python 3 bytes, Python 2 str (raw bytes; latin1 text)
    kList,    // also sets and frozensets
    kTuple,
    kDict,
    kGlobal,  // a class or function reference (module, name) that was not called
    kObject,  // an instance of a class this reader does not interpret
    kArray,   // a NumPy array
  };

  PyValue() = default;  // None
  static PyValue Bool(bool value);
  static PyValue Int(int64_t value);
  static PyValue Float(double value);
  static PyValue String(std::string utf8);
  static PyValue Bytes(std::string raw);
  static PyValue List(PyList items = {});
  static PyValue Tuple(PyList items);
  static PyValue Dict();
  static PyValue Global(std::string module, std::string name);
  static PyValue Object(std::string module, std::string name, PyList args);
  static PyValue Array(NpyArray array);

  Type type() const { return type_; }
  bool is(Type type) const { return type_ == type; }

  // Typed access; each HT_CHECKs the type, so check type() first on untrusted input.
  bool AsBool() const;
  int64_t AsInt() const;                // kInt or kBool
  double AsFloat() const;               // kFloat or kInt
  const std::string& AsString() const;  // kString or kBytes
  const PyList& AsList() const;         // kList or kTuple
  const PyDict& AsDict() const;
  const PyObject& AsObject() const;  // kObject or kGlobal
  const NpyArray& AsArray() const;
  PyList& MutableList();
  PyDict& MutableDict();
  PyObject& MutableObject();

  // The value of `key` (a str or bytes key) when this is a dict holding it, else nullptr.
  const PyValue* Find(std::string_view key) const;
  // True when both values are the same shared list, dict, object or array.
  bool SameObject(const PyValue& other) const;
  // "int", "dict", "object chumpy.ch.Ch", "array <f8 (5023, 3)": for error messages.
  std::string Describe() const;

 private:
  Type type_ = Type::kNone;
  std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<PyList>,
               std::shared_ptr<PyDict>, std::shared_ptr<PyObject>, std::shared_ptr<NpyArray>>
      value_;
};

// A dict in insertion order. Setting a str/bytes/int/bool/None key that is already present
// replaces its value, as in Python (str and bytes keys with equal bytes count as equal).
class PyDict {
 public:
  void Set(PyValue key, PyValue value);
  const PyValue* Find(std::string_view key) const;
  const std::vector<std::pair<PyValue, PyValue>>& items() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<PyValue, PyValue>> items_;
  std::unordered_map<std::string, size_t> index_;  // hashable key -> position in items_
};

// An instance of a class (or the result of a call) the reader does not interpret; never
// executed. For REDUCE(f, args) module/name are f's; for copy_reg._reconstructor(cls, ...),
// NEWOBJ and OBJ they are the class's.
struct PyObject {
  std::string module;
  std::string name;
  PyList args;        // constructor / call arguments
  PyValue state;      // from BUILD (None without)
  PyList list_items;  // APPEND(S) on the object
  PyDict dict_items;  // SETITEM(S) on the object
  std::string qualified_name() const { return module + "." + name; }
};

// Runs the pickle in `bytes` and returns the value it STOPs with. Special cases: numpy arrays
// (numpy.core/numpy._core multiarray._reconstruct + BUILD, numeric._frombuffer) become kArray
// values, numpy.dtype objects are interpreted for them; copy_reg._reconstructor and NEWOBJ make a
// PyObject of the class; collections.OrderedDict becomes a dict, set/frozenset a list,
// _codecs.encode(text, 'latin1') bytes. Throws InputError "<source>: pickle byte N: ..." on a
// truncated stream, an unknown or unsupported opcode, stack underflow or malformed values.
// Lengths are checked against the bytes present before anything is allocated.
PyValue ParsePickle(std::span<const char> bytes, const std::string& source);

// ParsePickle on a whole file.
PyValue ReadPickleFile(const std::filesystem::path& path);

}  // namespace headtrack
