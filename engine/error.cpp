#include "engine/error.h"

namespace lowbit::detail {
void throw_error(std::string msg) { throw Error(std::move(msg)); }
void throw_internal(const char* file, int line, const char* cond, std::string msg) {
  throw Error(fmt::format("internal error at {}:{}: ({}) {}", file, line, cond, msg));
}
}  // namespace lowbit::detail
