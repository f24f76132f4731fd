// write_torch: a PyTorch zip checkpoint, byte for byte the data.pkl that PyTorch 1.13's
// `torch.save(OrderedDict(...), "<prefix>.pt")` pickles (weights-formats.md §3, §8):
//   <prefix>/data.pkl   protocol 2: OrderedDict() then MARK (key, _rebuild_tensor_v2(
//                       persistent_id('storage', torch.XStorage, '<n>', 'cpu', numel), offset, size,
//                       stride, False, OrderedDict())) ... SETITEMS, with Python's memo (BINPUT/BINGET)
//   <prefix>/data/<n>   raw little-endian bytes of storage n (tensors sharing a Storage share it)
//   <prefix>/version    "3\n"
// The zip itself is ours (stored, CRC-32 and sizes in both headers, data 64-byte aligned). Tests:
// tests/data/formats/test_torch_writer.cpp (byte-exact against a fixture verified with torch.load, see
// tests/fixtures/make_writer_roundtrip.py).
#include <algorithm>
#include <cstring>
#include <map>

#include "data/formats/files.h"
#include "data/formats/weights.h"
#include "data/formats/zip.h"

namespace fk::data {

namespace {

// The pickle opcodes used (Python's Lib/pickle.py names).
constexpr char PROTO = '\x80', GLOBAL = 'c', BINPUT = 'q', LONG_BINPUT = 'r', BINGET = 'h', LONG_BINGET = 'j';
constexpr char EMPTY_TUPLE = ')', TUPLE = 't', TUPLE1 = '\x85', TUPLE2 = '\x86', TUPLE3 = '\x87', MARK = '(';
constexpr char REDUCE = 'R', BINUNICODE = 'X', BININT = 'J', BININT1 = 'K', BININT2 = 'M', LONG1 = '\x8a';
constexpr char NEWFALSE = '\x89', BINPERSID = 'Q', SETITEM = 's', SETITEMS = 'u', STOP = '.';
constexpr char EMPTY_DICT = '}', BINFLOAT = 'G';
constexpr size_t kBatch = 1000;  // pickle.Pickler._BATCHSIZE: SETITEMS batches

// A protocol-2 pickler that reproduces CPython's choices: the memo numbers every object on first save
// (BINPUT, LONG_BINPUT from 256), a second save of the same object is a BINGET; integers take the
// smallest opcode; tuples of up to 3 items use TUPLE1..3.
class Pickler {
 public:
  std::string out;

  void put_u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out += char((v >> (8 * i)) & 0xff);
  }
  // Memoizes the object just written under `id` (an identity key, as id(obj) is in Python).
  void memoize(const std::string& id) {
    uint32_t index = uint32_t(memo_.size());
    memo_[id] = index;
    if (index < 256) {
      out += BINPUT;
      out += char(index);
    } else {
      out += LONG_BINPUT;
      put_u32(index);
    }
  }
  // Writes a BINGET and returns true when `id` was already saved.
  bool get(const std::string& id) {
    auto it = memo_.find(id);
    if (it == memo_.end()) return false;
    if (it->second < 256) {
      out += BINGET;
      out += char(it->second);
    } else {
      out += LONG_BINGET;
      put_u32(it->second);
    }
    return true;
  }
  void global(const std::string& module, const std::string& name) {
    if (get("global:" + module + "." + name)) return;
    out += GLOBAL;
    out += module + "\n" + name + "\n";
    memoize("global:" + module + "." + name);
  }
  void str(const std::string& s, const std::string& id) {
    if (get(id)) return;
    out += BINUNICODE;
    put_u32(uint32_t(s.size()));
    out += s;
    memoize(id);
  }
  // pickle.Pickler.save_long: BININT1/BININT2/BININT when they fit, else LONG1 with the minimal
  // little-endian two's-complement bytes.
  void integer(int64_t v) {
    if (v >= 0 && v <= 0xff) {
      out += BININT1;
      out += char(v);
    } else if (v >= 0 && v <= 0xffff) {
      out += BININT2;
      out += char(v & 0xff);
      out += char(v >> 8);
    } else if (v >= -0x80000000LL && v <= 0x7fffffffLL) {
      out += BININT;
      put_u32(uint32_t(int32_t(v)));
    } else {
      std::string bytes;
      uint64_t u = uint64_t(v);
      for (int i = 0; i < 8; ++i) bytes += char((u >> (8 * i)) & 0xff);
      // Drop redundant sign bytes (0x00 above a clear sign bit, 0xff above a set one).
      while (bytes.size() > 1) {
        uint8_t top = uint8_t(bytes.back()), next = uint8_t(bytes[bytes.size() - 2]);
        if ((top == 0x00 && !(next & 0x80)) || (top == 0xff && (next & 0x80))) bytes.pop_back();
        else break;
      }
      out += LONG1;
      out += char(bytes.size());
      out += bytes;
    }
  }
  // A tuple of ints (sizes, strides); `id` memoizes it like a fresh Python tuple.
  void int_tuple(const Shape& values, const std::string& id) {
    if (values.empty()) {
      out += EMPTY_TUPLE;  // the empty tuple is a singleton: never memoized
      return;
    }
    if (values.size() > 3) out += MARK;
    for (int64_t v : values) integer(v);
    const char small[] = {0, TUPLE1, TUPLE2, TUPLE3};
    out += values.size() <= 3 ? small[values.size()] : TUPLE;
    memoize(id);
  }

 private:
  std::map<std::string, uint32_t> memo_;
};

const char* storage_class(DType t) {
  switch (t) {
    case DType::Float32: return "FloatStorage";
    case DType::Float64: return "DoubleStorage";
    case DType::Float16: return "HalfStorage";
    case DType::BFloat16: return "BFloat16Storage";
    case DType::Int64: return "LongStorage";
    case DType::UInt8: return "ByteStorage";
    case DType::Bool: return "BoolStorage";
  }
  return "?";
}

// The archive folder PyTorch would use: the file's base name without its extension.
std::string archive_prefix(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base.resize(dot);
  bool ok = !base.empty() && base != "." && base != "..";
  for (char c : base) ok = ok && c != '\\' && c != '\0';
  return ok ? base : "archive";
}


// Pickles OrderedDicts of tensors and collects the storages they use; finish() writes the archive.
class TorchFileWriter {
 public:
  Pickler p;

  TorchFileWriter() {
    p.out += PROTO;
    p.out += '\x02';
  }

  // collections.OrderedDict of `sd`'s tensors. `memo` makes the memo identities of this dict's
  // objects unique when a file holds several (empty for a lone state dict, as write_torch writes).
  void state_dict(const StateDict& sd, const std::string& memo, const std::string& path) {
    p.global("collections", "OrderedDict");
    p.out += EMPTY_TUPLE;
    p.out += REDUCE;
    p.memoize(memo + "state_dict");
    const auto& items = sd.items();
    for (size_t batch = 0; batch < items.size(); batch += kBatch) {
      size_t batch_end = std::min(items.size(), batch + kBatch);
      bool many = batch_end - batch > 1;
      if (many) p.out += MARK;
      for (size_t i = batch; i < batch_end; ++i) tensor_item(items[i].first, items[i].second, memo + std::to_string(i) + ":", path);
      if (batch_end > batch) p.out += many ? SETITEMS : SETITEM;
    }
  }

  void finish(const std::string& path) {
    p.out += STOP;
    const std::string prefix = archive_prefix(path);
    ZipWriter zip;
    zip.add(prefix + "/data.pkl", p.out);
    // PyTorch writes the storage records sorted by key as strings ("0", "1", "10", "11", ..., "2").
    std::vector<std::string> keys;
    for (size_t k = 0; k < storages_.size(); ++k) keys.push_back(std::to_string(k));
    std::sort(keys.begin(), keys.end());
    for (const std::string& k : keys) {
      const StorageRecord& s = storages_[std::stoul(k)];
      size_t nbytes = size_t(s.numel) * dtype_size(s.dtype);
      std::string bytes(nbytes, '\0');
      if (nbytes > 0) std::memcpy(bytes.data(), s.storage->data(), nbytes);
      zip.add(prefix + "/data/" + k, bytes);
    }
    zip.add(prefix + "/version", "3\n");
    write_file_atomic(path, zip.finish());
  }

 private:
  // Storages in first-use order. A CPU tensor writes its whole Storage (so views and tied weights
  // share one record, as in PyTorch); a device tensor is copied to a contiguous CPU tensor first.
  struct StorageRecord {
    std::shared_ptr<Storage> storage;
    DType dtype;
    int64_t numel;
  };
  std::vector<StorageRecord> storages_;
  std::map<const Storage*, size_t> storage_index_;

  // One `name: tensor` item: the key string, then _rebuild_tensor_v2(persistent storage id, offset,
  // size, stride, requires_grad=False, OrderedDict()).
  void tensor_item(const std::string& name, Tensor t, const std::string& tag, const std::string& path) {
    FK_CHECK(t.defined(), "write_torch: ", path, ": tensor '", name, "' is undefined");
    if (!t.device().is_cpu()) t = t.to(Device::cpu()).contiguous();
    size_t elem = dtype_size(t.dtype());
    if (t.storage()->nbytes() % elem != 0) t = t.clone();
    for (int64_t s : t.strides()) FK_CHECK(s >= 0, "write_torch: ", path, ": tensor '", name, "' has a negative stride");
    auto found = storage_index_.find(t.storage().get());
    if (found != storage_index_.end() && storages_[found->second].dtype != t.dtype()) {
      t = t.clone();  // one Storage seen as two dtypes: give this tensor its own
      found = storage_index_.end();
    }
    size_t key;
    if (found == storage_index_.end()) {
      key = storages_.size();
      storage_index_[t.storage().get()] = key;
      storages_.push_back({t.storage(), t.dtype(), int64_t(t.storage()->nbytes() / elem)});
    } else {
      key = found->second;
    }
    p.str(name, tag + "name");
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.out += MARK;
    // The persistent id is a fresh tuple per tensor; its key string is shared by every tensor of
    // the same storage (BINGET), as are 'storage', 'cpu' and the storage class.
    p.out += MARK;
    p.str("storage", "const:storage");
    p.global("torch", storage_class(t.dtype()));
    p.str(std::to_string(key), "key:" + std::to_string(key));
    p.str("cpu", "const:cpu");
    p.integer(storages_[key].numel);
    p.out += TUPLE;
    p.memoize(tag + "pid");
    p.out += BINPERSID;
    p.integer(t.offset());
    p.int_tuple(t.shape(), tag + "size");
    p.int_tuple(t.strides(), tag + "stride");
    p.out += NEWFALSE;  // requires_grad
    p.global("collections", "OrderedDict");  // backward_hooks: OrderedDict()
    p.out += EMPTY_TUPLE;
    p.out += REDUCE;
    p.memoize(tag + "hooks");
    p.out += TUPLE;
    p.memoize(tag + "args");
    p.out += REDUCE;
    p.memoize(tag + "tensor");
  }
};

}  // namespace

void write_torch(const std::string& path, const StateDict& sd) {
  TorchFileWriter w;
  w.state_dict(sd, "", path);
  w.finish(path);
}

void write_torch_checkpoint(const std::string& path, const TorchCheckpoint& entries) {
  TorchFileWriter w;
  Pickler& p = w.p;
  p.out += EMPTY_DICT;
  p.memoize("checkpoint");
  if (entries.size() > 1) p.out += MARK;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    const std::string tag = "entry" + std::to_string(i) + ":";
    p.str(key, tag + "key");
    if (const auto* sd = std::get_if<StateDict>(&value)) {
      w.state_dict(*sd, tag, path);
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      p.integer(*n);
    } else if (const auto* x = std::get_if<double>(&value)) {
      p.out += BINFLOAT;  // 8 bytes, big-endian IEEE 754
      uint64_t bits;
      std::memcpy(&bits, x, 8);
      for (int b = 7; b >= 0; --b) p.out += char((bits >> (8 * b)) & 0xff);
    } else {
      p.str(std::get<std::string>(value), tag + "value");
    }
  }
  if (!entries.empty()) p.out += entries.size() > 1 ? SETITEMS : SETITEM;
  w.finish(path);
}

}  // namespace fk::data
