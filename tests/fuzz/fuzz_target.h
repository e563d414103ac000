// The entry point every fuzz target defines: libFuzzer calls it with each generated input, and the replay
// driver (replay_main.cpp) with each file of a committed corpus. An input must end either normally or with
// lowbit::Error (the readers' "bad input" contract); a crash, a sanitizer report or any other exception is a
// finding.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
