// Names and summaries of the deployable op list.
#include "quant/export/deploy_graph.h"

#include <fmt/format.h>

namespace lowbit::quant::deploy {

int64_t Value::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::quantize: return "quantize";
    case OpKind::conv: return "conv";
    case OpKind::linear: return "linear";
    case OpKind::maxpool: return "maxpool";
    case OpKind::global_avgpool: return "global_avgpool";
    case OpKind::shortcut_a: return "shortcut_a";
    case OpKind::add: return "add";
    case OpKind::flatten: return "flatten";
  }
  return "?";
}

std::string QuantizerRecipe::describe() const {
  const kernels::QuantizeParams& p = params;
  const char* kind = p.kind == kernels::QuantKind::sign        ? "sign"
                     : p.kind == kernels::QuantKind::mul_clamp ? "mul_clamp"
                     : p.kind == kernels::QuantKind::div_clamp ? "div_clamp"
                                                               : "clamp_mul";
  return fmt::format("{} {}{} m={} d={} lo={} hi={} add={} scale={} zp={}", kind,
                     format == CodeFormat::binary ? "b" : "u", bits, p.m, p.d, p.lo, p.hi, p.add, p.scale,
                     p.zero_point);
}

namespace {
std::string value_text(const Value& v) {
  const std::string shape = fmt::format("[{}]", fmt::join(v.shape, "x"));
  if (v.kind == ValueKind::f32) return "f32" + shape;
  return fmt::format("{}{}{}", v.format == CodeFormat::binary ? "b" : "u", v.bits, shape);
}
}  // namespace

std::string DeployGraph::describe() const {
  std::string out;
  for (const Op& op : ops) {
    std::string in;
    for (int i : op.inputs) in += (in.empty() ? "" : ", ") + value_text(values[i]);
    std::string extra;
    if (op.kind == OpKind::conv || op.kind == OpKind::linear) {
      extra = fmt::format(" {} {}", op.layer.precision.str(), op.epilogue == Epilogue::threshold ? "thresholds" : "f32");
    }
    out += fmt::format("{:<14} {:<34} {} -> {}{}\n", op_kind_name(op.kind), op.name, in, value_text(values[op.output]),
                       extra);
  }
  return out;
}

}  // namespace lowbit::quant::deploy
