// DataLoader: turns an ImageDataset into float batches {images [B, C, H, W], labels}.
//
// Determinism: the sample order of epoch e is a shuffle seeded by (seed, e), and the augmentation of a sample
// (random crop offsets, flip) by (seed, e, sample index). Neither depends on which thread builds a batch or
// on how far ahead it runs, so a run resumed at epoch e sees exactly the batches an uninterrupted run sees.
//
// A background thread builds up to `prefetch` batches ahead of the consumer (bounded queue). An exception
// in that thread is rethrown by next() at the batch where it happened; destruction or start_epoch() stops
// and joins the thread cleanly.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/tensor.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;   // drop a final batch smaller than batch_size
  uint64_t seed = 0;
  // Pixels become x = p/255, then (x − mean[c]) / std[c] if mean/std are given (one value per channel).
  std::vector<float> mean, std;
  // Augmentation (training only): a random crop of the original size out of the image zero-padded by
  // crop_padding pixels on each side (0 = off), then a horizontal flip with probability 1/2.
  int crop_padding = 0;
  bool hflip = false;
  int prefetch = 2;  // batches built ahead by the background thread; 0 = build on the caller's thread
};

struct Batch;
// Optional extra per-batch transform, run where the batch is built (the prefetch thread): it must be
// thread-safe and deterministic in the batch contents. An exception it throws surfaces in next().
using BatchTransform = std::function<void(Batch&)>;

struct Batch {
  Tensor images;                 // [B, C, H, W]
  std::vector<int32_t> labels;   // B labels
  int64_t index = 0;             // batch number within the epoch
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const ImageDataset> data, LoaderOptions opt, BatchTransform transform = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  const ImageDataset& dataset() const { return *data_; }
  const LoaderOptions& options() const { return opt_; }
  int64_t num_batches() const;
  int64_t samples_per_epoch() const;

  // Begins epoch `epoch` (0-based): computes its order and starts the prefetch thread.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; false when the epoch is exhausted. Rethrows a producer error.
  bool next(Batch& out);

  // Pure functions behind the above (also used by tests): the sample order of an epoch and one batch.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  Batch make_batch(int64_t epoch, const std::vector<int64_t>& order, int64_t batch_index) const;

 private:
  void stop_thread();
  void produce(int64_t epoch);

  std::shared_ptr<const ImageDataset> data_;
  LoaderOptions opt_;
  BatchTransform transform_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  int64_t next_batch_ = 0;  // synchronous mode only

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  std::exception_ptr error_;
  bool producer_done_ = false;
  bool stop_ = false;
};

}  // namespace lowbit::nn
