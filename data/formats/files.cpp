// Whole files in and out (files.h). One reader for every caller: the image reader's cap (a missing
// path, a directory, a declared size or a stream over the cap refused with the words the caller gives)
// and the plain read that every weight and array reader uses. Writes go through <path>.tmp.<pid> and a
// rename; remove_stale_temporaries finds the ones whose writer died.
// Tests: tests/data/formats/test_npz.cpp, tests/data/image/test_image.cpp, tests/apps/test_train.cpp.
#include "data/formats/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <unistd.h>

#include "tensor/tensor.h"

namespace fk::data {

namespace fs = std::filesystem;

std::string read_file(const std::string& path, const std::optional<ReadCap>& cap) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (cap) {  // refused before anything is read
    FK_CHECK(!ec && fs::exists(st), path, ": cannot open: ", ec ? ec.message() : std::string("no such file"));
    FK_CHECK(!fs::is_directory(st), path, ": is a directory, not ", cap->expected);
  }
  // a regular file is read into one buffer of its size (a stringstream grows by doubling and then
  // copies: three times the file in memory at once, ~520 MB at the peak for a 175 MB checkpoint);
  // what is not a regular file (a pipe) or grew meanwhile is read on in chunks
  uintmax_t size = 0;
  if (!ec && fs::is_regular_file(st)) {
    size = fs::file_size(path, ec);
    if (ec) size = 0;
  }
  if (cap)
    FK_CHECK(size <= uintmax_t(cap->max_bytes), path, ": file is ", size, " bytes, over the ", cap->max_bytes,
             "-byte limit for ", cap->limit_for);
  std::ifstream in(path, std::ios::binary);
  FK_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  std::string bytes;
  if (size > 0) {
    bytes.resize(size_t(size));
    in.read(bytes.data(), std::streamsize(size));
    bytes.resize(size_t(in.gcount()));
  }
  // in chunks, so that a pipe or a file that grew since the size was taken still stops at the cap
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    bytes.append(chunk, size_t(in.gcount()));
    if (cap)
      FK_CHECK(int64_t(bytes.size()) <= cap->max_bytes, path, ": file is over the ", cap->max_bytes, "-byte limit for ",
               cap->limit_for);
  }
  FK_CHECK(!in.bad(), path, ": read error");
  return bytes;
}

static const char kTempInfix[] = ".tmp.";  // write_file_atomic's temporary: <path>.tmp.<pid>

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + kTempInfix + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  FK_CHECK(f != nullptr, path, ": cannot write: ", std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool ok = written == bytes.size() && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": write failed (", std::strerror(err ? err : EIO), "); the old file, if any, is kept"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": cannot replace: ", std::strerror(err)));
  }
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(kTempInfix);
    if (at == std::string::npos) continue;
    const std::string pid = name.substr(at + sizeof kTempInfix - 1);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(pid_t(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;  // that process is still there
    std::error_code rm_ec;
    if (fs::remove(e.path(), rm_ec)) removed.push_back(e.path().string());
  }
  return removed;
}

}  // namespace fk::data
