#include "kernels/packing.h"

namespace lowbit::kernels {
const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::null_pointer: return "null pointer";
    case Status::bad_size: return "bad size or stride";
    case Status::out_of_range: return "value out of range for the packed format";
    case Status::unsupported: return "unsupported combination of formats, backend or layout";
  }
  return "unknown status";
}
}  // namespace lowbit::kernels
