// qlayer backends: names, which format pairs each can compute exactly, and the tier's dispatch table
// (qlayer_choose_backend, kernels/qlayer/qlayer.h).
//
// The choice for unsigned activations is timed once per (weight format, weight bits, activation bits) on this CPU:
// both candidates (bitserial on bit planes, qgemm on i2/i4/i8 containers) run the same mid-size layer GEMM
// (64 outputs, K = 3·3·64, 1024 pixels: a ResNet stage-1 conv), best of 3, and the faster one is remembered in a
// fixed table guarded by a mutex — the only state of the tier. Timing needs a clock and scratch memory, so it runs
// on hosts only, outside any forward call (packing time), in buffers of its own; firmware builds (one thread, no
// clock) use a fixed rule instead: bitserial when weight planes × activation bits ≤ 4, else qgemm.
#include <cstring>

#include "kernels/bitserial/bitserial.h"
#include "kernels/qlayer/qlayer_internal.h"

#if !defined(LOWBIT_FIRMWARE)
#include <chrono>
#include <cstdlib>
#include <mutex>
#endif

namespace lowbit::kernels {

const char* qlayer_backend_name(QlBackend b) {
  switch (b) {
    case QlBackend::reference: return "reference";
    case QlBackend::bgemm: return "bgemm";
    case QlBackend::tgemm: return "tgemm";
    case QlBackend::bitserial: return "bitserial";
    case QlBackend::qgemm: return "qgemm";
  }
  return "?";
}

bool qlayer_parse_backend(const char* name, QlBackend* out) {
  if (!name) return false;
  for (int i = 0; i < kQlBackendCount; ++i) {
    const QlBackend b = static_cast<QlBackend>(i);
    if (std::strcmp(name, qlayer_backend_name(b)) == 0) {
      if (out) *out = b;
      return true;
    }
  }
  return false;
}

const char* qlayer_route_name(QlRoute r) {
  switch (r) {
    case QlRoute::generic: return "generic";
    case QlRoute::bconv: return "bconv";
    case QlRoute::affine: return "affine";
  }
  return "?";
}

namespace {

// Planes of the unsigned map (bitserial), kernels/qlayer/qlayer.h.
int unsigned_planes(QlWeightFormat wf, int wbits) {
  return wf == QlWeightFormat::binary ? 1 : wf == QlWeightFormat::ternary ? 2 : wbits;
}

}  // namespace

bool qlayer_backend_supports(QlBackend b, QlWeightFormat wf, int wbits, QlActFormat af, int abits) {
  const bool ua = af == QlActFormat::uint;
  switch (b) {
    case QlBackend::reference: return !ua || abits <= 8;
    case QlBackend::bgemm: return wf == QlWeightFormat::binary && !ua;
    case QlBackend::tgemm: return wf == QlWeightFormat::ternary && !ua;
    case QlBackend::bitserial:
      return ua && abits <= kBitserialMaxBits && unsigned_planes(wf, wbits) <= kBitserialMaxBits;
    case QlBackend::qgemm: return ua && abits <= 8 && wbits <= 8;
  }
  return false;
}

namespace {

#if !defined(LOWBIT_FIRMWARE)
// Seconds for the best of 3 runs of backend b's group GEMM on the mid-size shape, or a huge value if it cannot run.
double time_backend(QlBackend b, QlWeightFormat wf, int wbits, int abits) {
  using namespace qlayer_detail;
  const size_t M = 64, K = 576, N = 1024;
  QLayerDesc d;
  d.geom.C = static_cast<int64_t>(K), d.geom.O = static_cast<int64_t>(M);
  d.conv = false;
  d.wfmt = wf, d.wbits = wbits, d.afmt = QlActFormat::uint, d.abits = abits, d.backend = b;
  const size_t pbytes = qlayer_packed_bytes(d);
  if (pbytes == 0) return 1e30;
  int16_t* codes = static_cast<int16_t*>(std::malloc(M * K * sizeof(int16_t)));
  if (!codes) return 1e30;
  int32_t lo = 0, hi = 0;
  switch (wf) {
    case QlWeightFormat::binary: lo = -1, hi = 1; break;
    case QlWeightFormat::ternary: lo = -1, hi = 1; break;
    case QlWeightFormat::uint: lo = 0, hi = (1 << wbits) - 1; break;
    case QlWeightFormat::sint: lo = -(1 << (wbits - 1)), hi = (1 << (wbits - 1)) - 1; break;
  }
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto next = [&s](uint32_t span) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int32_t>((s >> 33) % span);
  };
  for (size_t i = 0; i < M * K; ++i) {
    codes[i] = static_cast<int16_t>(lo + next(static_cast<uint32_t>(hi - lo + 1)));
    if (wf == QlWeightFormat::binary && codes[i] == 0) codes[i] = 1;
  }
  const size_t xbytes = align64(N * K + kPackedOverreadBytes), dbytes = align64(M * N * sizeof(int32_t));
  uint8_t* pbuf = static_cast<uint8_t*>(std::aligned_alloc(64, pbytes));
  uint8_t* xbuf = static_cast<uint8_t*>(std::aligned_alloc(64, xbytes + dbytes));
  double best = 1e30;
  QLayerPacked p;
  const float one = 1.0f;
  QLayerWeights w;
  w.codes16 = codes, w.scale = &one;
  if (pbuf && xbuf && qlayer_pack(d, w, pbuf, pbytes, &p) == Status::ok) {
    const size_t scr = gemm_scratch_bytes(p, N);
    uint8_t* sbuf = static_cast<uint8_t*>(std::aligned_alloc(64, align64(scr) + 64));
    if (sbuf) {
      for (size_t i = 0; i < N * K; ++i) xbuf[i] = static_cast<uint8_t>(next(1u << abits));
      GemmActs x;
      x.N = N, x.K = K, x.ld = K, x.rows = xbuf;
      int32_t* D = reinterpret_cast<int32_t*>(xbuf + xbytes);
      for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        gemm_group(p, 0, x, D, N, sbuf, 1);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = t < best ? t : best;
      }
      std::free(sbuf);
    }
  }
  std::free(pbuf);
  std::free(xbuf);
  std::free(codes);
  return best;
}
#endif

}  // namespace

QlBackend qlayer_choose_backend(QlWeightFormat wf, int wbits, QlActFormat af, int abits) {
  if (af == QlActFormat::binary) {
    if (wf == QlWeightFormat::binary) return QlBackend::bgemm;
    if (wf == QlWeightFormat::ternary) return QlBackend::tgemm;
    return QlBackend::reference;
  }
  const bool bs = qlayer_backend_supports(QlBackend::bitserial, wf, wbits, af, abits);
  const bool qg = qlayer_backend_supports(QlBackend::qgemm, wf, wbits, af, abits);
  if (!bs || !qg) return qg ? QlBackend::qgemm : bs ? QlBackend::bitserial : QlBackend::reference;
#if defined(LOWBIT_FIRMWARE)
  return unsigned_planes(wf, wbits) * abits <= 4 ? QlBackend::bitserial : QlBackend::qgemm;
#else
  // The dispatch table: [weight format][weight bits][activation bits], 0 = not timed yet, else backend + 1.
  static std::mutex mu;
  static uint8_t chosen[4][9][9] = {};
  const int f = static_cast<int>(wf);
  std::lock_guard<std::mutex> lock(mu);
  uint8_t& slot = chosen[f][wbits][abits];
  if (slot == 0) {
    const double tb = time_backend(QlBackend::bitserial, wf, wbits, abits);
    const double tq = time_backend(QlBackend::qgemm, wf, wbits, abits);
    slot = static_cast<uint8_t>(1 + static_cast<int>(tb < tq ? QlBackend::bitserial : QlBackend::qgemm));
  }
  return static_cast<QlBackend>(slot - 1);
#endif
}

}  // namespace lowbit::kernels
