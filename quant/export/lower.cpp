// Lowering a trained model to its deployable op list (the steps are in lower.h).
#include "quant/export/lower.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic_block.h"
#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/dropout.h"
#include "nn/layers/linear.h"
#include "nn/layers/pool.h"
#include "nn/layers/sequential.h"
#include "quant/export/fold_bn.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"
#include "quant/schemes.h"

namespace lowbit::quant::deploy {
namespace {

namespace k = lowbit::kernels;

// ---- step 1: primitive steps over fp32 values ----

struct Prim {
  enum Kind { weight, bn, act, maxpool, gap, flatten, shortcut, add } kind;
  std::string name;
  nn::Module* mod = nullptr;
  int in = -1, in2 = -1, out = -1;
  int stride = 1, front = 0;  // shortcut
};

struct Walk {
  std::vector<Prim> prims;
  std::vector<std::vector<int64_t>> shapes;  // per primitive value

  int value(std::vector<int64_t> s) {
    shapes.push_back(std::move(s));
    return static_cast<int>(shapes.size()) - 1;
  }
  int emit(Prim p, std::vector<int64_t> out_shape) {
    p.out = value(std::move(out_shape));
    prims.push_back(std::move(p));
    return prims.back().out;
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  int walk(nn::Module& m, const std::string& name, int x) {
    const std::vector<int64_t> s = shapes[x];
    if (auto* seq = dynamic_cast<nn::Sequential*>(&m)) {
      for (const auto& [cn, child] : seq->children()) x = walk(*child, join(name, cn), x);
      return x;
    }
    if (auto* blk = dynamic_cast<nn::BasicBlock*>(&m)) return walk_block(*blk, name, x);
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      const nn::Conv2dOptions& o = conv->options();
      LOWBIT_CHECK(s.size() == 3 && s[0] == o.in_channels, "{}: expects {} input channels, gets a value of shape [{}]",
                   name, o.in_channels, fmt::join(s, ", "));
      const int64_t oh = (s[1] + 2 * o.pad - o.kernel_h) / o.stride + 1;
      const int64_t ow = (s[2] + 2 * o.pad - o.kernel_w) / o.stride + 1;
      return emit(Prim{Prim::weight, name, &m, x}, {o.out_channels, oh, ow});
    }
    if (auto* lin = dynamic_cast<nn::Linear*>(&m)) {
      LOWBIT_CHECK(s.size() == 1 && s[0] == lin->in_features(), "{}: expects {} input features, gets shape [{}]",
                   name, lin->in_features(), fmt::join(s, ", "));
      return emit(Prim{Prim::weight, name, &m, x}, {lin->out_features()});
    }
    if (dynamic_cast<nn::BatchNorm*>(&m)) return emit(Prim{Prim::bn, name, &m, x}, s);
    if (dynamic_cast<nn::ReLU*>(&m) || dynamic_cast<nn::HardTanh*>(&m) || dynamic_cast<nn::Clip*>(&m))
      return emit(Prim{Prim::act, name, &m, x}, s);
    if (dynamic_cast<nn::Identity*>(&m) || dynamic_cast<nn::Dropout*>(&m)) return x;  // identity in eval
    if (auto* mp = dynamic_cast<nn::MaxPool2d*>(&m)) {
      LOWBIT_CHECK(s.size() == 3, "{}: max pool on a value of shape [{}]", name, fmt::join(s, ", "));
      const int64_t oh = (s[1] + 2 * mp->pad() - mp->kernel()) / mp->stride() + 1;
      const int64_t ow = (s[2] + 2 * mp->pad() - mp->kernel()) / mp->stride() + 1;
      return emit(Prim{Prim::maxpool, name, &m, x}, {s[0], oh, ow});
    }
    if (dynamic_cast<nn::GlobalAvgPool*>(&m)) return emit(Prim{Prim::gap, name, &m, x}, {s[0]});
    if (dynamic_cast<nn::Flatten*>(&m)) {
      int64_t n = 1;
      for (int64_t d : s) n *= d;
      return emit(Prim{Prim::flatten, name, &m, x}, {n});
    }
    throw Error(fmt::format("{}: a {} cannot be exported (the deployed op list has no op for it)",
                            name.empty() ? "model" : name, m.type_name()));
  }

  // y = act2(bn2(conv2(act1(bn1(conv1(x))))) + shortcut(x)). The shortcut is walked first, so the fused
  // conv2 op (which adds it) comes after it in execution order.
  int walk_block(nn::BasicBlock& blk, const std::string& name, int x) {
    const auto& ch = blk.children();
    LOWBIT_CHECK(ch.size() == 7, "{}: a BasicBlock with {} children", name, ch.size());
    auto* c1 = dynamic_cast<nn::Conv2d*>(ch[0].second.get());
    LOWBIT_CHECK(c1, "{}: the block's first layer is a {}, not a convolution", name, ch[0].second->type_name());
    const std::vector<int64_t> s = shapes[x];
    int sc;
    nn::Module& short_mod = *ch[5].second;
    if (dynamic_cast<nn::ShortcutA*>(&short_mod)) {
      const int out = c1->options().out_channels, st = c1->options().stride;
      Prim p{Prim::shortcut, join(name, ch[5].first), &short_mod, x};
      p.stride = st;
      p.front = static_cast<int>((out - s[0]) / 2);
      sc = emit(p, {out, (s[1] - 1) / st + 1, (s[2] - 1) / st + 1});
    } else {
      sc = walk(short_mod, join(name, ch[5].first), x);
    }
    int y = x;
    for (size_t i = 0; i < 5; ++i) y = walk(*ch[i].second, join(name, ch[i].first), y);
    LOWBIT_CHECK(shapes[y] == shapes[sc], "{}: the shortcut's shape does not match the residual branch's", name);
    Prim a{Prim::add, join(name, "add"), nullptr, y};
    a.in2 = sc;
    y = emit(a, shapes[y]);
    return walk(*ch[6].second, join(name, ch[6].first), y);
  }
};

// ---- the layers' quantizers ----

const Var* find_param(const nn::Module& m, const char* name) {
  for (const auto& [n, v] : m.local_parameters())
    if (n == name) return &v;
  return nullptr;
}

const Tensor* find_buffer(const nn::Module& m, const char* name) {
  for (const auto& [n, t] : m.local_buffers())
    if (n == name) return &t;
  return nullptr;
}

// The scheme state a rule reads, from the layer's registered parameters (copies: the export never changes the
// model; LSQ's "lsq_ready" must say the steps were initialised from data).
QuantState layer_state(const nn::Module& m, const std::string& name, const Precision& p, bool need_weight_step,
                       bool need_act_step) {
  QuantState st;
  if (const Var* v = find_param(m, "w_step")) st.w_step = Var(v->value().clone());
  if (const Var* v = find_param(m, "a_step")) st.a_step = Var(v->value().clone());
  if (const Var* v = find_param(m, "alpha")) st.alpha = Var(v->value().clone());
  if (const Tensor* t = find_buffer(m, "lsq_ready")) {
    st.lsq_ready = t->clone();
    LOWBIT_CHECK(!need_weight_step || st.lsq_ready[0] != 0.0f,
                 "{}: {} weight step was never initialised from data (the layer never ran forward): train or "
                 "evaluate the model before exporting",
                 name, p.str());
    LOWBIT_CHECK(!need_act_step || st.lsq_ready[1] != 0.0f,
                 "{}: {} activation step was never initialised from data (the layer never ran forward): train or "
                 "evaluate the model before exporting",
                 name, p.str());
  }
  return st;
}

bool same_recipe(const QuantizerRecipe& a, const QuantizerRecipe& b) {
  const k::QuantizeParams &p = a.params, &q = b.params;
  return a.format == b.format && a.bits == b.bits && p.kind == q.kind && p.m == q.m && p.d == q.d && p.lo == q.lo &&
         p.hi == q.hi && p.add == q.add && p.scale == q.scale && p.zero_point == q.zero_point;
}

k::QuantizeParams clamp_params(k::QuantKind kind, float m, float lo, float hi, float scale) {
  k::QuantizeParams p;
  p.kind = kind;
  p.m = m;
  p.lo = lo;
  p.hi = hi;
  p.scale = scale;
  return p;
}

void apply_recipe(const QuantizerRecipe& r, const float* x, int16_t* codes, int64_t n) {
  std::vector<float> val(static_cast<size_t>(n));
  k::fvec_kernels().quantize(x, codes, val.data(), n, r.params);
}

// The input quantizer of a quantizing layer as the fvec formula, checked against the scheme's own rule on a
// probe that covers the clamps, the rounding ties and values between them.
QuantizerRecipe input_recipe(const nn::Module& m, const std::string& name, const QuantizedLayer& q) {
  const Precision& p = q.precision();
  QuantizerRecipe r;
  QuantState st;
  InputRange range{0.0f, 0.0f};
  float span = 1.0f;
  if (p.image_input) {
    const Tensor* ir = find_buffer(m, "input_range");
    LOWBIT_CHECK(ir && (*ir)[2] != 0.0f,
                 "{}: the 8-bit input range was never calibrated (the layer never ran forward): train or evaluate "
                 "the model before exporting",
                 name);
    range = InputRange{(*ir)[0], (*ir)[1]};
    const float s = (range.hi - range.lo) / 255.0f;
    const float z = std::min(std::max(round_code(-range.lo / s), 0.0f), 255.0f);
    r.params = clamp_params(k::QuantKind::div_clamp, s, -z, 255.0f - z, s);
    r.params.add = z;
    r.params.zero_point = z;
    r.format = CodeFormat::uint;
    r.bits = 8;
    span = std::max(std::fabs(range.lo), std::fabs(range.hi));
  } else {
    LOWBIT_CHECK(!(p.scheme == Scheme::xnor && q.quant_options().xnor_scale_activations),
                 "{}: XNOR-Net's input scaling K (xnor_scale_activations) has no deployed form", name);
    st = layer_state(m, name, p, false, scheme_traits(p.scheme).learns & kLearnsActStep);
    const float n = static_cast<float>((1 << p.abits) - 1);
    r.format = CodeFormat::uint;
    r.bits = p.abits;
    switch (p.scheme) {
      case Scheme::dorefa:
      case Scheme::twn: r.params = clamp_params(k::QuantKind::mul_clamp, n, 0.0f, n, 1.0f / n); break;
      case Scheme::bnn:
      case Scheme::xnor:
        r.params.kind = k::QuantKind::sign;
        r.params.scale = 1.0f;
        r.format = CodeFormat::binary;
        r.bits = 1;
        break;
      case Scheme::lsq: {
        const float step = st.a_step.value()[0];
        const LsqRange lr = lsq_range(p.abits, false);
        r.params = clamp_params(k::QuantKind::div_clamp, step, 0.0f, static_cast<float>(lr.qp), step);
        span = step * static_cast<float>(lr.qp);
        break;
      }
      case Scheme::pact: {
        const float a = st.alpha.value()[0];
        r.params = clamp_params(k::QuantKind::clamp_mul, n, 0.0f, a, a / n);
        r.params.d = a;
        span = a;
        break;
      }
      case Scheme::fp32: break;
    }
  }
  // Probe: a grid over ±1.5·span, the level boundaries (ties) of the codes and their float neighbours.
  std::vector<float> probe;
  for (int i = -3000; i <= 3000; ++i) probe.push_back(1.5f * span * static_cast<float>(i) / 3000.0f);
  const int levels = r.format == CodeFormat::binary ? 2 : (1 << r.bits);
  for (int j = 0; j <= levels; ++j) {
    const float t = (static_cast<float>(j) - 0.5f - r.params.zero_point) * r.params.scale;
    probe.push_back(t);
    probe.push_back(std::nextafter(t, -1e30f));
    probe.push_back(std::nextafter(t, 1e30f));
  }
  probe.push_back(0.0f);
  probe.push_back(-0.0f);
  Tensor pt = Tensor::empty(Shape{1, static_cast<int64_t>(probe.size())});
  std::copy(probe.begin(), probe.end(), pt.data());
  const Quantized want = p.image_input ? image_input_u8(Var(pt), range)
                                       : scheme_traits(p.scheme).activation(Var(pt), p.abits, st);
  std::vector<int16_t> got(probe.size());
  apply_recipe(r, pt.data(), got.data(), pt.numel());
  for (size_t i = 0; i < probe.size(); ++i)
    LOWBIT_ASSERT(got[i] == want.codes.code[i], "{}: the export's form of the {} input quantizer gives code {} at {}, "
                  "the training rule {}", name, p.str(), got[i], probe[i], want.codes.code[i]);
  LOWBIT_ASSERT(want.codes.format == r.format && want.codes.bits == r.bits &&
                    want.codes.scale[0] == r.params.scale && want.codes.zero_point == r.params.zero_point,
                "{}: the export's input quantizer scale/format differ from the training rule's", name);
  return r;
}

// ---- the weight layers ----

struct LayerView {
  nn::Module* mod = nullptr;
  QuantizedLayer* q = nullptr;  // null for a plain fp32 layer
  bool conv = false;
  bool quantizes_input = false;
  QuantizerRecipe recipe;       // when quantizes_input
};

LayerView view_of(nn::Module& m, const std::string& name) {
  LayerView v;
  v.mod = &m;
  v.conv = dynamic_cast<nn::Conv2d*>(&m) != nullptr;
  v.q = dynamic_cast<QuantizedLayer*>(&m);
  if (v.q && v.q->precision().quantizes_activations()) {
    v.quantizes_input = true;
    v.recipe = input_recipe(m, name, *v.q);
  }
  return v;
}

// Weights, bias and geometry of a weight layer into info.
void fill_layer(const LayerView& lv, const std::string& name, const std::vector<int64_t>& in_shape,
                const std::vector<int64_t>& out_shape, WeightLayerInfo& info) {
  Var w, bias;
  if (lv.conv) {
    auto* c = dynamic_cast<nn::Conv2d*>(lv.mod);
    const nn::Conv2dOptions& o = c->options();
    info.in = o.in_channels, info.out = o.out_channels, info.kernel_h = o.kernel_h, info.kernel_w = o.kernel_w;
    info.stride = o.stride, info.pad = o.pad, info.groups = o.groups;
    info.in_h = static_cast<int>(in_shape[1]), info.in_w = static_cast<int>(in_shape[2]);
    info.out_h = static_cast<int>(out_shape[1]), info.out_w = static_cast<int>(out_shape[2]);
    w = c->weight(), bias = c->bias();
  } else {
    auto* l = dynamic_cast<nn::Linear*>(lv.mod);
    info.in = l->in_features(), info.out = l->out_features();
    w = l->weight(), bias = l->bias();
  }
  const int64_t n = w.value().numel();
  info.bias.assign(static_cast<size_t>(info.out), 0.0f);
  if (bias.defined()) std::copy(bias.value().data(), bias.value().data() + info.out, info.bias.begin());
  info.precision = lv.q ? lv.q->precision() : Precision{};
  if (!lv.q || !info.precision.quantizes_weights()) {
    info.wf32.assign(w.value().data(), w.value().data() + n);
    return;
  }
  const Precision& p = info.precision;
  QuantState st = layer_state(*lv.mod, name, p, scheme_traits(p.scheme).learns & kLearnsWeightStep, false);
  NoGradGuard ng;
  const Quantized wq = scheme_traits(p.scheme).weight(Var(w.value().clone()), p.wbits, st);
  const QCodes& c = wq.codes;
  LOWBIT_CHECK(c.defined() && c.numel() == n, "{}: the {} weight rule gave no integer codes", name, p.str());
  info.wformat = c.format;
  info.wbits = c.bits;
  const float zp = c.zero_point;
  const bool half = zp != std::floor(zp);
  LOWBIT_CHECK(!half || 2.0f * zp == std::floor(2.0f * zp), "{}: weight zero point {} is not a multiple of 1/2", name,
               zp);
  info.v.resize(static_cast<size_t>(n));
  info.wcodes.resize(static_cast<size_t>(n));
  info.wzero = zp;
  info.wf32.resize(static_cast<size_t>(n));
  info.wscale.resize(static_cast<size_t>(info.out));
  info.wscale_codes.resize(static_cast<size_t>(info.out));
  for (int64_t i = 0; i < n; ++i) {
    info.wcodes[i] = c.code[i];
    info.v[i] = half ? 2 * int32_t(c.code[i]) - static_cast<int32_t>(2.0f * zp) : int32_t(c.code[i]) - int32_t(zp);
    info.wf32[i] = c.real(i);
  }
  const int64_t per = n / info.out;
  for (int m = 0; m < info.out; ++m) {
    info.wscale_codes[m] = c.scale_of(m * per);
    info.wscale[m] = half ? c.scale_of(m * per) * 0.5f : c.scale_of(m * per);
  }
  info.int_weights = true;
}

// ---- step 2: fusion ----

struct Fused {
  int weight = -1;  // prim index
  int bn = -1, add = -1, act = -1;
  int out = -1;     // the fused output's primitive value
};

Act act_of(const nn::Module& m, float& lo, float& hi) {
  if (dynamic_cast<const nn::ReLU*>(&m)) return Act::relu;
  if (auto* h = dynamic_cast<const nn::HardTanh*>(&m)) return lo = h->lo(), hi = h->hi(), Act::clamp;
  if (auto* c = dynamic_cast<const nn::Clip*>(&m)) return lo = c->lo(), hi = c->hi(), Act::clamp;
  return Act::none;
}

}  // namespace

DeployGraph lower_model(nn::Module& model, const std::string& model_name, const nn::ModelOptions& options) {
  model.eval();
  NoGradGuard no_grad;
  Walk w;
  const int x0 = w.value({options.in_channels, options.height, options.width});
  const int final_value = w.walk(model, "", x0);
  const size_t P = w.prims.size();

  // Consumers of every primitive value.
  std::vector<std::vector<int>> users(w.shapes.size());
  for (size_t i = 0; i < P; ++i) {
    users[w.prims[i].in].push_back(static_cast<int>(i));
    if (w.prims[i].in2 >= 0) users[w.prims[i].in2].push_back(static_cast<int>(i));
  }
  auto sole_user = [&](int v, Prim::Kind kind) -> int {
    if (v == final_value || users[v].size() != 1) return -1;
    const int u = users[v][0];
    return w.prims[u].kind == kind && w.prims[u].in == v ? u : -1;
  };

  std::vector<char> fused_away(P, 0);
  std::map<int, Fused> fused;  // by weight prim index
  for (size_t i = 0; i < P; ++i) {
    if (w.prims[i].kind != Prim::weight) continue;
    Fused f;
    f.weight = static_cast<int>(i);
    int cur = w.prims[i].out;
    if (int b = sole_user(cur, Prim::bn); b >= 0) f.bn = b, cur = w.prims[b].out, fused_away[b] = 1;
    if (int a = sole_user(cur, Prim::add); a >= 0) f.add = a, cur = w.prims[a].out, fused_away[a] = 1;
    if (int a = sole_user(cur, Prim::act); a >= 0) f.act = a, cur = w.prims[a].out, fused_away[a] = 1;
    f.out = cur;
    fused[static_cast<int>(i)] = f;
  }

  // Views of the weight layers (quantizers checked once).
  std::map<int, LayerView> views;
  for (const auto& [i, f] : fused) views[i] = view_of(*w.prims[i].mod, w.prims[i].name);

  // Step 3: terminal consumers of a value through max pools and flattens.
  auto terminals = [&](int v, std::vector<int>& layers, bool& other) {
    std::vector<int> stack{v};
    while (!stack.empty()) {
      const int cur = stack.back();
      stack.pop_back();
      if (cur == final_value) other = true;
      for (int u : users[cur]) {
        const Prim& p = w.prims[u];
        if (p.kind == Prim::maxpool || p.kind == Prim::flatten) stack.push_back(p.out);
        else if (p.kind == Prim::weight && p.in == cur) layers.push_back(u);
        else other = true;
      }
    }
  };

  DeployGraph g;
  g.model = model_name;
  g.in_c = options.in_channels, g.in_h = options.height, g.in_w = options.width, g.num_classes = options.num_classes;
  Value in;
  in.name = "input";
  in.shape = w.shapes[x0];
  std::vector<int> vmap(w.shapes.size(), -1);
  vmap[x0] = g.add_value(in);
  std::map<std::pair<int, std::string>, int> quantized_cache;  // (value, recipe) → codes value

  auto codes_value = [&](const std::string& name, const std::vector<int64_t>& shape, const QuantizerRecipe& r) {
    Value v;
    v.name = name;
    v.kind = ValueKind::codes;
    v.shape = shape;
    v.format = r.format;
    v.bits = r.bits;
    v.scale = r.params.scale;
    v.zero_point = static_cast<int32_t>(r.params.zero_point);
    return v;
  };
  auto f32_value = [&](const std::string& name, const std::vector<int64_t>& shape) {
    Value v;
    v.name = name;
    v.shape = shape;
    return v;
  };

  for (size_t i = 0; i < P; ++i) {
    if (fused_away[i]) continue;
    const Prim& p = w.prims[i];
    const int src = vmap[p.in];
    LOWBIT_ASSERT(src >= 0, "{}: input not lowered", p.name);
    const Value srcv = g.values[src];
    Op op;
    op.name = p.name;
    op.inputs = {src};
    switch (p.kind) {
      case Prim::weight: {
        const Fused& f = fused.at(static_cast<int>(i));
        const LayerView& lv = views.at(static_cast<int>(i));
        op.kind = lv.conv ? OpKind::conv : OpKind::linear;
        fill_layer(lv, p.name, w.shapes[p.in], w.shapes[p.out], op.layer);
        WeightLayerInfo& L = op.layer;
        // The input: codes from the layer's quantizer (a quantize op when the producer left f32), or f32.
        if (lv.quantizes_input) {
          int xin = src;
          if (srcv.kind == ValueKind::f32) {
            const auto key = std::make_pair(src, lv.recipe.describe());
            auto it = quantized_cache.find(key);
            if (it == quantized_cache.end()) {
              Op qop;
              qop.kind = OpKind::quantize;
              qop.name = p.name + ".input";
              qop.inputs = {src};
              qop.quant = lv.recipe;
              qop.output = g.add_value(codes_value(qop.name, srcv.shape, lv.recipe));
              g.ops.push_back(qop);
              it = quantized_cache.emplace(key, qop.output).first;
            }
            xin = it->second;
          } else {
            LOWBIT_ASSERT(srcv.format == lv.recipe.format && srcv.bits == lv.recipe.bits, "{}: codes mismatch", p.name);
          }
          op.inputs = {xin};
        } else {
          LOWBIT_CHECK(srcv.kind == ValueKind::f32, "{}: an fp32-input layer fed codes", p.name);
        }
        const Value& xv = g.values[op.inputs[0]];
        const bool int_route = L.int_weights && xv.kind == ValueKind::codes;
        if (int_route) {
          int32_t vmax = 0;
          for (int32_t v : L.v) vmax = std::max(vmax, std::abs(v));
          const int64_t xmax = std::max(std::abs(int64_t(xv.code_hi()) - xv.zero_point),
                                        std::abs(int64_t(xv.code_lo()) - xv.zero_point));
          L.acc_bound = L.k() * vmax * xmax;
          LOWBIT_CHECK(L.acc_bound < (int64_t{1} << 30), "{}: accumulators up to {} do not fit int32 thresholds", p.name,
                       L.acc_bound);
        } else if (L.int_weights) {
          L.int_weights = false;  // codes input dequantized or f32: the f32 route on the real weights
        }
        // Fused tail.
        auto* bn = f.bn >= 0 ? dynamic_cast<nn::BatchNorm*>(w.prims[f.bn].mod) : nullptr;
        if (bn) {
          op.bn = true;
          batchnorm_coefficients(bn->weight().value().data(), bn->bias().value().data(), bn->running_mean().data(),
                                 bn->running_var().data(), bn->eps(), bn->channels(), op.bn_a, op.bn_b);
          op.name += "+" + w.prims[f.bn].name.substr(w.prims[f.bn].name.rfind('.') + 1);
        }
        if (f.add >= 0) {
          op.residual = vmap[w.prims[f.add].in2];
          LOWBIT_ASSERT(op.residual >= 0, "{}: residual not lowered yet", p.name);
          op.inputs.push_back(op.residual);
          op.name += "+add";
        }
        if (f.act >= 0) {
          op.act = act_of(*w.prims[f.act].mod, op.act_lo, op.act_hi);
          op.name += "+" + w.prims[f.act].name.substr(w.prims[f.act].name.rfind('.') + 1);
        }
        // Output epilogue.
        std::vector<int> consumers;
        bool other = false;
        terminals(f.out, consumers, other);
        bool thresholds = int_route && op.residual < 0 && !other && !consumers.empty();
        const QuantizerRecipe* next = nullptr;
        for (int u : consumers) {
          const LayerView& cv = views.at(u);
          if (!cv.quantizes_input) thresholds = false;
          else if (!next) next = &cv.recipe;
          else if (!same_recipe(*next, cv.recipe)) thresholds = false;
        }
        // Codes of more than kMaxThresholdBits bits: 2^bits − 1 thresholds per channel would outweigh the layer
        // (an 8-bit output: 1020 bytes and 255 comparisons per channel); the f32 epilogue and a quantize op are
        // smaller and faster, and compute the same codes.
        if (next && next->format != CodeFormat::binary && next->bits > kMaxThresholdBits) thresholds = false;
        std::vector<float> s(static_cast<size_t>(L.out));
        for (int m = 0; m < L.out; ++m)
          s[m] = int_route ? static_cast<float>(double(L.wscale[m]) * double(xv.scale)) : 1.0f;
        if (op.bn) folded_affine(s, L.bias, op.bn_a, op.bn_b, op.folded_scale, op.folded_bias);
        else op.folded_scale = s, op.folded_bias = L.bias;
        if (thresholds) {
          op.epilogue = Epilogue::threshold;
          const QuantizerRecipe rec = *next;
          const int C = L.out;
          const double sx = xv.scale;
          nn::Module* act_mod = f.act >= 0 ? w.prims[f.act].mod : nullptr;
          const bool conv_shape = lv.conv;
          const CodeChain chain = [&, C, sx, act_mod, bn, conv_shape, rec](const std::vector<int64_t>& acc, int64_t rows,
                                                                           std::vector<int32_t>& codes) {
            Tensor y = Tensor::empty(conv_shape ? Shape{rows, C, 1, 1} : Shape{rows, C});
            for (int64_t r = 0; r < rows; ++r)
              for (int c = 0; c < C; ++c)
                y[r * C + c] = static_cast<float>(double(L.wscale[c]) * sx * double(acc[r * C + c])) + L.bias[c];
            Var z(y);
            if (bn) z = (*bn)(z);
            if (act_mod) z = (*act_mod)(z);
            std::vector<int16_t> c16(static_cast<size_t>(rows * C));
            apply_recipe(rec, z.value().data(), c16.data(), rows * C);
            codes.assign(c16.begin(), c16.end());
          };
          const int levels = rec.format == CodeFormat::binary ? 2 : (1 << rec.bits);
          const int32_t code_lo = rec.format == CodeFormat::binary ? -1 : 0;
          const Thresholds th = search_thresholds(C, L.acc_bound, code_lo, levels, chain, p.name.c_str());
          op.dir = th.dir;
          op.thresholds = th.t;
          op.output = g.add_value(codes_value(op.name, w.shapes[f.out], rec));
        } else {
          op.output = g.add_value(f32_value(op.name, w.shapes[f.out]));
        }
        vmap[f.out] = op.output;
        g.ops.push_back(std::move(op));
        continue;
      }
      case Prim::maxpool: {
        auto* mp = dynamic_cast<nn::MaxPool2d*>(p.mod);
        op.kind = OpKind::maxpool;
        op.pool_kernel = mp->kernel(), op.pool_stride = mp->stride(), op.pool_pad = mp->pad();
        Value v = srcv;
        v.name = p.name;
        v.shape = w.shapes[p.out];
        op.output = g.add_value(v);
        break;
      }
      case Prim::flatten: {
        op.kind = OpKind::flatten;
        Value v = srcv;
        v.name = p.name;
        v.shape = w.shapes[p.out];
        op.output = g.add_value(v);
        break;
      }
      case Prim::gap:
      case Prim::shortcut:
      case Prim::add: {
        LOWBIT_CHECK(srcv.kind == ValueKind::f32, "{}: expects fp32 input", p.name);
        op.kind = p.kind == Prim::gap ? OpKind::global_avgpool : p.kind == Prim::shortcut ? OpKind::shortcut_a : OpKind::add;
        if (p.kind == Prim::shortcut) op.sc_stride = p.stride, op.sc_front = p.front;
        if (p.kind == Prim::add) {
          op.inputs.push_back(vmap[p.in2]);
          LOWBIT_CHECK(g.values[vmap[p.in2]].kind == ValueKind::f32, "{}: expects fp32 input", p.name);
        }
        op.output = g.add_value(f32_value(p.name, w.shapes[p.out]));
        break;
      }
      case Prim::bn:
        throw Error(fmt::format("{}: a BatchNorm that does not follow a weight layer has no deployed form", p.name));
      case Prim::act:
        throw Error(fmt::format("{}: an activation that does not follow a weight layer (or its BatchNorm) has no "
                                "deployed form",
                                p.name));
    }
    vmap[p.out] = op.output;
    g.ops.push_back(std::move(op));
  }
  g.output = vmap[final_value];
  LOWBIT_CHECK(g.output >= 0 && g.values[g.output].kind == ValueKind::f32 &&
                   g.values[g.output].shape == std::vector<int64_t>{options.num_classes},
               "{}: the model's output is not {} fp32 logits", model_name, options.num_classes);
  return g;
}

}  // namespace lowbit::quant::deploy
