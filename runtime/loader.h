// The .lbm loader: validates a blob completely before anything else reads it. Freestanding (no heap, no
// exceptions): a status code and a one-line message naming the field.
//
// After LOWBIT_OK the rest of the runtime may rely on:
//   - header: magic, major version 1, sizes; tables, string pool and every blob inside [0, file_bytes − 4);
//     the CRC-32 matches; tables 8-byte aligned; blobs 64-byte aligned in the file;
//   - tensors: known dtype/codes, rank 1…4, dims 1…2^24 (element counts overflow-checked, < 2^40), names
//     NUL-terminated in the pool; constants have exactly their canonical packed size and valid codes (weights
//     decode into their format's range); activations are f32, u8 (uint codes, integer zero point in range,
//     finite positive scale) or b1, with no blob;
//   - ops: known kind; inputs/outputs are valid ids of the dtype, rank and shape the kind requires; each
//     activation is written by exactly one op, before every op that reads it (the model input by none), and the
//     model output is written; attributes are in range (kernel, stride, padding, groups, epilogue, activation,
//     quantizer); epilogue tensors have the right dtype and shape [O] (thresholds [O, 2^bits − 1]);
//   - input: an f32 activation [C, H, W]; output: an f32 activation [classes]; mean/std both absent or both f32
//     constants [C] with finite values and non-zero std.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/include/lowbit.h"
#include "runtime/model_view.h"

namespace lowbit::runtime {

lowbit_status load_model(const uint8_t* blob, size_t len, ModelView* out, char* message, size_t message_bytes);

// Writes printf-style text into message (truncated to message_bytes) and returns s.
// The format check is on for hosts only: on 32-bit Arm uint32_t is `unsigned long`, and %u / %d print it
// correctly there (same size and representation) but GCC's check would warn at every call.
lowbit_status report(lowbit_status s, char* message, size_t message_bytes, const char* fmt, ...)
#if defined(__GNUC__) && !defined(LOWBIT_FIRMWARE)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

}  // namespace lowbit::runtime
