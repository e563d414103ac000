// The weight layers of a DFQ run (quant/methods/dfq.h): a QConv2d / QLinear (same parameters, buffers, names,
// precision and activation rule, so the state dict is the ordinary layer's and model.lbar loads as one) whose
// weight quantization follows DFQ's phase:
//   search    — the relaxed weight of quant/rules_dfq.h (interpolation between the DoReFa quantizations around β,
//               or the softmax mixture over the candidate widths), on the fake path (a mixture of two codes has
//               no integer codes); the input is quantized by the layer's own activation rule at its fixed bits;
//   fixed     — integer bits: one width per layer runs exactly as a QConv2d / QLinear at those bits (the layer's
//               precision says them, kernels as usual); several widths per layer (per-group bits) run on the
//               kernels in the container of the layer's maximum width (rules_dfq.h dfq_group_weight: exact
//               codes, one scale per output channel), and precision() reports that container width — the
//               deployed size counts each group's own bits (quant/methods/dfq.cpp's accounting).
// The search variables (β or the logits) belong to the method, which hands each layer its Var.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/var.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"

namespace lowbit::quant {

enum class DfqRelaxation { interpolate, softmax };

// What the two layer types share: the phase and the bits.
class DfqLayer {
 public:
  virtual ~DfqLayer() = default;
  // Search phase: the relaxed weight from `var` (β [G] or logits [G, K]).
  void set_search(const Var& var, DfqRelaxation r, int b_min, int b_max, int64_t group_channels);
  // Fixed phase: bits per group (size G); marks the packed weights stale.
  void set_fixed_bits(const std::vector<int>& bits);
  bool searching() const { return searching_; }
  const std::vector<int>& fixed_bits() const { return bits_; }
  int64_t group_channels() const { return group_channels_; }
  // Output channels and elements of the weight (for groups and accounting).
  virtual int64_t out_channels() const = 0;
  virtual int64_t weight_numel() const = 0;
  virtual QuantizedLayer& quantized() = 0;
  // MACs of one sample's forward (from the last input seen; 0 before any forward).
  int64_t macs_per_sample() const { return macs_; }

 protected:
  // The search weight of w.
  Var relaxed_weight(const Var& w) const;
  // Sets the layer's precision to the container width (the max of bits_).
  virtual void set_weight_bits(int bits) = 0;
  bool searching_ = true;
  Var var_;
  DfqRelaxation relaxation_ = DfqRelaxation::interpolate;
  int b_min_ = 2, b_max_ = 8;
  int64_t group_channels_ = 0;
  std::vector<int> bits_;
  int64_t macs_ = 0;
};

class DfqConv2d final : public QConv2d, public DfqLayer {
 public:
  // Takes over `from`'s options, precision, quantizer options and state (parameters and buffers).
  explicit DfqConv2d(const QConv2d& from);
  Var forward(const Var& x) override;
  int64_t out_channels() const override { return options().out_channels; }
  int64_t weight_numel() const override { return weight().value().numel(); }
  QuantizedLayer& quantized() override { return *this; }

 private:
  void set_weight_bits(int bits) override;
};

class DfqLinear final : public QLinear, public DfqLayer {
 public:
  explicit DfqLinear(const QLinear& from);
  Var forward(const Var& x) override;
  int64_t out_channels() const override { return out_features(); }
  int64_t weight_numel() const override { return weight().value().numel(); }
  QuantizedLayer& quantized() override { return *this; }

 private:
  void set_weight_bits(int bits) override;
};

// Replaces `layer` (a QConv2d or QLinear child of the model) by its DFQ twin; returns it.
std::shared_ptr<nn::Module> make_dfq_layer(nn::Module& layer);

}  // namespace lowbit::quant
