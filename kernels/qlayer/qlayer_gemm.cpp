// One group's exact integer GEMM on the generic route (kernels/qlayer/qlayer.h):
//   D[m·ldd + n] = Σ_k kc[m][k]·xc[n][k]        m < Mg, n < N
// kc the group's kernel codes, xc N activation rows of K bytes (uint codes, or int8 ±1 with 0 at padded positions
// for binary activations). Binary backends (bgemm, tgemm) pack the bytes to sign bits, where 0 becomes +1; the
// caller's per-row padding classes correct that exactly (kernels/conv/pad_classes.h): D −= corr[class[n]][m]
// (bgemm fuses it; tgemm subtracts afterwards). The reference loops multiply the bytes as they are (0 is exact).
#include "kernels/bgemm/bgemm.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"
#include "kernels/pack/pack_planes.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/qlayer/qlayer_internal.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels::qlayer_detail {

namespace {

void reference_gemm(const int8_t* kc, size_t M, size_t K, bool binary, const GemmActs& x, int32_t* D, size_t ldd) {
  LOWBIT_OMP(parallel for schedule(static) if (M * x.N * K > (1u << 18)))
  for (int64_t m = 0; m < static_cast<int64_t>(M); ++m) {
    const int8_t* wr = kc + static_cast<size_t>(m) * K;
    for (size_t n = 0; n < x.N; ++n) {
      const uint8_t* xr = x.rows + n * x.ld;
      int32_t acc = 0;
      if (binary) {
        for (size_t i = 0; i < K; ++i) acc += int32_t(wr[i]) * int32_t(static_cast<int8_t>(xr[i]));
      } else {
        for (size_t i = 0; i < K; ++i) acc += int32_t(wr[i]) * int32_t(xr[i]);
      }
      D[static_cast<size_t>(m) * ldd + n] = acc;
    }
  }
}

}  // namespace

size_t gemm_scratch_bytes(const QLayerPacked& p, size_t N) {
  const size_t kw = packed_words(p.K);
  switch (p.desc.backend) {
    case QlBackend::reference:
    case QlBackend::qgemm: return 0;
    case QlBackend::bgemm:
      return align64(N * kw * sizeof(bword) + kPackedOverreadBytes) +
             align64(bgemm_scratch_words_max(N, kw) * sizeof(bword));
    case QlBackend::tgemm: return align64(N * kw * sizeof(bword) + kPackedOverreadBytes);
    case QlBackend::bitserial:
      return align64(N * static_cast<size_t>(p.desc.abits) * kw * sizeof(bword) + kPackedOverreadBytes);
  }
  return 0;
}

Status gemm_group(const QLayerPacked& p, size_t g, const GemmActs& x, int32_t* D, size_t ldd, uint8_t* scratch,
                  int threads) {
  const size_t Mg = p.Mg, K = p.K, kw = packed_words(K);
  const uint8_t* ops = p.gdata + g * p.gstride;
  const int32_t* aux = reinterpret_cast<const int32_t*>(ops + p.aux_off);
  switch (p.desc.backend) {
    case QlBackend::reference:
      reference_gemm(p.kc + g * Mg * K, Mg, K, p.desc.afmt == QlActFormat::binary, x, D, ldd);
      return Status::ok;
    case QlBackend::bgemm: {
      bword* xp = reinterpret_cast<bword*>(scratch);
      pack_sign_bytes(reinterpret_cast<const int8_t*>(x.rows), x.N, K, x.ld, xp, kw, x.N * kw, threads);
      BgemmOperands op;
      op.M = Mg, op.N = x.N, op.K = K, op.kw = kw;
      op.A = reinterpret_cast<const bword*>(ops), op.lda = p.ldw;
      op.B = xp, op.ldb = kw;
      op.col_class = x.row_class;
      op.class_corr = x.class_corr;
      BgemmOutI32 out;
      out.C = D, out.cs_m = ldd, out.cs_n = 1;
      const BgemmKernels& k = bgemm_kernels();
      bword* ks = reinterpret_cast<bword*>(scratch + align64(x.N * kw * sizeof(bword) + kPackedOverreadBytes));
      k.i32(op, out, k.scratch_words(x.N, kw) ? ks : nullptr, threads);
      return Status::ok;
    }
    case QlBackend::tgemm: {
      bword* xp = reinterpret_cast<bword*>(scratch);
      pack_sign_bytes(reinterpret_cast<const int8_t*>(x.rows), x.N, K, x.ld, xp, kw, x.N * kw, threads);
      const bword* mask = reinterpret_cast<const bword*>(ops);
      tgemm_kernels().t2b1_i32(Mg, x.N, K, mask, mask + Mg * kw, kw, aux, xp, kw, D, ldd, threads);
      if (x.row_class) {
        for (size_t n = 0; n < x.N; ++n) {
          const int32_t c = x.row_class[n];
          if (c == 0) continue;
          const int32_t* corr = x.class_corr + static_cast<size_t>(c) * Mg;
          for (size_t m = 0; m < Mg; ++m) D[m * ldd + n] -= corr[m];
        }
      }
      return Status::ok;
    }
    case QlBackend::bitserial: {
      const size_t ldx = static_cast<size_t>(p.desc.abits) * kw;
      bword* xp = reinterpret_cast<bword*>(scratch);
      const Status st = pack_bit_planes(x.rows, x.N, K, x.ld, p.desc.abits, xp, ldx);
      if (st != Status::ok) return st;
      bitserial_kernels().i32(Mg, x.N, K, p.kbits, reinterpret_cast<const bword*>(ops), p.ldw, p.desc.abits, xp,
                              ldx, D, ldd, threads);
      return Status::ok;
    }
    case QlBackend::qgemm: {
      QgemmWeights qw;
      qw.data = ops, qw.wsum = aux, qw.M = Mg, qw.K = K;
      qw.wtype = static_cast<QWeight>(p.qwtype), qw.xtype = QAct::u8;
      qgemm_i32(qw, x.N, x.rows, x.ld, 0, D, ldd, threads);
      return Status::ok;
    }
  }
  return Status::unsupported;
}

}  // namespace lowbit::kernels::qlayer_detail
