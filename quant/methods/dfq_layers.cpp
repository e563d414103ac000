#include "quant/methods/dfq_layers.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "quant/rules_dfq.h"

namespace lowbit::quant {

namespace {
// The stream of the DoReFa gradient quantizer's noise of a replaced layer (the layer's initial weights are
// overwritten by the original's state right away, so only that stream depends on it).
constexpr uint64_t kDfqLayerSeed = 0xDF0DF0DF0ull;
}  // namespace

void DfqLayer::set_search(const Var& var, DfqRelaxation r, int b_min, int b_max, int64_t group_channels) {
  LOWBIT_CHECK(var.defined(), "dfq layer: no search variable");
  searching_ = true;
  var_ = var;
  relaxation_ = r;
  b_min_ = b_min;
  b_max_ = b_max;
  group_channels_ = group_channels;
  bits_.clear();
  set_weight_bits(b_max);
}

void DfqLayer::set_fixed_bits(const std::vector<int>& bits) {
  LOWBIT_CHECK(static_cast<int64_t>(bits.size()) == dfq_num_groups(out_channels(), group_channels_),
               "dfq layer: {} widths for {} groups", bits.size(), dfq_num_groups(out_channels(), group_channels_));
  searching_ = false;
  bits_ = bits;
  set_weight_bits(*std::max_element(bits.begin(), bits.end()));
}

Var DfqLayer::relaxed_weight(const Var& w) const {
  return relaxation_ == DfqRelaxation::interpolate ? dfq_interpolated_weight(w, var_, b_min_, b_max_, group_channels_)
                                                   : dfq_softmax_weight(w, var_, b_min_, b_max_, group_channels_);
}

// ---- conv ----

DfqConv2d::DfqConv2d(const QConv2d& from)
    : QConv2d(from.options(), from.precision(), from.quant_options(), *std::make_unique<Rng>(kDfqLayerSeed)) {
  load_state_dict(from.state_dict(), true);
  set_path(from.path());
}

void DfqConv2d::set_weight_bits(int bits) {
  prec_.wbits = bits;
  validate(prec_, "dfq layer");
  packed_.valid = false;
  bump_version();
}

Var DfqConv2d::forward(const Var& x) {
  check_input(x);
  const nn::Conv2dOptions& o = options();
  const Shape& s = x.shape();
  if (s.rank() == 4 && s[0] > 0) {
    const int64_t oh = (s[2] + 2 * o.pad - o.kernel_h) / o.stride + 1, ow = (s[3] + 2 * o.pad - o.kernel_w) / o.stride + 1;
    macs_ = macs(Shape{1, s[1], s[2], s[3]}, Shape{1, o.out_channels, oh, ow});
  }
  if (!searching_ && std::adjacent_find(bits_.begin(), bits_.end(), std::not_equal_to<int>()) == bits_.end())
    return QConv2d::forward(x);  // one width: the ordinary layer at its precision
  const Quantized xq = quantize_input(x);
  Var y;
  if (searching_) {
    y = conv2d(xq.value, relaxed_weight(weight()), bias(), params());
  } else {
    const Quantized wq = dfq_group_weight(weight(), bits_, group_channels_);
    if (use_kernel(xq)) {
      const ConvGeom g = make_conv_geom(s[0], s[1], s[2], s[3], o.out_channels, o.kernel_h, o.kernel_w, o.stride, o.pad,
                                        o.groups);
      ensure_packed(wq, false, act_kind_of(xq.codes), xq.codes.bits, static_cast<int32_t>(xq.codes.zero_point), g,
                    true);
      y = qconv2d_kernel(xq, wq.value, bias(), g, packed_, scratch_);
      last_backend_ = packed_.backend;
    } else {
      y = conv2d(xq.value, wq.value, bias(), params());
    }
  }
  return finish_output(y);
}

// ---- linear ----

DfqLinear::DfqLinear(const QLinear& from)
    : QLinear(from.in_features(), from.out_features(), from.bias().defined(), from.precision(), from.quant_options(),
              *std::make_unique<Rng>(kDfqLayerSeed)) {
  load_state_dict(from.state_dict(), true);
  set_path(from.path());
}

void DfqLinear::set_weight_bits(int bits) {
  prec_.wbits = bits;
  validate(prec_, "dfq layer");
  packed_.valid = false;
  bump_version();
}

Var DfqLinear::forward(const Var& x) {
  LOWBIT_CHECK(x.shape().rank() == 2 && x.shape()[1] == in_features(), "{}: expected input [N, {}], got {}",
               type_name(), in_features(), x.shape().str());
  macs_ = int64_t(in_features()) * out_features();
  if (!searching_ && std::adjacent_find(bits_.begin(), bits_.end(), std::not_equal_to<int>()) == bits_.end())
    return QLinear::forward(x);
  const Quantized xq = quantize_input(x);
  Var y;
  if (searching_) {
    y = linear(xq.value, relaxed_weight(weight()), bias());
  } else {
    const Quantized wq = dfq_group_weight(weight(), bits_, group_channels_);
    if (use_kernel(xq)) {
      ensure_packed(wq, false, act_kind_of(xq.codes), xq.codes.bits, static_cast<int32_t>(xq.codes.zero_point),
                    linear_geom(x.shape()[0], in_features(), out_features()), false);
      y = qlinear_kernel(xq, wq.value, bias(), packed_, scratch_);
      last_backend_ = packed_.backend;
    } else {
      y = linear(xq.value, wq.value, bias());
    }
  }
  return finish_output(y);
}

std::shared_ptr<nn::Module> make_dfq_layer(nn::Module& layer) {
  if (auto* c = dynamic_cast<QConv2d*>(&layer)) return std::make_shared<DfqConv2d>(*c);
  if (auto* l = dynamic_cast<QLinear*>(&layer)) return std::make_shared<DfqLinear>(*l);
  LOWBIT_CHECK(false, "dfq: a {} is not a quantized conv or linear layer", layer.type_name());
  return nullptr;
}

}  // namespace lowbit::quant
