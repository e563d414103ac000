#include "quant/precision.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/error.h"
#include "quant/schemes.h"

namespace lowbit::quant {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void check_keys(const nlohmann::json& j, const std::vector<std::string>& allowed, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it.key();
    LOWBIT_CHECK(ok, "{}: unknown key \"{}\" (valid: {})", where, it.key(), join(allowed));
  }
}

int get_bits(const nlohmann::json& v, const std::string& where) {
  LOWBIT_CHECK(v.is_number_integer(), "{}: bits must be an integer, got {}", where, v.dump());
  const int64_t b = v.get<int64_t>();
  LOWBIT_CHECK(b >= 1 && b <= 32, "{}: bits {} out of range (1..8, or 32 for fp32)", where, b);
  return static_cast<int>(b);
}

std::string get_string(const nlohmann::json& v, const std::string& where) {
  LOWBIT_CHECK(v.is_string(), "{}: expected a string, got {}", where, v.dump());
  return v.get<std::string>();
}

LayerOverride parse_override(const std::string& match, const nlohmann::json& body, const std::string& where) {
  LOWBIT_CHECK(body.is_object(), "{}: layer override must be an object, got {}", where, body.dump());
  LOWBIT_CHECK(!match.empty(), "{}: empty layer name/pattern", where);
  LayerOverride o;
  o.match = match;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string k = it.key();
    if (k == "match") continue;
    if (k == "wbits") {
      o.has_wbits = true;
      o.wbits = get_bits(*it, where + ".wbits");
    } else if (k == "abits") {
      o.has_abits = true;
      o.abits = get_bits(*it, where + ".abits");
    } else if (k == "scheme") {
      o.has_scheme = true;
      o.scheme = parse_scheme(get_string(*it, where + ".scheme"));
    } else {
      LOWBIT_CHECK(false, "{}: unknown key \"{}\" (valid: match, wbits, abits, scheme)", where, k);
    }
  }
  LOWBIT_CHECK(o.has_wbits || o.has_abits || o.has_scheme, "{} (\"{}\"): override sets nothing", where, match);
  return o;
}

// Applies one override. Bits set on a layer that is fp32 at that point (a kept first/last layer) quantize it
// with the config's default scheme and bits for what the override leaves out; a scheme switch fills the bits
// the scheme fixes (its registry row allows one width: fp32 32/32, bnn 1/1, xnor weights 1, twn ternary).
Precision apply(Precision p, const LayerOverride& o, const Precision& defaults) {
  if (o.has_abits || o.has_scheme) p.image_input = false;  // the override decides the input rule
  if (!o.has_scheme && p.scheme == Scheme::fp32 && defaults.scheme != Scheme::fp32) p = defaults;
  if (o.has_scheme) {
    p.scheme = o.scheme;
    const SchemeTraits& t = scheme_traits(o.scheme);
    if (t.wbits.only()) p.wbits = t.wbits.only();
    if (t.abits.only()) p.abits = t.abits.only();
  }
  if (o.has_wbits) p.wbits = o.wbits;
  if (o.has_abits) p.abits = o.abits;
  return p;
}

}  // namespace

const char* scheme_name(Scheme s) { return scheme_traits(s).name; }

std::vector<std::string> scheme_names() {
  std::vector<std::string> v;
  for (const SchemeTraits* t = scheme_table_begin(); t != scheme_table_end(); ++t) v.push_back(t->name);
  return v;
}

Scheme parse_scheme(const std::string& name) {
  for (const SchemeTraits* t = scheme_table_begin(); t != scheme_table_end(); ++t)
    if (name == t->name) return t->scheme;
  LOWBIT_CHECK(false, "unknown quantization scheme \"{}\" (valid: {})", name, join(scheme_names()));
  return Scheme::fp32;
}

std::string Precision::str() const {
  if (scheme == Scheme::fp32) return "fp32";
  const std::string w = scheme == Scheme::twn && wbits == 2 ? "t" : std::to_string(wbits);
  return fmt::format("{} W{}A{}{}", scheme_name(scheme), w, abits, image_input ? "img" : "");
}

void validate(const Precision& p, const std::string& where) {
  const SchemeTraits& t = scheme_traits(p.scheme);
  if (p.image_input) {  // 8-bit image codes, whatever the scheme's activation rule; the weights as usual
    LOWBIT_CHECK(p.scheme != Scheme::fp32 && p.abits == 8, "{}: an 8-bit image input needs a quantizing scheme and abits 8, got {}",
                 where, p.str());
    Precision w = p;
    w.image_input = false;
    w.abits = t.abits.valid(8) ? 8 : t.defaults.abits;
    validate(w, where);
    return;
  }
  auto check = [&](const char* which, int b, const BitsRule& rule) {
    LOWBIT_CHECK(rule.valid(b), "{}: {} {}={} is not valid (valid: {})", where, t.name, which, b, rule.text);
  };
  check("wbits", p.wbits, t.wbits);
  check("abits", p.abits, t.abits);
}

Precision default_precision(Scheme s) { return scheme_traits(s).defaults; }

const char* edge_policy_name(EdgePolicy e) {
  switch (e) {
    case EdgePolicy::fp32: return "fp32";
    case EdgePolicy::int8: return "8";
    case EdgePolicy::q: return "q";
  }
  return "?";
}

EdgePolicy parse_edge_policy(const std::string& name) {
  if (name == "fp32") return EdgePolicy::fp32;
  if (name == "8") return EdgePolicy::int8;
  if (name == "q") return EdgePolicy::q;
  LOWBIT_CHECK(false, "unknown first/last policy \"{}\" (valid: fp32, 8, q)", name);
  return EdgePolicy::fp32;
}

PrecisionConfig PrecisionConfig::from_json(const nlohmann::json& j, const std::string& source) {
  LOWBIT_CHECK(j.is_object(), "{}: precision config must be a JSON object", source);
  check_keys(j, {"scheme", "wbits", "abits", "first_last", "unmatched", "layers", "options"}, source);
  PrecisionConfig c;
  bool has_w = false, has_a = false;
  if (j.contains("scheme")) c.defaults.scheme = parse_scheme(get_string(j["scheme"], source + ": scheme"));
  if (j.contains("wbits")) c.defaults.wbits = get_bits(j["wbits"], source + ": wbits"), has_w = true;
  if (j.contains("abits")) c.defaults.abits = get_bits(j["abits"], source + ": abits"), has_a = true;
  if (!has_w) c.defaults.wbits = default_precision(c.defaults.scheme).wbits;
  if (!has_a) c.defaults.abits = default_precision(c.defaults.scheme).abits;
  if (j.contains("first_last")) {
    const auto& v = j["first_last"];
    // The one numeric policy is 8; compare the number as written (a get<int> would wrap 4294967304 to 8).
    LOWBIT_CHECK(!v.is_number() || (v.is_number_integer() && v.get<int64_t>() == 8 && v.dump() == "8"),
                 "{}: first_last must be \"fp32\", 8 or \"q\", got {}", source, v.dump());
    c.first_last = parse_edge_policy(v.is_number() ? std::string("8") : get_string(v, source + ": first_last"));
  }
  if (j.contains("unmatched")) {
    const std::string u = get_string(j["unmatched"], source + ": unmatched");
    LOWBIT_CHECK(u == "error" || u == "warn", "{}: unmatched must be \"error\" or \"warn\", got \"{}\"", source, u);
    c.unmatched_is_error = u == "error";
  }
  if (j.contains("layers")) {
    const auto& L = j["layers"];
    if (L.is_array()) {
      for (size_t i = 0; i < L.size(); ++i) {
        const std::string where = fmt::format("{}: layers[{}]", source, i);
        LOWBIT_CHECK(L[i].is_object() && L[i].contains("match"), "{}: needs a \"match\" name or pattern", where);
        c.overrides.push_back(parse_override(get_string(L[i]["match"], where + ".match"), L[i], where));
      }
    } else {
      LOWBIT_CHECK(L.is_object(), "{}: layers must be an array or an object", source);
      for (auto it = L.begin(); it != L.end(); ++it)
        c.overrides.push_back(parse_override(it.key(), *it, fmt::format("{}: layers.\"{}\"", source, it.key())));
    }
  }
  if (j.contains("options")) {
    const auto& o = j["options"];
    const std::string where = source + ": options";
    LOWBIT_CHECK(o.is_object(), "{} must be an object", where);
    check_keys(o, {"xnor_scale_activations", "pact_alpha_init", "pact_alpha_decay", "dorefa_grad_bits"}, where);
    if (o.contains("xnor_scale_activations")) {
      LOWBIT_CHECK(o["xnor_scale_activations"].is_boolean(), "{}.xnor_scale_activations must be true/false", where);
      c.options.xnor_scale_activations = o["xnor_scale_activations"].get<bool>();
    }
    if (o.contains("pact_alpha_init")) {
      LOWBIT_CHECK(o["pact_alpha_init"].is_number() && o["pact_alpha_init"].get<double>() > 0 &&
                       o["pact_alpha_init"].get<double>() <= std::numeric_limits<float>::max(),
                   "{}.pact_alpha_init must be a positive number that fits a float, got {}", where,
                   o["pact_alpha_init"].dump());
      c.options.pact_alpha_init = o["pact_alpha_init"].get<float>();
    }
    if (o.contains("pact_alpha_decay")) {
      LOWBIT_CHECK(o["pact_alpha_decay"].is_number() && o["pact_alpha_decay"].get<double>() >= 0 &&
                       o["pact_alpha_decay"].get<double>() <= std::numeric_limits<float>::max(),
                   "{}.pact_alpha_decay must be a number ≥ 0 that fits a float, got {}", where,
                   o["pact_alpha_decay"].dump());
      c.options.pact_alpha_decay = o["pact_alpha_decay"].get<float>();
    }
    if (o.contains("dorefa_grad_bits")) {
      const int b = get_bits(o["dorefa_grad_bits"], where + ".dorefa_grad_bits");
      LOWBIT_CHECK(b == 32 || b <= 16, "{}.dorefa_grad_bits must be 1..16 or 32", where);
      c.options.dorefa_grad_bits = b;
    }
  }
  c.validate_all(source);
  return c;
}

PrecisionConfig PrecisionConfig::from_json_text(const std::string& text, const std::string& source) {
  // A precision config is a few levels deep; bounding the depth while parsing keeps a crafted file from
  // exhausting the stack in the recursive parser and in every later copy or dump of the value.
  constexpr int kMaxDepth = 16;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      LOWBIT_CHECK(depth <= kMaxDepth, "{}: invalid precision config: nested deeper than {} levels", source,
                   kMaxDepth);
      return true;
    });
  } catch (const nlohmann::json::exception& e) {  // parse errors and out-of-range numbers such as 1e400
    detail::throw_error(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
  return from_json(j, source);
}

PrecisionConfig PrecisionConfig::from_file(const std::string& path) {
  std::ifstream f(path);
  LOWBIT_CHECK(f.good(), "{}: cannot open precision config", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json_text(ss.str(), path);
}

PrecisionConfig PrecisionConfig::uniform(Scheme scheme, int wbits, int abits, EdgePolicy first_last) {
  PrecisionConfig c;
  c.defaults = Precision{wbits, abits, scheme};
  c.first_last = first_last;
  c.validate_all("precision config");
  return c;
}

PrecisionConfig apply_defaults(PrecisionConfig c, const DefaultsChange& change, const std::string& source) {
  if (change.scheme) c.defaults = default_precision(*change.scheme);
  if (change.wbits) c.defaults.wbits = *change.wbits;
  if (change.abits) c.defaults.abits = *change.abits;
  if (change.first_last) c.first_last = *change.first_last;
  c.validate_all(source);
  return c;
}

nlohmann::json PrecisionConfig::to_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerOverride& o : overrides) {
    nlohmann::json l = {{"match", o.match}};
    if (o.has_scheme) l["scheme"] = scheme_name(o.scheme);
    if (o.has_wbits) l["wbits"] = o.wbits;
    if (o.has_abits) l["abits"] = o.abits;
    layers.push_back(l);
  }
  // Floats as the double with the same shortest decimal form, so the file reads naturally and parses back to
  // the same float.
  auto tidy = [](float f) { return std::stod(fmt::format("{}", f)); };
  return {{"scheme", scheme_name(defaults.scheme)},
          {"wbits", defaults.wbits},
          {"abits", defaults.abits},
          {"first_last", edge_policy_name(first_last)},
          {"unmatched", unmatched_is_error ? "error" : "warn"},
          {"layers", layers},
          {"options",
           {{"xnor_scale_activations", options.xnor_scale_activations},
            {"pact_alpha_init", tidy(options.pact_alpha_init)},
            {"pact_alpha_decay", tidy(options.pact_alpha_decay)},
            {"dorefa_grad_bits", options.dorefa_grad_bits}}}};
}

bool PrecisionConfig::operator==(const PrecisionConfig& o) const { return to_json() == o.to_json(); }

Precision PrecisionConfig::resolve(const std::string& name, bool first, bool last) const {
  Precision p = defaults;
  if (first || last) {
    switch (first_last) {
      case EdgePolicy::fp32: p = Precision{}; break;
      case EdgePolicy::int8:
        p.scheme = scheme_traits(p.scheme).eight_bit;
        p.wbits = 8;
        p.abits = first ? 32 : 8;  // the first layer's input is the normalised image
        break;
      case EdgePolicy::q:
        if (first && p.quantizes_activations()) {  // the image stays 8-bit data (see precision.h)
          p.abits = 8;
          p.image_input = true;
        }
        break;
    }
  }
  for (const auto& o : overrides)
    if (o.is_glob() && nn::glob_match(o.match, name)) p = apply(p, o, defaults);
  for (const auto& o : overrides)
    if (!o.is_glob() && o.match == name) p = apply(p, o, defaults);
  if (p.scheme == Scheme::fp32) p.wbits = p.abits = 32, p.image_input = false;
  validate(p, "layer " + name);
  return p;
}

Precision PrecisionConfig::resolve(const nn::LayerSpec& spec) const { return resolve(spec.name, spec.first, spec.last); }

std::vector<std::string> PrecisionConfig::check_overrides(const std::vector<std::string>& layer_names) const {
  std::vector<std::string> warnings;
  for (const auto& o : overrides) {
    bool hit = false;
    for (const auto& n : layer_names) hit = hit || (o.is_glob() ? nn::glob_match(o.match, n) : o.match == n);
    if (hit) continue;
    std::string msg = fmt::format("precision override \"{}\" matches no weight layer (layers: {})", o.match,
                                  join(layer_names));
    LOWBIT_CHECK(!unmatched_is_error, "{}", msg);
    warnings.push_back(msg);
  }
  return warnings;
}

void PrecisionConfig::validate_all(const std::string& source) const {
  validate(defaults, source + " (defaults)");
  // Each override applied to the defaults (a per-layer result is validated again in resolve()).
  for (const auto& o : overrides) validate(apply(defaults, o, defaults), fmt::format("{} (override \"{}\")", source, o.match));
}

}  // namespace lowbit::quant
