#include "nn/data/loader.h"

#include "engine/error.h"
#include "engine/rng.h"

namespace lowbit::nn {

namespace {
// Stream ids for Rng::fork: the shuffle of epoch e and the augmentation of epoch e are separate streams.
uint64_t shuffle_stream(int64_t epoch) { return 2 * static_cast<uint64_t>(epoch); }
uint64_t augment_stream(int64_t epoch) { return 2 * static_cast<uint64_t>(epoch) + 1; }
}  // namespace

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> data, LoaderOptions opt, BatchTransform transform)
    : data_(std::move(data)), opt_(std::move(opt)), transform_(std::move(transform)) {
  LOWBIT_CHECK(data_ != nullptr, "DataLoader: no data set");
  LOWBIT_CHECK(opt_.batch_size > 0, "DataLoader: batch size must be positive, got {}", opt_.batch_size);
  LOWBIT_CHECK(opt_.prefetch >= 0, "DataLoader: prefetch must be >= 0, got {}", opt_.prefetch);
  LOWBIT_CHECK(opt_.crop_padding >= 0, "DataLoader: crop padding must be >= 0, got {}", opt_.crop_padding);
  LOWBIT_CHECK(opt_.mean.size() == opt_.std.size(), "DataLoader: {} means but {} standard deviations",
               opt_.mean.size(), opt_.std.size());
  LOWBIT_CHECK(opt_.mean.empty() || static_cast<int>(opt_.mean.size()) == data_->c,
               "DataLoader: normalisation has {} channels, data set '{}' has {}", opt_.mean.size(), data_->name,
               data_->c);
  for (float s : opt_.std) LOWBIT_CHECK(s > 0, "DataLoader: standard deviation {} must be positive", s);
  LOWBIT_CHECK(data_->n > 0, "DataLoader: data set '{}' is empty", data_->name);
}

DataLoader::~DataLoader() { stop_thread(); }

int64_t DataLoader::samples_per_epoch() const {
  return opt_.drop_last ? (data_->n / opt_.batch_size) * opt_.batch_size : data_->n;
}

int64_t DataLoader::num_batches() const {
  return (samples_per_epoch() + opt_.batch_size - 1) / opt_.batch_size;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(data_->n);
  for (int64_t i = 0; i < data_->n; ++i) order[i] = i;
  if (opt_.shuffle) {
    Rng rng = Rng(opt_.seed).fork(shuffle_stream(epoch));
    rng.shuffle(order);
  }
  return order;
}

Batch DataLoader::make_batch(int64_t epoch, const std::vector<int64_t>& order, int64_t b) const {
  const ImageDataset& d = *data_;
  const int64_t begin = b * opt_.batch_size;
  const int64_t end = std::min(begin + opt_.batch_size, samples_per_epoch());
  LOWBIT_ASSERT(begin < end, "batch {} out of range", b);
  const int64_t bs = end - begin;
  const int C = d.c, H = d.h, W = d.w, pad = opt_.crop_padding;

  Batch out;
  out.index = b;
  out.images = Tensor::empty(Shape{bs, C, H, W});
  out.labels.resize(bs);
  // Per-channel affine map p -> p·scale[c] + shift[c] (p in 0..255), folded from /255 and mean/std.
  std::vector<float> scale(C, 1.0f / 255.0f), shift(C, 0.0f);
  for (int c = 0; c < C && !opt_.mean.empty(); ++c) {
    scale[c] = 1.0f / (255.0f * opt_.std[c]);
    shift[c] = -opt_.mean[c] / opt_.std[c];
  }
  const bool augment = pad > 0 || opt_.hflip;
  const Rng aug_base = Rng(opt_.seed).fork(augment_stream(epoch));

  for (int64_t k = 0; k < bs; ++k) {
    const int64_t idx = order[begin + k];
    out.labels[k] = d.labels[idx];
    const uint8_t* src = d.image(idx);
    float* dst = out.images.data() + k * d.image_size();
    int dy = pad, dx = pad;
    bool flip = false;
    if (augment) {
      Rng r = aug_base.fork(static_cast<uint64_t>(idx));
      if (pad > 0) {
        dy = static_cast<int>(r.below(2 * pad + 1));
        dx = static_cast<int>(r.below(2 * pad + 1));
      }
      if (opt_.hflip) flip = (r.next_u64() >> 63) != 0;
    }
    for (int c = 0; c < C; ++c) {
      const uint8_t* sp = src + static_cast<int64_t>(c) * H * W;
      float* dp = dst + static_cast<int64_t>(c) * H * W;
      const float pad_value = shift[c];  // a zero pixel after normalisation
      for (int y = 0; y < H; ++y) {
        const int sy = y + dy - pad;
        for (int x = 0; x < W; ++x) {
          const int sx = (flip ? W - 1 - x : x) + dx - pad;
          dp[y * W + x] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? sp[sy * W + sx] * scale[c] + shift[c] : pad_value;
        }
      }
    }
  }
  if (transform_) transform_(out);
  return out;
}

void DataLoader::stop_thread() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void DataLoader::produce(int64_t epoch) {
  try {
    const int64_t nb = num_batches();
    for (int64_t b = 0; b < nb; ++b) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || static_cast<int64_t>(queue_.size()) < opt_.prefetch; });
        if (stop_) return;
      }
      Batch batch = make_batch(epoch, order_, b);
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(batch));
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    producer_done_ = true;
  }
  cv_.notify_all();
}

void DataLoader::start_epoch(int64_t epoch) {
  LOWBIT_CHECK(epoch >= 0, "DataLoader: epoch must be >= 0, got {}", epoch);
  stop_thread();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  next_batch_ = 0;
  queue_.clear();
  error_ = nullptr;
  producer_done_ = false;
  stop_ = false;
  if (opt_.prefetch > 0) worker_ = std::thread([this, epoch] { produce(epoch); });
}

bool DataLoader::next(Batch& out) {
  LOWBIT_CHECK(epoch_ >= 0, "DataLoader::next called before start_epoch");
  if (opt_.prefetch == 0) {
    if (next_batch_ >= num_batches()) return false;
    out = make_batch(epoch_, order_, next_batch_++);
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || producer_done_; });
  if (!queue_.empty()) {
    out = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    cv_.notify_all();
    return true;
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    lock.unlock();
    worker_.join();
    std::rethrow_exception(e);
  }
  return false;
}

}  // namespace lowbit::nn
