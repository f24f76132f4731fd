// The allowlist of globals a pickle may reference (unpickler.h: check_global). Exact "module.name"
// strings map to the native constructors of constructors.cpp (find_allowed, machine.h); nothing else can
// be called. Unknown capitalised classes (model code) are allowed only as inert records; functions,
// dotted and private names, and whole modules of gadgets (os, subprocess, builtins, ...) are refused.
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp.
#include <cctype>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "data/pickle/machine.h"

namespace fk::data::pickle {

static const std::unordered_map<std::string, AllowedGlobal>& allowlist() {
  static const std::unordered_map<std::string, AllowedGlobal> table = {
      {"collections.OrderedDict", {Builtin::OrderedDict, {}}},
      {"torch._utils._rebuild_tensor", {Builtin::RebuildTensor, {}}},
      {"torch._utils._rebuild_tensor_v2", {Builtin::RebuildTensorV2, {}}},
      {"torch._utils._rebuild_parameter", {Builtin::RebuildParameter, {}}},
      {"torch._utils._rebuild_parameter_with_state", {Builtin::RebuildParameter, {}}},
      {"torch.FloatStorage", {Builtin::StorageType, ElemType::F32}},
      {"torch.DoubleStorage", {Builtin::StorageType, ElemType::F64}},
      {"torch.HalfStorage", {Builtin::StorageType, ElemType::F16}},
      {"torch.BFloat16Storage", {Builtin::StorageType, ElemType::BF16}},
      {"torch.LongStorage", {Builtin::StorageType, ElemType::I64}},
      {"torch.IntStorage", {Builtin::StorageType, ElemType::I32}},
      {"torch.ShortStorage", {Builtin::StorageType, ElemType::I16}},
      {"torch.CharStorage", {Builtin::StorageType, ElemType::I8}},
      {"torch.ByteStorage", {Builtin::StorageType, ElemType::U8}},
      {"torch.BoolStorage", {Builtin::StorageType, ElemType::Bool}},
      {"numpy.core.multiarray._reconstruct", {Builtin::NpReconstruct, {}}},
      {"numpy._core.multiarray._reconstruct", {Builtin::NpReconstruct, {}}},
      {"numpy.ndarray", {Builtin::NpNdarray, {}}},
      {"numpy.dtype", {Builtin::NpDtype, {}}},
      {"numpy.core.multiarray.scalar", {Builtin::NpScalar, {}}},
      {"numpy._core.multiarray.scalar", {Builtin::NpScalar, {}}},
      {"_codecs.encode", {Builtin::CodecsEncode, {}}},
      {"builtins.set", {Builtin::Set, {}}},
      {"__builtin__.set", {Builtin::Set, {}}},
      {"builtins.frozenset", {Builtin::FrozenSet, {}}},
      {"__builtin__.frozenset", {Builtin::FrozenSet, {}}},
      {"builtins.bytearray", {Builtin::Bytearray, {}}},
      {"__builtin__.bytearray", {Builtin::Bytearray, {}}},
      {"builtins.object", {Builtin::ObjectBase, {}}},
      {"__builtin__.object", {Builtin::ObjectBase, {}}},
      {"copyreg._reconstructor", {Builtin::Reconstructor, {}}},
      {"copy_reg._reconstructor", {Builtin::Reconstructor, {}}},
      {"torch.Size", {Builtin::TorchSize, {}}},
      {"torch.device", {Builtin::TorchDevice, {}}},
      {"torch.nn.parameter.Parameter", {Builtin::Parameter, {}}},
      // dtype objects stored as module attributes in whole-model pickles: inert values, never called
      {"torch.float32", {Builtin::TorchDtype, {}}}, {"torch.float64", {Builtin::TorchDtype, {}}},
      {"torch.float16", {Builtin::TorchDtype, {}}}, {"torch.bfloat16", {Builtin::TorchDtype, {}}},
      {"torch.int64", {Builtin::TorchDtype, {}}},   {"torch.int32", {Builtin::TorchDtype, {}}},
      {"torch.uint8", {Builtin::TorchDtype, {}}},   {"torch.bool", {Builtin::TorchDtype, {}}},
  };
  return table;
}

const AllowedGlobal* find_allowed(const Value* g) {
  auto& t = allowlist();
  auto it = t.find(g->text + "." + g->name);
  return it == t.end() ? nullptr : &it->second;
}

static bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_')) return false;
  return true;
}

void check_global(const std::string& module, const std::string& name, const std::string& what) {
  std::string full = module + "." + name;
  if (allowlist().count(full)) return;
  auto refuse = [&](const char* why) {
    throw Error(detail::concat(what, ": global ", full, " is not allowed (", why,
                               "); facekit's pickle reader executes nothing and builds only allowlisted types"));
  };
  // Modules whose capitalised names are gadgets too (subprocess.Popen, ctypes.CDLL, ...): refused whole.
  static const std::unordered_set<std::string> blocked = {
      "os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "importlib", "imp", "marshal",
      "pickle", "_pickle", "cPickle", "pickletools", "copyreg", "copy_reg", "pkgutil", "runpy", "shutil",
      "socket", "ctypes", "code", "codeop", "pty", "commands", "types", "functools", "operator", "io", "_io",
      "tempfile", "webbrowser", "numpy", "_codecs", "codecs", "timeit", "cProfile", "profile", "pdb", "bdb",
      "trace", "platform", "multiprocessing", "asyncio", "threading", "_thread", "thread", "urllib",
      "urllib2", "http", "requests", "ssl", "signal", "gc", "inspect", "ast", "dill", "joblib", "yaml",
      "glob", "pathlib", "zipimport", "site", "sysconfig", "distutils", "setuptools", "venv", "ensurepip",
      "atexit", "resource", "posixpath", "ntpath", "select", "selectors", "fcntl", "mmap", "telnetlib",
      "ftplib", "smtplib", "xmlrpc", "logging", "contextlib", "weakref", "abc", "collections", "torch._C",
      "torch.hub", "torch.jit", "torch.ops", "torch.serialization", "torch._utils", "torch.utils", "_operator",
      "_functools", "_posixsubprocess", "_winapi", "msvcrt", "winreg", "zipfile", "tarfile", "sqlite3", "dbm",
      "shelve", "sched", "concurrent", "queue", "string", "re", "random", "email", "xml"};
  if (name.find('.') != std::string::npos) refuse("dotted name");
  size_t start = 0;
  std::string prefix;
  while (true) {
    size_t dot = module.find('.', start);
    std::string part = module.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_identifier(part)) refuse("malformed module name");
    prefix += (prefix.empty() ? "" : ".") + part;
    if (blocked.count(prefix) || blocked.count(part)) refuse("blocked module");
    if (part[0] == '_' && part != "__main__") refuse("private module");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!is_identifier(name)) refuse("malformed name");
  if (name[0] == '_') refuse("private or dunder name");
  if (!std::isupper(static_cast<unsigned char>(name[0])))
    refuse("not an allowlisted function; only capitalised class names become inert records");
}

}  // namespace fk::data::pickle
