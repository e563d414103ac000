// Layer-name globs (nn::glob_match, fnmatch(3) semantics with '*' crossing dots) beyond the basic cases in
// test_zoo.cpp: bracket sets, negated sets, escapes, and the dot-crossing '*' that precision configs rely on.
#include <doctest/doctest.h>

#include "nn/zoo/zoo.h"

using lowbit::nn::glob_match;

TEST_CASE("glob: bracket sets and ranges select layers by index") {
  CHECK(glob_match("layer[12].*", "layer1.0.conv1"));
  CHECK(glob_match("layer[12].*", "layer2.2.conv2"));
  CHECK_FALSE(glob_match("layer[12].*", "layer3.0.conv1"));
  CHECK(glob_match("block[0-3].dw", "block3.dw"));
  CHECK_FALSE(glob_match("block[0-3].dw", "block4.dw"));
  CHECK(glob_match("layer[!1].*.conv1", "layer2.0.conv1"));
  CHECK_FALSE(glob_match("layer[!1].*.conv1", "layer1.0.conv1"));
}

TEST_CASE("glob: '*' and '?' match dots, a backslash quotes a wildcard") {
  CHECK(glob_match("layer*", "layer2.0.conv1"));
  CHECK(glob_match("layer1?0.conv1", "layer1.0.conv1"));
  CHECK(glob_match("*", ".hidden"));
  CHECK(glob_match("a\\*b", "a*b"));
  CHECK_FALSE(glob_match("a\\*b", "axb"));
  CHECK_FALSE(glob_match("", "fc"));
  CHECK(glob_match("", ""));
}
