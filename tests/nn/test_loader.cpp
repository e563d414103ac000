// DataLoader: deterministic order and augmentation independent of the prefetch thread, drop_last, the
// normalisation arithmetic, crop/flip geometry, error propagation from the producer thread, clean shutdown.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "engine/error.h"
#include "nn/data/loader.h"

using namespace lowbit;
using namespace lowbit::nn;

namespace {
std::shared_ptr<const ImageDataset> make_data(int64_t n, int c, int h, int w) {
  auto d = std::make_shared<ImageDataset>();
  d->name = "synthetic";
  d->n = n;
  d->c = c;
  d->h = h;
  d->w = w;
  d->num_classes = 10;
  d->pixels.resize(n * c * h * w);
  for (size_t i = 0; i < d->pixels.size(); ++i) d->pixels[i] = static_cast<uint8_t>((i * 37 + i / 7) & 0xff);
  for (int64_t i = 0; i < n; ++i) d->labels.push_back(static_cast<int32_t>(i % 10));
  d->compute_checksum();
  return d;
}

std::vector<Batch> run_epoch(DataLoader& dl, int64_t epoch) {
  std::vector<Batch> out;
  dl.start_epoch(epoch);
  Batch b;
  while (dl.next(b)) out.push_back(b);
  return out;
}
}  // namespace

TEST_CASE("loader: the order is a permutation fixed by (seed, epoch)") {
  auto d = make_data(50, 1, 4, 4);
  LoaderOptions o;
  o.seed = 7;
  DataLoader a(d, o), b(d, o);
  const auto e0 = a.epoch_order(0), e1 = a.epoch_order(1);
  CHECK(e0 == b.epoch_order(0));
  CHECK(e0 != e1);
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
  o.seed = 8;
  CHECK(DataLoader(d, o).epoch_order(0) != e0);
  o.shuffle = false;
  CHECK(DataLoader(d, o).epoch_order(3)[17] == 17);
}

TEST_CASE("loader: batches are identical with and without the prefetch thread, augmentation included") {
  auto d = make_data(37, 3, 6, 5);
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 3;
  o.crop_padding = 2;
  o.hflip = true;
  o.mean = {0.5f, 0.4f, 0.3f};
  o.std = {0.2f, 0.25f, 0.3f};
  o.prefetch = 0;
  DataLoader sync(d, o);
  o.prefetch = 3;
  DataLoader async(d, o);
  for (int64_t epoch : {0, 1, 5}) {
    const auto a = run_epoch(sync, epoch), b = run_epoch(async, epoch);
    REQUIRE(a.size() == 5);
    REQUIRE(b.size() == 5);
    CHECK(a.back().labels.size() == 5);  // 37 = 4·8 + 5
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].index == static_cast<int64_t>(i));
      CHECK(a[i].labels == b[i].labels);
      CHECK(a[i].images.to_vector() == b[i].images.to_vector());
    }
  }
  // A different epoch has different augmentation: resuming at epoch e reproduces exactly epoch e.
  CHECK(run_epoch(sync, 1)[0].images.to_vector() != run_epoch(sync, 2)[0].images.to_vector());
  CHECK(run_epoch(sync, 2)[0].images.to_vector() == run_epoch(async, 2)[0].images.to_vector());
}

TEST_CASE("loader: drop_last and batch counts") {
  auto d = make_data(37, 1, 2, 2);
  LoaderOptions o;
  o.batch_size = 8;
  o.drop_last = true;
  DataLoader dl(d, o);
  CHECK(dl.num_batches() == 4);
  const auto batches = run_epoch(dl, 0);
  CHECK(batches.size() == 4);
  for (const Batch& b : batches) CHECK(b.images.shape() == Shape{8, 1, 2, 2});
}

TEST_CASE("loader: normalisation is (p/255 - mean)/std per channel") {
  auto d = make_data(3, 2, 2, 2);
  LoaderOptions o;
  o.batch_size = 3;
  o.shuffle = false;
  o.mean = {0.5f, 0.25f};
  o.std = {0.5f, 2.0f};
  DataLoader dl(d, o);
  const Batch b = run_epoch(dl, 0).at(0);
  for (int64_t i = 0; i < 3; ++i)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 4; ++k) {
        const float p = d->pixels[(i * 2 + c) * 4 + k];
        const float want = (p / 255.0f - o.mean[c]) / o.std[c];
        CHECK(b.images[(i * 2 + c) * 4 + k] == doctest::Approx(want).epsilon(1e-5));
      }
}

TEST_CASE("loader: flip mirrors rows, crop shifts within zero padding") {
  auto d = make_data(64, 1, 4, 6);
  LoaderOptions o;
  o.batch_size = 64;
  o.shuffle = false;
  o.hflip = true;
  DataLoader dl(d, o);
  const Batch b = run_epoch(dl, 0).at(0);
  int flipped = 0, kept = 0;
  for (int64_t i = 0; i < 64; ++i) {
    bool same = true, mirror = true;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) {
        const float v = b.images[i * 24 + y * 6 + x] * 255.0f;
        same &= std::abs(v - d->image(i)[y * 6 + x]) < 1e-3f;
        mirror &= std::abs(v - d->image(i)[y * 6 + (5 - x)]) < 1e-3f;
      }
    CHECK((same || mirror));
    flipped += mirror && !same;
    kept += same && !mirror;
  }
  CHECK(flipped > 10);
  CHECK(kept > 10);

  o.hflip = false;
  o.crop_padding = 1;
  DataLoader crop(d, o);
  const Batch c = run_epoch(crop, 0).at(0);
  int shifted = 0;
  for (int64_t i = 0; i < 64; ++i) {
    // Find the offset (dy, dx) in [-1, 1]² that explains the crop; zeros where the window leaves the image.
    bool found = false;
    for (int dy = -1; dy <= 1 && !found; ++dy)
      for (int dx = -1; dx <= 1 && !found; ++dx) {
        bool ok = true;
        for (int y = 0; y < 4; ++y)
          for (int x = 0; x < 6; ++x) {
            const int sy = y + dy, sx = x + dx;
            const float want = (sy >= 0 && sy < 4 && sx >= 0 && sx < 6) ? d->image(i)[sy * 6 + sx] : 0.0f;
            ok &= std::abs(c.images[i * 24 + y * 6 + x] * 255.0f - want) < 1e-3f;
          }
        if (ok) {
          found = true;
          shifted += (dy != 0 || dx != 0);
        }
      }
    CHECK(found);
  }
  CHECK(shifted > 30);  // 8 of 9 offsets move the image
}

TEST_CASE("loader: a producer exception surfaces in next() at its batch, early destruction is clean") {
  auto d = make_data(40, 1, 2, 2);
  LoaderOptions o;
  o.batch_size = 4;
  o.prefetch = 2;
  DataLoader dl(d, o, [](Batch& b) {
    if (b.index == 3) throw Error("transform failed on batch 3");
  });
  dl.start_epoch(0);
  Batch b;
  for (int i = 0; i < 3; ++i) REQUIRE(dl.next(b));
  CHECK_THROWS_WITH_AS(dl.next(b), "transform failed on batch 3", Error);
  // The loader is usable again for the next epoch, and destroying it mid-epoch joins the thread.
  dl.start_epoch(1);
  REQUIRE(dl.next(b));

  LoaderOptions bad;
  bad.batch_size = 0;
  CHECK_THROWS_AS(DataLoader(d, bad), Error);
  bad.batch_size = 4;
  bad.mean = {0.1f, 0.2f};
  bad.std = {1.0f, 1.0f};
  CHECK_THROWS_WITH_AS(DataLoader(d, bad), doctest::Contains("2 channels"), Error);
}
