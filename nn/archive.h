// Tensor archive (.lbar): the container for state dicts and training checkpoints.
//
// Layout (all integers little-endian; offsets from the start of the file):
//   0   char[4]  magic "LBAR"
//   4   u16      major version (1) — a reader refuses other majors
//   6   u16      minor version (0) — additions a v1 reader may ignore
//   8   u64      total file size in bytes, CRC included (detects truncation before anything else is read)
//   16  u32      metadata length M
//   20  u32      tensor count T
//   24  u8[M]    metadata: UTF-8 JSON (an object)
//   ..  T table entries: u32 name length L, u8[L] name, u32 rank R (≤ 4), u64 dims[R], u64 payload offset
//   ..  zero padding to a multiple of 64, then each tensor's float32 payload at a 64-byte aligned offset
//       (in table order, each padded to 64 bytes)
//   end−4  u32   CRC-32 (zlib polynomial) of every byte before it
//
// Writes are atomic: the bytes go to a temporary file in the same directory, which is fsync'ed and renamed
// over the target (then the directory is fsync'ed), so a crash leaves either the old file or the new one. The
// temporary name carries the writer's pid, so a later run can remove a killed writer's leftover.
// Reads validate every field and size and throw lowbit::Error naming the file and the problem (bad magic,
// unknown major version, truncated, CRC mismatch, a tensor outside the payload, duplicate names, bad JSON,
// metadata nested deeper than 128 levels).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optim.h"  // NamedTensor
#include "nn/module.h"

namespace lowbit::nn {

constexpr uint16_t kArchiveMajor = 1;
constexpr uint16_t kArchiveMinor = 0;

struct Archive {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<NamedTensor> tensors;
  // The tensor of that name; throws naming the archive's label and the name.
  const Tensor& get(const std::string& name) const;
  bool contains(const std::string& name) const;
  // Tensors whose name starts with prefix, with the prefix removed ("model." → a module state dict).
  std::vector<NamedTensor> with_prefix(const std::string& prefix) const;
  std::string label;  // file name (or caller's label) used in error messages
  uint32_t crc32 = 0;  // the CRC the file records (of every byte before it): the archive's fingerprint
};

// In-memory encoding; label names the source in error messages.
std::vector<uint8_t> encode_archive(const nlohmann::json& meta, const std::vector<NamedTensor>& tensors);
Archive decode_archive(const uint8_t* data, size_t size, const std::string& label);

void write_archive(const std::string& path, const nlohmann::json& meta, const std::vector<NamedTensor>& tensors);
Archive read_archive(const std::string& path);

// Whole-file atomic write (temp file in the same directory, fsync, rename); used by write_archive and by
// anything else that must not leave a half-written file.
void write_file_atomic(const std::string& path, const void* data, size_t size);

// Removes the temporary files ".<name>.tmp.<pid>.XXXXXX" that write_file_atomic writers killed mid-write left
// in dir: those whose pid no longer runs (a live writer's file, this process's included, is kept). Call it when
// a run starts or resumes in dir. Returns the paths removed; a missing directory has none.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

// Saves module.state_dict() with meta (e.g. {"model": "resnet20"}); meta must be a JSON object.
void save_module(const std::string& path, const Module& module, const nlohmann::json& meta = nlohmann::json::object());
// Loads a module saved by save_module and returns the archive's metadata. When expected_model is non-empty,
// the archive's meta "model" must equal it (an archive without one is refused too).
nlohmann::json load_module(const std::string& path, Module& module, const std::string& expected_model = "",
                           bool strict = true);

}  // namespace lowbit::nn
