// The executor (runtime/executor.h): one switch over the op kind per op; integer layers go to kernels/qlayer, the
// rest to runtime/ops.h. Geometry comes from the validated records at every run (a few integer operations per op).
#include "runtime/executor.h"

#include <cstring>

#include "kernels/qlayer/qlayer.h"
#include "runtime/loader.h"
#include "runtime/ops.h"
#include "runtime/plan.h"

namespace lowbit::runtime {
namespace {

using kernels::bword;

ops::Dims dims_of(const LbmTensor& t) {
  const Chw g = tensor_chw(t);
  return ops::Dims{g.c, g.h, g.w};
}
ops::Window window_of(const LbmOp& op) {
  return ops::Window{op.attrs[kAttrKernelH], op.attrs[kAttrKernelW], op.attrs[kAttrStrideH],
                     op.attrs[kAttrStrideW], op.attrs[kAttrPadH],    op.attrs[kAttrPadW]};
}

struct Run {
  const ModelView& v;
  uint8_t* arena;
  const uint64_t* act_off;
  const OpSlot* slots;
  int64_t n;
  const float* input;
  float* output;
  int threads;

  void* ptr(uint32_t id) const {
    if (id == v.h.input_tensor) return const_cast<float*>(input);  // only ever read (the loader checks)
    if (id == v.h.output_tensor) return output;
    return arena + act_off[id];
  }
  template <class T>
  const T* constant(const LbmOp& op, int slot) const {
    return op.inputs[slot] == kLbmNoTensor ? nullptr : v.data<T>(v.tensor(op.inputs[slot]));
  }
};

lowbit_status run_layer(const Run& r, uint32_t i, const LbmOp& op, char* msg, size_t msg_bytes) {
  LayerCall c;
  layer_call(r.v, op, static_cast<uint32_t>(r.n), &c);
  const LbmTensor x = r.v.tensor(op.inputs[kInX]), y = r.v.tensor(op.outputs[0]);
  const int64_t O = c.geom.O, P = c.geom.OH * c.geom.OW;
  const float* bias = r.constant<float>(op, kInBias);
  const float* a = r.constant<float>(op, kInA);
  const float* b = r.constant<float>(op, kInB);
  const LbmAct act = static_cast<LbmAct>(op.attrs[kAttrAct]);
  const float lo = attr_float(op, kAttrActLo), hi = attr_float(op, kAttrActHi);
  const float* residual = op.inputs[kInResidual] == kLbmNoTensor ? nullptr
                                                                 : static_cast<const float*>(r.ptr(op.inputs[kInResidual]));
  float* yf = static_cast<float*>(r.ptr(op.outputs[0]));
  if (!c.integer) {  // an fp32 layer: f32 input and weights (the first conv of a "first/last 8" model, a classifier)
    const float* xf = static_cast<const float*>(r.ptr(op.inputs[kInX]));
    const float* wf = r.constant<float>(op, kInW);
    if (op.kind == static_cast<uint16_t>(LbmOpKind::conv2d))
      ops::conv2d_f32(xf, c.geom, wf, bias, yf, r.threads);
    else
      ops::linear_f32(xf, r.n, c.geom.C, wf, O, bias, yf, r.threads);
    ops::epilogue_f32(yf, r.n, O, P, a, b, residual, act, lo, hi, r.threads);
    return LOWBIT_OK;
  }
  const OpSlot& s = r.slots[i];
  kernels::QLayerInput xin;
  xin.layout = c.in;
  xin.data = r.ptr(op.inputs[kInX]);
  xin.scale = c.unit_scale ? 2.0f : x.scale;
  kernels::QLayerOutput yo;
  yo.kind = c.out;
  yo.nhwc = c.out_nhwc;
  float* tbuf = reinterpret_cast<float*>(r.arena + s.ws_off + (s.qlayer_ws + 63) / 64 * 64);
  yo.data = c.unit_scale ? static_cast<void*>(tbuf) : r.ptr(op.outputs[0]);
  const LbmEpilogue epi = static_cast<LbmEpilogue>(op.attrs[kAttrEpilogue]);
  if (epi == LbmEpilogue::f32) yo.bias = bias;
  if (epi == LbmEpilogue::bits) {
    yo.threshold = r.constant<int32_t>(op, kInThreshold);
    yo.flip = r.constant<bword>(op, kInFlip);
  }
  if (epi == LbmEpilogue::requant) {
    yo.scale = a, yo.shift = b;
    yo.inv_step = attr_float(op, kAttrInvStep);
    yo.bits = y.bits;
  }
  const kernels::Status st =
      kernels::qlayer_forward(s.packed, c.geom, xin, yo, r.arena + s.ws_off, s.qlayer_ws, r.threads);
  if (st != kernels::Status::ok)
    return report(LOWBIT_ERR_INTERNAL, msg, msg_bytes, "lbm: op %u '%s': qlayer_forward refused the call: %s", i,
                  r.v.str(op.name_offset), kernels::status_name(st));
  if (epi == LbmEpilogue::f32) ops::epilogue_f32(yf, r.n, O, P, a, b, residual, act, lo, hi, r.threads);
  if (epi == LbmEpilogue::thresholds) {
    const int64_t levels = (int64_t{1} << y.bits) - 1;
    ops::threshold_codes(tbuf, r.n * P, O, r.constant<int32_t>(op, kInThreshold), levels, r.constant<bword>(op, kInFlip),
                         static_cast<uint8_t*>(r.ptr(op.outputs[0])), r.threads);
  }
  return LOWBIT_OK;
}

}  // namespace

lowbit_status execute(const ModelView& v, uint8_t* arena, int64_t n, const float* input, float* output, int threads,
                      char* msg, size_t msg_bytes) {
  ArenaHeader h;
  std::memcpy(&h, arena, sizeof h);
  const Run r{v, arena, reinterpret_cast<const uint64_t*>(arena + h.act_off_off),
              reinterpret_cast<const OpSlot*>(arena + h.slots_off), n, input, output, threads};
  for (uint32_t i = 0; i < v.h.op_count; ++i) {
    const LbmOp op = v.op(i);
    const LbmTensor x = v.tensor(op.inputs[0]), y = v.tensor(op.outputs[0]);
    const ops::Dims in = dims_of(x), out = dims_of(y);
    const LbmDtype xd = static_cast<LbmDtype>(x.dtype);
    const void* xp = r.ptr(op.inputs[0]);
    void* yp = r.ptr(op.outputs[0]);
    switch (static_cast<LbmOpKind>(op.kind)) {
      case LbmOpKind::quantize: {
        const LbmQuantKind k = static_cast<LbmQuantKind>(op.attrs[kAttrQKind]);
        if (k == LbmQuantKind::sign) {
          ops::quantize_b1(static_cast<const float*>(xp), n, in, static_cast<bword*>(yp), threads);
        } else {
          ops::QuantRule q;
          q.kind = k;
          q.m = attr_float(op, kAttrQM), q.d = attr_float(op, kAttrQD);
          q.lo = attr_float(op, kAttrQLo), q.hi = attr_float(op, kAttrQHi), q.add = attr_float(op, kAttrQAdd);
          q.qmax = (1 << y.bits) - 1;
          ops::quantize_u8(static_cast<const float*>(xp), n, in, q, static_cast<uint8_t*>(yp), threads);
        }
        break;
      }
      case LbmOpKind::conv2d:
      case LbmOpKind::linear: {
        const lowbit_status st = run_layer(r, i, op, msg, msg_bytes);
        if (st != LOWBIT_OK) return st;
        break;
      }
      case LbmOpKind::maxpool:
        if (xd == LbmDtype::f32)
          ops::maxpool_f32(static_cast<const float*>(xp), n, in, window_of(op), out, static_cast<float*>(yp), threads);
        else if (xd == LbmDtype::u8)
          ops::maxpool_u8(static_cast<const uint8_t*>(xp), n, in, window_of(op), out, static_cast<uint8_t*>(yp), threads);
        else
          ops::maxpool_b1(static_cast<const bword*>(xp), n, in, window_of(op), out, static_cast<bword*>(yp), threads);
        break;
      case LbmOpKind::avgpool:
        ops::avgpool_f32(static_cast<const float*>(xp), n, in, window_of(op), op.attrs[kAttrCountIncludePad] != 0, out,
                         static_cast<float*>(yp), threads);
        break;
      case LbmOpKind::global_avgpool:
        ops::global_avgpool_f32(static_cast<const float*>(xp), n, in, static_cast<float*>(yp), threads);
        break;
      case LbmOpKind::add:
        ops::add_f32(static_cast<const float*>(xp), static_cast<const float*>(r.ptr(op.inputs[1])), n * in.c * in.h * in.w,
                     static_cast<LbmAct>(op.attrs[kAttrAct]), attr_float(op, kAttrActLo), attr_float(op, kAttrActHi),
                     static_cast<float*>(yp), threads);
        break;
      case LbmOpKind::shortcut_a:
        ops::shortcut_a_f32(static_cast<const float*>(xp), n, in, op.attrs[kAttrScStride], op.attrs[kAttrScFront], out,
                            static_cast<float*>(yp), threads);
        break;
      case LbmOpKind::flatten:
        if (xd == LbmDtype::f32)
          ops::flatten_f32(static_cast<const float*>(xp), n, in, static_cast<float*>(yp));
        else if (xd == LbmDtype::u8)
          ops::flatten_u8(static_cast<const uint8_t*>(xp), n, in, static_cast<uint8_t*>(yp));
        else
          ops::flatten_b1(static_cast<const bword*>(xp), n, in, static_cast<bword*>(yp));
        break;
    }
  }
  return LOWBIT_OK;
}

}  // namespace lowbit::runtime
