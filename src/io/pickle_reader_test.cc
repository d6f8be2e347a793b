#include "io/pickle_reader.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include "headtrack/error.h"
#include "io/testing/python_pickle_writer.h"

namespace headtrack {
namespace {

using test_support::PythonPickleWriter;
using Type = PyValue::Type;

const std::string kSource = "model.pkl";

// Test vectors made by CPython (no numpy needed) from
//   l = [7, 8]
//   value = {'a': [1, -2, 2.5, 'h\xe9llo', b'raw\x00\xff'], 'b': (True, False, None),
//            'big': 2**70, 'neg': -300, 'long': 2**40, 's': {3}, 'fs': frozenset([4]),
//            'od': collections.OrderedDict([('x', 1)]), 't1': (1,), 'e': (), 'shared': (l, l)}
constexpr char kProtocol0[] =
    "\x28\x64\x70\x30\x0a\x56\x61\x0a\x70\x31\x0a\x28\x6c\x70\x32\x0a\x49\x31\x0a\x61\x49\x2d\x32"
    "\x0a"
    "\x61\x46\x32\x2e\x35\x0a\x61\x56\x68\xe9\x6c\x6c\x6f\x0a\x70\x33\x0a\x61\x63\x5f\x63\x6f\x64"
    "\x65"
    "\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x70\x34\x0a\x28\x56\x72\x61\x77\x5c\x75\x30\x30\x30"
    "\x30"
    "\xff\x0a\x70\x35\x0a\x56\x6c\x61\x74\x69\x6e\x31\x0a\x70\x36\x0a\x74\x70\x37\x0a\x52\x70\x38"
    "\x0a"
    "\x61\x73\x56\x62\x0a\x70\x39\x0a\x28\x49\x30\x31\x0a\x49\x30\x30\x0a\x4e\x74\x70\x31\x30\x0a"
    "\x73"
    "\x56\x62\x69\x67\x0a\x70\x31\x31\x0a\x4c\x31\x31\x38\x30\x35\x39\x31\x36\x32\x30\x37\x31\x37"
    "\x34"
    "\x31\x31\x33\x30\x33\x34\x32\x34\x4c\x0a\x73\x56\x6e\x65\x67\x0a\x70\x31\x32\x0a\x49\x2d\x33"
    "\x30"
    "\x30\x0a\x73\x56\x6c\x6f\x6e\x67\x0a\x70\x31\x33\x0a\x4c\x31\x30\x39\x39\x35\x31\x31\x36\x32"
    "\x37"
    "\x37\x37\x36\x4c\x0a\x73\x56\x73\x0a\x70\x31\x34\x0a\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e"
    "\x5f"
    "\x5f\x0a\x73\x65\x74\x0a\x70\x31\x35\x0a\x28\x28\x6c\x70\x31\x36\x0a\x49\x33\x0a\x61\x74\x70"
    "\x31"
    "\x37\x0a\x52\x70\x31\x38\x0a\x73\x56\x66\x73\x0a\x70\x31\x39\x0a\x63\x5f\x5f\x62\x75\x69\x6c"
    "\x74"
    "\x69\x6e\x5f\x5f\x0a\x66\x72\x6f\x7a\x65\x6e\x73\x65\x74\x0a\x70\x32\x30\x0a\x28\x28\x6c\x70"
    "\x32"
    "\x31\x0a\x49\x34\x0a\x61\x74\x70\x32\x32\x0a\x52\x70\x32\x33\x0a\x73\x56\x6f\x64\x0a\x70\x32"
    "\x34"
    "\x0a\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69"
    "\x63"
    "\x74\x0a\x70\x32\x35\x0a\x28\x74\x52\x70\x32\x36\x0a\x56\x78\x0a\x70\x32\x37\x0a\x49\x31\x0a"
    "\x73"
    "\x73\x56\x74\x31\x0a\x70\x32\x38\x0a\x28\x49\x31\x0a\x74\x70\x32\x39\x0a\x73\x56\x65\x0a\x70"
    "\x33"
    "\x30\x0a\x28\x74\x73\x56\x73\x68\x61\x72\x65\x64\x0a\x70\x33\x31\x0a\x28\x28\x6c\x70\x33\x32"
    "\x0a"
    "\x49\x37\x0a\x61\x49\x38\x0a\x61\x67\x33\x32\x0a\x74\x70\x33\x33\x0a\x73\x2e";
constexpr char kProtocol2[] =
    "\x80\x02\x7d\x71\x00\x28\x58\x01\x00\x00\x00\x61\x71\x01\x5d\x71\x02\x28\x4b\x01\x4a\xfe\xff"
    "\xff"
    "\xff\x47\x40\x04\x00\x00\x00\x00\x00\x00\x58\x06\x00\x00\x00\x68\xc3\xa9\x6c\x6c\x6f\x71\x03"
    "\x63"
    "\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x04\x58\x06\x00\x00\x00\x72"
    "\x61"
    "\x77\x00\xc3\xbf\x71\x05\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x06\x86\x71\x07\x52"
    "\x71"
    "\x08\x65\x58\x01\x00\x00\x00\x62\x71\x09\x88\x89\x4e\x87\x71\x0a\x58\x03\x00\x00\x00\x62\x69"
    "\x67"
    "\x71\x0b\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40\x58\x03\x00\x00\x00\x6e\x65\x67\x71\x0c"
    "\x4a"
    "\xd4\xfe\xff\xff\x58\x04\x00\x00\x00\x6c\x6f\x6e\x67\x71\x0d\x8a\x06\x00\x00\x00\x00\x00\x01"
    "\x58"
    "\x01\x00\x00\x00\x73\x71\x0e\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x73\x65\x74"
    "\x0a"
    "\x71\x0f\x5d\x71\x10\x4b\x03\x61\x85\x71\x11\x52\x71\x12\x58\x02\x00\x00\x00\x66\x73\x71\x13"
    "\x63"
    "\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x66\x72\x6f\x7a\x65\x6e\x73\x65\x74\x0a\x71"
    "\x14"
    "\x5d\x71\x15\x4b\x04\x61\x85\x71\x16\x52\x71\x17\x58\x02\x00\x00\x00\x6f\x64\x71\x18\x63\x63"
    "\x6f"
    "\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x0a\x71"
    "\x19"
    "\x29\x52\x71\x1a\x58\x01\x00\x00\x00\x78\x71\x1b\x4b\x01\x73\x58\x02\x00\x00\x00\x74\x31\x71"
    "\x1c"
    "\x4b\x01\x85\x71\x1d\x58\x01\x00\x00\x00\x65\x71\x1e\x29\x58\x06\x00\x00\x00\x73\x68\x61\x72"
    "\x65"
    "\x64\x71\x1f\x5d\x71\x20\x28\x4b\x07\x4b\x08\x65\x68\x20\x86\x71\x21\x75\x2e";
constexpr char kProtocol4[] =
    "\x80\x04\x95\xc6\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x01\x61\x94\x5d\x94\x28\x4b\x01"
    "\x4a"
    "\xfe\xff\xff\xff\x47\x40\x04\x00\x00\x00\x00\x00\x00\x8c\x06\x68\xc3\xa9\x6c\x6c\x6f\x94\x43"
    "\x05"
    "\x72\x61\x77\x00\xff\x94\x65\x8c\x01\x62\x94\x88\x89\x4e\x87\x94\x8c\x03\x62\x69\x67\x94\x8a"
    "\x09"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x40\x8c\x03\x6e\x65\x67\x94\x4a\xd4\xfe\xff\xff\x8c\x04\x6c"
    "\x6f"
    "\x6e\x67\x94\x8a\x06\x00\x00\x00\x00\x00\x01\x8c\x01\x73\x94\x8f\x94\x28\x4b\x03\x90\x8c\x02"
    "\x66"
    "\x73\x94\x28\x4b\x04\x91\x94\x8c\x02\x6f\x64\x94\x8c\x0b\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f"
    "\x6e"
    "\x73\x94\x8c\x0b\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x94\x93\x94\x29\x52\x94\x8c\x01"
    "\x78"
    "\x94\x4b\x01\x73\x8c\x02\x74\x31\x94\x4b\x01\x85\x94\x8c\x01\x65\x94\x29\x8c\x06\x73\x68\x61"
    "\x72"
    "\x65\x64\x94\x5d\x94\x28\x4b\x07\x4b\x08\x65\x68\x18\x86\x94\x75\x2e";

PyValue Parse(const std::string& bytes) {
  return ParsePickle(std::span<const char>(bytes.data(), bytes.size()), kSource);
}

void ExpectInputError(const std::function<void()>& run, const std::string& fragment) {
  try {
    run();
    FAIL() << "expected an InputError mentioning '" << fragment << "'";
  } catch (const InputError& error) {
    EXPECT_EQ(error.source(), kSource) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

void ExpectCPythonValue(const PyValue& value) {
  ASSERT_TRUE(value.is(Type::kDict)) << value.Describe();
  EXPECT_EQ(value.AsDict().size(), 11u);
  const PyList& a = value.Find("a")->AsList();
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].AsInt(), 1);
  EXPECT_EQ(a[1].AsInt(), -2);
  EXPECT_EQ(a[2].AsFloat(), 2.5);
  EXPECT_TRUE(a[3].is(Type::kString));
  EXPECT_EQ(a[3].AsString(), "h\xc3\xa9llo");
  EXPECT_TRUE(a[4].is(Type::kBytes));
  EXPECT_EQ(a[4].AsString(), std::string("raw\0\xff", 5));
  const PyValue& b = *value.Find("b");
  ASSERT_TRUE(b.is(Type::kTuple));
  ASSERT_EQ(b.AsList().size(), 3u);
  EXPECT_TRUE(b.AsList()[0].AsBool());
  EXPECT_FALSE(b.AsList()[1].AsBool());
  EXPECT_TRUE(b.AsList()[2].is(Type::kNone));
  EXPECT_EQ(value.Find("big")->AsObject().qualified_name(), "builtins.int");
  EXPECT_EQ(value.Find("neg")->AsInt(), -300);
  EXPECT_EQ(value.Find("long")->AsInt(), int64_t{1} << 40);
  EXPECT_EQ(value.Find("s")->AsList().at(0).AsInt(), 3);
  EXPECT_EQ(value.Find("fs")->AsList().at(0).AsInt(), 4);
  ASSERT_TRUE(value.Find("od")->is(Type::kDict));
  EXPECT_EQ(value.Find("od")->Find("x")->AsInt(), 1);
  EXPECT_EQ(value.Find("t1")->AsList().at(0).AsInt(), 1);
  EXPECT_TRUE(value.Find("e")->is(Type::kTuple));
  EXPECT_TRUE(value.Find("e")->AsList().empty());
  const PyList& shared = value.Find("shared")->AsList();
  ASSERT_EQ(shared.size(), 2u);
  EXPECT_TRUE(shared[0].SameObject(shared[1]));  // one list, referenced twice through the memo
  EXPECT_EQ(shared[1].AsList().at(1).AsInt(), 8);
  EXPECT_EQ(value.Find("missing"), nullptr);
}

TEST(PickleReader, ReadsCPythonPicklesOfProtocols0To4) {
  for (const std::string& bytes : {std::string(kProtocol0, sizeof(kProtocol0) - 1),
                                   std::string(kProtocol2, sizeof(kProtocol2) - 1),
                                   std::string(kProtocol4, sizeof(kProtocol4) - 1)}) {
    SCOPED_TRACE(static_cast<int>(static_cast<unsigned char>(bytes[1])));
    ExpectCPythonValue(Parse(bytes));
  }
}

// Python 2 text opcodes: STRING with escapes, UNICODE with \u escapes, INT booleans, LONG, FLOAT,
// GET/PUT, INST with a BUILD state.
TEST(PickleReader, ReadsPython2TextOpcodes) {
  const std::string bytes =
      "(dp0\nS'k'\np1\n(lp2\nI01\naL12345678901234L\naS'it\\'s\\x41\\n\\101'"
      "\np3\naVcaf\\u00e9\xff\np4\n"
      "aF0.5\nag1\nasS'obj'\np5\n(i__main__\nPoint\np6\n(dp7\nS'x'\np8\nI-3\nsbs.";
  const PyValue value = Parse(bytes);
  const PyList& list = value.Find("k")->AsList();
  ASSERT_EQ(list.size(), 6u);
  EXPECT_TRUE(list[0].is(Type::kBool));
  EXPECT_EQ(list[1].AsInt(), 12345678901234);
  EXPECT_EQ(list[2].AsString(), "it'sA\nA");
  EXPECT_EQ(list[3].AsString(), "caf\xc3\xa9\xc3\xbf");  // \u00e9 and latin1 byte 0xff
  EXPECT_EQ(list[4].AsFloat(), 0.5);
  EXPECT_EQ(list[5].AsString(), "k");  // memo GET 1
  const PyObject& point = value.Find("obj")->AsObject();
  EXPECT_EQ(point.qualified_name(), "__main__.Point");
  EXPECT_EQ(point.state.Find("x")->AsInt(), -3);
}

std::vector<std::pair<std::string, NpyArray>> SampleArrays() {
  const std::vector<double> v = {0.5, -1.25, 3, 4, 5, 6};
  const std::vector<uint32_t> f = {0, 1, 4294967295u};
  const std::vector<int8_t> r = {-1, 2, 3, 4};
  const std::vector<float> big(20000, 0.25f);  // 80 kB: BINSTRING / BINBYTES outside a frame
  const std::vector<int64_t> empty;
  return {{"v", NpyArray::FromData(v.data(), {2, 3})},
          {"f", NpyArray::FromData(f.data(), {3})},
          {"r", NpyArray::FromData(r.data(), {2, 2})},
          {"big", NpyArray::FromData(big.data(), {100, 200})},
          {"empty", NpyArray::FromData(empty.data(), {0, 3})},
          {"names", NpyArray::FromStrings({"jawOpen", "x"})},
          {"v2", NpyArray::FromData(v.data(), {3, 2})}};
}

TEST(PickleReader, ReadsNumpyArraysInProtocols2And4) {
  for (const int protocol : {2, 4}) {
    SCOPED_TRACE(protocol);
    const auto arrays = SampleArrays();
    PythonPickleWriter writer(protocol);
    writer.Dict([&] {
      for (const auto& [name, array] : arrays) {
        writer.Str(name);
        writer.NdArray(array, /*fortran=*/name == "v2");
      }
    });
    const std::string bytes = writer.Finish();
    if (protocol == 2) {  // the global and the float64 dtype are written once, then fetched
      EXPECT_EQ(bytes.find("cnumpy.core.multiarray\n_reconstruct\n"),
                bytes.rfind("cnumpy.core.multiarray\n_reconstruct\n"));
      EXPECT_NE(bytes.find("U\x02"
                           "f8"),
                std::string::npos);
      EXPECT_EQ(bytes.find("U\x02"
                           "f8"),
                bytes.rfind("U\x02"
                            "f8"));
    } else {
      EXPECT_EQ(bytes.substr(0, 3), "\x80\x04\x95");
    }
    const PyValue value = Parse(bytes);
    for (const auto& [name, array] : arrays) {
      const PyValue* item = value.Find(name);
      ASSERT_NE(item, nullptr) << name;
      ASSERT_TRUE(item->is(Type::kArray)) << name << ": " << item->Describe();
      EXPECT_EQ(item->AsArray().dtype, array.dtype) << name;
      EXPECT_EQ(item->AsArray().shape, array.shape) << name;
      EXPECT_EQ(item->AsArray().data, array.data) << name;
    }
  }
}

TEST(PickleReader, KeepsChumpyAndSparseObjectsInert) {
  const std::vector<double> x = {1, 2, 3};
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(2, 3);
  dense(1, 0) = 0.5;
  dense(0, 2) = 2.0;
  for (const auto style : {PythonPickleWriter::ObjectStyle::kReconstructor,
                           PythonPickleWriter::ObjectStyle::kNewObj}) {
    for (const int protocol : {2, 4}) {
      PythonPickleWriter writer(protocol);
      writer.set_object_style(style);
      writer.Tuple(2, [&] {
        writer.ChumpyArray(NpyArray::FromData(x.data(), {3}));
        writer.CscMatrix(dense);
      });
      const PyValue value = Parse(writer.Finish());
      const PyObject& ch = value.AsList().at(0).AsObject();
      EXPECT_EQ(ch.qualified_name(), "chumpy.ch.Ch");
      EXPECT_EQ(ch.state.Find("x")->AsArray().ToVector<double>(kSource), x);
      EXPECT_TRUE(ch.state.Find("_dirty_vars")->is(Type::kList));
      EXPECT_TRUE(ch.state.Find("_itr")->is(Type::kNone));
      const PyObject& csc = value.AsList().at(1).AsObject();
      EXPECT_EQ(csc.qualified_name(), "scipy.sparse.csc.csc_matrix");
      EXPECT_EQ(csc.state.Find("data")->AsArray().ToVector<double>(kSource),
                (std::vector<double>{0.5, 2.0}));
      EXPECT_EQ(csc.state.Find("indices")->AsArray().ToVector<int>(kSource),
                (std::vector<int>{1, 0}));
      EXPECT_EQ(csc.state.Find("indptr")->AsArray().ToVector<int>(kSource),
                (std::vector<int>{0, 1, 1, 2}));
      EXPECT_EQ(csc.state.Find("_shape")->AsList().at(1).AsInt(), 3);
    }
  }
}

// numpy >= 1.16 with protocol 5 reduces arrays to numeric._frombuffer(buffer, dtype, shape,
// order); Python 3 protocol 2 writes bytes as _codecs.encode(text, 'latin1').
TEST(PickleReader, ReadsFrombufferArraysAndLatin1EncodedBytes) {
  const std::vector<int16_t> fortran = {0, 10, 1, 11, 2, 12};  // [[0, 1, 2], [10, 11, 12]]
  PythonPickleWriter writer(4);
  writer.Global("numpy._core.numeric", "_frombuffer");
  writer.Tuple(4, [&] {
    writer.Bytes(std::string(reinterpret_cast<const char*>(fortran.data()), 12));
    writer.Dtype("<i2");
    writer.Tuple(2, [&] {
      writer.Int(2);
      writer.Int(3);
    });
    writer.Str("F");
  });
  writer.Raw("R");
  const PyValue array = Parse(writer.Finish());
  ASSERT_TRUE(array.is(Type::kArray)) << array.Describe();
  EXPECT_EQ(array.AsArray().ToVector<int16_t>(kSource),
            (std::vector<int16_t>{0, 1, 2, 10, 11, 12}));

  PythonPickleWriter codecs(2);
  codecs.Global("_codecs", "encode");
  codecs.Tuple(2, [&] {
    codecs.Unicode("a\xc3\xbf");  // 'a\xff'
    codecs.Unicode("latin1");
  });
  codecs.Raw("R");
  const PyValue bytes = Parse(codecs.Finish());
  EXPECT_TRUE(bytes.is(Type::kBytes));
  EXPECT_EQ(bytes.AsString(), "a\xff");
}

// Arrays of dtypes NpyArray does not hold (here datetime64) stay inert objects.
TEST(PickleReader, KeepsArraysOfUnsupportedDtypesAsObjects) {
  PythonPickleWriter writer(2);
  writer.Global("numpy.core.multiarray", "_reconstruct");
  writer.Tuple(3, [&] {
    writer.Global("numpy", "ndarray");
    writer.Tuple(1, [&] { writer.Int(0); });
    writer.Bytes("b");
  });
  writer.Raw("R");
  writer.Tuple(5, [&] {
    writer.Int(1);
    writer.Tuple(1, [&] { writer.Int(1); });
    writer.Global("numpy", "dtype");
    writer.Tuple(3, [&] {
      writer.Str("M8");
      writer.Int(0);
      writer.Int(1);
    });
    writer.Raw("R");
    writer.Tuple(2, [&] {
      writer.Int(4);
      writer.Str("<");
    });
    writer.Raw("b");
    writer.Bool(false);
    writer.Bytes(std::string(8, '\0'));
  });
  writer.Raw("b");
  const PyValue value = Parse(writer.Finish());
  ASSERT_TRUE(value.is(Type::kObject)) << value.Describe();
  EXPECT_EQ(value.AsObject().qualified_name(), "numpy.ndarray");
  EXPECT_EQ(value.AsObject().state.AsList().size(), 5u);
}

TEST(PickleReader, CorruptStreamsThrowInputErrorNamingFileAndOffset) {
  ExpectInputError([] { Parse("\x80\x02\xff."); }, "pickle byte 2: unknown opcode 0xff");
  ExpectInputError(
      [] {
        Parse(
            "\x80\x02"
            "a.");
      },
      "pickle byte 2: stack underflow");
  ExpectInputError(
      [] {
        Parse(
            "\x80\x02(K\x01"
            "a.");
      },
      "pickle byte 5: stack underflow");
  ExpectInputError([] { Parse("\x80\x02h\x05."); }, "memo index 5 was never stored");
  ExpectInputError([] { Parse("\x80\x02T\xff\xff\xff\x7f"); },
                   "truncated pickle (2147483647 bytes announced");
  ExpectInputError([] { Parse(std::string("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff", 11)); },
                   "truncated pickle");
  ExpectInputError([] { Parse(std::string("\x80\x04\x95\xff\xff\xff\x00\x00\x00\x00\x00N.", 13)); },
                   "frame longer than the file");
  ExpectInputError([] { Parse("\x80\x06N."); }, "unsupported pickle protocol 6");
  ExpectInputError([] { Parse("\x80\x02N"); }, "pickle byte 3: truncated pickle (no STOP opcode)");
  ExpectInputError([] { Parse("."); }, "pickle byte 0: stack underflow");
  ExpectInputError([] { Parse("\x80\x02NQ."); }, "persistent IDs");
  ExpectInputError(
      [] {
        Parse(
            "\x80\x02"
            "cnumpy\ndtype\nK\x01R.");
      },
      "REDUCE arguments are a int");
  ExpectInputError([] { Parse("cos\nsystem"); }, "unterminated text argument");

  // A numpy array whose raw data are shorter than its shape says.
  PythonPickleWriter writer(2);
  NpyArray short_array = SampleArrays()[0].second;
  short_array.shape = {3, 3};
  writer.NdArray(short_array);  // the writer copies the 6 doubles it has
  ExpectInputError(
      [&] { Parse(writer.Finish()); },
      "numpy array: array of shape (3, 3) and dtype '<f8' needs 72 data bytes, found 48");
}

TEST(PickleReader, EveryTruncationIsAnInputError) {
  for (const int protocol : {2, 4}) {
    PythonPickleWriter writer(protocol);
    writer.Dict([&] {
      for (const auto& [name, array] : SampleArrays()) {
        if (name == "big") continue;
        writer.Str(name);
        writer.ChumpyArray(array);
      }
    });
    const std::string bytes = writer.Finish();
    for (size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_THROW(Parse(bytes.substr(0, size)), InputError) << size;
    }
  }
}

// Random byte flips must give a value or an InputError: never a crash, a CheckError or a huge
// allocation.
TEST(PickleReader, RandomCorruptionNeverEscapesAsAnotherError) {
  std::mt19937 random(7);
  for (const int protocol : {2, 4}) {
    PythonPickleWriter writer(protocol);
    writer.Dict([&] {
      for (const auto& [name, array] : SampleArrays()) {
        if (name == "big") continue;
        writer.Str(name);
        writer.ChumpyArray(array);
      }
      writer.Str("sparse");
      writer.CscMatrix(Eigen::MatrixXd::Identity(3, 4));
    });
    const std::string bytes = writer.Finish();
    std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string corrupt = bytes;
      for (int flips = 0; flips < 1 + trial % 3; ++flips) {
        corrupt[position(random)] = static_cast<char>(byte(random));
      }
      try {
        Parse(corrupt);
      } catch (const InputError&) {
      } catch (const std::exception& error) {
        FAIL() << "trial " << trial << ": " << typeid(error).name() << ": " << error.what();
      }
    }
  }
}

TEST(PyValue, DictReplacesEqualKeysAndDescribesValues) {
  PyValue dict = PyValue::Dict();
  dict.MutableDict().Set(PyValue::Bytes("k"), PyValue::Int(1));
  dict.MutableDict().Set(PyValue::String("k"), PyValue::Int(2));  // py2 str and unicode keys
  dict.MutableDict().Set(PyValue::Int(1), PyValue::Float(0.5));
  dict.MutableDict().Set(PyValue::Bool(true), PyValue::Float(1.5));  // True == 1
  EXPECT_EQ(dict.AsDict().size(), 2u);
  EXPECT_EQ(dict.Find("k")->AsInt(), 2);
  EXPECT_EQ(dict.AsDict().items()[1].second.AsFloat(), 1.5);
  EXPECT_EQ(dict.Describe(), "dict");
  EXPECT_EQ(PyValue::Object("chumpy.ch", "Ch", {}).Describe(), "object chumpy.ch.Ch");
  const std::vector<double> v = {1, 2};
  EXPECT_EQ(PyValue::Array(NpyArray::FromData(v.data(), {2})).Describe(), "array <f8 (2,)");
  EXPECT_THROW(PyValue::Int(1).AsString(), CheckError);
}

}  // namespace
}  // namespace headtrack
