// Sections of a zoo model: contiguous runs of the model's top-level children (the named stages of nn/zoo),
// cut after named boundary modules. Sectional training (DCQ, quant/methods/dcq.h) trains each section on its
// own, feeding it the activations a frozen teacher computes at the boundary before it, and stitches the
// sections back into the model they were cut from.
//
//   boundaries "pool2" on LeNet-5      -> [conv1 .. pool2] | [flatten .. fc3]
//   boundaries "layer1,layer2,layer3"  -> [conv1, bn1, act1, layer1] | [layer2] | [layer3] | [pool, fc]
//
// Section i < m ends at boundary i, whose output is what the next section receives; the last section ends
// with the model's output (the logits). Running the sections one after another on their own outputs
// (run_sections) is the stitched model: bit-identical to the model's forward, because a Sequential fuses
// only BatchNorm -> activation pairs, and the default boundaries never separate such a pair (a boundary
// given by hand right after a BatchNorm would make that one BatchNorm run unfused: equal up to rounding).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "engine/var.h"
#include "nn/layers/sequential.h"

namespace lowbit::nn {

struct Section {
  size_t begin = 0, end = 0;  // the top-level children [begin, end)
  std::string output;         // the boundary module whose output ends the section; "" for the last (the logits)
};

// The default boundaries of a zoo model, chosen by its type name: LeNet-5 "pool2" (conv part | fc part);
// ResNets one section per stage + the head ("layer1,layer2,layer3"); VGGs and AlexNet one per pool group +
// the head (every top-level "pool<k>"); MobileNet-v1 one per width ("block1,block3,block5,block11,block13").
// Throws naming the model when it has no default.
std::vector<std::string> default_section_boundaries(const Sequential& model);

// "pool1, pool2" -> {"pool1", "pool2"}; "auto" or "" -> {} (the model's defaults). Throws for an empty name
// ("pool1,,pool2").
std::vector<std::string> parse_section_spec(const std::string& spec);

// The sections cut after each boundary, in order. Throws naming what is wrong: a name that is not a
// top-level child (listing them), a repeated or out-of-order name, a boundary at the last child (an empty
// last section), or no boundary at all (one section is the whole model, nothing to divide).
std::vector<Section> make_sections(const Sequential& model, const std::vector<std::string>& boundaries);

// The stitched model: section after section, each on the previous one's output.
Var run_sections(Sequential& model, const Var& x, const std::vector<Section>& sections);

}  // namespace lowbit::nn
