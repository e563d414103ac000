// The zoo's model builders (one file each); make_model() in zoo.cpp dispatches to them by name.
#pragma once
#include <memory>

#include "nn/zoo/zoo.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_lenet5(const ModelOptions& o);
std::shared_ptr<Module> build_resnet(int depth, const ModelOptions& o);
std::shared_ptr<Module> build_vgg_small(const ModelOptions& o);
std::shared_ptr<Module> build_vgg11(const ModelOptions& o);
std::shared_ptr<Module> build_alexnet(const ModelOptions& o);
std::shared_ptr<Module> build_mobilenet_v1(const ModelOptions& o);

}  // namespace lowbit::nn::zoo_detail
