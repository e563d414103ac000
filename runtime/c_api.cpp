// The C API of runtime/include/lowbit.h: model init and introspection, input normalisation, status strings.
// Planning and execution live in runtime/planner.h and runtime/executor.h.
#include <cstring>

#include "runtime/include/lowbit.h"
#include "runtime/c_api_internal.h"
#include "runtime/loader.h"

using namespace lowbit::runtime;

extern "C" {

const char* lowbit_status_string(lowbit_status s) {
  switch (s) {
    case LOWBIT_OK: return "ok";
    case LOWBIT_ERR_NULL: return "null pointer";
    case LOWBIT_ERR_TRUNCATED: return "truncated model";
    case LOWBIT_ERR_MAGIC: return "not a lowbit model";
    case LOWBIT_ERR_VERSION: return "unsupported format version";
    case LOWBIT_ERR_CRC: return "checksum mismatch";
    case LOWBIT_ERR_RANGE: return "field out of range";
    case LOWBIT_ERR_MALFORMED: return "malformed model";
    case LOWBIT_ERR_UNSUPPORTED: return "unsupported model";
    case LOWBIT_ERR_ALIGNMENT: return "misaligned buffer";
    case LOWBIT_ERR_SHAPE: return "shape mismatch";
    case LOWBIT_ERR_ARENA: return "arena too small";
    case LOWBIT_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

lowbit_status lowbit_model_init(const void* blob, size_t len, lowbit_model* model) {
  if (!model) return LOWBIT_ERR_NULL;
  std::memset(model, 0, sizeof *model);
  ModelView v;
  const lowbit_status st =
      load_model(static_cast<const uint8_t*>(blob), len, &v, model->message, sizeof model->message);
  if (st != LOWBIT_OK) return st;
  const LbmTensor in = v.tensor(v.h.input_tensor), out = v.tensor(v.h.output_tensor);
  model->blob = v.base;
  model->blob_len = len;
  model->tensor_count = v.h.tensor_count;
  model->op_count = v.h.op_count;
  model->input_tensor = v.h.input_tensor;
  model->output_tensor = v.h.output_tensor;
  model->in_c = static_cast<int32_t>(in.dims[0]);
  model->in_h = static_cast<int32_t>(in.dims[1]);
  model->in_w = static_cast<int32_t>(in.dims[2]);
  model->classes = static_cast<int32_t>(out.dims[0]);
  model->max_batch = 1;
  uint32_t crc = 0;
  for (int b = 0; b < 4; ++b) crc |= uint32_t(v.base[v.h.file_bytes - 4 + b]) << (8 * b);
  model->crc = crc;
  for (uint32_t i = 0; i < v.h.tensor_count; ++i) {
    const LbmTensor t = v.tensor(i);
    if (is_constant(t)) model->weight_bytes += t.size;
  }
  return size_arena(model);
}

lowbit_status lowbit_model_info(const lowbit_model* model, lowbit_info* info) {
  ModelView v;
  if (!info || !model_view(model, &v)) return LOWBIT_ERR_NULL;
  std::memset(info, 0, sizeof *info);
  info->name = v.str(v.h.name_offset);
  info->version_major = v.h.version_major;
  info->version_minor = v.h.version_minor;
  info->in_c = model->in_c, info->in_h = model->in_h, info->in_w = model->in_w, info->classes = model->classes;
  info->tensors = model->tensor_count, info->ops = model->op_count, info->max_batch = model->max_batch;
  info->file_bytes = v.h.file_bytes, info->weight_bytes = model->weight_bytes, info->arena_bytes = model->arena_bytes;
  if (v.h.mean_tensor != kLbmNoTensor) {
    info->mean = v.data<float>(v.tensor(v.h.mean_tensor));
    info->std = v.data<float>(v.tensor(v.h.std_tensor));
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_op_info(const lowbit_model* model, uint32_t index, lowbit_op_desc* info) {
  ModelView v;
  if (!info || !model_view(model, &v)) return LOWBIT_ERR_NULL;
  if (index >= v.h.op_count) return LOWBIT_ERR_RANGE;
  std::memset(info, 0, sizeof *info);
  const LbmOp op = v.op(index);
  const LbmOpKind kind = static_cast<LbmOpKind>(op.kind);
  info->name = v.str(op.name_offset);
  info->kind = lbm_op_kind_name(kind);
  info->epilogue = "";
  const LbmTensor x = v.tensor(op.inputs[0]), y = v.tensor(op.outputs[0]);
  auto bits_of = [](const LbmTensor& t) { return t.dtype == static_cast<uint8_t>(LbmDtype::f32) ? 32 : int32_t(t.bits); };
  info->input_bits = bits_of(x);
  info->output_bits = bits_of(y);
  for (uint32_t d = 0; d < y.rank; ++d) info->out_shape[d] = static_cast<int32_t>(y.dims[d]);
  for (uint32_t s = 0; s < op.n_inputs; ++s)
    if (op.inputs[s] != kLbmNoTensor) {
      const LbmTensor t = v.tensor(op.inputs[s]);
      if (is_constant(t)) info->weight_bytes += t.size;
    }
  if (kind == LbmOpKind::conv2d || kind == LbmOpKind::linear) {
    const LbmTensor w = v.tensor(op.inputs[kInW]);
    info->epilogue = lbm_epilogue_name(static_cast<LbmEpilogue>(op.attrs[kAttrEpilogue]));
    info->weight_bits = w.codes == static_cast<uint8_t>(LbmCodes::none) ? 32 : int32_t(w.bits);
    const uint64_t k = tensor_numel(w) / w.dims[0];
    const uint64_t pixels = kind == LbmOpKind::conv2d ? uint64_t(y.dims[1]) * y.dims[2] : 1;
    info->macs = uint64_t(w.dims[0]) * pixels * k;
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_normalize_u8(const lowbit_model* model, const uint8_t* pixels, size_t n, float* out) {
  ModelView v;
  if (!pixels || !out || !model_view(model, &v)) return LOWBIT_ERR_NULL;
  const size_t C = static_cast<size_t>(model->in_c), HW = static_cast<size_t>(model->in_h) * model->in_w;
  const float* mean = v.h.mean_tensor != kLbmNoTensor ? v.data<float>(v.tensor(v.h.mean_tensor)) : nullptr;
  const float* sd = v.h.std_tensor != kLbmNoTensor ? v.data<float>(v.tensor(v.h.std_tensor)) : nullptr;
  for (size_t c = 0; c < C; ++c) {
    // The training loader's arithmetic (nn/data/loader.cpp): p·scale + shift, product and sum rounded separately.
    const float scale = mean ? 1.0f / (255.0f * sd[c]) : 1.0f / 255.0f;
    const float shift = mean ? -mean[c] / sd[c] : 0.0f;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = pixels + (i * C + c) * HW;
      float* o = out + (i * C + c) * HW;
      for (size_t k = 0; k < HW; ++k) {
        volatile float prod = static_cast<float>(p[k]) * scale;
        o[k] = prod + shift;
      }
    }
  }
  return LOWBIT_OK;
}

}  // extern "C"
