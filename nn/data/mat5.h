// A reader for the numeric arrays of a MATLAB level-5 MAT-file (the format of SVHN's `*_32x32.mat`).
//
// Layout (little-endian files only; "MI" big-endian files are refused with a message):
//   128-byte header: 116 bytes of text, 8 bytes subsystem offset, u16 version 0x0100, 2 bytes endian "IM".
//   Then data elements, each an 8-byte tag {u32 type, u32 byte count} + data padded to 8 bytes, or, when the
//   upper 16 bits of the first tag word are non-zero, a "small element": {u16 type, u16 count} + 4 data bytes.
//   miCOMPRESSED (15): a zlib stream (not padded) that inflates to further data elements.
//   miMATRIX (14): sub-elements array flags (miUINT32 ×2: class in the low byte of the first word, bit 0x0800
//   = complex), dimensions (miINT32), name (miINT8), real part (any numeric type: MATLAB stores values in the
//   smallest type that holds them, e.g. a double array of small integers as miUINT8), optional imaginary part.
// Numeric arrays are column-major (first index fastest).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::nn {

enum Mat5Type : uint32_t {
  miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6, miSINGLE = 7, miDOUBLE = 9,
  miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15, miUTF8 = 16,
};
enum Mat5Class : uint8_t { mxDOUBLE_CLASS = 6, mxSINGLE_CLASS = 7, mxINT8_CLASS = 8, mxUINT8_CLASS = 9 };

struct Mat5Array {
  std::string name;
  uint8_t mx_class = 0;
  bool complex = false;
  std::vector<int64_t> dims;
  uint32_t data_type = 0;        // storage type of the real part (Mat5Type)
  const uint8_t* data = nullptr; // real part, points into the owning Mat5File
  size_t bytes = 0;
  int64_t numel() const;
  // Element i of the real part converted to double (any numeric storage type).
  double at(int64_t i) const;
};

class Mat5File {
 public:
  // Reads and parses the whole file; throws lowbit::Error naming the file and the problem.
  explicit Mat5File(const std::string& path);
  const std::vector<Mat5Array>& arrays() const { return arrays_; }
  const Mat5Array* find(const std::string& name) const;  // nullptr if absent
  const std::string& path() const { return path_; }

 private:
  void parse_elements(const uint8_t* p, size_t n, bool top_level);
  void parse_matrix(const uint8_t* p, size_t n);
  std::string path_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers_;  // file bytes and inflated streams
  std::vector<Mat5Array> arrays_;
};

}  // namespace lowbit::nn
