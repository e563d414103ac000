// bench_ceilings: this machine's peak rates, the denominators of every "pct_ceiling" counter.
//
// Each compute ceiling is a register-resident inner loop (GNU inline asm, dec/jnz) with enough independent
// accumulator chains to hide the instruction latency, so it runs at the issue-port limit of the core:
//   fp32_fma           vfmadd231ps zmm (ymm without AVX-512), 12 chains            2 ops per lane
//   binary_xor_popcnt  vpxorq + vpopcntq + vpaddq zmm, 10 chains                   2 ops per bit (1 bit-MAC)
//   int8_vnni          vpdpbusd zmm, 12 chains                                      2 ops per u8·s8 product
//   int8_avx2          vpmaddubsw + vpmaddwd + vpaddd ymm, 8 chains                 2 ops per u8·s8 product
//   binary_avx2_lut    vpxor, nibble split, 2× vpshufb LUT popcount, byte sums,     2 ops per bit
//                      vpsadbw every 4 steps (the AVX2 binary kernel's inner loop)
// and each bandwidth ceiling streams a per-thread buffer with aligned 64-byte (32 without AVX-512) loads
// XOR-reduced into 8 accumulators: read_l1 (16 KB), read_l2 (384 KB), read_l3 (4 MB), dram_read (256 MB).
//
// Unit convention: GOPS = 2·MACs/s/1e9 for every data type (binary: one MAC = one bit of XOR+popcount), GB/s
// = 1e9 bytes/s. Threads are pinned one per CPU (pthread_setaffinity_np over the allowed CPU set); a trial's time
// is max(end) − min(start) over its threads; the ceiling is the best of --trials trials (the median is kept
// too). Run it under `chrt -f 10` on a shared machine (scripts/bench.sh does) — see bench/README.md ("Why
// `chrt`") and §5 of the research note kernels.md in the project's shared research folder.
//
// Output: a table on stdout and bench/results/ceilings.json (or --out=PATH).
#include <pthread.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench/common/bench_util.h"
#include "kernels/isa.h"
#include "lowbit_version.h"

namespace {

using Clock = std::chrono::steady_clock;
using lowbit::kernels::cpu_features;

// ---- register-resident compute loops ------------------------------------------------------------------------
// Each runs `n` iterations of a fixed instruction block; ops per iteration are given next to the loop.
#if defined(__x86_64__)

// 12 chains × 16 lanes × 2 = 384 ops per iteration.
__attribute__((target("avx512f"))) void loop_fp32_fma_zmm(uint64_t n) {
  asm volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vmovaps %%zmm0, %%zmm1\n\t vmovaps %%zmm0, %%zmm2\n\t vmovaps %%zmm0, %%zmm3\n\t"
      "vmovaps %%zmm0, %%zmm4\n\t vmovaps %%zmm0, %%zmm5\n\t vmovaps %%zmm0, %%zmm6\n\t"
      "vmovaps %%zmm0, %%zmm7\n\t vmovaps %%zmm0, %%zmm8\n\t vmovaps %%zmm0, %%zmm9\n\t"
      "vmovaps %%zmm0, %%zmm10\n\t vmovaps %%zmm0, %%zmm11\n\t vmovaps %%zmm0, %%zmm12\n\t"
      "vmovaps %%zmm0, %%zmm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm0\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm1\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm2\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm3\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm4\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm5\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm6\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm7\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm8\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm9\n\t"
      "vfmadd231ps %%zmm12, %%zmm13, %%zmm10\n\t vfmadd231ps %%zmm12, %%zmm13, %%zmm11\n\t"
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13");
}

// 12 chains × 8 lanes × 2 = 192 ops per iteration.
__attribute__((target("avx2,fma"))) void loop_fp32_fma_ymm(uint64_t n) {
  asm volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovaps %%ymm0, %%ymm1\n\t vmovaps %%ymm0, %%ymm2\n\t vmovaps %%ymm0, %%ymm3\n\t"
      "vmovaps %%ymm0, %%ymm4\n\t vmovaps %%ymm0, %%ymm5\n\t vmovaps %%ymm0, %%ymm6\n\t"
      "vmovaps %%ymm0, %%ymm7\n\t vmovaps %%ymm0, %%ymm8\n\t vmovaps %%ymm0, %%ymm9\n\t"
      "vmovaps %%ymm0, %%ymm10\n\t vmovaps %%ymm0, %%ymm11\n\t vmovaps %%ymm0, %%ymm12\n\t"
      "vmovaps %%ymm0, %%ymm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm0\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm1\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm2\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm3\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm4\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm5\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm6\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm7\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm8\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm9\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm10\n\t vfmadd231ps %%ymm12, %%ymm13, %%ymm11\n\t"
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13");
}

// Binary MAC: t = a XOR b; t = popcount64(t); acc += t. 10 chains × 512 bits × 2 = 10240 ops per iteration.
// The temporaries t are shared between chains on purpose: register renaming makes them independent, only
// the accumulators carry a dependency from one iteration to the next.
#define LB_BIN_STEP(acc, t) \
  "vpxorq %%zmm11, %%zmm10, %%zmm" #t "\n\t vpopcntq %%zmm" #t ", %%zmm" #t "\n\t vpaddq %%zmm" #t ", %%zmm" #acc ", %%zmm" #acc "\n\t"
__attribute__((target("avx512f,avx512vpopcntdq"))) void loop_binary_xor_popcnt(uint64_t n) {
  asm volatile(
      "vpternlogd $0xff, %%zmm10, %%zmm10, %%zmm10\n\t"  // a = all ones
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"              // b = 0 (popcount of a^b = 64 per lane)
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t vmovdqa64 %%zmm0, %%zmm1\n\t vmovdqa64 %%zmm0, %%zmm2\n\t"
      "vmovdqa64 %%zmm0, %%zmm3\n\t vmovdqa64 %%zmm0, %%zmm4\n\t vmovdqa64 %%zmm0, %%zmm5\n\t"
      "vmovdqa64 %%zmm0, %%zmm6\n\t vmovdqa64 %%zmm0, %%zmm7\n\t vmovdqa64 %%zmm0, %%zmm8\n\t"
      "vmovdqa64 %%zmm0, %%zmm9\n\t"
      "1:\n\t"
      LB_BIN_STEP(0, 12) LB_BIN_STEP(1, 13) LB_BIN_STEP(2, 14) LB_BIN_STEP(3, 15) LB_BIN_STEP(4, 12)
      LB_BIN_STEP(5, 13) LB_BIN_STEP(6, 14) LB_BIN_STEP(7, 15) LB_BIN_STEP(8, 12) LB_BIN_STEP(9, 13)
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef LB_BIN_STEP

// 12 chains × 64 u8·s8 products × 2 = 1536 ops per iteration.
__attribute__((target("avx512f,avx512vnni"))) void loop_int8_vnni(uint64_t n) {
  asm volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vmovdqa64 %%zmm0, %%zmm1\n\t vmovdqa64 %%zmm0, %%zmm2\n\t vmovdqa64 %%zmm0, %%zmm3\n\t"
      "vmovdqa64 %%zmm0, %%zmm4\n\t vmovdqa64 %%zmm0, %%zmm5\n\t vmovdqa64 %%zmm0, %%zmm6\n\t"
      "vmovdqa64 %%zmm0, %%zmm7\n\t vmovdqa64 %%zmm0, %%zmm8\n\t vmovdqa64 %%zmm0, %%zmm9\n\t"
      "vmovdqa64 %%zmm0, %%zmm10\n\t vmovdqa64 %%zmm0, %%zmm11\n\t"
      "vpternlogd $0xff, %%zmm12, %%zmm12, %%zmm12\n\t vmovdqa64 %%zmm12, %%zmm13\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm0\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm1\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm2\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm3\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm4\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm5\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm6\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm7\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm8\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm9\n\t"
      "vpdpbusd %%zmm13, %%zmm12, %%zmm10\n\t vpdpbusd %%zmm13, %%zmm12, %%zmm11\n\t"
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13");
}

// u8·s8 → int16 pairs (vpmaddubsw) → int32 pairs (vpmaddwd with ones) → accumulate (vpaddd).
// 8 chains × 32 products × 2 = 512 ops per iteration.
#define LB_MADD_STEP(acc, t) \
  "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #t "\n\t vpmaddwd %%ymm14, %%ymm" #t ", %%ymm" #t "\n\t vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n\t"
__attribute__((target("avx2"))) void loop_int8_avx2(uint64_t n) {
  asm volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovdqa %%ymm0, %%ymm1\n\t vmovdqa %%ymm0, %%ymm2\n\t vmovdqa %%ymm0, %%ymm3\n\t"
      "vmovdqa %%ymm0, %%ymm4\n\t vmovdqa %%ymm0, %%ymm5\n\t vmovdqa %%ymm0, %%ymm6\n\t vmovdqa %%ymm0, %%ymm7\n\t"
      "vpcmpeqw %%ymm12, %%ymm12, %%ymm12\n\t"  // all ones: u8 255, s8 −1
      "vmovdqa %%ymm12, %%ymm13\n\t"
      "vpsrlw $15, %%ymm12, %%ymm14\n\t"        // int16 ones for vpmaddwd
      "1:\n\t"
      LB_MADD_STEP(0, 8) LB_MADD_STEP(1, 9) LB_MADD_STEP(2, 10) LB_MADD_STEP(3, 11)
      LB_MADD_STEP(4, 8) LB_MADD_STEP(5, 9) LB_MADD_STEP(6, 10) LB_MADD_STEP(7, 11)
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14");
}
#undef LB_MADD_STEP

// AVX2 binary MAC without VPOPCNT: t = a XOR b[mem]; lo/hi nibbles; two vpshufb lookups in a 16-entry popcount
// table; byte sums into a byte accumulator; after 4 steps (≤ 32 per byte) vpsadbw folds the bytes into 64-bit
// sums. 4 chains × 4 steps × 256 bits × 2 = 8192 ops per iteration. B comes from memory (L1), as in a kernel.
#define LB_LUT_STEP(bacc)                                                                                   \
  "vpxor (%1), %%ymm12, %%ymm8\n\t vpand %%ymm14, %%ymm8, %%ymm9\n\t vpsrlw $4, %%ymm8, %%ymm10\n\t"       \
  "vpand %%ymm14, %%ymm10, %%ymm10\n\t vpshufb %%ymm9, %%ymm15, %%ymm9\n\t vpshufb %%ymm10, %%ymm15, %%ymm10\n\t" \
  "vpaddb %%ymm9, %%ymm" #bacc ", %%ymm" #bacc "\n\t vpaddb %%ymm10, %%ymm" #bacc ", %%ymm" #bacc "\n\t"
#define LB_LUT_FOLD(bacc, qacc)                                                                             \
  "vpsadbw %%ymm13, %%ymm" #bacc ", %%ymm11\n\t vpaddq %%ymm11, %%ymm" #qacc ", %%ymm" #qacc "\n\t"          \
  "vpxor %%ymm" #bacc ", %%ymm" #bacc ", %%ymm" #bacc "\n\t"
alignas(32) const uint8_t kNibblePopcount[32] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                                 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
alignas(32) const uint8_t kNibbleMask[32] = {15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
                                             15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};
alignas(32) const uint64_t kLutOperandB[4] = {0x0123456789abcdefull, 0xfedcba9876543210ull, 0x5555aaaa5555aaaaull,
                                              0x0f0f0f0ff0f0f0f0ull};
__attribute__((target("avx2"))) void loop_binary_avx2_lut(uint64_t n) {
  asm volatile(
      "vmovdqa (%2), %%ymm15\n\t"  // popcount table
      "vmovdqa (%3), %%ymm14\n\t"  // 0x0f mask
      "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpcmpeqb %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t vmovdqa %%ymm0, %%ymm1\n\t vmovdqa %%ymm0, %%ymm2\n\t vmovdqa %%ymm0, %%ymm3\n\t"
      "vmovdqa %%ymm0, %%ymm4\n\t vmovdqa %%ymm0, %%ymm5\n\t vmovdqa %%ymm0, %%ymm6\n\t vmovdqa %%ymm0, %%ymm7\n\t"
      "1:\n\t"
      LB_LUT_STEP(4) LB_LUT_STEP(5) LB_LUT_STEP(6) LB_LUT_STEP(7)
      LB_LUT_STEP(4) LB_LUT_STEP(5) LB_LUT_STEP(6) LB_LUT_STEP(7)
      LB_LUT_STEP(4) LB_LUT_STEP(5) LB_LUT_STEP(6) LB_LUT_STEP(7)
      LB_LUT_STEP(4) LB_LUT_STEP(5) LB_LUT_STEP(6) LB_LUT_STEP(7)
      LB_LUT_FOLD(4, 0) LB_LUT_FOLD(5, 1) LB_LUT_FOLD(6, 2) LB_LUT_FOLD(7, 3)
      "dec %0\n\t jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      : "r"(kLutOperandB), "r"(kNibblePopcount), "r"(kNibbleMask)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef LB_LUT_STEP
#undef LB_LUT_FOLD

// ---- streaming reads -----------------------------------------------------------------------------------------
__attribute__((target("avx512f"))) uint64_t read_stream_avx512(const uint8_t* p, size_t bytes, uint64_t passes) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (uint64_t r = 0; r < passes; ++r) {
    for (size_t i = 0; i < bytes; i += 512) {
      a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
      a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 64));
      a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 128));
      a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 192));
      a4 = _mm512_xor_si512(a4, _mm512_load_si512(p + i + 256));
      a5 = _mm512_xor_si512(a5, _mm512_load_si512(p + i + 320));
      a6 = _mm512_xor_si512(a6, _mm512_load_si512(p + i + 384));
      a7 = _mm512_xor_si512(a7, _mm512_load_si512(p + i + 448));
    }
    // Keep the compiler from hoisting the (invariant) loads out of the pass loop.
    asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7) : : "memory");
  }
  a0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)),
                        _mm512_xor_si512(_mm512_xor_si512(a4, a5), _mm512_xor_si512(a6, a7)));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, a0);  // (not _mm512_reduce_or_epi64: it trips -Wuninitialized in g++ 12's header)
  return lanes[0] | lanes[1] | lanes[2] | lanes[3] | lanes[4] | lanes[5] | lanes[6] | lanes[7];
}

__attribute__((target("avx2"))) uint64_t read_stream_avx2(const uint8_t* p, size_t bytes, uint64_t passes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (uint64_t r = 0; r < passes; ++r) {
    for (size_t i = 0; i < bytes; i += 256) {
      a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
      a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
      a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
      a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
      a4 = _mm256_xor_si256(a4, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 128)));
      a5 = _mm256_xor_si256(a5, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 160)));
      a6 = _mm256_xor_si256(a6, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 192)));
      a7 = _mm256_xor_si256(a7, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 224)));
    }
    asm volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7) : : "memory");
  }
  a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                        _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
  return static_cast<uint64_t>(_mm256_extract_epi64(a0, 0) | _mm256_extract_epi64(a0, 3));
}
#endif  // __x86_64__

// Portable fallback (other architectures, or an x86 without AVX2): the compiler vectorises this for the baseline.
uint64_t read_stream_portable(const uint8_t* p, size_t bytes, uint64_t passes) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  const size_t n = bytes / 8;
  uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (uint64_t r = 0; r < passes; ++r) {
    for (size_t i = 0; i < n; i += 8)
      for (int k = 0; k < 8; ++k) a[k] ^= q[i + k];
    asm volatile("" : : "r"(a) : "memory");
  }
  return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

std::atomic<uint64_t> g_sink{0};  // results of the read loops go here so that they cannot be optimised away

// ---- the harness -----------------------------------------------------------------------------------------------

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort: a failure only adds noise
}

// Runs body(thread_index, iterations) on `threads` threads pinned to distinct CPUs, all released together;
// returns max(end) − min(start) in seconds. The calling thread is thread 0 (pinned to the first allowed CPU):
// under SCHED_FIFO a separate waiting main thread could be starved by spinning workers on a 2-CPU machine.
double run_pinned(int threads, uint64_t iters, const std::function<void(int, uint64_t)>& body) {
  static const std::vector<int> cpus = allowed_cpus();
  pin_to(cpus[0]);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<Clock::time_point> start(threads), end(threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      pin_to(cpus[static_cast<size_t>(t) % cpus.size()]);
      ready.fetch_add(1);
      // Yield while waiting: if another real-time job (another benchmark) holds this CPU at the same priority,
      // a pure spin would never let it run and the two would livelock under SCHED_FIFO.
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      start[t] = Clock::now();
      body(t, iters);
      end[t] = Clock::now();
    });
  }
  // Yield, not spin: a new worker starts on this CPU (it inherits our affinity) until it pins itself away.
  while (ready.load() < threads - 1) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  start[0] = Clock::now();
  body(0, iters);
  end[0] = Clock::now();
  for (auto& th : pool) th.join();
  const auto t0 = *std::min_element(start.begin(), start.end());
  const auto t1 = *std::max_element(end.begin(), end.end());
  return std::chrono::duration<double>(t1 - t0).count();
}

struct Stats {
  double best = 0, median = 0;
  uint64_t iterations = 0;
};

// amount_per_iter is per thread (ops or bytes); rates are in units of 1e9 per second.
Stats measure(int threads, double amount_per_iter, int trials, double target_seconds,
              const std::function<void(int, uint64_t)>& body) {
  // Calibrate on one thread: grow the iteration count until a run takes ≥ 10 ms, then scale to the target.
  uint64_t iters = 1;
  double secs = 0;
  for (;;) {
    secs = run_pinned(1, iters, body);
    if (secs >= 0.01 || iters > (1ull << 40)) break;
    iters *= secs < 1e-4 ? 16 : 4;
  }
  iters = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(iters) * target_seconds / secs));
  run_pinned(threads, std::max<uint64_t>(1, iters / 4), body);  // warm-up (clocks, page faults, caches)
  std::vector<double> rates;
  for (int i = 0; i < trials; ++i) {
    const double s = run_pinned(threads, iters, body);
    rates.push_back(amount_per_iter * static_cast<double>(iters) * threads / s * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  Stats st;
  st.best = rates.back();
  st.median = rates[rates.size() / 2];
  st.iterations = iters;
  return st;
}

struct Ceiling {
  std::string kind, unit, what;
  bool available = false;
  std::string missing;  // why not, if unavailable
  std::vector<std::pair<int, Stats>> per_threads;
};

std::string utc_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

struct Options {
  std::string out;
  int trials = 7;
  double seconds = 0.05;
  bool help = false;
};

Options parse_args(int argc, char** argv) {
  Options o;
  o.out = lowbit::bench::ceilings_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--out=", 0) == 0) o.out = a.substr(6);
    else if (a.rfind("--trials=", 0) == 0) o.trials = std::max(1, std::atoi(a.c_str() + 9));
    else if (a.rfind("--seconds=", 0) == 0) o.seconds = std::max(0.001, std::atof(a.c_str() + 10));
    else if (a == "--help" || a == "-h") o.help = true;
    else {
      std::fprintf(stderr, "bench_ceilings: unknown argument '%s' (see --help)\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  if (opt.help) {
    std::printf(
        "bench_ceilings [--out=PATH] [--trials=N] [--seconds=S]\n"
        "  Measures this machine's peak compute and read-bandwidth rates at each thread count of\n"
        "  $LOWBIT_BENCH_THREADS (default 1,2) and writes them as JSON (default %s).\n",
        lowbit::bench::ceilings_path().c_str());
    return 0;
  }
  const auto& f = cpu_features();
  const std::vector<int>& thread_list = lowbit::bench::thread_counts();
  const size_t ncpus = allowed_cpus().size();
  if (static_cast<size_t>(*std::max_element(thread_list.begin(), thread_list.end())) > ncpus)
    std::fprintf(stderr,
                 "bench_ceilings: warning: only %zu CPU(s) allowed to this process (taskset, or OMP_PROC_BIND "
                 "pinning the main thread at start-up); threads beyond that share a CPU and the multi-thread "
                 "ceilings will equal the 1-thread ones\n",
                 ncpus);
  const std::string load_before = read_first_line("/proc/loadavg");
  const bool realtime = sched_getscheduler(0) == SCHED_FIFO || sched_getscheduler(0) == SCHED_RR;

  std::vector<Ceiling> out;
  auto compute = [&](const char* kind, const char* what, bool ok, const char* missing, double ops_per_iter,
                     void (*loop)(uint64_t)) {
    Ceiling c{kind, "GOPS", what, ok, ok ? "" : missing, {}};
    if (ok)
      for (int t : thread_list)
        c.per_threads.push_back({t, measure(t, ops_per_iter, opt.trials, opt.seconds, [loop](int, uint64_t n) {
                                   loop(n);
                                 })});
    out.push_back(c);
  };

#if defined(__x86_64__)
  const bool zmm = f.avx512f;
  compute("fp32_fma", zmm ? "vfmadd231ps zmm, 12 chains" : "vfmadd231ps ymm, 12 chains", f.avx2 && f.fma,
          "needs AVX2+FMA", zmm ? 384.0 : 192.0, zmm ? loop_fp32_fma_zmm : loop_fp32_fma_ymm);
  compute("binary_xor_popcnt", "vpxorq+vpopcntq+vpaddq zmm, 10 chains (1 MAC = 1 bit)",
          f.avx512f && f.avx512vpopcntdq, "needs AVX-512 VPOPCNTDQ", 10240.0, loop_binary_xor_popcnt);
  compute("binary_avx2_lut", "vpxor+nibble vpshufb popcount+vpaddb, vpsadbw per 4 steps, ymm (1 MAC = 1 bit)",
          f.avx2, "needs AVX2", 8192.0, loop_binary_avx2_lut);
  compute("int8_vnni", "vpdpbusd zmm, 12 chains", f.avx512f && f.avx512vnni, "needs AVX-512 VNNI", 1536.0,
          loop_int8_vnni);
  compute("int8_avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm, 8 chains", f.avx2, "needs AVX2", 512.0, loop_int8_avx2);
#else
  for (const char* k : {"fp32_fma", "binary_xor_popcnt", "binary_avx2_lut", "int8_vnni", "int8_avx2"})
    out.push_back(Ceiling{k, "GOPS", "", false, "x86-64 loops only (no NEON ceilings yet)", {}});
#endif

  // Streaming read bandwidth per working set (bytes per thread).
  struct WorkingSet {
    const char* kind;
    size_t bytes;
  };
  const WorkingSet sets[] = {{"read_l1", size_t(16) << 10},
                             {"read_l2", size_t(384) << 10},
                             {"read_l3", size_t(4) << 20},
                             {"dram_read", size_t(256) << 20}};
  uint64_t (*reader)(const uint8_t*, size_t, uint64_t) = read_stream_portable;
  const char* reader_name = "portable 64-bit loads";
#if defined(__x86_64__)
  if (f.avx512f) reader = read_stream_avx512, reader_name = "vmovdqa64 zmm loads, 8 XOR chains";
  else if (f.avx2) reader = read_stream_avx2, reader_name = "vmovdqa ymm loads, 8 XOR chains";
#endif
  const int max_threads = *std::max_element(thread_list.begin(), thread_list.end());
  for (const auto& ws : sets) {
    std::vector<lowbit::bench::AlignedArray<uint8_t>> bufs;
    for (int t = 0; t < max_threads; ++t) {
      bufs.push_back(lowbit::bench::aligned_array<uint8_t>(ws.bytes));
      for (size_t i = 0; i < ws.bytes; i += 4096) bufs.back()[i] = static_cast<uint8_t>(i >> 12);  // touch
    }
    Ceiling c{ws.kind, "GB/s", std::string(reader_name) + ", " + std::to_string(ws.bytes >> 10) + " KB per thread",
              true, "", {}};
    for (int t : thread_list) {
      c.per_threads.push_back({t, measure(t, static_cast<double>(ws.bytes), opt.trials, opt.seconds,
                                          [&](int tid, uint64_t n) {
                                            g_sink.fetch_xor(reader(bufs[tid].get(), ws.bytes, n));
                                          })});
    }
    out.push_back(c);
  }

  // ---- table ----
  std::printf("lowbit ceilings: %s, %s, ISA flags: %s\n", lowbit::bench::cpu_model().c_str(),
              realtime ? "SCHED_FIFO/RR" : "normal priority (run under chrt -f 10 on a shared machine)",
              lowbit::bench::cpu_simd_flags().c_str());
  std::printf("loadavg at start: %s\n\n", load_before.c_str());
  std::printf("%-18s %-5s", "ceiling", "unit");
  for (int t : thread_list) std::printf("  %9s %9s", ("best@" + std::to_string(t)).c_str(), ("med@" + std::to_string(t)).c_str());
  std::printf("  what\n");
  for (const auto& c : out) {
    std::printf("%-18s %-5s", c.kind.c_str(), c.unit.c_str());
    if (!c.available) {
      std::printf("  skipped: %s\n", c.missing.c_str());
      continue;
    }
    for (const auto& [t, s] : c.per_threads) std::printf("  %9.1f %9.1f", s.best, s.median);
    std::printf("  %s\n", c.what.c_str());
  }

  // ---- JSON ----
  nlohmann::json j;
  j["schema"] = "lowbit-ceilings-1";
  j["date_utc"] = utc_now();
  struct utsname u{};
  uname(&u);
  j["machine"] = {{"hostname", u.nodename},
                  {"kernel", std::string(u.sysname) + " " + u.release},
                  {"arch", u.machine},
                  {"cpu_model", lowbit::bench::cpu_model()},
                  {"cpu_flags_simd", lowbit::bench::cpu_simd_flags()},
                  {"online_cpus", sysconf(_SC_NPROCESSORS_ONLN)},
                  {"lowbit_isa", lowbit::kernels::isa_name(lowbit::kernels::active_isa())}};
  j["build"] = {{"lowbit_version", LOWBIT_VERSION},
                {"git_revision", LOWBIT_GIT_REVISION},
                {"compiler", LOWBIT_COMPILER},
                {"build_type", LOWBIT_BUILD_TYPE}};
  j["run"] = {{"threads", thread_list},
              {"trials", opt.trials},
              {"seconds_per_trial", opt.seconds},
              {"realtime_priority", realtime},
              {"loadavg_before", load_before},
              {"loadavg_after", read_first_line("/proc/loadavg")}};
  j["unit_convention"] =
      "GOPS = 2*MACs/s/1e9 for every data type; binary: 1 MAC = 1 bit of XOR+popcount. GB/s = 1e9 bytes/s. "
      "best = max over trials (the ceiling), median kept for noise. Threads pinned one per CPU.";
  nlohmann::json cj = nlohmann::json::object();
  for (const auto& c : out) {
    nlohmann::json e = {{"unit", c.unit}, {"what", c.what}, {"available", c.available}};
    if (!c.available) e["missing"] = c.missing;
    nlohmann::json tj = nlohmann::json::object();
    for (const auto& [t, s] : c.per_threads)
      tj[std::to_string(t)] = {{"best", s.best}, {"median", s.median}, {"iterations_per_trial", s.iterations}};
    e["threads"] = tj;
    cj[c.kind] = e;
  }
  j["ceilings"] = cj;
  std::ofstream os(opt.out);
  if (!os) {
    std::fprintf(stderr, "bench_ceilings: cannot write %s\n", opt.out.c_str());
    return 1;
  }
  os << j.dump(2) << "\n";
  std::printf("\nwrote %s (sink %llu)\n", opt.out.c_str(), static_cast<unsigned long long>(g_sink.load() & 1));
  return 0;
}
