#include <doctest/doctest.h>

#include <cstdint>

#include "engine/error.h"
#include "engine/tensor.h"

using namespace lowbit;

TEST_CASE("Shape: rank, numel, negative dims, printing") {
  Shape s{2, 3, 4, 5};
  CHECK(s.rank() == 4);
  CHECK(s.numel() == 120);
  CHECK(s.dim(-1) == 5);
  CHECK(s.dim(0) == 2);
  CHECK(s.str() == "[2, 3, 4, 5]");
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{}.str() == "[]");
  CHECK_THROWS_AS(s.dim(4), Error);
  CHECK_THROWS_AS(s.dim(-5), Error);
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), Error);
  CHECK(Shape{2, 3} == Shape(std::vector<int64_t>{2, 3}));
  CHECK(Shape{2, 3} != Shape{3, 2});
}

TEST_CASE("Tensor: alignment, fill, factories") {
  Tensor z = Tensor::zeros(Shape{3, 5});
  CHECK(reinterpret_cast<uintptr_t>(z.data()) % 64 == 0);
  for (int64_t i = 0; i < z.numel(); ++i) CHECK(z[i] == 0.0f);
  Tensor o = Tensor::ones(Shape{4});
  CHECK(o.to_vector() == std::vector<float>{1, 1, 1, 1});
  CHECK(Tensor::scalar(2.5f).item() == 2.5f);
  CHECK(Tensor::scalar(2.5f).rank() == 0);
  CHECK_THROWS_AS(Tensor::from(Shape{2, 2}, {1, 2, 3}), Error);
  CHECK_THROWS_AS(o.item(), Error);
  CHECK_FALSE(Tensor().defined());
  CHECK(Tensor::empty(Shape{0, 3}).defined());
}

TEST_CASE("Tensor: reshape and slice0 are views, clone copies") {
  Tensor t = Tensor::from(Shape{3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor r = t.reshape(Shape{2, -1});
  CHECK(r.shape() == Shape{2, 6});
  CHECK(r.shares_storage(t));
  r[0] = 100.0f;
  CHECK(t[0] == 100.0f);
  Tensor s = t.slice0(1, 3);
  CHECK(s.shape() == Shape{2, 4});
  CHECK(s[0] == 4.0f);
  s[0] = -1.0f;
  CHECK(t[4] == -1.0f);
  Tensor c = t.clone();
  CHECK_FALSE(c.shares_storage(t));
  c[1] = 42.0f;
  CHECK(t[1] == 1.0f);
  CHECK_THROWS_WITH_AS(t.reshape(Shape{5, 3}), doctest::Contains("[3, 4]"), Error);
  CHECK_THROWS_AS(t.reshape(Shape{-1, -1}), Error);
  CHECK_THROWS_AS(t.slice0(2, 4), Error);
  Tensor d = Tensor::zeros(Shape{12});
  d.copy_from(t);
  CHECK(d[11] == 11.0f);
  CHECK_THROWS_AS(d.copy_from(Tensor::zeros(Shape{5})), Error);
}

TEST_CASE("Tensor: storage_unique tracks other handles") {
  Tensor t = Tensor::zeros(Shape{4});
  CHECK(t.storage_unique());
  {
    Tensor v = t.reshape(Shape{2, 2});
    CHECK_FALSE(t.storage_unique());
  }
  CHECK(t.storage_unique());
}
