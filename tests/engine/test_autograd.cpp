#include <doctest/doctest.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/var.h"

using namespace lowbit;

TEST_CASE("autograd: a Var used twice receives both gradients") {
  Var x(Tensor::from(Shape{3}, {1, 2, 3}), true);
  Var y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{3, 5, 7});
}

TEST_CASE("autograd: diamond graph sums both paths once") {
  Var x(Tensor::from(Shape{2}, {0.5f, -1.0f}), true);
  Var a = x * 3.0f;
  Var b = exp(a);
  Var c = a * a;
  Var y = sum(b + c);  // dy/dx = 3·(e^{3x} + 2·3x)
  y.backward();
  for (int i = 0; i < 2; ++i) {
    const float xv = x.value()[i];
    CHECK(x.grad()[i] == doctest::Approx(3.0f * (std::exp(3.0f * xv) + 6.0f * xv)).epsilon(1e-5));
  }
}

TEST_CASE("autograd: leaf gradients accumulate across backward calls until zero_grad") {
  Var w(Tensor::from(Shape{2}, {1, 2}), true);
  sum(w * 2.0f).backward();
  sum(w * 2.0f).backward();
  CHECK(w.grad().to_vector() == std::vector<float>{4, 4});
  w.zero_grad();
  CHECK_FALSE(w.has_grad());
  CHECK_THROWS_AS(w.grad(), Error);
}

TEST_CASE("autograd: shared gradient buffers are not corrupted by accumulation") {
  // add() passes the same gradient tensor to both inputs; accumulating into one must not change the other.
  Var a(Tensor::from(Shape{2}, {1, 2}), true);
  Var b(Tensor::from(Shape{2}, {3, 4}), true);
  Var s = a + b;
  s.backward(Tensor::from(Shape{2}, {1, 1}));
  a.add_grad(Tensor::from(Shape{2}, {10, 10}));
  CHECK(a.grad().to_vector() == std::vector<float>{11, 11});
  CHECK(b.grad().to_vector() == std::vector<float>{1, 1});
  b.grad()[0] = 7.0f;  // mutable access must not leak into a
  CHECK(a.grad()[0] == 11.0f);
}

TEST_CASE("autograd: NoGradGuard records no graph and restores the mode") {
  Var x(Tensor::from(Shape{2}, {1, 2}), true);
  CHECK(grad_enabled());
  {
    NoGradGuard g;
    CHECK_FALSE(grad_enabled());
    Var y = x * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value().shares_storage(y.value()));
    // No closure captured x's storage: x is the only holder.
    CHECK(x.value().storage_unique());
    CHECK_THROWS_AS(y.backward(Tensor::ones(Shape{2})), Error);
  }
  CHECK(grad_enabled());
  Var z = x * x;
  CHECK(z.requires_grad());
}

TEST_CASE("autograd: backward frees the graph unless retain_graph") {
  Var x(Tensor::from(Shape{2}, {1, 2}), true);
  {
    Var y = sum(x * x);
    CHECK_FALSE(x.value().storage_unique());  // the mul closure holds x's value
    y.backward();
    CHECK(x.value().storage_unique());  // closure released
  }
  x.zero_grad();
  Var y = sum(x * x);
  y.backward(Tensor::scalar(1.0f), /*retain_graph=*/true);
  y.backward(Tensor::scalar(1.0f), true);
  CHECK(x.grad().to_vector() == std::vector<float>{4, 8});  // 2 · 2x
}

TEST_CASE("autograd: deep chains do not overflow the stack") {
  Var x(Tensor::from(Shape{1}, {1.0f}), true);
  Var y = x;
  for (int i = 0; i < 100000; ++i) y = y + 0.0f;
  sum(y).backward();
  CHECK(x.grad()[0] == 1.0f);
  // Destroying a long chain must not recurse either: release here.
  y = Var();
}

TEST_CASE("autograd: detach and requires_grad propagation") {
  Var x(Tensor::from(Shape{2}, {1, 2}), true);
  Var c(Tensor::from(Shape{2}, {5, 6}), false);
  Var d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.value().shares_storage(x.value()));
  Var y = c * c;
  CHECK_FALSE(y.requires_grad());
  Var z = sum(x * d + c);
  z.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 2});
  CHECK_FALSE(c.has_grad());
  CHECK_THROWS_WITH_AS(Var(Tensor::ones(Shape{2}), true).backward(), doctest::Contains("1-element"), Error);
}

TEST_CASE("autograd: dropping a deep graph without backward does not recurse") {
  Var x(Tensor::from(Shape{1}, {1.0f}), true);
  Var y = x;
  for (int i = 0; i < 200000; ++i) y = y * 1.0f;
  y = Var();
  CHECK(x.value().storage_unique());
}
