// The arena plan: where everything a run needs lives in the caller's one arena, and the weight repacking into it.
//
// Arena layout (each part 64-byte aligned):
//   ArenaHeader     the stamp saying for which model, arena address, batch and ISA the arena was prepared
//   OpSlot[ops]     per op: the packed qlayer (conv2d / linear), its workspace offset and size
//   act_off[tensors] arena offset of each activation (kNoOffset: constant, model input or output: the caller's)
//   packed weights  per integer layer, sized for the largest backend that could run it (so the layout, and the
//                   arena size, are the same on every target), filled for the backend this CPU uses
//   activations     one region shared by liveness: every activation and every op's workspace is a buffer with a
//                   lifetime [first op, last op]; buffers are placed first-fit in op order at the lowest offset
//                   that overlaps no buffer alive at the same time. Prepare decodes weight codes here (nothing is
//                   alive yet), so the region is at least the largest layer's decoded codes (int8; int16 for 8-bit
//                   uint codes).
// Sizing needs each layer's workspace, which qlayer reports for a packed layer: the planner packs every layer for
// every backend that supports it (hosts at init: into a temporary buffer; prepare: into the layer's own packed part
// of the arena, sized for the largest backend, with the dummy codes in the not yet used region) and keeps the
// largest figure. So the arena holds no second packed copy and no int16 codes beyond what 8-bit layers need.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/qlayer/qlayer.h"
#include "runtime/include/lowbit.h"
#include "runtime/model_view.h"

namespace lowbit::runtime {

inline constexpr uint64_t kNoOffset = ~uint64_t{0};
inline constexpr uint32_t kArenaMagic = 0x50414C4Cu;  // "LLAP"

struct ArenaHeader {
  uint32_t magic;
  uint32_t crc;          // the model's CRC-32
  uint64_t blob;         // address of the model blob
  uint64_t arena;        // address of the arena itself (the packed layers hold pointers into it)
  uint64_t bytes;        // bytes the plan uses
  uint32_t max_batch;
  uint32_t isa;          // kernels::active_isa() at prepare
  uint32_t op_count;
  uint32_t tensor_count;
  uint64_t slots_off, act_off_off, packed_off, region_off;
};
static_assert(sizeof(ArenaHeader) <= 128, "the arena header fits its 128 bytes");

// How a conv2d / linear op runs (all derived from the validated records).
struct LayerCall {
  bool integer = false;                // false: an fp32 layer (f32 input and weights)
  kernels::QLayerDesc desc;            // backend unset
  kernels::ConvGeom geom;              // N = the batch given
  kernels::QlInput in = kernels::QlInput::nhwc_u8;
  kernels::QlEpilogue out = kernels::QlEpilogue::f32;
  bool out_nhwc = false;
  bool unit_scale = false;             // thresholds epilogue: packed with wscale 1, run with sx 2 → f32 output = T
  uint64_t tbuf_bytes = 0;             // thresholds epilogue: the float T buffer (part of the workspace)
};
void layer_call(const ModelView& v, const LbmOp& op, uint32_t batch, LayerCall* out);

struct OpSlot {
  kernels::QLayerPacked packed;  // integer layers (pointers into the arena)
  uint64_t packed_off = 0, packed_bytes = 0;
  uint64_t ws_off = 0, ws_bytes = 0;  // workspace (qlayer's, then the T buffer)
  uint64_t qlayer_ws = 0;             // bytes of the workspace given to qlayer
};

// Sizes every part for max_batch images. scratch: memory for the sizing packs and the planner's tables
// (scratch_bytes_needed(v, max_batch) bytes, 64-byte aligned). On success *total is the arena size.
lowbit_status plan_size(const ModelView& v, uint32_t max_batch, uint8_t* scratch, uint64_t scratch_bytes,
                        uint64_t* total, char* msg, size_t msg_bytes);
uint64_t plan_scratch_bytes(const ModelView& v, uint32_t max_batch);

// Plans and packs into the arena (stamping its header). Idempotent for an arena already prepared for this model,
// address and batch (returns at once).
lowbit_status plan_prepare(const ModelView& v, uint32_t crc, uint32_t max_batch, uint8_t* arena, uint64_t arena_bytes,
                           char* msg, size_t msg_bytes);
bool plan_is_prepared(const ModelView& v, uint32_t crc, uint32_t max_batch, const uint8_t* arena);

// Weight codes of tensor t in OIHW order (rows · row_len values), decoded from the canonical packing.
void decode_weight_codes(const ModelView& v, const LbmTensor& t, int16_t* out);

}  // namespace lowbit::runtime
