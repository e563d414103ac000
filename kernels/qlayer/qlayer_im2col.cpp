// The generic route's activation operand (kernels/qlayer/qlayer.h): one group's activation bytes channel-last, then
// tap-major im2col rows, plus the padding classes of binary activations.
//
// gather_group: input (any QlInput layout) → bytes [N][H][W][Cg] of group gi: uint codes as uint8, binary ±1 as
//   int8 (−1 = 0xFF); from fp32 values the code is −1 exactly where the value is < 0; from bits, bit 1 is −1
//   (binary) or code 0 (1-bit uint).
// im2col_rows: rows[p·ld + (i·KW + j)·Cg + c] = nhwc[(h·W + w)·Cg + c] of one image with h = oh·SH − PH + i,
//   w = ow·SW − PW + j, and the byte `pad` outside the image (azero for uint codes; 0 for binary, which the binary
//   backends pack as +1 and correct per padding class). Each tap is one contiguous copy of Cg bytes, the reason the
//   weights are packed tap-major.
#include <cstring>

#include "kernels/conv/pad_classes.h"
#include "kernels/omp.h"
#include "kernels/qlayer/qlayer_internal.h"

namespace lowbit::kernels::qlayer_detail {

void gather_group(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, size_t gi, uint8_t* dst,
                  int threads) {
  const int64_t N = g.N, C = g.C, HW = g.H * g.W, cg = g.Cg(), c0 = static_cast<int64_t>(gi) * cg;
  const bool binary = p.desc.afmt == QlActFormat::binary;
  const uint8_t one = 1, minus = 0xFF;
  (void)threads;
  LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (N > 1 && threads > 1))
  for (int64_t b = 0; b < N; ++b) {
    uint8_t* out = dst + b * HW * cg;
    switch (x.layout) {
      case QlInput::nchw_i16: {
        const int16_t* src = static_cast<const int16_t*>(x.data) + b * C * HW;
        for (int64_t c = 0; c < cg; ++c) {
          const int16_t* s = src + (c0 + c) * HW;
          for (int64_t i = 0; i < HW; ++i) out[i * cg + c] = static_cast<uint8_t>(static_cast<int8_t>(s[i]));
        }
        break;
      }
      case QlInput::nchw_f32: {
        const float* src = static_cast<const float*>(x.data) + b * C * HW;
        for (int64_t c = 0; c < cg; ++c) {
          const float* s = src + (c0 + c) * HW;
          for (int64_t i = 0; i < HW; ++i) out[i * cg + c] = s[i] < 0.0f ? minus : one;
        }
        break;
      }
      case QlInput::nhwc_u8: {
        const uint8_t* src = static_cast<const uint8_t*>(x.data) + b * HW * C;
        for (int64_t i = 0; i < HW; ++i) std::memcpy(out + i * cg, src + i * C + c0, static_cast<size_t>(cg));
        break;
      }
      case QlInput::nhwc_bits: {
        const int64_t cw = static_cast<int64_t>(packed_words(static_cast<size_t>(C)));
        const bword* src = static_cast<const bword*>(x.data) + b * HW * cw;
        const uint8_t set = binary ? minus : 0, clear = 1;
        for (int64_t i = 0; i < HW; ++i)
          for (int64_t c = 0; c < cg; ++c) {
            const int64_t ch = c0 + c;
            out[i * cg + c] = ((src[i * cw + ch / 64] >> (ch % 64)) & 1u) ? set : clear;
          }
        break;
      }
    }
  }
}

void im2col_rows(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, size_t ld, uint8_t pad) {
  const size_t cg = static_cast<size_t>(g.Cg());
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      uint8_t* r = rows + static_cast<size_t>(oh * g.OW + ow) * ld;
      for (int64_t i = 0; i < g.KH; ++i) {
        const int64_t h = oh * g.SH - g.PH + i;
        for (int64_t j = 0; j < g.KW; ++j, r += cg) {
          const int64_t w = ow * g.SW - g.PW + j;
          if (h >= 0 && h < g.H && w >= 0 && w < g.W)
            std::memcpy(r, nhwc + (h * g.W + w) * static_cast<int64_t>(cg), cg);
          else
            std::memset(r, pad, cg);
        }
      }
    }
  }
}

void carve_classes(const ConvGeom& g, size_t M, Carver& c, ClassBufs* out) {
  const PadClasses pc = pad_class_counts(g);
  out->pc = pc;
  out->pc.row_cls = c.take<int32_t>(static_cast<size_t>(g.OH));
  out->pc.col_cls = c.take<int32_t>(static_cast<size_t>(g.OW));
  out->pc.row_ranges = c.take<PadRange>(pc.rows);
  out->pc.col_ranges = c.take<PadRange>(pc.cols);
  out->pixel_class = c.take<int32_t>(static_cast<size_t>(g.P()));
  out->corr = c.take<int32_t>(pc.classes() * M);
}

void build_classes(const QLayerPacked& p, const ConvGeom& g, ClassBufs& cb) {
  pad_classes_build(g, cb.pc);
  pad_pixel_classes(g, cb.pc, cb.pixel_class);
  const size_t G = static_cast<size_t>(g.G), classes = cb.pc.classes();
  for (size_t gi = 0; gi < G; ++gi)  // per group [classes][Mg]
    pad_class_corrections(g, cb.pc, p.tap_sum + gi * p.taps * p.Mg, p.Mg, cb.corr + gi * classes * p.Mg);
}

}  // namespace lowbit::kernels::qlayer_detail
