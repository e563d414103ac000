// The executor: runs a validated model's ops in order on a prepared arena (runtime/plan.h). Allocates nothing; the
// model input and output are the caller's buffers, every other activation and every workspace is in the arena.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/include/lowbit.h"
#include "runtime/model_view.h"

namespace lowbit::runtime {

// n ≤ the batch the arena was prepared for; input [n][C][H][W] f32, output [n][classes] f32.
lowbit_status execute(const ModelView& v, uint8_t* arena, int64_t n, const float* input, float* output, int threads,
                      char* msg, size_t msg_bytes);

}  // namespace lowbit::runtime
