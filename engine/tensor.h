// Tensor: a float32, contiguous, row-major array (NCHW for images) of rank 0..4, over 64-byte aligned storage
// shared between views. Views exist only where they stay contiguous: reshape and a slice of the leading axis.
// Copying a Tensor copies the handle (shared storage); clone() copies the data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace lowbit {

// Shape of rank ≤ 4 stored inline (no heap).
class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  // Dimension i, negative counting from the back (−1 = last). Throws lowbit::Error when out of range.
  int64_t dim(int i) const;
  int64_t numel() const;  // 1 for rank 0
  std::vector<int64_t> to_vector() const;
  std::string str() const;  // "[2, 3, 28, 28]"
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + rank_; }

 private:
  int64_t dims_[kMaxRank] = {0, 0, 0, 0};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;                    // undefined (no storage); defined() == false
  explicit Tensor(const Shape& shape);   // zero-filled
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor empty(const Shape& shape);  // uninitialised contents
  static Tensor scalar(float value);        // rank 0
  static Tensor from(const Shape& shape, const std::vector<float>& values);  // throws if sizes differ

  bool defined() const { return static_cast<bool>(storage_); }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t numel() const { return shape_.numel(); }
  float* data() { return storage_.get() + offset_; }
  const float* data() const { return storage_.get() + offset_; }
  float& operator[](int64_t i) { return data()[i]; }
  float operator[](int64_t i) const { return data()[i]; }
  float item() const;  // the single element of a 1-element tensor (throws otherwise)

  Tensor reshape(const Shape& shape) const;          // view; one dim may be −1; throws on a size mismatch
  Tensor slice0(int64_t begin, int64_t end) const;    // view of rows [begin, end) of the leading axis
  Tensor clone() const;                               // deep copy
  void fill(float value);
  void zero() { fill(0.0f); }
  void copy_from(const Tensor& src);  // same numel required; copies data
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }
  // True when no other Tensor handle (or view) refers to this storage: in-place updates are then invisible to
  // anyone else. Autograd uses it to accumulate gradients in place without copying shared buffers.
  bool storage_unique() const { return storage_.use_count() == 1; }
  std::vector<float> to_vector() const;

 private:
  std::shared_ptr<float> storage_;  // 64-byte aligned block, freed with the matching aligned free
  int64_t offset_ = 0;              // in floats
  Shape shape_;
};

// Aligned allocation used by Tensor storage (64 bytes), exposed for kernels' packed buffers.
std::shared_ptr<float> alloc_aligned_floats(int64_t n);

}  // namespace lowbit
