// What the two halves of the C API share (runtime/c_api.cpp, runtime/c_api_run.cpp).
#pragma once
#include "runtime/include/lowbit.h"
#include "runtime/model_view.h"

namespace lowbit::runtime {

// The validated blob of a model filled by lowbit_model_init; false for a null or empty model.
bool model_view(const lowbit_model* m, ModelView* v);
// Sets model->arena_bytes for model->max_batch (see runtime/c_api_run.cpp).
lowbit_status size_arena(lowbit_model* model);

}  // namespace lowbit::runtime
