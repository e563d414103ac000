// Very long rows (K > 524,160 bits) for the popcount GEMMs, on every ISA against the reference.
//
// Why: the NEON kernels count bits into uint16 lanes (vcntq_u8 + vpadalq_u8 adds up to 16 per lane and step) and
// must flush them to 32 bits at least every 4095 steps of 128 bits; the AVX variants have their own narrow
// accumulators. The family tests use K up to a few hundred, so they never reach that point. Rows of all ones
// against all zeros make every byte count 8, the worst case, so a missed flush wraps and changes the result.
// Cheap: a handful of rows, one pass.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/bgemm/bgemm.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/tgemm/tgemm.h"
#include "tests/kernels/kernel_test_util.h"

using namespace lowbit::kernels;
using lowbit::kernels::testing::Rng;

namespace {

constexpr size_t kLongK = 4100 * 128 + 77;  // > 4095 steps of 128 bits, odd word count, partial last word
constexpr size_t kWords = packed_words(kLongK);

// rows × kWords with the pattern: row r all ones if `ones_mask` bit r is set, else random (seeded); tails zero.
std::vector<bword> long_rows(size_t rows, unsigned ones_mask, Rng& rng) {
  std::vector<bword> v(rows * kWords + kPackedOverreadBytes / sizeof(bword), 0);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t w = 0; w < kWords; ++w) v[r * kWords + w] = (ones_mask >> r) & 1u ? ~bword{0} : bword(rng());
    v[r * kWords + kWords - 1] &= tail_mask(kLongK);
  }
  return v;
}

}  // namespace

TEST_CASE("long rows: bgemm counts past the uint16 flush point on every ISA") {
  Rng rng(7);
  const size_t M = 5, N = 6;
  const std::vector<bword> a = long_rows(M, 0b10101, rng);
  std::vector<bword> b = long_rows(N, 0, rng);
  for (size_t w = 0; w < kWords; ++w) b[w] = 0;  // B row 0 all +1: A row 0 against it is the worst case
  BgemmOperands op;
  op.M = M, op.N = N, op.K = kLongK, op.kw = kWords, op.A = a.data(), op.lda = kWords, op.B = b.data(),
  op.ldb = kWords;
  std::vector<int32_t> want(M * N), got(M * N);
  kBgemmRef.i32(op, BgemmOutI32{want.data(), N, 1}, nullptr, 1);
  CHECK(want[0] == -static_cast<int32_t>(kLongK));  // all −1 against all +1
  for (int i = 0; i < kIsaCount; ++i) {
    const BgemmKernels* t = bgemm_kernels_for(static_cast<Isa>(i));
    if (!t) continue;
    INFO("isa " << std::string(isa_name(static_cast<Isa>(i))));
    std::vector<bword> scratch(t->scratch_words(N, kWords) + 1);
    std::fill(got.begin(), got.end(), 0);
    t->i32(op, BgemmOutI32{got.data(), N, 1}, scratch.data(), 2);
    CHECK(got == want);
  }
}

TEST_CASE("long rows: tgemm (t2b1, t2t2) and bitserial count past the uint16 flush point on every ISA") {
  Rng rng(8);
  const size_t M = 5, N = 3;
  // Ternary W: mask all ones (rows 0, 2) or random, sign random but ⊆ mask; X: all ones / random.
  const std::vector<bword> wmask = long_rows(M, 0b00101, rng);
  std::vector<bword> wsign = long_rows(M, 0, rng);
  for (size_t i = 0; i < wsign.size(); ++i) wsign[i] &= wmask[i];
  for (size_t w = 0; w < kWords; ++w) wsign[w] = 0;  // W row 0 all +1 against X row 0 all −1: every bit counts
  const std::vector<bword> x = long_rows(N, 0b001, rng);
  const std::vector<bword> xmask = long_rows(N, 0b011, rng);
  std::vector<bword> xsign = long_rows(N, 0b001, rng);
  for (size_t i = 0; i < xsign.size(); ++i) xsign[i] &= xmask[i];
  std::vector<int32_t> nnz(M);
  for (size_t m = 0; m < M; ++m) {
    int32_t s = 0;
    for (size_t w = 0; w < kWords; ++w) s += __builtin_popcountll(wmask[m * kWords + w]);
    nnz[m] = s;
  }
  std::vector<int32_t> want1(M * N), want2(M * N), want3(M * N), got(M * N);
  tgemm_t2b1_i32_ref(M, N, kLongK, wmask.data(), wsign.data(), kWords, nnz.data(), x.data(), kWords, want1.data(),
                     N, 1);
  tgemm_t2t2_i32_ref(M, N, kLongK, wmask.data(), wsign.data(), kWords, xmask.data(), xsign.data(), kWords,
                     want2.data(), N, 1);
  // bitserial with one plane each: D = popcount(w ∧ x) (the mask planes serve as 1-bit codes).
  bitserial_i32_ref(M, N, kLongK, 1, wmask.data(), kWords, 1, xmask.data(), kWords, want3.data(), N, 1);
  CHECK(want1[0] == -static_cast<int32_t>(kLongK));
  CHECK(want3[0] == static_cast<int32_t>(kLongK));  // all ones ∧ all ones
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    INFO("isa " << std::string(isa_name(isa)));
    if (const TgemmKernels* t = tgemm_kernels_for(isa)) {
      t->t2b1_i32(M, N, kLongK, wmask.data(), wsign.data(), kWords, nnz.data(), x.data(), kWords, got.data(), N, 2);
      CHECK(got == want1);
      t->t2t2_i32(M, N, kLongK, wmask.data(), wsign.data(), kWords, xmask.data(), xsign.data(), kWords, got.data(),
                  N, 2);
      CHECK(got == want2);
    }
    if (const BitserialKernels* t = bitserial_kernels_for(isa)) {
      t->i32(M, N, kLongK, 1, wmask.data(), kWords, 1, xmask.data(), kWords, got.data(), N, 2);
      CHECK(got == want3);
    }
  }
}
