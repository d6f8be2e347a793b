#include "io/pickle_reader.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "core/file_util.h"
#include "headtrack/error.h"

namespace headtrack {
namespace {

// Hashable keys: str and bytes compare equal by their bytes; ints and bools by value.
std::optional<std::string> HashKey(const PyValue& key) {
  switch (key.type()) {
    case PyValue::Type::kString:
    case PyValue::Type::kBytes:
      return "s" + key.AsString();
    case PyValue::Type::kInt:
    case PyValue::Type::kBool:
      return "i" + std::to_string(key.AsInt());
    case PyValue::Type::kNone:
      return std::string("n");
    default:
      return std::nullopt;
  }
}

bool IsOneOf(const std::string& name, std::initializer_list<std::string_view> names) {
  for (const std::string_view candidate : names) {
    if (name == candidate) return true;
  }
  return false;
}

// The pickle machine of Python's pickle module (Lib/pickle.py, documented in pickletools):
// a value stack, a stack of MARK positions and a memo.
class Machine {
 public:
  Machine(std::span<const char> bytes, const std::string& source)
      : bytes_(bytes), source_(source) {}

  PyValue Run() {
    for (;;) {
      op_offset_ = pos_;
      const uint8_t op = Byte();
      if (op == '.') return Pop();  // STOP
      Step(op);
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    HT_THROW_INPUT(source_, "pickle byte " << op_offset_ << ": " << what);
  }

  // ---- reading the stream ----
  std::string_view Take(uint64_t n) {
    if (n > bytes_.size() - pos_) {
      Fail("truncated pickle (" + std::to_string(n) + " bytes announced, " +
           std::to_string(bytes_.size() - pos_) + " left)");
    }
    const std::string_view view(bytes_.data() + pos_, n);
    pos_ += n;
    return view;
  }
  uint8_t Byte() {
    if (pos_ >= bytes_.size()) Fail("truncated pickle (no STOP opcode)");
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  uint64_t Unsigned(int n) {  // little-endian
    const std::string_view raw = Take(n);
    uint64_t value = 0;
    for (int k = n - 1; k >= 0; --k) value = (value << 8) | static_cast<uint8_t>(raw[k]);
    return value;
  }
  std::string_view Line() {
    const size_t end = std::string_view(bytes_.data(), bytes_.size()).find('\n', pos_);
    if (end == std::string_view::npos) Fail("truncated pickle (unterminated text argument)");
    const std::string_view line(bytes_.data() + pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }
  int64_t LineInt() {
    const std::string text(Line());
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || errno != 0 || (*end != '\0' && std::string_view(end) != "L")) {
      Fail("bad integer '" + text + "'");
    }
    return value;
  }

  // ---- the stacks ----
  size_t Floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void Push(PyValue value) { stack_.push_back(std::move(value)); }
  PyValue Pop() {
    if (stack_.size() <= Floor()) Fail("stack underflow");
    PyValue value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PyValue& Top() {
    if (stack_.size() <= Floor()) Fail("stack underflow");
    return stack_.back();
  }
  PyList PopMark() {
    if (marks_.empty()) Fail("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    PyList items(std::make_move_iterator(stack_.begin() + mark),
                 std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  const PyValue& MemoGet(uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) Fail("memo index " + std::to_string(index) + " was never stored");
    return found->second;
  }
  void MemoPut(uint64_t index) { memo_[index] = Top(); }

  // ---- values ----
  PyValue Long(std::string_view raw) {  // little-endian two's complement
    if (raw.size() > 8) {               // beyond int64: keep the two's complement bytes
      return PyValue::Object("builtins", "int", {PyValue::Bytes(std::string(raw))});
    }
    uint64_t value = 0;
    for (size_t k = raw.size(); k-- > 0;) value = (value << 8) | static_cast<uint8_t>(raw[k]);
    if (!raw.empty() && raw.size() < 8 && (static_cast<uint8_t>(raw.back()) & 0x80)) {
      value |= ~uint64_t{0} << (8 * raw.size());  // sign extension
    }
    return PyValue::Int(static_cast<int64_t>(value));
  }

  // Python 2 repr of a str: 'text' with backslash escapes.
  std::string UnquoteString(std::string_view line) {
    if (line.size() < 2 || (line[0] != '\'' && line[0] != '"') || line.back() != line[0]) {
      Fail("STRING argument is not quoted");
    }
    const std::string_view body = line.substr(1, line.size() - 2);
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '\\') {
        out.push_back(body[i]);
        continue;
      }
      if (++i == body.size()) Fail("STRING ends in a backslash");
      const char c = body[i];
      static constexpr std::string_view kFrom = "abfnrtv\\'\"", kTo = "\a\b\f\n\r\t\v\\'\"";
      if (const size_t k = kFrom.find(c); k != std::string_view::npos) {
        out.push_back(kTo[k]);
      } else if (c == 'x' && i + 2 < body.size() &&
                 std::isxdigit(static_cast<unsigned char>(body[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
        out.push_back(
            static_cast<char>(std::stoi(std::string(body.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else if (c >= '0' && c <= '7') {
        int value = 0, digits = 0;
        for (; digits < 3 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++digits, ++i) {
          value = value * 8 + (body[i] - '0');
        }
        --i;
        out.push_back(static_cast<char>(value));
      } else {
        Fail(std::string("unknown escape \\") + c + " in STRING");
      }
    }
    return out;
  }

  // raw-unicode-escape: bytes are latin1 code points, except \uXXXX and \UXXXXXXXX.
  std::string RawUnicodeEscape(std::string_view line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      const size_t digits = line[i] == '\\' && i + 1 < line.size() ? (line[i + 1] == 'u'   ? 4
                                                                      : line[i + 1] == 'U' ? 8
                                                                                           : 0)
                                                                   : 0;
      if (digits > 0 && i + 2 + digits <= line.size()) {
        const std::string hex(line.substr(i + 2, digits));
        if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          Fail("bad \\u escape in UNICODE");
        }
        const unsigned long code = std::stoul(hex, nullptr, 16);
        if (code > 0x10FFFF) Fail("code point out of range in UNICODE");
        internal::AppendUtf8(static_cast<uint32_t>(code), &out);
        i += 1 + digits;
      } else {
        internal::AppendUtf8(static_cast<uint8_t>(line[i]), &out);
      }
    }
    return out;
  }

  // "<f8", "|u1", "<U24" from a numpy.dtype object; "" for dtypes NpyArray does not hold (object,
  // structured, datetime, ...), whose arrays stay objects.
  std::string DtypeString(const PyValue& dtype) {
    if (!dtype.is(PyValue::Type::kObject) || dtype.AsObject().qualified_name() != "numpy.dtype" ||
        dtype.AsObject().args.empty() ||
        !(dtype.AsObject().args[0].is(PyValue::Type::kString) ||
          dtype.AsObject().args[0].is(PyValue::Type::kBytes))) {
      Fail("numpy array with a dtype that is a " + dtype.Describe() + ", expected numpy.dtype");
    }
    const PyObject& object = dtype.AsObject();
    std::string type = object.args[0].AsString();
    if (type.empty()) Fail("empty numpy dtype name");
    std::string order = "|";
    // The dtype's state is (version, byte order, subarray, names, fields, elsize, alignment,
    // flags[, metadata]).
    if (object.state.is(PyValue::Type::kTuple) && object.state.AsList().size() >= 2) {
      const PyValue& endian = object.state.AsList()[1];
      if (endian.is(PyValue::Type::kString) || endian.is(PyValue::Type::kBytes)) {
        order = endian.AsString();
      }
      if (object.state.AsList().size() >= 4 && !object.state.AsList()[3].is(PyValue::Type::kNone)) {
        return "";  // structured
      }
    }
    if (std::string_view("<>|=").find(type[0]) == std::string_view::npos) type = order + type;
    try {
      NpyItemSize(type, source_);
    } catch (const InputError&) {
      return "";
    }
    return type;
  }

  std::vector<int64_t> Shape(const PyValue& value) {
    if (value.is(PyValue::Type::kInt)) return {value.AsInt()};
    if (!value.is(PyValue::Type::kTuple) && !value.is(PyValue::Type::kList)) {
      Fail("numpy array shape is a " + value.Describe() + ", expected a tuple of ints");
    }
    std::vector<int64_t> shape;
    for (const PyValue& extent : value.AsList()) {
      if (!extent.is(PyValue::Type::kInt)) Fail("numpy array shape holds a " + extent.Describe());
      shape.push_back(extent.AsInt());
    }
    return shape;
  }

  PyValue MakeArray(const std::string& dtype, const PyValue& shape, bool fortran,
                    const PyValue& data) {
    if (!data.is(PyValue::Type::kBytes) && !data.is(PyValue::Type::kString)) {
      Fail("numpy array data is a " + data.Describe() + ", expected bytes");
    }
    const std::string& raw = data.AsString();
    try {
      return PyValue::Array(MakeNpyArray(dtype, Shape(shape), fortran, raw, source_));
    } catch (const InputError& error) {
      Fail("numpy array: " + error.problem());
    }
  }

  // ndarray.__setstate__((version,) shape, dtype, is_fortran, raw data). Returns None (keep the
  // object) for dtypes NpyArray does not hold, e.g. object arrays, whose data is a list.
  PyValue ArrayFromState(const PyValue& state) {
    if (!state.is(PyValue::Type::kTuple)) Fail("numpy array state is a " + state.Describe());
    PyList items = state.AsList();
    if (items.size() == 5) items.erase(items.begin());  // the version
    if (items.size() != 4) Fail("numpy array state has " + std::to_string(items.size()) + " items");
    const std::string dtype = DtypeString(items[1]);
    if (dtype.empty()) return PyValue();
    const bool fortran = (items[2].is(PyValue::Type::kBool) || items[2].is(PyValue::Type::kInt)) &&
                         items[2].AsInt() != 0;
    return MakeArray(dtype, items[0], fortran, items[3]);
  }

  PyValue NewObject(const PyValue& cls, PyList args) {
    if (!cls.is(PyValue::Type::kGlobal)) {
      Fail("NEWOBJ on a " + cls.Describe() + ", expected a class");
    }
    const std::string name = cls.AsObject().qualified_name();
    if (IsOneOf(name, {"collections.OrderedDict", "builtins.dict", "__builtin__.dict"}) &&
        args.empty()) {
      return PyValue::Dict();
    }
    if (IsOneOf(name, {"builtins.set", "__builtin__.set", "builtins.frozenset",
                       "__builtin__.frozenset", "builtins.list", "__builtin__.list"}) &&
        args.empty()) {
      return PyValue::List();
    }
    return PyValue::Object(cls.AsObject().module, cls.AsObject().name, std::move(args));
  }

  PyValue Reduce(const PyValue& callable, PyList args) {
    if (!callable.is(PyValue::Type::kGlobal)) {
      Fail("REDUCE calls a " + callable.Describe() + ", expected a class or function");
    }
    const std::string name = callable.AsObject().qualified_name();
    const auto arg_is = [&](size_t i, PyValue::Type type) {
      return args.size() > i && args[i].is(type);
    };
    if (IsOneOf(name, {"copy_reg._reconstructor", "copyreg._reconstructor"}) &&
        arg_is(0, PyValue::Type::kGlobal)) {
      return PyValue::Object(args[0].AsObject().module, args[0].AsObject().name, {});
    }
    if (IsOneOf(name, {"copy_reg.__newobj__", "copyreg.__newobj__"}) && !args.empty()) {
      const PyValue cls = args[0];
      return NewObject(cls, PyList(args.begin() + 1, args.end()));
    }
    if (IsOneOf(name,
                {"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"}) &&
        arg_is(0, PyValue::Type::kGlobal)) {
      PyValue array = PyValue::Object(args[0].AsObject().module, args[0].AsObject().name, args);
      pending_arrays_.emplace(&array.AsObject(), array);
      return array;
    }
    if (IsOneOf(name, {"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer"}) &&
        args.size() == 4) {  // (buffer, dtype, shape, order)
      const bool fortran = arg_is(3, PyValue::Type::kString) && args[3].AsString() == "F";
      const std::string dtype = DtypeString(args[1]);
      if (!dtype.empty()) return MakeArray(dtype, args[2], fortran, args[0]);
    }
    if (name == "_codecs.encode" && arg_is(0, PyValue::Type::kString) &&
        arg_is(1, PyValue::Type::kString) &&
        IsOneOf(args[1].AsString(), {"latin1", "latin-1", "iso-8859-1"})) {
      std::vector<uint32_t> codes;
      if (!internal::DecodeUtf8(args[0].AsString(), &codes)) Fail("invalid UTF-8 text");
      std::string raw;
      for (const uint32_t code : codes) {
        if (code > 0xFF) Fail("text to encode as latin1 holds code point " + std::to_string(code));
        raw.push_back(static_cast<char>(code));
      }
      return PyValue::Bytes(std::move(raw));
    }
    if (IsOneOf(name, {"builtins.bytes", "__builtin__.bytes", "builtins.bytearray",
                       "__builtin__.bytearray"})) {
      if (args.empty()) return PyValue::Bytes("");
      if (args.size() == 1 && arg_is(0, PyValue::Type::kBytes)) return args[0];
    }
    if (IsOneOf(name, {"builtins.set", "__builtin__.set", "builtins.frozenset",
                       "__builtin__.frozenset"})) {
      if (args.empty()) return PyValue::List();
      if (args.size() == 1 &&
          (arg_is(0, PyValue::Type::kList) || arg_is(0, PyValue::Type::kTuple))) {
        return PyValue::List(args[0].AsList());
      }
    }
    if (name == "collections.OrderedDict" && args.empty()) return PyValue::Dict();
    return PyValue::Object(callable.AsObject().module, callable.AsObject().name, std::move(args));
  }

  // Replaces every reference on the stack and in the memo to `old` (an object turned into an
  // array by BUILD).
  void ReplaceReferences(const PyValue& old, const PyValue& replacement) {
    for (PyValue& value : stack_) {
      if (value.SameObject(old)) value = replacement;
    }
    for (auto& [index, value] : memo_) {
      if (value.SameObject(old)) value = replacement;
    }
  }

  void Build() {
    PyValue state = Pop();
    PyValue& target = Top();
    if (!target.is(PyValue::Type::kObject)) Fail("BUILD on a " + target.Describe());
    if (pending_arrays_.erase(&target.AsObject()) > 0) {
      PyValue array = ArrayFromState(state);
      if (!array.is(PyValue::Type::kNone)) {
        const PyValue old = target;
        ReplaceReferences(old, array);
        return;
      }
    }
    PyObject& object = target.MutableObject();
    if (object.state.is(PyValue::Type::kDict) && state.is(PyValue::Type::kDict)) {
      for (const auto& [key, value] : state.AsDict().items())
        object.state.MutableDict().Set(key, value);
    } else {
      object.state = std::move(state);
    }
  }

  void Append(PyList items) {
    PyValue& target = Top();
    PyList* list = nullptr;
    if (target.is(PyValue::Type::kList)) {
      list = &target.MutableList();
    } else if (target.is(PyValue::Type::kObject)) {
      list = &target.MutableObject().list_items;
    } else {
      Fail("APPEND to a " + target.Describe());
    }
    list->insert(list->end(), std::make_move_iterator(items.begin()),
                 std::make_move_iterator(items.end()));
  }

  void SetItems(PyList items) {
    if (items.size() % 2 != 0) Fail("SETITEMS with an odd number of items");
    PyValue& target = Top();
    PyDict* dict = nullptr;
    if (target.is(PyValue::Type::kDict)) {
      dict = &target.MutableDict();
    } else if (target.is(PyValue::Type::kObject)) {
      dict = &target.MutableObject().dict_items;
    } else {
      Fail("SETITEM on a " + target.Describe());
    }
    for (size_t i = 0; i < items.size(); i += 2)
      dict->Set(std::move(items[i]), std::move(items[i + 1]));
  }

  void PushDict(PyList items) {
    Push(PyValue::Dict());
    SetItems(std::move(items));
  }

  void Step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const int protocol = Byte();
        if (protocol > 5) Fail("unsupported pickle protocol " + std::to_string(protocol));
        break;
      }
      case 0x95:  // FRAME: the next n bytes are one frame; we hold the whole stream anyway
        if (Unsigned(8) > bytes_.size() - pos_) {
          Fail("truncated pickle (frame longer than the file)");
        }
        break;
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP (or a MARK with nothing above it)
        if (stack_.size() > Floor()) {
          stack_.pop_back();
        } else {
          PopMark();
        }
        break;
      case '1':  // POP_MARK
        PopMark();
        break;
      case '2':  // DUP
        Push(Top());
        break;

      case 'N':
        Push(PyValue());
        break;
      case 0x88:  // NEWTRUE
        Push(PyValue::Bool(true));
        break;
      case 0x89:  // NEWFALSE
        Push(PyValue::Bool(false));
        break;
      case 'I': {  // INT: decimal text; "01"/"00" are Python 2's True/False
        const std::string_view line = Line();
        if (line == "01" || line == "00") {
          Push(PyValue::Bool(line == "01"));
          break;
        }
        pos_ -= line.size() + 1;
        Push(PyValue::Int(LineInt()));
        break;
      }
      case 'L': {  // LONG: decimal text with an 'L' suffix
        const std::string text(Line());
        char* end = nullptr;
        errno = 0;
        const long long value = std::strtoll(text.c_str(), &end, 10);
        if (end == text.c_str() || (*end != '\0' && std::string_view(end) != "L")) {
          Fail("bad LONG '" + text + "'");
        }
        if (errno == ERANGE) {  // beyond int64
          Push(PyValue::Object("builtins", "int", {PyValue::String(text)}));
        } else {
          Push(PyValue::Int(value));
        }
        break;
      }
      case 'J':  // BININT
        Push(PyValue::Int(static_cast<int32_t>(Unsigned(4))));
        break;
      case 'K':  // BININT1
        Push(PyValue::Int(Unsigned(1)));
        break;
      case 'M':  // BININT2
        Push(PyValue::Int(Unsigned(2)));
        break;
      case 0x8a:  // LONG1
        Push(Long(Take(Unsigned(1))));
        break;
      case 0x8b: {  // LONG4
        const int32_t n = static_cast<int32_t>(Unsigned(4));
        if (n < 0) Fail("LONG4 with a negative length");
        Push(Long(Take(n)));
        break;
      }
      case 'F': {  // FLOAT: repr text
        const std::string text(Line());
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') Fail("bad FLOAT '" + text + "'");
        Push(PyValue::Float(value));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        uint64_t bits = 0;
        for (const char c : Take(8)) bits = (bits << 8) | static_cast<uint8_t>(c);
        Push(PyValue::Float(std::bit_cast<double>(bits)));
        break;
      }

      case 'S':  // STRING (Python 2 str, repr text)
        Push(PyValue::Bytes(UnquoteString(Line())));
        break;
      case 'T': {  // BINSTRING
        const int32_t n = static_cast<int32_t>(Unsigned(4));
        if (n < 0) Fail("BINSTRING with a negative length");
        Push(PyValue::Bytes(std::string(Take(n))));
        break;
      }
      case 'U':  // SHORT_BINSTRING
      case 'C':  // SHORT_BINBYTES
        Push(PyValue::Bytes(std::string(Take(Unsigned(1)))));
        break;
      case 'B':  // BINBYTES
        Push(PyValue::Bytes(std::string(Take(Unsigned(4)))));
        break;
      case 0x8e:  // BINBYTES8
      case 0x96:  // BYTEARRAY8
        Push(PyValue::Bytes(std::string(Take(Unsigned(8)))));
        break;
      case 'V':  // UNICODE (raw-unicode-escape text)
        Push(PyValue::String(RawUnicodeEscape(Line())));
        break;
      case 'X':  // BINUNICODE
        Push(PyValue::String(std::string(Take(Unsigned(4)))));
        break;
      case 0x8c:  // SHORT_BINUNICODE
        Push(PyValue::String(std::string(Take(Unsigned(1)))));
        break;
      case 0x8d:  // BINUNICODE8
        Push(PyValue::String(std::string(Take(Unsigned(8)))));
        break;

      case ']':   // EMPTY_LIST
      case 0x8f:  // EMPTY_SET
        Push(PyValue::List());
        break;
      case ')':  // EMPTY_TUPLE
        Push(PyValue::Tuple({}));
        break;
      case '}':  // EMPTY_DICT
        Push(PyValue::Dict());
        break;
      case 'l':   // LIST
      case 0x91:  // FROZENSET
        Push(PyValue::List(PopMark()));
        break;
      case 't':  // TUPLE
        Push(PyValue::Tuple(PopMark()));
        break;
      case 'd':  // DICT
        PushDict(PopMark());
        break;
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        PyList items(op - 0x84);
        for (size_t k = items.size(); k-- > 0;) items[k] = Pop();
        Push(PyValue::Tuple(std::move(items)));
        break;
      }
      case 'a': {  // APPEND
        PyValue value = Pop();
        Append({std::move(value)});
        break;
      }
      case 'e':   // APPENDS
      case 0x90:  // ADDITEMS
        Append(PopMark());
        break;
      case 's': {  // SETITEM
        PyValue value = Pop();
        PyValue key = Pop();
        SetItems({std::move(key), std::move(value)});
        break;
      }
      case 'u':  // SETITEMS
        SetItems(PopMark());
        break;

      case 'c': {  // GLOBAL
        std::string module(Line());
        std::string name(Line());
        Push(PyValue::Global(std::move(module), std::move(name)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const PyValue name = Pop();
        const PyValue module = Pop();
        if (!module.is(PyValue::Type::kString) || !name.is(PyValue::Type::kString)) {
          Fail("STACK_GLOBAL needs two str, found " + module.Describe() + " and " +
               name.Describe());
        }
        Push(PyValue::Global(module.AsString(), name.AsString()));
        break;
      }
      case 'R': {  // REDUCE
        const PyValue args = Pop();
        const PyValue callable = Pop();
        if (!args.is(PyValue::Type::kTuple)) Fail("REDUCE arguments are a " + args.Describe());
        Push(Reduce(callable, args.AsList()));
        break;
      }
      case 0x81: {  // NEWOBJ
        const PyValue args = Pop();
        const PyValue cls = Pop();
        if (!args.is(PyValue::Type::kTuple)) Fail("NEWOBJ arguments are a " + args.Describe());
        Push(NewObject(cls, args.AsList()));
        break;
      }
      case 0x92: {  // NEWOBJ_EX (keyword arguments are dropped)
        Pop();
        const PyValue args = Pop();
        const PyValue cls = Pop();
        if (!args.is(PyValue::Type::kTuple)) Fail("NEWOBJ_EX arguments are a " + args.Describe());
        Push(NewObject(cls, args.AsList()));
        break;
      }
      case 'o': {  // OBJ: MARK cls args... OBJ
        PyList items = PopMark();
        if (items.empty()) Fail("OBJ without a class");
        const PyValue cls = items[0];
        Push(NewObject(cls, PyList(items.begin() + 1, items.end())));
        break;
      }
      case 'i': {  // INST: module and name as text, MARK args... INST
        std::string module(Line());
        std::string name(Line());
        Push(PyValue::Object(std::move(module), std::move(name), PopMark()));
        break;
      }
      case 'b':  // BUILD
        Build();
        break;

      case 'g':  // GET
        Push(MemoGet(LineInt()));
        break;
      case 'h':  // BINGET
        Push(MemoGet(Unsigned(1)));
        break;
      case 'j':  // LONG_BINGET
        Push(MemoGet(Unsigned(4)));
        break;
      case 'p':  // PUT
        MemoPut(LineInt());
        break;
      case 'q':  // BINPUT
        MemoPut(Unsigned(1));
        break;
      case 'r':  // LONG_BINPUT
        MemoPut(Unsigned(4));
        break;
      case 0x94:  // MEMOIZE
        MemoPut(memo_.size());
        break;

      case 'P':
      case 'Q':
        Fail("persistent IDs (PERSID/BINPERSID) are not supported");
      case 0x82:
      case 0x83:
      case 0x84:
        Fail("extension registry codes (EXT1/2/4) are not supported");
      case 0x97:
      case 0x98:
        Fail("out-of-band buffers (protocol 5 NEXT_BUFFER) are not supported");
      default: {
        std::ostringstream hex;
        hex << "unknown opcode 0x" << std::hex << static_cast<int>(op);
        Fail(hex.str() + " (not a pickle, or a corrupt one)");
      }
    }
  }

  std::span<const char> bytes_;
  const std::string& source_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  std::vector<PyValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyValue> memo_;
  // _reconstruct results awaiting their BUILD (held so that their addresses stay unique).
  std::unordered_map<const PyObject*, PyValue> pending_arrays_;
};

}  // namespace

PyValue PyValue::Bool(bool value) {
  PyValue v;
  v.type_ = Type::kBool;
  v.value_ = value;
  return v;
}
PyValue PyValue::Int(int64_t value) {
  PyValue v;
  v.type_ = Type::kInt;
  v.value_ = value;
  return v;
}
PyValue PyValue::Float(double value) {
  PyValue v;
  v.type_ = Type::kFloat;
  v.value_ = value;
  return v;
}
PyValue PyValue::String(std::string utf8) {
  PyValue v;
  v.type_ = Type::kString;
  v.value_ = std::move(utf8);
  return v;
}
PyValue PyValue::Bytes(std::string raw) {
  PyValue v;
  v.type_ = Type::kBytes;
  v.value_ = std::move(raw);
  return v;
}
PyValue PyValue::List(PyList items) {
  PyValue v;
  v.type_ = Type::kList;
  v.value_ = std::make_shared<PyList>(std::move(items));
  return v;
}
PyValue PyValue::Tuple(PyList items) {
  PyValue v = List(std::move(items));
  v.type_ = Type::kTuple;
  return v;
}
PyValue PyValue::Dict() {
  PyValue v;
  v.type_ = Type::kDict;
  v.value_ = std::make_shared<PyDict>();
  return v;
}
PyValue PyValue::Global(std::string module, std::string name) {
  PyValue v = Object(std::move(module), std::move(name), {});
  v.type_ = Type::kGlobal;
  return v;
}
PyValue PyValue::Object(std::string module, std::string name, PyList args) {
  PyValue v;
  v.type_ = Type::kObject;
  auto object = std::make_shared<PyObject>();
  object->module = std::move(module);
  object->name = std::move(name);
  object->args = std::move(args);
  v.value_ = std::move(object);
  return v;
}
PyValue PyValue::Array(NpyArray array) {
  PyValue v;
  v.type_ = Type::kArray;
  v.value_ = std::make_shared<NpyArray>(std::move(array));
  return v;
}

bool PyValue::AsBool() const {
  HT_CHECK(type_ == Type::kBool, Describe());
  return std::get<bool>(value_);
}
int64_t PyValue::AsInt() const {
  HT_CHECK(type_ == Type::kInt || type_ == Type::kBool, Describe());
  return type_ == Type::kBool ? std::get<bool>(value_) : std::get<int64_t>(value_);
}
double PyValue::AsFloat() const {
  HT_CHECK(type_ == Type::kFloat || type_ == Type::kInt, Describe());
  return type_ == Type::kInt ? static_cast<double>(std::get<int64_t>(value_))
                             : std::get<double>(value_);
}
const std::string& PyValue::AsString() const {
  HT_CHECK(type_ == Type::kString || type_ == Type::kBytes, Describe());
  return std::get<std::string>(value_);
}
const PyList& PyValue::AsList() const {
  HT_CHECK(type_ == Type::kList || type_ == Type::kTuple, Describe());
  return *std::get<std::shared_ptr<PyList>>(value_);
}
const PyDict& PyValue::AsDict() const {
  HT_CHECK(type_ == Type::kDict, Describe());
  return *std::get<std::shared_ptr<PyDict>>(value_);
}
const PyObject& PyValue::AsObject() const {
  HT_CHECK(type_ == Type::kObject || type_ == Type::kGlobal, Describe());
  return *std::get<std::shared_ptr<PyObject>>(value_);
}
const NpyArray& PyValue::AsArray() const {
  HT_CHECK(type_ == Type::kArray, Describe());
  return *std::get<std::shared_ptr<NpyArray>>(value_);
}
PyList& PyValue::MutableList() { return const_cast<PyList&>(AsList()); }
PyDict& PyValue::MutableDict() { return const_cast<PyDict&>(AsDict()); }
PyObject& PyValue::MutableObject() { return const_cast<PyObject&>(AsObject()); }

const PyValue* PyValue::Find(std::string_view key) const {
  return type_ == Type::kDict ? AsDict().Find(key) : nullptr;
}

bool PyValue::SameObject(const PyValue& other) const {
  const auto address = [](const PyValue& value) -> const void* {
    return std::visit(
        [](const auto& held) -> const void* {
          if constexpr (requires { held.get(); }) {
            return held.get();
          } else {
            return nullptr;
          }
        },
        value.value_);
  };
  const void* mine = address(*this);
  return mine != nullptr && mine == address(other);
}

std::string PyValue::Describe() const {
  switch (type_) {
    case Type::kNone:
      return "None";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kString:
      return "str";
    case Type::kBytes:
      return "bytes";
    case Type::kList:
      return "list";
    case Type::kTuple:
      return "tuple";
    case Type::kDict:
      return "dict";
    case Type::kGlobal:
      return "global " + AsObject().qualified_name();
    case Type::kObject:
      return "object " + AsObject().qualified_name();
    case Type::kArray:
      return "array " + AsArray().dtype + " " + ShapeString(AsArray().shape);
  }
  return "?";
}

void PyDict::Set(PyValue key, PyValue value) {
  const std::optional<std::string> hash = HashKey(key);
  if (hash) {
    const auto [found, inserted] = index_.emplace(*hash, items_.size());
    if (!inserted) {
      items_[found->second].second = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::move(key), std::move(value));
}

const PyValue* PyDict::Find(std::string_view key) const {
  const auto found = index_.find("s" + std::string(key));
  return found == index_.end() ? nullptr : &items_[found->second].second;
}

PyValue ParsePickle(std::span<const char> bytes, const std::string& source) {
  return Machine(bytes, source).Run();
}

PyValue ReadPickleFile(const std::filesystem::path& path) {
  const std::vector<char> bytes = ReadFileBytes(path);
  return ParsePickle(bytes, path.string());
}

}  // namespace headtrack
