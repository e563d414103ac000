// The C API's planning and execution entry points (runtime/include/lowbit.h): batch, arena size, prepare, run.
// Hosts size the arena at init with a temporary buffer (the only allocation, freed before init returns) and warm
// qlayer's backend choice there, so nothing allocates after init; firmware builds allocate nothing at all and
// leave the arena size to the exporter's <NAME>_ARENA_BYTES (prepare checks it exactly).
#include <cstring>
#if !defined(LOWBIT_FIRMWARE)
#include <cstdlib>
#endif

#include "kernels/omp.h"
#include "runtime/c_api_internal.h"
#include "runtime/executor.h"
#include "runtime/include/lowbit.h"
#include "runtime/loader.h"
#include "runtime/plan.h"

using namespace lowbit::runtime;

namespace lowbit::runtime {

bool model_view(const lowbit_model* m, ModelView* v) {
  if (!m || !m->blob || m->blob_len < kLbmHeaderBytes) return false;
  v->base = m->blob;
  v->len = m->blob_len;
  std::memcpy(&v->h, m->blob, sizeof v->h);
  return true;
}

// Sets model->arena_bytes for model->max_batch (hosts), warming qlayer's backend choice for every layer.
lowbit_status size_arena(lowbit_model* model) {
  ModelView v;
  if (!model_view(model, &v)) return LOWBIT_ERR_NULL;
#if defined(LOWBIT_FIRMWARE)
  model->arena_bytes = 0;  // unknown here: the exported header's <NAME>_ARENA_BYTES, checked by prepare
  return LOWBIT_OK;
#else
  for (uint32_t i = 0; i < v.h.op_count; ++i) {
    const LbmOp op = v.op(i);
    if (op.kind != uint16_t(LbmOpKind::conv2d) && op.kind != uint16_t(LbmOpKind::linear)) continue;
    LayerCall c;
    layer_call(v, op, 1, &c);
    if (c.integer) kernels::qlayer_choose_backend(c.desc.wfmt, c.desc.wbits, c.desc.afmt, c.desc.abits);
  }
  const uint64_t need = plan_scratch_bytes(v, model->max_batch);
  void* scratch = std::aligned_alloc(64, (need + 63) / 64 * 64);
  if (!scratch)
    return report(LOWBIT_ERR_ARENA, model->message, sizeof model->message, "lbm: %llu bytes to size the arena: out "
                  "of memory", static_cast<unsigned long long>(need));
  uint64_t total = 0;
  const lowbit_status st = plan_size(v, model->max_batch, static_cast<uint8_t*>(scratch), need, &total,
                                     model->message, sizeof model->message);
  std::free(scratch);
  if (st == LOWBIT_OK) model->arena_bytes = total;
  return st;
#endif
}

}  // namespace lowbit::runtime

namespace {

lowbit_status check_arena(const lowbit_model* model, const lowbit_arena* arena) {
  if (!arena || !arena->data) return LOWBIT_ERR_NULL;
  if (reinterpret_cast<uintptr_t>(arena->data) % 64 != 0) return LOWBIT_ERR_ALIGNMENT;
  if (model->arena_bytes != 0 && arena->bytes < model->arena_bytes) return LOWBIT_ERR_ARENA;
  return LOWBIT_OK;
}

int run_threads(const lowbit_model* model) {
#if defined(LOWBIT_FIRMWARE)
  (void)model;
  return 1;
#else
  return model->threads > 0 ? model->threads : lowbit::kernels::default_threads();
#endif
}

}  // namespace

extern "C" {

lowbit_status lowbit_model_set_batch(lowbit_model* model, uint32_t max_batch) {
  ModelView v;
  if (!model_view(model, &v)) return LOWBIT_ERR_NULL;
  if (max_batch < 1 || max_batch > 65536) return LOWBIT_ERR_RANGE;
  const uint32_t old = model->max_batch;
  model->max_batch = max_batch;
  const lowbit_status st = size_arena(model);
  if (st != LOWBIT_OK) model->max_batch = old;
  return st;
}

uint64_t lowbit_arena_size(const lowbit_model* model) { return model ? model->arena_bytes : 0; }

lowbit_status lowbit_prepare(const lowbit_model* model, const lowbit_arena* arena) {
  ModelView v;
  if (!model_view(model, &v)) return LOWBIT_ERR_NULL;
  const lowbit_status st = check_arena(model, arena);
  if (st != LOWBIT_OK) return st;
  return plan_prepare(v, model->crc, model->max_batch, static_cast<uint8_t*>(arena->data), arena->bytes, nullptr, 0);
}

lowbit_status lowbit_run(const lowbit_model* model, const lowbit_arena* arena, const lowbit_input* input,
                         lowbit_output* output) {
  ModelView v;
  if (!model_view(model, &v) || !input || !output || !input->data || !output->data) return LOWBIT_ERR_NULL;
  lowbit_status st = check_arena(model, arena);
  if (st != LOWBIT_OK) return st;
  if (input->n < 1 || uint32_t(input->n) > model->max_batch || input->c != model->in_c || input->h != model->in_h ||
      input->w != model->in_w)
    return LOWBIT_ERR_SHAPE;
  if (output->capacity < size_t(input->n) * size_t(model->classes)) return LOWBIT_ERR_SHAPE;
  uint8_t* a = static_cast<uint8_t*>(arena->data);
  st = plan_prepare(v, model->crc, model->max_batch, a, arena->bytes, nullptr, 0);
  if (st != LOWBIT_OK) return st;
  st = execute(v, a, input->n, input->data, output->data, run_threads(model), nullptr, 0);
  if (st != LOWBIT_OK) return st;
  output->n = input->n;
  output->classes = model->classes;
  return LOWBIT_OK;
}

}  // extern "C"
