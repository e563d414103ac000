// Named data sets: load_dataset("fashion-mnist", "train", data_dir) finds the official files under
// <data_dir>/<name>/ and reads them. A missing file gives one error listing every expected path and the setup
// command.
#pragma once
#include <string>
#include <vector>

#include "nn/data/dataset.h"

namespace lowbit::nn {

// Per-channel statistics (of pixel/255) used for normalisation by default.
struct DatasetInfo {
  std::string name;
  int c, h, w, num_classes;
  int64_t train_size, test_size;
  std::vector<float> mean, std;
  bool augment_crop_flip;  // the usual augmentation for this data set (random crop 4 + flip for CIFAR-10)
};

// Names: fashion-mnist, mnist, cifar10, svhn. Throws lowbit::Error listing the known names otherwise.
const DatasetInfo& dataset_info(const std::string& name);
std::vector<std::string> dataset_names();

// $LOWBIT_DATA if set, else <repo>/data, where <repo> is the nearest ancestor of the running executable (or of
// the working directory) that contains scripts/setup.sh; else "data".
std::string default_data_dir();

// split: "train" or "test". An empty data_dir means default_data_dir().
ImageDataset load_dataset(const std::string& name, const std::string& split, const std::string& data_dir = "");

}  // namespace lowbit::nn
