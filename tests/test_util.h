// Shared test helpers: closeness checks whose failure names the op, shapes, first bad index and max
// error; fixture loading; gradcheck assertions.
#pragma once

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "data/formats/files.h"
#include "data/formats/npy.h"
#include "tensor/random.h"
#include "cuda/runtime.h"

namespace fk::test {

// ---- skipping a case whose data (../shared/data) or build (the sanitizers) it needs is absent
//
// FK_SKIP("reason" << detail) ends the current case as *skipped*, saying why. ctest runs each case in
// a process of its own (`fk_tests --test-case=<name>`, tests/CMakeLists.txt): there the process exits
// with 77, which the discovered tests declare as SKIP_RETURN_CODE, so ctest reports the case as
// skipped, never as passed. Where one process runs several cases (fk_tests by hand), the case
// returns, and main.cpp lists every skipped case and its reason after doctest's summary.
inline constexpr int kSkipExitCode = 77;  // tests/CMakeLists.txt: SKIP_RETURN_CODE 77
inline bool& single_case_run() {  // set by main.cpp: exactly one case selected by its full name
  static bool single = false;
  return single;
}
inline std::vector<std::string>& skipped_cases() {
  static std::vector<std::string> cases;
  return cases;
}
inline void skip_case(const std::string& reason) {
  const doctest::ContextOptions* options = doctest::getContextOptions();
  const doctest::TestCaseData* tc = options ? options->currentTest : nullptr;
  const std::string name = tc ? tc->m_name : "?";
  std::printf("SKIPPED: %s: %s\n", name.c_str(), reason.c_str());
  std::fflush(stdout);
  if (single_case_run()) std::_Exit(kSkipExitCode);
  skipped_cases().push_back(name + ": " + reason);
}
#define FK_SKIP(reason_stream)                      \
  do {                                              \
    std::ostringstream fk_skip_reason_;             \
    fk_skip_reason_ << reason_stream;               \
    ::fk::test::skip_case(fk_skip_reason_.str());   \
    return;                                         \
  } while (0)

// "" when |a - b| <= atol + rtol*|b| everywhere (and shapes match), else a one-line report.
inline std::string compare(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape())
    return "shape " + shape_str(a.shape()) + " vs expected " + shape_str(b.shape());
  auto va = a.to_vector<double>();
  auto vb = b.to_vector<double>();
  double max_err = 0;
  int64_t first = -1;
  for (size_t i = 0; i < va.size(); ++i) {
    double err = std::abs(va[i] - vb[i]);
    bool ok = err <= atol + rtol * std::abs(vb[i]) || (std::isnan(va[i]) && std::isnan(vb[i])) ||
              (std::isinf(va[i]) && va[i] == vb[i]);
    if (!ok && first < 0) first = int64_t(i);
    if (!ok && !(err <= max_err)) max_err = err;
  }
  if (first < 0) return "";
  std::ostringstream os;
  os << "max |diff| " << max_err << ", first at flat index " << first << " (got " << va[size_t(first)]
     << ", expected " << vb[size_t(first)] << ")";
  return os.str();
}

// The same float64 arithmetic compiled in two places can differ in its last bits: x + a * y may
// become one fused multiply-add (nvcc fuses it; GCC does at -O2 with -march=native, not at -O0 as in
// the sanitizer build's test code). Checks of such math (add_ with alpha, the optimiser updates) use
// this as atol and rtol instead of 0; an indexing error is off by far more.
inline constexpr double kFmaTol = 1e-13;

// The same allowance for one value of either float type, in units in the last place: a kernel's value
// `a` against the scalar formula's `b`. GCC picks which products to fuse per loop, differently in a
// vectorised kernel and in a test's scalar loop, and differently on another CPU (CI's failed the
// optimiser-update tests bit for bit). 64 units in the last place of the larger magnitude (at least 1)
// allow for that and for the cancellation after it, still far below a skipped or doubled element.
template <class T>
bool same_but_rounding(T a, T b) {
  const T scale = std::max({T(1), std::abs(a), std::abs(b)});
  return std::abs(a - b) <= 64 * std::numeric_limits<T>::epsilon() * scale;
}

// CHECK_CLOSE(actual, expected, atol, rtol, "max_pool2d(x=[2,3,7,7], k=3)")
#define CHECK_CLOSE(actual, expected, atol, rtol, label)                              \
  do {                                                                                \
    std::string fk_msg_ = ::fk::test::compare((actual), (expected), (atol), (rtol));  \
    CHECK_MESSAGE(fk_msg_.empty(), (label) << ": " << fk_msg_);                       \
  } while (0)

// The fixtures folder: the build's source tree, or $FK_FIXTURE_DIR when the tests run elsewhere
// (the CUDA tests are copied to a GPU machine whose checkout lives at another path).
inline std::string fixture_path(const std::string& rel) {
  const char* moved = std::getenv("FK_FIXTURE_DIR");
  return std::string(moved && *moved ? moved : FK_FIXTURE_DIR) + "/" + rel;
}
inline Tensor fixture(const std::string& rel) { return data::read_npy(fixture_path(rel)); }

// CHECK_GRADCHECK(f, {x, w}) with STYLE.md's tolerances (eps 1e-6, atol 1e-5, rtol 1e-3)
#define CHECK_GRADCHECK(f, ...)                                                  \
  do {                                                                           \
    auto fk_r_ = ::fk::autograd::gradcheck((f), __VA_ARGS__);                    \
    CHECK_MESSAGE(fk_r_.ok, fk_r_.message);                                      \
  } while (0)

// What a command gave: its exit code and its output.
struct CliRun {
  int code;
  std::string out;
};
// The `facekit` binary: the build's, or $FK_CLI_PATH when it was copied elsewhere (see fixture_path).
inline std::string cli_path() {
  const char* moved = std::getenv("FK_CLI_PATH");
  return moved && *moved ? moved : FK_CLI_PATH;
}
// A shell command line run as given (its own redirections): its exit code and stdout.
inline CliRun run_shell(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
// The `facekit` command run with `args` (a shell word list): its exit code and stdout+stderr.
inline CliRun run_cli(const std::string& args) { return run_shell(cli_path() + " " + args + " 2>&1"); }

// A fresh, empty folder <tmp>/facekit_test_<name>_<pid> for one case's files (the pid: ctest runs
// cases side by side, and a case's name may repeat in another build's run).
inline std::filesystem::path scratch(const std::string& name) {
  std::filesystem::path d =
      std::filesystem::temp_directory_path() / ("facekit_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// The Python of the readers' venv (~/.cache/facekit/readers, made by scripts/install-deps.sh: packages
// from the Python package index whose readers check facekit's files), or "" when it is absent.
inline std::string readers_python() {
  const char* home = std::getenv("HOME");
  const std::filesystem::path p = std::filesystem::path(home ? home : "") / ".cache" / "facekit" / "readers" / "bin" / "python";
  return home && std::filesystem::exists(p) ? p.string() : "";
}

// Whether `s` contains `part` (the commands' output in the CLI tests).
inline bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A float64 leaf with requires_grad, drawn from randn (the caller seeds).
inline Tensor leaf(const Shape& shape) { return randn(shape, DType::Float64).requires_grad_(); }

}  // namespace fk::test
