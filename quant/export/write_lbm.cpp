// The op list through the runtime's writer (the mapping is derived in write_lbm.h).
#include "quant/export/write_lbm.h"

#include <stdexcept>

#include <fmt/format.h>

#include "engine/error.h"
#include "quant/export/fold_bn.h"
#include "runtime/include/lowbit.h"
#include "runtime/lbm_writer.h"

namespace lowbit::quant::deploy {
namespace {

namespace rt = lowbit::runtime;

std::vector<uint32_t> dims(const std::vector<int64_t>& s) { return std::vector<uint32_t>(s.begin(), s.end()); }

rt::LbmCodes codes_of(CodeFormat f) {
  switch (f) {
    case CodeFormat::binary: return rt::LbmCodes::binary;
    case CodeFormat::ternary: return rt::LbmCodes::ternary;
    case CodeFormat::uint: return rt::LbmCodes::uint;
    case CodeFormat::sint: return rt::LbmCodes::sint;
  }
  return rt::LbmCodes::none;
}

rt::LbmQuantKind quant_kind(kernels::QuantKind k) {
  switch (k) {
    case kernels::QuantKind::mul_clamp: return rt::LbmQuantKind::mul_clamp;
    case kernels::QuantKind::div_clamp: return rt::LbmQuantKind::div_clamp;
    case kernels::QuantKind::clamp_mul: return rt::LbmQuantKind::clamp_mul;
    case kernels::QuantKind::sign: return rt::LbmQuantKind::sign;
  }
  return rt::LbmQuantKind::sign;
}

rt::LbmAct act_of(Act a) { return a == Act::relu ? rt::LbmAct::relu : a == Act::clamp ? rt::LbmAct::clamp : rt::LbmAct::none; }

int32_t scale_threshold(int32_t t, int64_t f, int64_t add) {
  if (t == kThresholdNever || t == kThresholdAlways) return t;
  const int64_t v = f * (int64_t(t) + add);
  LOWBIT_ASSERT(v > INT32_MIN && v < INT32_MAX, "threshold {} out of int32", v);
  return static_cast<int32_t>(v);
}

void add_weight_layer(rt::LbmWriter& w, const DeployGraph& g, const Op& op, const std::vector<uint32_t>& tid) {
  const WeightLayerInfo& L = op.layer;
  const Value& xv = g.values[op.inputs[0]];
  const Value& ov = g.values[op.output];
  const bool int_route = L.int_weights && xv.kind == ValueKind::codes;
  rt::LbmLayer l;
  l.name = op.name;
  l.conv = op.kind == OpKind::conv;
  l.x = tid[op.inputs[0]];
  l.y = tid[op.output];
  const std::string base = op.name.substr(0, op.name.find('+'));
  std::vector<uint32_t> wshape;
  if (l.conv) wshape = {uint32_t(L.out), uint32_t(L.in / L.groups), uint32_t(L.kernel_h), uint32_t(L.kernel_w)};
  else wshape = {uint32_t(L.out), uint32_t(L.in)};
  if (int_route) {
    rt::LbmWeightCodes wc;
    wc.codes = codes_of(L.wformat);
    wc.bits = L.wformat == CodeFormat::binary ? 1 : L.wformat == CodeFormat::ternary ? 2 : L.wbits;
    wc.zero_point = L.wzero;
    wc.shape = wshape;
    wc.values = L.wcodes;
    l.w = w.add_weights(base + ".weight", wc);
    l.wscale = w.add_f32(base + ".wscale", {uint32_t(L.out)}, L.wscale_codes);
  } else {
    l.w = w.add_f32(base + ".weight", wshape, L.wf32);  // an fp32 layer: its (dequantized) weights in f32
  }
  if (l.conv) {
    l.kernel_h = L.kernel_h, l.kernel_w = L.kernel_w, l.stride_h = l.stride_w = L.stride;
    l.pad_h = l.pad_w = L.pad, l.groups = L.groups;
  }
  if (op.epilogue == Epilogue::f32) {
    l.epilogue = rt::LbmEpilogue::f32;
    l.bias = w.add_f32(base + ".bias", {uint32_t(L.out)}, L.bias);
    if (op.bn) {
      l.a = w.add_f32(base + ".bn_a", {uint32_t(L.out)}, op.bn_a);
      l.b = w.add_f32(base + ".bn_b", {uint32_t(L.out)}, op.bn_b);
    }
    if (op.residual >= 0) l.residual = tid[op.residual];
    l.act = act_of(op.act);
    l.act_lo = op.act_lo, l.act_hi = op.act_hi;
  } else {
    const int64_t f = L.wzero != static_cast<float>(static_cast<int64_t>(L.wzero)) ? 1 : 2;
    const int levels = ov.format == CodeFormat::binary ? 2 : 1 << ov.bits;
    const int nt = levels - 1;
    std::vector<uint8_t> flip(static_cast<size_t>(L.out));
    std::vector<int32_t> thr(static_cast<size_t>(L.out) * nt);
    for (int m = 0; m < L.out; ++m) {
      flip[m] = op.dir[m] < 0;
      for (int j = 0; j < nt; ++j) {
        const int32_t t = op.thresholds[m * nt + j];
        const bool binary = ov.format == CodeFormat::binary;
        thr[m * nt + j] = scale_threshold(t, f, binary && op.dir[m] < 0 ? 1 : 0);
      }
    }
    if (ov.format == CodeFormat::binary) {
      l.epilogue = rt::LbmEpilogue::bits;
      l.threshold = w.add_i32(base + ".threshold", {uint32_t(L.out)}, thr);
    } else {
      l.epilogue = rt::LbmEpilogue::thresholds;
      l.threshold = w.add_i32(base + ".threshold", {uint32_t(L.out), uint32_t(nt)}, thr);
    }
    l.flip = w.add_flips(base + ".flip", flip);
  }
  w.add_layer(l);
}

}  // namespace

std::vector<uint8_t> write_lbm(const DeployGraph& g, const std::vector<float>& mean, const std::vector<float>& std) {
  try {
    rt::LbmWriter w(g.model);
    std::vector<uint32_t> tid(g.values.size(), rt::kLbmNoTensor);
    for (size_t i = 0; i < g.values.size(); ++i) {
      const Value& v = g.values[i];
      const std::string name = fmt::format("{}#{}", v.name, i);
      if (v.kind == ValueKind::f32) tid[i] = w.add_f32_activation(name, dims(v.shape));
      else if (v.format == CodeFormat::binary) tid[i] = w.add_code_activation(name, rt::LbmDtype::b1, 1, dims(v.shape), v.scale, 0);
      else tid[i] = w.add_code_activation(name, rt::LbmDtype::u8, v.bits, dims(v.shape), v.scale, v.zero_point);
    }
    for (const Op& op : g.ops) {
      const uint32_t x = tid[op.inputs[0]], y = tid[op.output];
      switch (op.kind) {
        case OpKind::quantize: {
          const kernels::QuantizeParams& p = op.quant.params;
          w.add_quantize(op.name, x, y, quant_kind(p.kind), p.m, p.d, p.lo, p.hi, p.add);
          break;
        }
        case OpKind::conv:
        case OpKind::linear: add_weight_layer(w, g, op, tid); break;
        case OpKind::maxpool: w.add_maxpool(op.name, x, y, op.pool_kernel, op.pool_stride, op.pool_pad); break;
        case OpKind::global_avgpool: w.add_global_avgpool(op.name, x, y); break;
        case OpKind::shortcut_a: w.add_shortcut_a(op.name, x, y, op.sc_stride, op.sc_front); break;
        case OpKind::add: w.add_add(op.name, x, tid[op.inputs[1]], y); break;
        case OpKind::flatten: w.add_flatten(op.name, x, y); break;
      }
    }
    w.set_input(tid[0], mean, std);
    w.set_output(tid[g.output]);
    return w.bytes();
  } catch (const std::invalid_argument& e) {
    throw Error(fmt::format("export of {}: {}", g.model, e.what()));
  }
}

uint64_t lbm_arena_bytes(const std::vector<uint8_t>& lbm) {
  lowbit_model m;
  const lowbit_status s = lowbit_model_init(lbm.data(), lbm.size(), &m);
  LOWBIT_CHECK(s == LOWBIT_OK, "the runtime refuses the exported file: {} ({})", lowbit_status_string(s), m.message);
  return lowbit_arena_size(&m);
}

}  // namespace lowbit::quant::deploy
