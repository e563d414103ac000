#include "quant/layers/int_gemm.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "engine/error.h"
#include "engine/rng.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"
#include "kernels/pack/pack_nibbles.h"
#include "kernels/pack/pack_planes.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::quant {
namespace k = lowbit::kernels;

namespace {

// How a QCodes format becomes kernel codes: c = step·kc + shift.
struct KernelMap {
  int shift = 0, step = 1;
  int kbits = 0;                        // unsigned width (bitserial)
  k::QWeight qt = k::QWeight::i8;       // signed container (qgemm)
};

// Signed re-labelling (reference, qgemm, bgemm, tgemm): binary/ternary/sint as they are, uint centred.
KernelMap signed_map(CodeFormat f, int bits) {
  KernelMap m;
  int width = bits;
  if (f == CodeFormat::binary || f == CodeFormat::ternary) width = 2;
  if (f == CodeFormat::uint) m.shift = 1 << (bits - 1);
  m.qt = width <= 2 ? k::QWeight::i2 : width <= 4 ? k::QWeight::i4 : k::QWeight::i8;
  return m;
}

// Unsigned re-labelling (bitserial).
KernelMap unsigned_map(CodeFormat f, int bits) {
  KernelMap m;
  switch (f) {
    case CodeFormat::binary: m.shift = -1, m.step = 2, m.kbits = 1; break;  // kc = (c + 1)/2
    case CodeFormat::ternary: m.shift = -1, m.kbits = 2; break;             // kc = c + 1
    case CodeFormat::sint: m.shift = -(1 << (bits - 1)), m.kbits = bits; break;
    case CodeFormat::uint: m.kbits = bits; break;
  }
  return m;
}

KernelMap map_for(IntBackend b, CodeFormat f, int bits) {
  return b == IntBackend::bitserial ? unsigned_map(f, bits) : signed_map(f, bits);
}

void check_status(k::Status s, const char* what) {
  LOWBIT_ASSERT(s == k::Status::ok, "{} failed: {}", what, k::status_name(s));
}

// int8 rows (negative = bit 1) → b1 rows of kw words (kernels/pack/pack_bits.h), rows split over the threads.
void pack_signs(const int8_t* src, size_t rows, size_t K, size_t lds, k::bword* dst, size_t kw) {
  check_status(k::pack_sign_bytes(src, rows, K, lds, dst, kw, rows * kw, 0), "pack_sign_bytes");
}

}  // namespace

namespace {

void reference_gemm(const IntWeights& w, const IntActs& x, int32_t* D, size_t ldd) {
  const bool is_signed = x.kind == ActKind::binary;
  LOWBIT_OMP(parallel for schedule(static) if (w.M * x.N * w.K > (1u << 18)))
  for (int64_t m = 0; m < static_cast<int64_t>(w.M); ++m) {
    const int8_t* wr = w.kc.data() + m * w.K;
    for (size_t n = 0; n < x.N; ++n) {
      const uint8_t* xr = x.rows + n * x.ld;
      int32_t acc = 0;
      if (is_signed) {
        for (size_t i = 0; i < w.K; ++i) acc += int32_t(wr[i]) * int32_t(static_cast<int8_t>(xr[i]));
      } else {
        for (size_t i = 0; i < w.K; ++i) acc += int32_t(wr[i]) * int32_t(xr[i]);
      }
      D[m * ldd + n] = acc;
    }
  }
}

// Subtracts the padding corrections (binary activations) for backends that do not fuse them.
void apply_class_corrections(const IntWeights& w, const IntActs& x, int32_t* D, size_t ldd) {
  if (!x.row_class) return;
  for (size_t n = 0; n < x.N; ++n) {
    const int32_t c = x.row_class[n];
    if (c == 0) continue;
    const int32_t* corr = x.class_corr + static_cast<size_t>(c) * w.M;
    for (size_t m = 0; m < w.M; ++m) D[m * ldd + n] -= corr[m];
  }
}

}  // namespace

const char* backend_name(IntBackend b) {
  switch (b) {
    case IntBackend::reference: return "reference";
    case IntBackend::bgemm: return "bgemm";
    case IntBackend::tgemm: return "tgemm";
    case IntBackend::bitserial: return "bitserial";
    case IntBackend::qgemm: return "qgemm";
  }
  return "?";
}

IntBackend parse_backend(const std::string& name) {
  for (IntBackend b : {IntBackend::reference, IntBackend::bgemm, IntBackend::tgemm, IntBackend::bitserial,
                       IntBackend::qgemm})
    if (name == backend_name(b)) return b;
  LOWBIT_CHECK(false, "unknown integer backend \"{}\" (valid: reference, bgemm, tgemm, bitserial, qgemm)", name);
  return IntBackend::reference;
}

void AlignedBytes::resize(size_t bytes) {
  if (bytes <= bytes_ && buf_) return;
  const size_t total = bytes + k::kPackedOverreadBytes;
  buf_ = alloc_aligned_floats(static_cast<int64_t>((total + sizeof(float) - 1) / sizeof(float)));
  std::fill(data(), data() + total, uint8_t{0});
  bytes_ = bytes;
}

bool backend_supports(IntBackend b, CodeFormat wf, int wbits, ActKind xk, int xbits) {
  switch (b) {
    case IntBackend::reference: return xk == ActKind::binary || xbits <= 8;
    case IntBackend::bgemm: return wf == CodeFormat::binary && xk == ActKind::binary;
    case IntBackend::tgemm: return wf == CodeFormat::ternary && xk == ActKind::binary;
    case IntBackend::bitserial:
      return xk == ActKind::uint && xbits <= k::kBitserialMaxBits &&
             unsigned_map(wf, wbits).kbits <= k::kBitserialMaxBits;
    case IntBackend::qgemm: return xk == ActKind::uint && xbits <= 8 && wbits <= 8;
  }
  return false;
}

namespace {
// Times one backend on a mid-size layer shape (64 outputs, 3×3×64 inputs, 32×32 pixels).
double time_backend(IntBackend b, CodeFormat wf, int wbits, int xbits) {
  const size_t M = 64, K = 576, N = 1024;
  QCodes w;
  w.format = wf;
  w.bits = wbits;
  w.shape = Shape{int64_t(M), int64_t(K)};
  w.code.resize(M * K);
  w.scale = {1.0f};
  Rng rng(7);
  for (auto& c : w.code) c = static_cast<int16_t>(w.qmin() + int32_t(rng.below(uint64_t(w.qmax() - w.qmin() + 1))));
  const IntWeights pw = pack_int_weights(w, 0, M, K, b);
  std::vector<uint8_t> xs(N * K + k::kPackedOverreadBytes);
  for (auto& v : xs) v = static_cast<uint8_t>(rng.below(uint64_t(1) << xbits));
  IntActs x;
  x.kind = ActKind::uint;
  x.bits = xbits;
  x.N = N;
  x.K = K;
  x.rows = xs.data();
  x.ld = K;
  std::vector<int32_t> D(M * N);
  IntGemmScratch s;
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    int_gemm(pw, x, D.data(), N, s, 1);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}
}  // namespace

IntBackend choose_backend(CodeFormat wf, int wbits, ActKind xk, int xbits) {
  if (xk == ActKind::binary) {
    if (wf == CodeFormat::binary) return IntBackend::bgemm;
    if (wf == CodeFormat::ternary) return IntBackend::tgemm;
    return IntBackend::reference;
  }
  const bool bs = backend_supports(IntBackend::bitserial, wf, wbits, xk, xbits);
  const bool qg = backend_supports(IntBackend::qgemm, wf, wbits, xk, xbits);
  if (!bs || !qg) return qg ? IntBackend::qgemm : bs ? IntBackend::bitserial : IntBackend::reference;
  static std::mutex mu;
  static std::map<std::tuple<int, int, int>, IntBackend> chosen;  // the dispatch table, filled on demand
  const auto key = std::make_tuple(static_cast<int>(wf), wbits, xbits);
  std::lock_guard<std::mutex> lock(mu);
  auto it = chosen.find(key);
  if (it != chosen.end()) return it->second;
  const double tb = time_backend(IntBackend::bitserial, wf, wbits, xbits);
  const double tq = time_backend(IntBackend::qgemm, wf, wbits, xbits);
  const IntBackend pick = tb < tq ? IntBackend::bitserial : IntBackend::qgemm;
  chosen.emplace(key, pick);
  return pick;
}

IntWeights pack_int_weights(const QCodes& w, size_t row0, size_t M, size_t K, IntBackend b) {
  LOWBIT_ASSERT(w.defined() && (row0 + M) * K <= w.code.size(), "pack_int_weights: rows {}..{} of K={} exceed {}",
                row0, row0 + M, K, w.code.size());
  IntWeights out;
  out.backend = b;
  out.M = M;
  out.K = K;
  const KernelMap km = map_for(b, w.format, w.bits);
  out.mult = static_cast<float>(km.step);
  out.zk = (w.zero_point - static_cast<float>(km.shift)) / static_cast<float>(km.step);
  out.kc.resize(M * K);
  const int16_t* src = w.code.data() + row0 * K;
  for (size_t i = 0; i < M * K; ++i) out.kc[i] = static_cast<int8_t>((src[i] - km.shift) / km.step);
  const size_t kw = k::packed_words(K);
  switch (b) {
    case IntBackend::reference: break;
    case IntBackend::bgemm:
      out.ldw = kw;
      out.packed.resize(M * kw * sizeof(k::bword));
      pack_signs(out.kc.data(), M, K, K, out.packed.as<k::bword>(), kw);
      break;
    case IntBackend::tgemm: {
      out.ldw = kw;
      out.packed.resize(2 * M * kw * sizeof(k::bword));
      k::bword* mask = out.packed.as<k::bword>();
      check_status(k::pack_ternary_planes(out.kc.data(), M, K, K, mask, mask + M * kw, kw), "pack_ternary_planes");
      out.aux.resize(M);
      k::plane_popcounts(mask, M, K, kw, out.aux.data());
      break;
    }
    case IntBackend::bitserial: {
      out.kbits = km.kbits;
      out.ldw = static_cast<size_t>(km.kbits) * kw;
      out.packed.resize(M * out.ldw * sizeof(k::bword));
      check_status(k::pack_bit_planes(reinterpret_cast<const uint8_t*>(out.kc.data()), M, K, K, km.kbits,
                                      out.packed.as<k::bword>(), out.ldw),
                   "pack_bit_planes");
      break;
    }
    case IntBackend::qgemm: {
      std::vector<uint8_t> canon;
      const void* csrc = out.kc.data();
      size_t lds = K;
      if (km.qt != k::QWeight::i8) {
        lds = km.qt == k::QWeight::i2 ? k::packed_bytes_i2(K) : k::packed_bytes_i4(K);
        canon.resize(M * lds);
        check_status(km.qt == k::QWeight::i2 ? k::pack_i2(out.kc.data(), M, K, K, canon.data(), lds)
                                             : k::pack_i4(out.kc.data(), M, K, K, canon.data(), lds),
                     "pack_i2/i4");
        csrc = canon.data();
      }
      const size_t bytes = k::qgemm_packed_bytes(km.qt, M, K);
      out.packed.resize(bytes);
      out.aux.resize(k::qgemm_panels(M) * k::kQgemmPanelRows);
      check_status(k::qgemm_pack_weights(km.qt, k::QAct::u8, csrc, M, K, lds, out.packed.data(), bytes,
                                         out.aux.data(), &out.qw),
                   "qgemm_pack_weights");
      break;
    }
  }
  return out;
}

void int_gemm(const IntWeights& w, const IntActs& x, int32_t* D, size_t ldd, IntGemmScratch& scratch, int threads) {
  LOWBIT_ASSERT(x.K == w.K && x.N > 0, "int_gemm: K {} vs {}", x.K, w.K);
  const size_t kw = k::packed_words(w.K);
  switch (w.backend) {
    case IntBackend::reference:
      reference_gemm(w, x, D, ldd);
      return;
    case IntBackend::bgemm: {
      LOWBIT_ASSERT(x.kind == ActKind::binary, "bgemm needs binary activations");
      scratch.xpacked.resize(x.N * kw * sizeof(k::bword));
      pack_signs(reinterpret_cast<const int8_t*>(x.rows), x.N, x.K, x.ld, scratch.xpacked.as<k::bword>(), kw);
      k::BgemmOperands op;
      op.M = w.M, op.N = x.N, op.K = w.K, op.kw = kw;
      op.A = w.packed.as<k::bword>(), op.lda = w.ldw;
      op.B = scratch.xpacked.as<k::bword>(), op.ldb = kw;
      op.col_class = x.row_class;
      op.class_corr = x.class_corr;
      k::BgemmOutI32 out;
      out.C = D, out.cs_m = ldd, out.cs_n = 1;
      const size_t sw = k::bgemm_kernels().scratch_words(x.N, kw);
      scratch.kscratch.resize(sw * sizeof(k::bword));
      k::bgemm_b1b1_i32(op, out, sw ? scratch.kscratch.as<k::bword>() : nullptr, threads);
      return;
    }
    case IntBackend::tgemm: {
      LOWBIT_ASSERT(x.kind == ActKind::binary, "tgemm t2b1 needs binary activations");
      scratch.xpacked.resize(x.N * kw * sizeof(k::bword));
      pack_signs(reinterpret_cast<const int8_t*>(x.rows), x.N, x.K, x.ld, scratch.xpacked.as<k::bword>(), kw);
      const k::bword* mask = w.packed.as<k::bword>();
      k::tgemm_kernels().t2b1_i32(w.M, x.N, w.K, mask, mask + w.M * kw, kw, w.aux.data(),
                                  scratch.xpacked.as<k::bword>(), kw, D, ldd, threads);
      apply_class_corrections(w, x, D, ldd);
      return;
    }
    case IntBackend::bitserial: {
      LOWBIT_ASSERT(x.kind == ActKind::uint && x.bits <= k::kBitserialMaxBits, "bitserial needs ≤4-bit codes");
      const size_t ldx = static_cast<size_t>(x.bits) * kw;
      scratch.xpacked.resize(x.N * ldx * sizeof(k::bword));
      check_status(k::pack_bit_planes(x.rows, x.N, x.K, x.ld, x.bits, scratch.xpacked.as<k::bword>(), ldx),
                   "pack_bit_planes (activations)");
      k::bitserial_kernels().i32(w.M, x.N, w.K, w.kbits, w.packed.as<k::bword>(), w.ldw, x.bits,
                                 scratch.xpacked.as<k::bword>(), ldx, D, ldd, threads);
      return;
    }
    case IntBackend::qgemm:
      LOWBIT_ASSERT(x.kind == ActKind::uint, "qgemm path needs unsigned activation codes");
      k::qgemm_i32(w.qw, x.N, x.rows, x.ld, 0, D, ldd, threads);
      return;
  }
}

}  // namespace lowbit::quant
