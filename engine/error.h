// Host-side errors. Everything above kernels/ and runtime/ reports bad input by throwing lowbit::Error with a
// message that names the file, flag or shape and what is wrong; the CLI prints it and exits non-zero.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace lowbit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_error(std::string msg);
[[noreturn]] void throw_internal(const char* file, int line, const char* cond, std::string msg);
}  // namespace detail

}  // namespace lowbit

// User-facing check: LOWBIT_CHECK(shape == other, "conv2d: input has {} channels, weight expects {}", a, b);
#define LOWBIT_CHECK(cond, ...)                                          \
  do {                                                                   \
    if (!(cond)) ::lowbit::detail::throw_error(::fmt::format(__VA_ARGS__)); \
  } while (0)
// Internal invariant: a failure is a lowbit bug; the message carries the source location.
#define LOWBIT_ASSERT(cond, ...)                                                                   \
  do {                                                                                             \
    if (!(cond)) ::lowbit::detail::throw_internal(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)
