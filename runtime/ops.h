// The runtime's non-layer ops and the parts of the layer epilogues qlayer does not do, on the arena layouts:
//   f32 activations NCHW [N][C][H][W]; u8 codes NHWC [N][H][W][C]; b1 codes NHWC channel-packed
//   [N][H][W][words(C)] (bit 1 = −1, channel tails 0). An [F] activation is [F, 1, 1].
// Each function takes N (images), the per-sample geometry and `threads` (OpenMP on hosts; ignored in firmware).
// The float arithmetic mirrors the training graph's (engine/ops/pool.cpp, kernels/fvec quantizers) operation for
// operation, so the runtime and the training graph agree bit for bit where the computation is the same.
#pragma once
#include <cstdint>

#include "kernels/packing.h"
#include "kernels/conv/conv_geom.h"
#include "runtime/format.h"

namespace lowbit::runtime::ops {

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
};
struct Dims {
  int64_t c = 0, h = 1, w = 1;
};

// quantize: f32 NCHW → u8 NHWC codes (rule 0–2, clamped to [0, qmax]) or b1 NHWC bits (rule 3, sign).
struct QuantRule {
  LbmQuantKind kind = LbmQuantKind::sign;
  float m = 1, d = 1, lo = 0, hi = 0, add = 0;
  int32_t qmax = 255;
};
void quantize_u8(const float* x, int64_t n, Dims g, const QuantRule& r, uint8_t* y, int threads);
void quantize_b1(const float* x, int64_t n, Dims g, kernels::bword* y, int threads);

void maxpool_f32(const float* x, int64_t n, Dims in, Window w, Dims out, float* y, int threads);
void maxpool_u8(const uint8_t* x, int64_t n, Dims in, Window w, Dims out, uint8_t* y, int threads);
void maxpool_b1(const kernels::bword* x, int64_t n, Dims in, Window w, Dims out, kernels::bword* y, int threads);
void avgpool_f32(const float* x, int64_t n, Dims in, Window w, bool count_include_pad, Dims out, float* y,
                 int threads);
// y[n][c] = mean over H·W (8 float accumulators combined in double, as the engine's block_sum).
void global_avgpool_f32(const float* x, int64_t n, Dims in, float* y, int threads);
// y = act(a + b) over count elements.
void add_f32(const float* a, const float* b, int64_t count, LbmAct act, float lo, float hi, float* y, int threads);
// Option-A shortcut: y[c + front][i][j] = x[c][i·s][j·s], zeros elsewhere.
void shortcut_a_f32(const float* x, int64_t n, Dims in, int64_t stride, int64_t front, Dims out, float* y,
                    int threads);
// flatten to NCHW element order: f32 copies, u8 NHWC → [F] bytes, b1 NHWC → [F] bits.
void flatten_f32(const float* x, int64_t n, Dims in, float* y);
void flatten_u8(const uint8_t* x, int64_t n, Dims in, uint8_t* y);
void flatten_b1(const kernels::bword* x, int64_t n, Dims in, kernels::bword* y);

// The fp32 layers (f32 input and weights): y = float(Σ_k double(w[m][k])·double(x[k])) + bias[m], k ascending
// (conv: k = (c, kh, kw) over the taps inside the image; zero padding contributes nothing). The double sum makes
// the result independent of blocking and ISA (it is the export's reference interpreter's, bit for bit).
void linear_f32(const float* x, int64_t n, int64_t F, const float* w, int64_t O, const float* bias, float* y,
                int threads);
// x NCHW [g.N][g.C][g.H][g.W] → y NCHW [g.N][g.O][g.OH][g.OW]; w [O][C/G][KH][KW].
void conv2d_f32(const float* x, const kernels::ConvGeom& g, const float* w, const float* bias, float* y, int threads);
// The rest of the f32 epilogue on y NCHW [n][O][P] (already y + bias): z = y·a[m] + b[m] (a/b null: skipped),
// z += residual (null: skipped), then the activation.
void epilogue_f32(float* y, int64_t n, int64_t O, int64_t P, const float* a, const float* b, const float* residual,
                  LbmAct act, float lo, float hi, int threads);
// Thresholds epilogue: T (float, exact integers) NHWC [rows][O] → codes [rows][O]:
// #{j : T ≥ t[m][j]} (flip bit m 0) or #{j : T ≤ t[m][j]} (flip 1), j < levels.
void threshold_codes(const float* T, int64_t rows, int64_t O, const int32_t* t, int64_t levels,
                     const kernels::bword* flip, uint8_t* y, int threads);

}  // namespace lowbit::runtime::ops
