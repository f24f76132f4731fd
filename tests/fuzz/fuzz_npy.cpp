// libFuzzer target: parse_npy on arbitrary bytes; what parses must survive encode_npy -> parse_npy with
// the same dtype, shape and bytes. fk::Error is a correct rejection; anything else is a bug.
// Run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/npy/).
#include <cstdint>
#include <cstring>
#include <string>

#include "data/formats/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fk::Tensor t;
  try {
    t = fk::data::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  } catch (const fk::Error&) {
    return 0;
  }
  fk::Tensor back = fk::data::parse_npy(fk::data::encode_npy(t), "fuzz.npy (re-encoded)");
  size_t nbytes = size_t(t.numel()) * fk::dtype_size(t.dtype());
  if (back.dtype() != t.dtype() || back.shape() != t.shape() ||
      (nbytes > 0 && std::memcmp(back.raw_data(), t.raw_data(), nbytes) != 0))
    __builtin_trap();
  return 0;
}
