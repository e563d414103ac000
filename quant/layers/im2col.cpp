#include "quant/layers/im2col.h"

#include <cstring>
#include <map>

#include "engine/error.h"

namespace lowbit::quant {

ConvGeom make_conv_geom(int64_t C, int64_t H, int64_t W, int kh, int kw, int stride, int pad, int groups) {
  ConvGeom g;
  g.C = C, g.H = H, g.W = W;
  g.KH = kh, g.KW = kw, g.SH = g.SW = stride, g.PH = g.PW = pad;
  g.groups = groups;
  g.OH = (H + 2 * pad - kh) / stride + 1;
  g.OW = (W + 2 * pad - kw) / stride + 1;
  LOWBIT_CHECK(g.OH > 0 && g.OW > 0, "conv geometry: input {}x{} too small for kernel {}x{} pad {}", H, W, kh, kw,
               pad);
  return g;
}

void im2col_rows_nhwc(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, int64_t ld, uint8_t pad) {
  const size_t cg = static_cast<size_t>(g.Cg());
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      uint8_t* r = rows + (oh * g.OW + ow) * ld;
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

void padding_classes(const ConvGeom& g, std::vector<int32_t>& pixel_class, std::vector<std::vector<uint8_t>>& masks) {
  pixel_class.assign(static_cast<size_t>(g.P()), 0);
  masks.assign(1, {});  // class 0: no padding, no mask
  std::map<std::vector<uint8_t>, int32_t> ids;
  const int64_t taps = g.KH * g.KW;
  std::vector<uint8_t> tapmask(static_cast<size_t>(taps));
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      bool any = false;
      for (int64_t i = 0; i < g.KH; ++i)
        for (int64_t j = 0; j < g.KW; ++j) {
          const int64_t h = oh * g.SH - g.PH + i, w = ow * g.SW - g.PW + j;
          const bool pad = h < 0 || h >= g.H || w < 0 || w >= g.W;
          tapmask[i * g.KW + j] = pad;
          any = any || pad;
        }
      if (!any) continue;
      auto it = ids.find(tapmask);
      if (it == ids.end()) {
        it = ids.emplace(tapmask, static_cast<int32_t>(masks.size())).first;
        std::vector<uint8_t> full(static_cast<size_t>(g.K()));
        for (int64_t t = 0; t < taps; ++t)
          for (int64_t c = 0; c < g.Cg(); ++c) full[t * g.Cg() + c] = tapmask[t];
        masks.push_back(std::move(full));
      }
      pixel_class[oh * g.OW + ow] = it->second;
    }
  }
}

}  // namespace lowbit::quant
