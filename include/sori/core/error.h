// Error reporting in the TORCH_CHECK style: a message says what was expected and what was found,
// and names the file, line or field involved. Every user-facing failure is a sori::Error.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sori {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace sori

// SORI_CHECK(cond, "manifest ", path, ":", line, ": expected ..., found ", x);
#define SORI_CHECK(cond, ...)                                      \
  do {                                                             \
    if (!(cond)) throw ::sori::Error(::sori::detail::concat(__VA_ARGS__)); \
  } while (0)

#define SORI_FAIL(...) throw ::sori::Error(::sori::detail::concat(__VA_ARGS__))
