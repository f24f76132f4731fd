// fk::Error and FK_CHECK: every user-facing failure in facekit is an exception carrying one line a
// user can act on (what, where, why). Library code throws, never exits or aborts; the `facekit`
// command catches at the top and prints `facekit: <message>`.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace fk {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}
}  // namespace detail

}  // namespace fk

// FK_CHECK(cond, "conv2d: ", "weight ", shape_str(w), " ...") throws fk::Error with the parts joined.
#define FK_CHECK(cond, ...)                                          \
  do {                                                               \
    if (!(cond)) throw ::fk::Error(::fk::detail::concat(__VA_ARGS__)); \
  } while (0)
