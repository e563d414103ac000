#include "nn/data/registry.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "engine/error.h"

namespace lowbit::nn {

namespace fs = std::filesystem;

namespace {
const std::vector<DatasetInfo>& table() {
  static const std::vector<DatasetInfo> t = {
      {"fashion-mnist", 1, 28, 28, 10, 60000, 10000, {0.2860f}, {0.3530f}, false},
      {"mnist", 1, 28, 28, 10, 60000, 10000, {0.1307f}, {0.3081f}, false},
      {"cifar10", 3, 32, 32, 10, 50000, 10000, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, true},
      {"svhn", 3, 32, 32, 10, 73257, 26032, {0.4377f, 0.4438f, 0.4728f}, {0.1980f, 0.2010f, 0.1970f}, false},
  };
  return t;
}

fs::path find_repo_root(fs::path start) {
  std::error_code ec;
  for (fs::path p = start; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / "scripts" / "setup.sh", ec)) return p;
    if (p == p.parent_path()) break;
  }
  return {};
}

// An IDX file may be stored raw or gzipped: the first existing candidate, or "" if none.
std::string first_existing(const std::vector<fs::path>& candidates) {
  std::error_code ec;
  for (const fs::path& p : candidates)
    if (fs::is_regular_file(p, ec)) return p.string();
  return "";
}

[[noreturn]] void throw_missing(const std::string& name, const std::string& split, const fs::path& dir,
                                const std::vector<std::string>& missing) {
  std::string msg = fmt::format("data set '{}' ({} split): missing file{} in {}:\n", name, split,
                                missing.size() == 1 ? "" : "s", dir.string());
  for (const std::string& m : missing) msg += "  " + m + "\n";
  if (name == "fashion-mnist" || name == "mnist")
    msg += "Run `bash scripts/setup.sh` to install it, or point the data directory ($LOWBIT_DATA) at a directory holding "
           "'" + name + "/'.";
  else if (name == "cifar10")
    msg += "`bash scripts/setup.sh` does not fetch CIFAR-10: put the 'CIFAR-10 binary version' files (from "
           "cifar-10-binary.tar.gz) into that directory, or point the data directory ($LOWBIT_DATA) elsewhere.";
  else
    msg += "`bash scripts/setup.sh` does not fetch SVHN: put the 'format 2' files train_32x32.mat and "
           "test_32x32.mat into that directory, or point the data directory ($LOWBIT_DATA) elsewhere.";
  lowbit::detail::throw_error(msg);
}
}  // namespace

const DatasetInfo& dataset_info(const std::string& name) {
  for (const DatasetInfo& d : table())
    if (d.name == name) return d;
  lowbit::detail::throw_error(
      fmt::format("unknown data set '{}' (known: {})", name, fmt::join(dataset_names(), ", ")));
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetInfo& d : table()) names.push_back(d.name);
  return names;
}

std::string default_data_dir() {
  if (const char* env = std::getenv("LOWBIT_DATA"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path root;
  if (!ec) root = find_repo_root(exe.parent_path());
  if (root.empty()) root = find_repo_root(fs::current_path(ec));
  return root.empty() ? std::string("data") : (root / "data").string();
}

ImageDataset load_dataset(const std::string& name, const std::string& split, const std::string& data_dir) {
  const DatasetInfo& info = dataset_info(name);
  LOWBIT_CHECK(split == "train" || split == "test", "data set '{}': unknown split '{}' (use train or test)", name,
               split);
  const fs::path root = data_dir.empty() ? fs::path(default_data_dir()) : fs::path(data_dir);
  const fs::path dir = root / name;
  const std::string full_name = name + "/" + split;
  ImageDataset ds;

  if (name == "fashion-mnist" || name == "mnist") {
    const std::string prefix = split == "train" ? "train" : "t10k";
    const std::string img = prefix + "-images-idx3-ubyte", lab = prefix + "-labels-idx1-ubyte";
    const std::string img_path = first_existing({dir / img, dir / (img + ".gz")});
    const std::string lab_path = first_existing({dir / lab, dir / (lab + ".gz")});
    std::vector<std::string> missing;
    if (img_path.empty()) missing.push_back((dir / img).string() + "[.gz]");
    if (lab_path.empty()) missing.push_back((dir / lab).string() + "[.gz]");
    if (!missing.empty()) throw_missing(name, split, dir, missing);
    ds = read_idx(img_path, lab_path, full_name, info.num_classes);
  } else if (name == "cifar10") {
    std::vector<std::string> files;
    if (split == "train")
      for (int i = 1; i <= 5; ++i) files.push_back(fmt::format("data_batch_{}.bin", i));
    else
      files.push_back("test_batch.bin");
    // Accept the files directly in cifar10/ or in the folder the official tarball extracts to.
    fs::path base = dir;
    std::error_code ec;
    if (!fs::exists(dir / files[0], ec) && fs::exists(dir / "cifar-10-batches-bin" / files[0], ec))
      base = dir / "cifar-10-batches-bin";
    std::vector<std::string> paths, missing;
    for (const std::string& f : files) {
      const fs::path p = base / f;
      if (fs::is_regular_file(p, ec)) paths.push_back(p.string());
      else missing.push_back(p.string());
    }
    if (!missing.empty()) throw_missing(name, split, base, missing);
    ds = read_cifar10_bin(paths, full_name);
  } else {  // svhn
    const fs::path p = dir / (split + "_32x32.mat");
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw_missing(name, split, dir, {p.string()});
    ds = read_svhn_mat(p.string(), full_name);
  }
  LOWBIT_CHECK(ds.c == info.c && ds.h == info.h && ds.w == info.w,
               "data set '{}' ({}): images are {}x{}x{}, expected {}x{}x{}", name, dir.string(), ds.c, ds.h, ds.w,
               info.c, info.h, info.w);
  return ds;
}

}  // namespace lowbit::nn
