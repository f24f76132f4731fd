// libFuzzer target: the pickle VM (data/pickle/pickle.h) and the readers built on it, on arbitrary bytes:
// read_pickle_arrays_bytes, read_torch_bytes (legacy stream / zip; data/formats/weights_bytes.h),
// parse_verification_bin (insightface's .bin sets, data/formats/verification_bin.h), and the
// raw VM with a persistent-id callback that hands out small storages, so tensor views (offsets, shapes,
// strides) are materialised and checked. fk::Error is a correct rejection; a crash, leak, sanitizer report
// or timeout is a bug.
// Run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/pickle/: fixture pickles and hostile cases).
#include <cstdint>
#include <memory>
#include <string>

#include "data/formats/verification_bin.h"
#include "data/formats/weights_bytes.h"
#include "data/pickle/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fk::data::pickle;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    read_pickle_arrays_bytes(bytes, "fuzz.pkl");
  } catch (const fk::Error&) {
  }
  try {
    read_torch_bytes(bytes, "fuzz.pt");
  } catch (const fk::Error&) {
  }
  try {
    fk::data::parse_verification_bin(bytes, "fuzz.bin");
  } catch (const fk::Error&) {
  }
  try {
    Arena arena(100'000);
    Limits limits;
    limits.max_memo = 100'000;
    limits.max_stack = 100'000;
    Unpickler up(bytes, 0, "fuzz (raw VM)", arena, limits);
    // Any persistent id becomes a 16-element float32 storage: every view the pickle builds on it is
    // bounds-checked when flatten() materialises it.
    auto storage_bytes = std::make_shared<const std::string>(16 * 4, '\x3f');
    up.persistent_load = [&](Value*) {
      Value* s = arena.make(Kind::Storage, "fuzz");
      s->text = "0";
      s->integer = 16;
      s->bytes = storage_bytes;
      return s;
    };
    flatten(up.load(), "fuzz (raw VM)");
  } catch (const fk::Error&) {
  }
  return 0;
}
