// Shared by the deploy tests: a trained model's op list written as an .lbm (quant/export/write_lbm.h) and run by
// the runtime through its C API (runtime/include/lowbit.h), batch by batch, on normalised images.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/include/lowbit.h"

namespace lowbit::test {

class RuntimeModel {
 public:
  // bytes: an .lbm file; max_batch: images per lowbit_run.
  RuntimeModel(const std::vector<uint8_t>& bytes, uint32_t max_batch) : blob_((bytes.size() + 63) / 64 * 8) {
    std::memcpy(blob_.data(), bytes.data(), bytes.size());
    const lowbit_status s = lowbit_model_init(blob_.data(), bytes.size(), &m_);
    INFO(m_.message);
    REQUIRE(s == LOWBIT_OK);
    REQUIRE(lowbit_model_set_batch(&m_, max_batch) == LOWBIT_OK);
    arena_mem_.resize(lowbit_arena_size(&m_) / 64 + 2);
    arena_ = {arena_mem_.data(), lowbit_arena_size(&m_)};
  }
  const lowbit_model& model() const { return m_; }
  // Logits [n][classes] of n normalised images x [n][c][h][w].
  std::vector<float> run(const float* x, int32_t n) {
    std::vector<float> out(static_cast<size_t>(n) * static_cast<size_t>(m_.classes));
    const lowbit_input in{x, n, m_.in_c, m_.in_h, m_.in_w};
    lowbit_output o{out.data(), out.size(), 0, 0};
    const lowbit_status s = lowbit_run(&m_, &arena_, &in, &o);
    INFO(lowbit_status_string(s), " ", m_.message);
    REQUIRE(s == LOWBIT_OK);
    REQUIRE(o.n == n);
    return out;
  }

 private:
  struct alignas(64) Line {
    uint8_t b[64];
  };
  std::vector<uint64_t> blob_;  // 8-byte aligned copy of the file
  std::vector<Line> arena_mem_;
  lowbit_model m_{};
  lowbit_arena arena_{};
};

}  // namespace lowbit::test
