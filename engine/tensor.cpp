#include "engine/tensor.h"

#include <algorithm>
#include <cstring>

#include "engine/allocator.h"
#include "engine/error.h"

namespace lowbit {

// ---- Shape ----

Shape::Shape(std::initializer_list<int64_t> dims) {
  LOWBIT_CHECK(dims.size() <= static_cast<size_t>(kMaxRank), "Shape: rank {} exceeds the maximum rank {}",
               dims.size(), kMaxRank);
  for (int64_t d : dims) dims_[rank_++] = d;
}

Shape::Shape(const std::vector<int64_t>& dims) {
  LOWBIT_CHECK(dims.size() <= static_cast<size_t>(kMaxRank), "Shape: rank {} exceeds the maximum rank {}",
               dims.size(), kMaxRank);
  for (int64_t d : dims) dims_[rank_++] = d;
}

int64_t Shape::dim(int i) const {
  const int j = i < 0 ? i + rank_ : i;
  LOWBIT_CHECK(j >= 0 && j < rank_, "Shape::dim: axis {} is out of range for shape {}", i, str());
  return dims_[j];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::vector<int64_t> Shape::to_vector() const { return std::vector<int64_t>(dims_, dims_ + rank_); }

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

// ---- storage ----

std::shared_ptr<float> alloc_aligned_floats(int64_t n) {
  LOWBIT_CHECK(n >= 0, "alloc_aligned_floats: negative size {}", n);
  // Never 0 bytes, so an empty tensor is still defined. The caching allocator (allocator.h) reuses blocks of
  // the same size class across training steps instead of returning them to the system.
  const size_t bytes = std::max<size_t>(static_cast<size_t>(n) * sizeof(float), 64);
  return std::shared_ptr<float>(static_cast<float*>(alloc_block(bytes)), [bytes](float* q) { alloc_free(q, bytes); });
}

// ---- Tensor ----

static void check_shape_valid(const Shape& s, const char* who) {
  for (int i = 0; i < s.rank(); ++i)
    LOWBIT_CHECK(s[i] >= 0, "{}: shape {} has a negative dimension", who, s.str());
}

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  check_shape_valid(shape, "Tensor");
  storage_ = alloc_aligned_floats(shape.numel());
  std::memset(storage_.get(), 0, static_cast<size_t>(shape.numel()) * sizeof(float));
}

Tensor Tensor::zeros(const Shape& shape) { return Tensor(shape); }

Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::empty(const Shape& shape) {
  check_shape_valid(shape, "Tensor::empty");
  Tensor t;
  t.shape_ = shape;
  t.storage_ = alloc_aligned_floats(shape.numel());
  return t;
}

Tensor Tensor::scalar(float value) { return full(Shape{}, value); }

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  check_shape_valid(shape, "Tensor::from");
  LOWBIT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
               "Tensor::from: {} values given for shape {} ({} elements)", values.size(), shape.str(),
               shape.numel());
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

float Tensor::item() const {
  LOWBIT_CHECK(defined(), "Tensor::item: undefined tensor");
  LOWBIT_CHECK(numel() == 1, "Tensor::item: tensor of shape {} has {} elements, expected 1", shape_.str(),
               numel());
  return data()[0];
}

Tensor Tensor::reshape(const Shape& shape) const {
  LOWBIT_CHECK(defined(), "Tensor::reshape: undefined tensor");
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.rank(); ++i) {
    if (s[i] == -1) {
      LOWBIT_CHECK(infer < 0, "reshape: more than one -1 in target shape {}", shape.str());
      infer = i;
    } else {
      LOWBIT_CHECK(s[i] >= 0, "reshape: invalid target shape {}", shape.str());
      known *= s[i];
    }
  }
  if (infer >= 0) {
    LOWBIT_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape {} into {}", shape_.str(),
                 shape.str());
    s[infer] = numel() / known;
  }
  LOWBIT_CHECK(s.numel() == numel(), "reshape: cannot reshape {} ({} elements) into {}", shape_.str(), numel(),
               shape.str());
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  LOWBIT_CHECK(defined() && rank() >= 1, "slice0: needs a tensor of rank >= 1, got {}", shape_.str());
  LOWBIT_CHECK(0 <= begin && begin <= end && end <= shape_[0], "slice0: rows [{}, {}) out of range for shape {}",
               begin, end, shape_.str());
  const int64_t row = shape_[0] == 0 ? 0 : numel() / shape_[0];
  Tensor t = *this;
  t.offset_ = offset_ + begin * row;
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(shape_);
  std::memcpy(t.data(), data(), static_cast<size_t>(numel()) * sizeof(float));
  return t;
}

void Tensor::fill(float value) {
  float* p = data();
  const int64_t n = numel();
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

void Tensor::copy_from(const Tensor& src) {
  LOWBIT_CHECK(defined() && src.defined(), "copy_from: undefined tensor");
  LOWBIT_CHECK(src.numel() == numel(), "copy_from: source {} has {} elements, destination {} has {}",
               src.shape_.str(), src.numel(), shape_.str(), numel());
  if (src.data() != data())
    std::memmove(data(), src.data(), static_cast<size_t>(numel()) * sizeof(float));
}

std::vector<float> Tensor::to_vector() const {
  if (!defined()) return {};
  return std::vector<float>(data(), data() + numel());
}

}  // namespace lowbit
