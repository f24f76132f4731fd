// libFuzzer target: ZipReader on arbitrary bytes, then every entry read (inflate capped, CRC checked) and
// .npy members parsed as read_npz does. Any fk::Error is a correct rejection; a crash, sanitizer report,
// timeout or a read whose size differs from the central directory's is a bug.
// Run: scripts/fuzz.sh (seeds in tests/fuzz/corpus/zip/).
#include <cstdint>
#include <string>

#include "data/formats/npy.h"
#include "data/formats/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    fk::data::ZipReader zip(std::string(reinterpret_cast<const char*>(data), size), "fuzz.zip");
    for (const fk::data::ZipEntry& e : zip.entries()) {
      try {
        std::string bytes = zip.read(e.name);
        if (bytes.size() != e.size) __builtin_trap();
        if (e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".npy") == 0)
          (void)fk::data::parse_npy(bytes, e.name);
      } catch (const fk::Error&) {
      }
    }
  } catch (const fk::Error&) {
  }
  return 0;
}
