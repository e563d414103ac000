// Internal: the driver shared by the panel-packing bgemm variants (bgemm_avx2.cpp, bgemm_avx512.cpp): B panel
// packing, operand checks, the thread count and the work split. The micro-kernels and output transforms stay in
// the ISA files.
//
// Everything here sits in an anonymous namespace on purpose: each ISA file includes this header and compiles it
// with its own -m flags, so every translation unit must keep its own copy (one shared inline/template definition
// would let the linker pick, say, the AVX-512 build of pack_panel for the AVX2 table).
//
// B panel layout (private to the variants): panels of NR columns; word k of column j of panel p goes to
//   slot[k·NR + j] = B[(NR·p + j)·ldb + k]   (0 for columns past N),
// so one k step of the micro-kernel reads NR contiguous words. A thread packs the panel of its current work unit
// into its own slot of the scratch (slot t = the t-th panel-sized block), so no barrier separates packing from
// compute; scratch_words(N, kw) = ceil(N/NR)·NR·kw + 8 ≥ threads·NR·kw + 8 because threads ≤ panels. The slots
// start at the first 64-byte boundary of the scratch (the extra 8 words): callers only promise 8-byte alignment,
// and two slots sharing a cache line made the two threads' panel loads ping-pong that line between the cores
// (64×1024×576 on 2 threads: 38 µs with a 16-byte aligned std::vector scratch, 13.5 µs aligned). NR·kw·8 bytes is
// a multiple of 64 for NR = 8 and 24, so every slot is line-aligned.
//
// Work split. Units are whole panels (all row blocks of MB rows, the panel packed once) when there are at least
// 4 per thread, else single (panel, row block) items (few wide panels: e.g. M = 512, N = 64). Units go out with
// schedule(guided): the first grab is 1/threads of the work and the grabs shrink to one unit, so two threads end
// within one unit of each other with a handful of atomic grabs (fixed chunks of ~1/4 share left one thread up to
// a whole chunk behind: 2-thread speed-ups of 1.5-1.7x). Every output element is computed by exactly one thread
// with integer arithmetic, so the result does not depend on the thread count or on who grabbed what.
#pragma once
#include <cstdint>

#include "kernels/bgemm/bgemm.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {
namespace {

constexpr size_t kSlotAlignWords = 64 / sizeof(bword);

template <size_t NR>
size_t driver_scratch_words(size_t N, size_t kw) {
  return (N + NR - 1) / NR * NR * kw + kSlotAlignWords;
}

inline bword* align_slots(bword* scratch) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(scratch);
  return scratch + ((64 - a % 64) % 64) / sizeof(bword);
}

template <size_t NR>
void pack_panel(const BgemmOperands& op, size_t p, bword* dst) {
  // Sizes in locals: dst is a bword (unsigned long) pointer like size_t, so the compiler would otherwise reload
  // op.kw / op.ldb after every store (measured ~10 % of a small conv's GEMM).
  const size_t n0 = p * NR, kw = op.kw, ldb = op.ldb;
  const size_t cols = op.N - n0 < NR ? op.N - n0 : NR;
  const bword* src = op.B + n0 * ldb;
  for (size_t j = 0; j < cols; ++j, src += ldb)
    for (size_t k = 0; k < kw; ++k) dst[k * NR + j] = src[k];
  for (size_t j = cols; j < NR; ++j)
    for (size_t k = 0; k < kw; ++k) dst[k * NR + j] = 0;
}

inline void driver_check(const BgemmOperands& op, const bword* scratch) {
  LOWBIT_KASSERT(op.M > 0 && op.N > 0 && op.K > 0);
  LOWBIT_KASSERT(op.kw >= packed_words(op.K) && op.lda >= op.kw && op.ldb >= op.kw);
  LOWBIT_KASSERT(op.A && op.B && scratch && (!op.col_class || op.class_corr));
  (void)op;
  (void)scratch;
}

// Minimum work (word XOR-popcounts, M·N·kw) per thread before another thread is used. 2^15 word-ops is ~3-6 µs
// of AVX-512 work including the transforms, against ~1-2 µs to fork and join a spinning OpenMP worker (much
// more if it has gone to sleep: GOMP_SPINCOUNT). Measured with 2^14 (bench_bconv2d, Xeon and EPYC): ResNet-20
// stage 3 (64×64×9 words, 37K) and stage 2 (32×256×5, 41K) were slower on two threads than on one, stage 1
// (16×1024×3, 49K) 9 % faster; with 2^15 all three run on one thread, LeNet-5 conv2 (16×100×3) too.
constexpr size_t kMinWordOpsPerThread = size_t{1} << 15;

inline int driver_threads(int threads, long long panels, long long items, size_t word_ops) {
  long long nt = threads > 0 ? threads : default_threads();
  if (nt > items) nt = items;
  if (nt > panels) nt = panels;  // one scratch panel slot per thread
  const long long by_work = static_cast<long long>(word_ops / kMinWordOpsPerThread);
  if (nt > by_work) nt = by_work;
  return static_cast<int>(nt < 1 ? 1 : nt);
}

// Runs item(panel, p, m_block0) for every (panel p, block of MB rows), the panel packed in `panel`.
template <size_t NR, size_t MB, class Item>
void drive_items(const BgemmOperands& op, bword* scratch, int threads, Item item) {
  driver_check(op, scratch);
  LOWBIT_KASSERT(reinterpret_cast<uintptr_t>(scratch) % sizeof(bword) == 0);
  scratch = align_slots(scratch);
  const long long panels = static_cast<long long>((op.N + NR - 1) / NR);
  const long long blocks = static_cast<long long>((op.M + MB - 1) / MB);
  const int nt = driver_threads(threads, panels, panels * blocks, op.M * op.N * op.kw);
  const bool whole_panels = panels >= 4LL * nt;
  const long long units = whole_panels ? panels : panels * blocks;
  (void)units;
  auto body = [&](bword* mine, size_t& packed, long long u) {
    const long long it0 = whole_panels ? u * blocks : u, it1 = whole_panels ? it0 + blocks : u + 1;
    for (long long it = it0; it < it1; ++it) {
      const size_t p = static_cast<size_t>(it / blocks), m_block0 = static_cast<size_t>(it % blocks) * MB;
      if (packed != p) {
        pack_panel<NR>(op, p, mine);
        packed = p;
      }
      item(static_cast<const bword*>(mine), p, m_block0);
    }
  };
  if (nt == 1) {  // no parallel region at all: nothing to fork, join or schedule
    size_t packed = SIZE_MAX;
    for (long long u = 0; u < units; ++u) body(scratch, packed, u);
    return;
  }
  LOWBIT_OMP(parallel num_threads(nt))
  {
    int slot = 0;
#if defined(_OPENMP)
    slot = omp_get_thread_num();
#endif
    bword* mine = scratch + static_cast<size_t>(slot) * NR * op.kw;
    size_t packed = SIZE_MAX;
    LOWBIT_OMP(for schedule(guided) nowait)
    for (long long u = 0; u < units; ++u) body(mine, packed, u);
  }
}

}  // namespace
}  // namespace lowbit::kernels
