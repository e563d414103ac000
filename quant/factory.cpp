#include "quant/factory.h"

#include "engine/error.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"
#include "quant/schemes.h"

namespace lowbit::quant {

nn::LayerFactory quantized_layer_factory(const PrecisionConfig& cfg, QPath path) {
  return quantized_layer_factory([cfg](const nn::LayerSpec& spec) { return cfg.resolve(spec); }, cfg.options, path);
}

nn::LayerFactory quantized_layer_factory(PrecisionOf precision_of, const QuantOptions& options, QPath path) {
  return [precision_of, options, path](const nn::LayerSpec& spec, Rng& rng) -> nn::ModulePtr {
    const Precision p = precision_of(spec);
    if (p.is_fp32()) return nn::default_make_layer(spec, rng);
    std::shared_ptr<QuantizedLayer> q;
    nn::ModulePtr m;
    if (spec.kind == nn::LayerSpec::Kind::conv) {
      nn::Conv2dOptions o;
      o.in_channels = spec.in, o.out_channels = spec.out;
      o.kernel_h = spec.kernel_h, o.kernel_w = spec.kernel_w;
      o.stride = spec.stride, o.pad = spec.pad, o.groups = spec.groups, o.bias = spec.bias;
      auto c = std::make_shared<QConv2d>(o, p, options, rng);
      c->set_path(path);
      m = c;
    } else {
      auto l = std::make_shared<QLinear>(spec.in, spec.out, spec.bias, p, options, rng);
      l->set_path(path);
      m = l;
    }
    return m;
  };
}

nn::Activation suggested_activation(const PrecisionConfig& cfg) { return suggested_activation(cfg.defaults); }

nn::Activation suggested_activation(const Precision& d) {
  return d.quantizes_activations() ? scheme_traits(d.scheme).hidden_activation : nn::Activation::relu;
}

std::shared_ptr<nn::Module> make_quantized_model(const std::string& name, nn::ModelOptions options,
                                                 const PrecisionConfig& cfg, const QuantModelOptions& q,
                                                 std::vector<std::string>* warnings) {
  std::vector<std::string> layer_names;
  const nn::LayerFactory inner = quantized_layer_factory(cfg, q.path);
  options.make_layer = [&layer_names, inner](const nn::LayerSpec& spec, Rng& rng) {
    layer_names.push_back(spec.name);
    return inner(spec, rng);
  };
  if (q.set_activation) options.activation = suggested_activation(cfg);
  std::shared_ptr<nn::Module> model = nn::make_model(name, options);
  const std::vector<std::string> w = cfg.check_overrides(layer_names);
  if (warnings) warnings->insert(warnings->end(), w.begin(), w.end());
  return model;
}

}  // namespace lowbit::quant
