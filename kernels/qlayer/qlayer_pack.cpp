// qlayer weight packing (kernels/qlayer/qlayer.h): codes [O][Cg][KH][KW] → tap-major kernel codes
// kc[O][KH][KW][Cg] (the order of the byte im2col rows and of bconv2d's weights), their row and per-tap sums, and
// per group the chosen backend's operands, all in one caller buffer of 64-byte aligned sections:
//   kc [O·K] int8 | kwsum [O] int32 | wscale [O] f32 | tap_sum [G][taps][Mg] int32 |
//   G × (backend operands + over-read slack | aux int32) | canonical i2/i4 rows (qgemm packing scratch) |
//   bconv weights [O][taps][words(Cg)] (bconv / affine routes)
// Backend operands: bgemm b1 rows [Mg][kw]; tgemm mask rows then sign rows [2][Mg][kw] + nonzeros per row (aux);
// bitserial kbits planes per row [Mg][kbits·kw]; qgemm panels (kernels/qgemm/qgemm.h) + row sums (aux).
#include <cstring>

#include "kernels/conv/pad_classes.h"
#include "kernels/pack/pack_bits.h"
#include "kernels/pack/pack_nibbles.h"
#include "kernels/pack/pack_planes.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/qlayer/qlayer_internal.h"

namespace lowbit::kernels {
namespace qlayer_detail {

KernelMap kernel_map(QlBackend b, QlRoute r, QlWeightFormat f, int bits) {
  KernelMap m;
  if (b == QlBackend::bitserial && r == QlRoute::generic) {  // unsigned planes
    switch (f) {
      case QlWeightFormat::binary: m.shift = -1, m.step = 2, m.kbits = 1; break;  // kc = (c + 1)/2
      case QlWeightFormat::ternary: m.shift = -1, m.kbits = 2; break;            // kc = c + 1
      case QlWeightFormat::sint: m.shift = -(1 << (bits - 1)), m.kbits = bits; break;
      case QlWeightFormat::uint: m.kbits = bits; break;
    }
    return m;
  }
  int width = bits;
  if (f == QlWeightFormat::binary || f == QlWeightFormat::ternary) width = 2;
  if (f == QlWeightFormat::uint) m.shift = 1 << (bits - 1);
  m.qwtype = width <= 2 ? 0 : width <= 4 ? 1 : 2;
  return m;
}

}  // namespace qlayer_detail

namespace {
using namespace qlayer_detail;

bool valid_bits(QlWeightFormat f, int b) {
  switch (f) {
    case QlWeightFormat::binary: return b == 1;
    case QlWeightFormat::ternary: return b == 2;
    case QlWeightFormat::uint: return b >= 1 && b <= 8;
    case QlWeightFormat::sint: return b >= 2 && b <= 8;
  }
  return false;
}

void code_range(QlWeightFormat f, int b, int32_t* lo, int32_t* hi) {
  switch (f) {
    case QlWeightFormat::binary: *lo = -1, *hi = 1; return;
    case QlWeightFormat::ternary: *lo = -1, *hi = 1; return;
    case QlWeightFormat::uint: *lo = 0, *hi = (1 << b) - 1; return;
    case QlWeightFormat::sint: *lo = -(1 << (b - 1)), *hi = (1 << (b - 1)) - 1; return;
  }
}

QlRoute route_of(const QLayerDesc& d) {
  if (!d.conv || d.geom.G != 1) return QlRoute::generic;
  if (d.backend == QlBackend::bgemm) return QlRoute::bconv;
  if (d.wfmt == QlWeightFormat::binary && d.afmt == QlActFormat::uint && d.abits == 1) return QlRoute::affine;
  return QlRoute::generic;
}

// Everything a pack writes, as sections of one buffer (Carver: sizes when base is null).
struct Plan {
  QlRoute route = QlRoute::generic;
  KernelMap km;
  size_t M = 0, G = 0, Mg = 0, K = 0, taps = 0, cg = 0, kw = 0;
  size_t ops_bytes = 0, aux_count = 0, gstride = 0, aux_off = 0, ldw = 0, canon_lds = 0;
  int8_t* kc = nullptr;
  int32_t* kwsum = nullptr;
  float* wscale = nullptr;
  int32_t* tap_sum = nullptr;
  uint8_t* groups = nullptr;
  uint8_t* canon = nullptr;
  bword* bconv_w = nullptr;
  size_t bconv_words = 0;
  size_t total = 0;
};

bool desc_ok(const QLayerDesc& d) {
  ConvGeom g = d.geom;
  if (g.C < 1 || g.O < 1 || g.KH < 1 || g.KW < 1 || g.G < 1 || g.C % g.G || g.O % g.G) return false;
  if (!d.conv && (g.KH != 1 || g.KW != 1 || g.G != 1)) return false;
  if (!valid_bits(d.wfmt, d.wbits)) return false;
  if (d.afmt == QlActFormat::binary ? d.abits != 1 : (d.abits < 1 || d.abits > 8)) return false;
  if (d.afmt == QlActFormat::binary ? d.azero != 0 : (d.azero < 0 || d.azero > (1 << d.abits) - 1)) return false;
  const float w2 = 2.0f * d.wzero;
  if (!(w2 == static_cast<float>(static_cast<int32_t>(w2))) || w2 > 512.0f || w2 < -512.0f) return false;
  int64_t k;
  if (!checked_mul(g.KH, g.KW, &k) || !checked_mul(k, g.Cg(), &k) || k > (int64_t{1} << 24)) return false;
  int64_t mk;
  if (!checked_mul(k, g.O, &mk) || mk > (int64_t{1} << 40)) return false;
  return true;
}

Plan plan(const QLayerDesc& d, uint8_t* base) {
  Plan p;
  p.route = route_of(d);
  p.km = kernel_map(d.backend, p.route, d.wfmt, d.wbits);
  const ConvGeom& g = d.geom;
  p.M = static_cast<size_t>(g.O), p.G = static_cast<size_t>(g.G), p.Mg = p.M / p.G;
  p.taps = static_cast<size_t>(g.KH * g.KW), p.cg = static_cast<size_t>(g.Cg()), p.K = p.taps * p.cg;
  p.kw = packed_words(p.K);
  Carver c{base, 0};
  p.kc = c.take<int8_t>(p.M * p.K);
  p.kwsum = c.take<int32_t>(p.M);
  p.wscale = c.take<float>(p.M);
  p.tap_sum = c.take<int32_t>(p.taps * p.M);
  if (p.route == QlRoute::generic) {
    switch (d.backend) {
      case QlBackend::reference: break;
      case QlBackend::bgemm: p.ldw = p.kw, p.ops_bytes = p.Mg * p.kw * sizeof(bword); break;
      case QlBackend::tgemm:
        p.ldw = p.kw, p.ops_bytes = 2 * p.Mg * p.kw * sizeof(bword), p.aux_count = p.Mg;
        break;
      case QlBackend::bitserial:
        p.ldw = static_cast<size_t>(p.km.kbits) * p.kw, p.ops_bytes = p.Mg * p.ldw * sizeof(bword);
        break;
      case QlBackend::qgemm: {
        const QWeight qt = static_cast<QWeight>(p.km.qwtype);
        p.ops_bytes = qgemm_packed_bytes(qt, p.Mg, p.K);
        p.aux_count = qgemm_panels(p.Mg) * kQgemmPanelRows;
        if (qt != QWeight::i8) p.canon_lds = qt == QWeight::i2 ? packed_bytes_i2(p.K) : packed_bytes_i4(p.K);
        break;
      }
    }
    if (p.ops_bytes || p.aux_count) {
      p.aux_off = align64(p.ops_bytes + kPackedOverreadBytes);
      p.gstride = p.aux_off + align64(p.aux_count * sizeof(int32_t));
    }
    p.groups = c.take<uint8_t>(p.G * p.gstride);
    p.canon = c.take<uint8_t>(p.Mg * p.canon_lds);
  } else {
    p.bconv_words = p.M * p.taps * packed_words(p.cg);
    p.bconv_w = c.take<bword>(p.bconv_words + kPackedOverreadBytes / sizeof(bword));
  }
  p.total = c.used;
  return p;
}

}  // namespace

size_t qlayer_packed_bytes(const QLayerDesc& d) {
  if (!desc_ok(d) || !qlayer_backend_supports(d.backend, d.wfmt, d.wbits, d.afmt, d.abits)) return 0;
  if (d.backend == QlBackend::qgemm && static_cast<size_t>(d.geom.KH * d.geom.KW * d.geom.Cg()) > kQgemmMaxK)
    return 0;
  return plan(d, nullptr).total;
}

Status qlayer_pack(const QLayerDesc& d, const QLayerWeights& w, void* dst, size_t dst_bytes, QLayerPacked* out) {
  if (!dst || !out || !w.scale || (!w.codes16 == !w.codes8)) return Status::null_pointer;
  if (!desc_ok(d)) return Status::bad_size;
  if (!qlayer_backend_supports(d.backend, d.wfmt, d.wbits, d.afmt, d.abits)) return Status::unsupported;
  const size_t need = qlayer_packed_bytes(d);
  if (need == 0 || dst_bytes < need || reinterpret_cast<uintptr_t>(dst) % 64 != 0) return Status::bad_size;
  if (w.nscale != 1 && w.nscale != static_cast<size_t>(d.geom.O)) return Status::bad_size;
  const Plan p = plan(d, static_cast<uint8_t*>(dst));
  int32_t lo = 0, hi = 0;
  code_range(d.wfmt, d.wbits, &lo, &hi);
  // Kernel codes, tap-major.
  for (size_t m = 0; m < p.M; ++m) {
    int32_t sum = 0;
    for (size_t ch = 0; ch < p.cg; ++ch)
      for (size_t t = 0; t < p.taps; ++t) {
        const size_t src = m * p.K + ch * p.taps + t;
        const int32_t c = w.codes16 ? w.codes16[src] : w.codes8[src];
        if (c < lo || c > hi || (d.wfmt == QlWeightFormat::binary && c == 0)) return Status::out_of_range;
        const int32_t k = (c - p.km.shift) / p.km.step;
        p.kc[m * p.K + t * p.cg + ch] = static_cast<int8_t>(k);
        sum += k;
      }
    p.kwsum[m] = sum;
    p.wscale[m] = w.scale[w.nscale == 1 ? 0 : m];
  }
  for (size_t g = 0; g < p.G; ++g)
    pad_tap_sums_i8(p.kc + g * p.Mg * p.K, p.Mg, p.taps, p.cg, p.K, p.tap_sum + g * p.taps * p.Mg);
  // Backend operands per group.
  Status st = Status::ok;
  for (size_t g = 0; g < p.G && p.route == QlRoute::generic && st == Status::ok; ++g) {
    const int8_t* kc = p.kc + g * p.Mg * p.K;
    uint8_t* ops = p.groups + g * p.gstride;
    int32_t* aux = reinterpret_cast<int32_t*>(ops + p.aux_off);
    switch (d.backend) {
      case QlBackend::reference: break;
      case QlBackend::bgemm:
        st = pack_sign_bytes(kc, p.Mg, p.K, p.K, reinterpret_cast<bword*>(ops), p.kw, p.Mg * p.kw, 1);
        break;
      case QlBackend::tgemm: {
        bword* mask = reinterpret_cast<bword*>(ops);
        st = pack_ternary_planes(kc, p.Mg, p.K, p.K, mask, mask + p.Mg * p.kw, p.kw);
        if (st == Status::ok) plane_popcounts(mask, p.Mg, p.K, p.kw, aux);
        break;
      }
      case QlBackend::bitserial:
        st = pack_bit_planes(reinterpret_cast<const uint8_t*>(kc), p.Mg, p.K, p.K, p.km.kbits,
                             reinterpret_cast<bword*>(ops), p.ldw);
        break;
      case QlBackend::qgemm: {
        const QWeight qt = static_cast<QWeight>(p.km.qwtype);
        const void* src = kc;
        size_t lds = p.K;
        if (qt != QWeight::i8) {
          st = qt == QWeight::i2 ? pack_i2(kc, p.Mg, p.K, p.K, p.canon, p.canon_lds)
                                 : pack_i4(kc, p.Mg, p.K, p.K, p.canon, p.canon_lds);
          src = p.canon, lds = p.canon_lds;
        }
        QgemmWeights qw;
        if (st == Status::ok)
          st = qgemm_pack_weights(qt, QAct::u8, src, p.Mg, p.K, lds, ops, p.ops_bytes, aux, &qw);
        break;
      }
    }
  }
  if (st == Status::ok && p.route != QlRoute::generic) {
    const size_t cw = packed_words(p.cg), rows = p.M * p.taps;
    st = pack_sign_bytes(p.kc, rows, p.cg, p.cg, p.bconv_w, cw, p.bconv_words, 1);
  }
  if (st != Status::ok) return st;
  QLayerPacked& o = *out;
  o = QLayerPacked{};
  o.desc = d;
  o.route = p.route;
  o.M = p.M, o.Mg = p.Mg, o.K = p.K, o.taps = p.taps, o.cg = p.cg;
  o.tmul = 2 * p.km.step;
  o.tz = static_cast<int32_t>(2.0f * d.wzero) - 2 * p.km.shift;
  o.kc = p.kc, o.kwsum = p.kwsum, o.wscale = p.wscale, o.tap_sum = p.tap_sum;
  o.gdata = p.groups, o.gstride = p.gstride, o.ldw = p.ldw, o.kbits = p.km.kbits, o.qwtype = p.km.qwtype;
  o.aux_off = p.aux_off;
  o.bconv_w = p.bconv_w;
  return Status::ok;
}

}  // namespace lowbit::kernels
