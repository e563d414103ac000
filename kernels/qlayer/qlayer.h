// qlayer: the integer computation of one quantized conv / linear layer, shared by training (quant's QConv2d /
// QLinear wrap it in autograd) and deployment (the runtime's executor calls it directly). Same code, same integers.
//
// Freestanding like the rest of kernels/: pointers and sizes, Status codes, no exceptions, no Tensor, no heap in a
// call. The caller owns every buffer: qlayer_packed_bytes() sizes the packed weights, qlayer_workspace_bytes() the
// scratch of one forward call (both 64-byte aligned).
//
// ---- Codes and the canonical integer accumulator T ----
// Weights: integer codes c_w [O][Cg][KH][KW] (OIHW, a linear layer is KH = KW = 1) with real value
//   real_w[m][k] = wscale[m] · (c_w − wzero)          wzero ∈ Z/2 (DoReFa's k-bit codes have wzero = (2^k − 1)/2)
// in one of four formats: binary (±1), ternary (−1, 0, 1), uint (0..2^b − 1), sint (−2^(b−1)..2^(b−1) − 1).
// Activations: codes c_x with real_x = sx · (c_x − azero), azero an integer (0 except for an 8-bit image input);
// binary activations are ±1 (azero 0), uint ones are 0..2^b − 1, b ≤ 8.
// For output channel m and output pixel n the layer's integer result is the canonical accumulator
//   T[m][n] = Σ_k 2·(c_w[m][k] − wzero) · (c_x[n][k] − azero)       (an exact integer: 2·wzero ∈ Z)
// so the real conv/linear output without bias is
//   y[m][n] = (wscale[m] · sx / 2) · T[m][n].
// Zero padding is the real value 0 everywhere (code azero for uint activations; binary activations cannot store
// 0 and are corrected exactly with the padding classes of kernels/conv/pad_classes.h). T is backend independent:
// thresholds computed on T (the .lbm stores them) work whatever backend runs the layer.
//
// ---- Kernel codes and backends ----
// A backend multiplies *kernel codes* kc, an affine relabelling c_w = step·kc + shift chosen to fit it:
//   signed map (reference, bgemm, tgemm, qgemm): binary/ternary/sint as they are, uint centred (shift 2^(b−1)), so
//     1–2 bits go to i2, 3–4 bits to i4, 5–8 bits to i8 (qgemm containers; 3-bit in i4, 6-bit in i8);
//   unsigned map (bitserial, ≤ 4-bit planes): binary kc = (c + 1)/2 (step 2), ternary kc = c + 1, sint c + 2^(b−1).
// With D = Σ_k kc·xc (the backend's exact int32 GEMM), xsum[n] = Σ_k xc, kwsum[m] = Σ_k kc and
//   tmul = 2·step,  tz = 2·(wzero − shift)   (integers),
//   T = tmul·D − tz·xsum[n] − azero·(tmul·kwsum[m] − tz·K)
// exactly (expand 2·(c_w − wzero) = tmul·kc − tz and multiply by c_x − azero).
// Backends: bgemm (binary × binary), tgemm (ternary × binary), bitserial (≤4-bit × ≤4-bit unsigned planes),
// qgemm (i2/i4/i8 × u8), reference (scalar loops over kc: any pair, the yardstick in tests).
// qlayer_choose_backend() is the dispatch table of the tier: binary activations take bgemm / tgemm; for uint
// activations the faster of bitserial and qgemm for the bit pair, timed once per pair on this CPU (hosts; a fixed
// rule in firmware builds). Results are exact integers, so the choice never changes a number.
//
// ---- Routes (fixed at pack time) ----
//   bconv  — conv, binary weights × binary activations on bgemm, one group: kernels/bconv2d on channel-packed
//            input bits (im2col on bits inside the kernel, zero padding exact), fused f32 / bits output.
//            T = 2·dot.
//   affine — conv, binary weights × 1-bit uint activations x ∈ {0, 1}, one group: s = 2x − 1 ∈ ±1, x = (1 + s)/2,
//            so T = 2·Σ_valid w·x = Σ_valid w·s + Σ_valid w = dot + kwsum[m] − corr[class(n)][m]
//            (dot from bconv2d with zero padding; corr = Σ of w over the taps a pixel of that padding class loses).
//   generic — everything else: byte im2col (tap-major rows, padding = azero, binary padding as +1 then corrected
//            per padding class) and one integer GEMM per group on the chosen backend.
//
// ---- Epilogues ----
//   f32  : out = float(double(wscale[m])·sx·0.5·T) + bias[m]             (bias null → 0; NCHW or NHWC)
//          (the bconv route lets the kernel compute float(wscale[m]·sx)·float(dot) + bias[m], two float roundings.)
//   bits : bit m of pixel n = (T[m][n] < threshold[m]) XOR flip bit m, channel-packed NHWC [N][OH][OW][words(O)],
//          tail bits 0: the input of the next binary layer (a bconv route reads it directly).
//          BatchNorm + sign folded: the next activation is −1 (bit 1) exactly when z = a[m]·y + b[m] < 0, y the
//          real output above (bias included in b). z = (a[m]·wscale[m]·sx/2)·T + b[m] is affine in the integer T
//          with slope s = a·wscale·sx/2, so (kernels/bgemm/bgemm.h)
//            s > 0: z < 0 ⇔ T < ⌈−b/s⌉                        threshold ⌈−b/s⌉,      flip 0
//            s < 0: z < 0 ⇔ T > −b/s ⇔ ¬(T < ⌊−b/s⌋ + 1)      threshold ⌊−b/s⌋ + 1,  flip 1 (γ < 0 flips the sign)
//            s = 0: constant: threshold ±2^25 by the sign of b.
//          qlayer_thresholds() computes them exactly for the float test s·float(T) + b < 0.
//          On the bconv route T = 2·dot, and 2·dot < t ⇔ dot < ⌈t/2⌉: the kernel's threshold is ⌈t/2⌉.
//   u8   : code = clamp(round_half_even(z·inv_step), 0, 2^bits − 1) with z = scale[m]·y + bias[m] (float, no FMA)
//          and y the real output above (as the f32 epilogue computes it, without the layer's bias): BatchNorm (or
//          any per-channel affine) folded into scale/bias, then the next layer's activation quantizer with step
//          1/inv_step (DoReFa: inv_step = 2^k − 1, since round(clip(z, 0, 1)·n) = clamp(round(z·n), 0, n)).
//          One byte per element, NCHW or NHWC: the next layer's uint codes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/conv/conv_geom.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

enum class QlWeightFormat : uint8_t { binary = 0, ternary = 1, uint = 2, sint = 3 };
enum class QlActFormat : uint8_t { binary = 0, uint = 1 };
enum class QlBackend : uint8_t { reference = 0, bgemm = 1, tgemm = 2, bitserial = 3, qgemm = 4 };
inline constexpr int kQlBackendCount = 5;
enum class QlRoute : uint8_t { generic = 0, bconv = 1, affine = 2 };

const char* qlayer_backend_name(QlBackend b);
// "reference", "bgemm", "tgemm", "bitserial", "qgemm"; false for anything else.
bool qlayer_parse_backend(const char* name, QlBackend* out);
const char* qlayer_route_name(QlRoute r);

// Can backend b compute this pair of formats exactly?
bool qlayer_backend_supports(QlBackend b, QlWeightFormat wf, int wbits, QlActFormat af, int abits);
// The backend a layer uses when none is forced (see above). Thread-safe; the first call per bit pair may take a
// few milliseconds on hosts (it times both candidates).
QlBackend qlayer_choose_backend(QlWeightFormat wf, int wbits, QlActFormat af, int abits);

// What a layer is: geometry (O, C, KH, KW, G are used by packing; N, H, W, stride and padding are per call and
// come from the geometry given to qlayer_forward), formats, zero points, backend.
struct QLayerDesc {
  ConvGeom geom;       // a linear layer: C = in features, O = out features, KH = KW = 1, H = W = 1
  bool conv = true;    // false: a linear layer (never the bconv / affine routes)
  QlWeightFormat wfmt = QlWeightFormat::uint;
  int wbits = 8;       // binary 1, ternary 2
  float wzero = 0.0f;  // weight zero point, a multiple of 1/2
  QlActFormat afmt = QlActFormat::uint;
  int abits = 8;       // binary 1
  int32_t azero = 0;   // activation zero point (uint codes only), 0 ≤ azero ≤ 2^abits − 1
  QlBackend backend = QlBackend::reference;
};

// The weights to pack: codes [O][Cg][KH][KW] as int16 or int8 (exactly one non-null), wscale [O] or one value.
struct QLayerWeights {
  const int16_t* codes16 = nullptr;
  const int8_t* codes8 = nullptr;
  const float* scale = nullptr;
  size_t nscale = 1;  // 1 (per tensor) or O (per output channel)
};

// A packed layer: a view into the caller's packed buffer (valid while that buffer is, not relocatable).
struct QLayerPacked {
  QLayerDesc desc;
  QlRoute route = QlRoute::generic;
  size_t M = 0, Mg = 0, K = 0, taps = 0, cg = 0;  // O, O per group, Cg·KH·KW, KH·KW, Cg
  int32_t tmul = 2, tz = 0;                        // T = tmul·D − tz·xsum − … (above)
  const int8_t* kc = nullptr;       // [O][K] kernel codes, tap-major ([O][KH][KW][Cg])
  const int32_t* kwsum = nullptr;   // [O] Σ_k kc
  const float* wscale = nullptr;    // [O] real weight scale
  const int32_t* tap_sum = nullptr; // [G][taps][Mg] Σ_c kc per tap (padding corrections of binary activations)
  const uint8_t* gdata = nullptr;   // backend operands of group g at gdata + g·gstride (64-byte aligned)
  size_t gstride = 0;
  size_t ldw = 0;                   // words per packed row (bgemm, tgemm plane, bitserial: kbits planes)
  int kbits = 0;                    // bitserial weight planes
  int qwtype = 0;                   // qgemm container (kernels::QWeight)
  size_t aux_off = 0;               // bytes from a group's operands to its int32 aux (tgemm nnz, qgemm row sums)
  const bword* bconv_w = nullptr;   // bconv / affine: [O][KH][KW][words(Cg)]
};

// Bytes of the packed buffer for d (0 if d is invalid or the backend cannot take its formats).
size_t qlayer_packed_bytes(const QLayerDesc& d);
// Packs w for d into dst (64-byte aligned, dst_bytes ≥ qlayer_packed_bytes(d)) and fills *out.
// Status: null_pointer, bad_size (geometry, buffer), out_of_range (a code outside its format),
// unsupported (backend cannot compute these formats).
Status qlayer_pack(const QLayerDesc& d, const QLayerWeights& w, void* dst, size_t dst_bytes, QLayerPacked* out);

// ---- Forward ----
enum class QlInput : uint8_t {
  nchw_i16 = 0,   // int16 codes [N][C][H][W] (any format)
  nchw_f32 = 1,   // binary activations only: fp32 values [N][C][H][W], code = −1 where value < 0 else +1
  nhwc_u8 = 2,    // bytes [N][H][W][C]: uint codes, or int8 ±1 for binary activations
  nhwc_bits = 3,  // channel-packed bits [N][H][W][words(C)] (bit 1 = −1; for 1-bit uint codes bit 1 = code 0)
};
struct QLayerInput {
  QlInput layout = QlInput::nchw_i16;
  const void* data = nullptr;
  float scale = 1.0f;  // sx
};

enum class QlEpilogue : uint8_t { f32 = 0, bits = 1, u8 = 2 };
struct QLayerOutput {
  QlEpilogue kind = QlEpilogue::f32;
  void* data = nullptr;
  bool nhwc = false;                 // f32 / u8: [N][OH][OW][O] instead of [N][O][OH][OW]; bits are always NHWC
  const float* bias = nullptr;       // f32: [O] or null
  const int32_t* threshold = nullptr;  // bits: [O] on T
  const bword* flip = nullptr;         // bits: [words(O)] or null
  const float* scale = nullptr;      // u8: [O] (null → 1)
  const float* shift = nullptr;      // u8: [O] (null → 0)
  float inv_step = 1.0f;             // u8
  int bits = 8;                      // u8: output code width, 1..8
};

// Workspace bytes of one qlayer_forward call with geometry g (its N, H, W, stride, padding) and this input /
// output (0 if the call would be refused).
size_t qlayer_workspace_bytes(const QLayerPacked& p, const ConvGeom& g, QlInput in, QlEpilogue out);
// Runs the layer. g must match the packed layer (C, O, KH, KW, G) and be finished (conv_geom_finish).
// threads ≥ 1 (0 = default_threads()); results are identical for any thread count.
// Status: null_pointer, bad_size (geometry mismatch, workspace too small), unsupported (input layout or epilogue
// this route cannot take, e.g. f32 values for uint activations).
Status qlayer_forward(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, const QLayerOutput& y,
                      void* workspace, size_t workspace_bytes, int threads);

// ---- Epilogue helpers ----
// Thresholds on T for the bits epilogue: bit 1 exactly when a[m]·y + b[m] < 0, y the real output without bias
// (y = wscale[m]·sx/2·T). a / b null → 1 / 0. flip holds words(O) words.
void qlayer_thresholds(const QLayerPacked& p, float sx, const float* a, const float* b, int32_t* threshold,
                       bword* flip);
// The u8 epilogue's per-element rule (shared by the forward and tests): clamp(round_half_even(z·inv_step), 0, qmax).
inline uint8_t qlayer_requant(float z, float inv_step, int32_t qmax) {
  volatile float v = z * inv_step;  // no FMA contraction with the caller's affine
  const float f = v;
  if (!(f > 0.0f)) return 0;  // also NaN
  if (f >= static_cast<float>(qmax)) return static_cast<uint8_t>(qmax);
  constexpr float kShift = 12582912.0f;  // 1.5·2^23: round half to even for 0 ≤ f < 2^22
  return static_cast<uint8_t>(static_cast<int32_t>((f + kShift) - kShift));
}

}  // namespace lowbit::kernels
