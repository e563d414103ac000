// Precision of one layer and the precision config of a whole model.
//
// A config gives default bits and scheme, per-layer overrides matched against the layers' full dotted names
// (exact name, or a glob: '*' any run of characters including dots, '?' one character, '[...]' a set; fnmatch(3)),
// and a policy for the first and last weight layers: "fp32" (kept in full precision, DoReFa/XNOR/BNN practice),
// "8" (8-bit, see below) or "q" (quantized like every other layer, CCQ's setting).
//
// Resolution order for a layer: defaults → first/last policy → glob overrides in file order → exact-name
// overrides in file order (an exact name beats any glob; within a kind, the later entry wins). An override
// that sets only bits on a layer the first/last policy kept in fp32 quantizes it with the default scheme.
//
// JSON (every key optional except where noted; unknown keys are errors so typos cannot pass silently):
//   {
//     "scheme": "dorefa", "wbits": 1, "abits": 2,         // defaults
//     "first_last": "fp32",                                 // fp32 | 8 | q
//     "unmatched": "error",                                 // error | warn: an override matching no layer
//     "layers": [ {"match": "layer1.*.conv1", "wbits": 2},  // ordered list ...
//                 {"match": "fc", "scheme": "fp32"} ],
//     "options": { "xnor_scale_activations": false, "pact_alpha_init": 8.0, "pact_alpha_decay": 1e-4,
//                  "dorefa_grad_bits": 32 }
//   }
//   "layers" may also be an object {"pattern": {"wbits": 2}, ...} (applied in key order).
//
// Schemes and their valid bits (32 = not quantized):
//   fp32   w 32, a 32
//   dorefa w 1..8|32 (1: sign·E|w|), a 1..8|32 (q_k(clip(x,0,1)))
//   bnn    w 1, a 1 (sign, hardtanh STE, weights clamped to [−1, 1] after each step)
//   xnor   w 1 (α per filter), a 1 | 32 (32 = BWN: binary weights, fp32 activations)
//   twn    w 2 (ternary), a 1..8|32 (DoReFa activations when < 32)
//   lsq    w 2..8|32, a 1..8|32 (learned steps)
//   pact   w 1..8|32 (DoReFa weights, Distiller's pairing), a 1..8 (learned clip α)
// First/last policy "8": the first layer gets 8-bit weights and fp32 input (its input is the normalised
// image, which the unsigned activation quantizers would clip); the last layer gets W8A8. The 8-bit scheme is
// the config's scheme when it supports 8 bits (dorefa, lsq, pact), else dorefa.
// First/last policy "q": both layers take the config's weight bits and scheme; the last layer's input is a
// hidden activation and gets the config's activation bits. The FIRST layer's input is the image, which IS
// 8-bit data: it is kept at 8 bits (Precision::image_input, abits 8 — the affine codes of quant/rules.h
// image_input_u8, i.e. the pixel bytes themselves) instead of being forced through the scheme's activation
// rule (1-bit DoReFa/BNN would binarize the picture). This is the practice of DoReFa-Net, XNOR-Net and Larq
// Compute Engine and still "all layers quantized": every weight layer and every hidden activation has the
// config's bits, and the first layer runs on the integer kernels (e.g. 1-bit weights × 8-bit input codes).
// An override that sets abits or a scheme on the first layer replaces this input rule.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nn/zoo/zoo.h"

namespace lowbit::quant {

enum class Scheme { fp32, dorefa, bnn, xnor, twn, lsq, pact };
const char* scheme_name(Scheme s);
Scheme parse_scheme(const std::string& name);  // throws lowbit::Error listing the valid names
std::vector<std::string> scheme_names();

struct Precision {
  int wbits = 32, abits = 32;
  Scheme scheme = Scheme::fp32;
  // The layer reads the network input and quantizes it to 8-bit affine codes (image_input_u8, range
  // calibrated once from data) instead of the scheme's activation rule; abits is 8. Set by policy "q".
  bool image_input = false;
  bool quantizes_weights() const { return scheme != Scheme::fp32 && wbits < 32; }
  bool quantizes_activations() const { return scheme != Scheme::fp32 && abits < 32; }
  bool is_fp32() const { return !quantizes_weights() && !quantizes_activations(); }
  std::string str() const;  // "dorefa W1A2", "fp32", "twn WtA32", "dorefa W1A8img"
  bool operator==(const Precision& o) const {
    return wbits == o.wbits && abits == o.abits && scheme == o.scheme && image_input == o.image_input;
  }
};
// Throws lowbit::Error naming `where` (a layer, file or record) when the bits do not fit the scheme.
void validate(const Precision& p, const std::string& where);
// The scheme's default bits (bnn/xnor W1A1, twn WtA32, dorefa W1A2, lsq/pact W4A4, fp32 W32A32).
Precision default_precision(Scheme s);

enum class EdgePolicy { fp32, int8, q };
const char* edge_policy_name(EdgePolicy e);
EdgePolicy parse_edge_policy(const std::string& name);  // "fp32" | "8" | "q"

// Scheme options that are not bits.
struct QuantOptions {
  bool xnor_scale_activations = false;  // XNOR-Net's K input scaling (many implementations drop it)
  float pact_alpha_init = 8.0f;         // Distiller's act_clip_init_val
  float pact_alpha_decay = 1e-4f;       // λ of the L2 penalty on α (quant::regularization_loss)
  int dorefa_grad_bits = 32;            // < 32: quantize the gradient at each quantized layer's output
};

struct LayerOverride {
  std::string match;
  bool has_wbits = false, has_abits = false, has_scheme = false;
  int wbits = 32, abits = 32;
  Scheme scheme = Scheme::fp32;
  bool is_glob() const { return match.find_first_of("*?[") != std::string::npos; }
};

// A change of a config's defaults: a scheme (its default bits, then the bits given here), bits, a first/last
// policy. What is not given stays. apply_defaults validates the result (errors name `source`).
struct DefaultsChange {
  std::optional<Scheme> scheme;
  std::optional<int> wbits, abits;
  std::optional<EdgePolicy> first_last;
};

struct PrecisionConfig {
  Precision defaults;
  EdgePolicy first_last = EdgePolicy::fp32;
  std::vector<LayerOverride> overrides;
  bool unmatched_is_error = true;
  QuantOptions options;

  // Parses and validates (`source` names the file or record in errors). Default bits a file leaves out are the
  // scheme's (default_precision).
  static PrecisionConfig from_json(const nlohmann::json& j, const std::string& source);
  static PrecisionConfig from_json_text(const std::string& text, const std::string& source);
  static PrecisionConfig from_file(const std::string& path);
  // One scheme and explicit bits for every layer, and a first/last policy (validated; errors name
  // "precision config").
  static PrecisionConfig uniform(Scheme scheme, int wbits, int abits, EdgePolicy first_last = EdgePolicy::fp32);
  // The config as JSON in from_json's form, every default written out (no key left to a default), so a file
  // records what was resolved: from_json(to_json()) == *this.
  nlohmann::json to_json() const;
  bool operator==(const PrecisionConfig& o) const;
  bool operator!=(const PrecisionConfig& o) const { return !(*this == o); }

  // The precision of one layer (validated; errors name the layer).
  Precision resolve(const nn::LayerSpec& spec) const;
  Precision resolve(const std::string& name, bool first, bool last) const;
  // Checks every override against the model's weight-layer names: an override that matches nothing is an
  // error (unmatched_is_error) or a warning; returns the warnings.
  std::vector<std::string> check_overrides(const std::vector<std::string>& layer_names) const;
  void validate_all(const std::string& source) const;
};

PrecisionConfig apply_defaults(PrecisionConfig base, const DefaultsChange& change, const std::string& source);

}  // namespace lowbit::quant
