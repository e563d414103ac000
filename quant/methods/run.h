// Wiring a training method into a run: load and check its teacher, record what ran, install its hooks.
//
//   MethodSpec spec{"kd", {{"temperature", 4}, {"alpha", 0.9}}, "runs/fp32/model.lbar"};
//   PreparedMethod pm = prepare_method(spec, *student, "lenet5", model_options, builder);
//   attach_method(pm, trainer_options);     // pm must outlive the nn::Trainer
//
// The record, stored under "method" in every checkpoint, in model.lbar and in results.json:
//   {"name": "kd", "settings": {...every setting...},
//    "teacher": {"path": "...", "crc32": "1a2b3c4d", "model": "lenet5"}}
// A resumed run must use the same method and settings and a teacher file with the same CRC-32 (the path may
// change); the method's evolving state comes back from the checkpoint's "method_state".
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/methods/method.h"

namespace lowbit::quant {

struct MethodSpec {
  std::string name;                                     // "" = plain training
  nlohmann::json settings = nlohmann::json::object();  // the method's settings; missing ones take defaults
  std::string teacher;                                  // model.lbar / checkpoint.lbar of the teacher
  bool active() const { return !name.empty(); }
};

struct PreparedMethod {
  std::unique_ptr<Method> method;
  std::shared_ptr<nn::Module> teacher;  // null for a method without a teacher
  nlohmann::json record;
};

// The teacher's fingerprint: CRC-32 (zlib) of every byte of the archive before its 4-byte CRC trailer, i.e. the
// CRC the .lbar file records (nn/archive.h). The CRC of the whole file would be useless: for any valid archive
// it is the same constant (a CRC appended to its data leaves a fixed residue). Throws naming the file when it
// cannot be read or is shorter than a trailer.
uint32_t archive_crc32(const std::string& path);

// Builds the method from its row, loads the teacher through builder (which must honour quantized teachers'
// metadata) and checks it: the file exists, it is the student's architecture when the row asks for it, and
// it has the student's input shape and class count. Then method->prepare(student, teacher). Errors name the
// teacher file and what differs.
PreparedMethod prepare_method(const MethodSpec& spec, nn::Module& student, const std::string& student_model,
                              const nn::ModelOptions& student_options, const nn::ModelBuilder& builder);

// Sets to.method, the taps, the teacher (unless the method runs it itself: Method::trainer_runs_teacher),
// hooks.forward (Method::train_forward), hooks.loss, hooks.after_step / before_epoch / after_epoch (each run
// after one already installed), hooks.checkpoint_state, hooks.on_resume (the resume check above) and
// hooks.model_meta (Method::finish_model_meta), and tells the method the run's out_dir and extra_meta
// (Method::attach_run): set those in `to` first.
void attach_method(PreparedMethod& pm, nn::TrainerOptions& to);

}  // namespace lowbit::quant
