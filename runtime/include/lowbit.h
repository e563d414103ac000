/* lowbit.h: the C99 API of the lowbit runtime. Runs a packed model (.lbm, runtime/FORMAT.md) on the CPU with the
 * same integer layers training uses (kernels/qlayer/qlayer.h).
 *
 *   lowbit_model m;
 *   if (lowbit_model_init(blob, blob_len, &m) != LOWBIT_OK) { puts(m.message); ... }
 *   lowbit_arena arena = {buffer, lowbit_arena_size(&m)};        // 64-byte aligned, caller-owned
 *   lowbit_input in = {pixels, 1, c, h, w};                       // fp32 NCHW, normalised (lowbit_normalize_u8)
 *   float logits[10]; lowbit_output out = {logits, 10, 0, 0};
 *   lowbit_status s = lowbit_run(&m, &arena, &in, &out);          // out.n = 1, out.classes = 10
 *
 * Memory. The model blob is only read (it may stay in flash; it must outlive the model and be 8-byte aligned, 64
 * recommended). lowbit_model_init validates every field of the file (bounds, sizes, ids, kinds, the CRC-32) and
 * computes the arena size without allocating anything; all working memory is the caller's arena: the plan, the
 * weights repacked for this CPU's kernels, and the activations (buffers reused by liveness). Nothing is allocated
 * after init, ever (firmware builds have no heap at all). The first lowbit_run on an arena (or lowbit_prepare)
 * repacks the weights into it; later runs on the same arena reuse them. One arena per concurrent run.
 *
 * Errors. Every function returns a lowbit_status; lowbit_status_string names it, and lowbit_model_init leaves a
 * one-line message naming the field in model->message. A truncated, corrupted or hostile file is an error code,
 * never a crash or an out-of-bounds read. Byte order: little-endian hosts only (x86-64, aarch64, Cortex-M).
 *
 * Threads: hosts built with OpenMP split large layers over model->threads threads (0 = all); firmware runs one. */
#ifndef LOWBIT_H
#define LOWBIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lowbit_status {
  LOWBIT_OK = 0,
  LOWBIT_ERR_NULL = 1,          /* a required pointer is null */
  LOWBIT_ERR_TRUNCATED = 2,     /* the blob is shorter than the file it claims to be */
  LOWBIT_ERR_MAGIC = 3,         /* not an .lbm file */
  LOWBIT_ERR_VERSION = 4,       /* a major version this runtime does not read */
  LOWBIT_ERR_CRC = 5,           /* the CRC-32 does not match: the file is corrupted */
  LOWBIT_ERR_RANGE = 6,         /* an offset, size, count or id outside the file or the format's limits */
  LOWBIT_ERR_MALFORMED = 7,     /* a field with an invalid value or inconsistent with another */
  LOWBIT_ERR_UNSUPPORTED = 8,   /* a valid model this build cannot run */
  LOWBIT_ERR_ALIGNMENT = 9,     /* the blob (8 bytes) or the arena (64 bytes) is misaligned */
  LOWBIT_ERR_SHAPE = 10,        /* lowbit_run: input or output shape does not match the model */
  LOWBIT_ERR_ARENA = 11,        /* the arena is smaller than lowbit_arena_size */
  LOWBIT_ERR_INTERNAL = 12      /* a kernel refused its arguments (a bug: please report) */
} lowbit_status;

#define LOWBIT_MESSAGE_BYTES 200

/* A loaded model. Caller-allocated (stack, static or heap); filled by lowbit_model_init. Read it through
 * lowbit_model_info; `threads` may be set by the caller. */
typedef struct lowbit_model {
  const uint8_t* blob;
  size_t blob_len;
  uint32_t tensor_count, op_count;
  uint32_t input_tensor, output_tensor;
  int32_t in_c, in_h, in_w, classes;
  uint32_t max_batch;   /* images per lowbit_run at most (lowbit_model_set_batch), 1 after init */
  int32_t threads;      /* 0 = all available (hosts with OpenMP), firmware: always 1 */
  uint32_t crc;         /* the file's CRC-32 */
  uint64_t arena_bytes; /* lowbit_arena_size */
  uint64_t weight_bytes;
  char message[LOWBIT_MESSAGE_BYTES]; /* why the last call on this model failed ("" when it did not) */
} lowbit_model;

typedef struct lowbit_arena {
  void* data;    /* 64-byte aligned */
  size_t bytes;  /* at least lowbit_arena_size(model) */
} lowbit_arena;

/* fp32 NCHW images, normalised as the model says (lowbit_info.mean/std; lowbit_normalize_u8 does it). */
typedef struct lowbit_input {
  const float* data;
  int32_t n, c, h, w;
} lowbit_input;

/* Logits [n][classes], written by lowbit_run. capacity: floats available at data. */
typedef struct lowbit_output {
  float* data;
  size_t capacity;
  int32_t n, classes; /* set by lowbit_run */
} lowbit_output;

typedef struct lowbit_info {
  const char* name;                 /* model name (points into the blob) */
  uint16_t version_major, version_minor;
  int32_t in_c, in_h, in_w, classes;
  uint32_t tensors, ops, max_batch;
  uint64_t file_bytes, weight_bytes, arena_bytes;
  const float* mean;                /* [in_c] or NULL: the input normalisation (points into the blob) */
  const float* std;                 /* [in_c] or NULL */
} lowbit_info;

/* One op, for model summaries (lowbit info). */
typedef struct lowbit_op_info {
  const char* name;       /* op name (points into the blob) */
  const char* kind;       /* "conv2d", "linear", "quantize", "maxpool", ... */
  const char* epilogue;   /* conv2d / linear: "f32", "bits", "requant", "thresholds"; else "" */
  int32_t weight_bits;    /* conv2d / linear: 1 binary, 2 ternary, k-bit codes, 32 fp32; else 0 */
  int32_t input_bits;     /* bits of the input activation codes (32 for f32) */
  int32_t output_bits;    /* bits of the output (32 for f32) */
  int32_t out_shape[4];   /* per sample, unused dims 0 */
  uint64_t macs;          /* multiply-accumulates per sample (conv2d / linear) */
  uint64_t weight_bytes;  /* bytes of its constants in the file */
} lowbit_op_desc;

const char* lowbit_status_string(lowbit_status s);

/* Validates blob[0, len) and fills *model. On failure model->message says what is wrong and where. */
lowbit_status lowbit_model_init(const void* blob, size_t len, lowbit_model* model);
/* Images per run at most (≥ 1, ≤ 65536); recomputes arena_bytes. */
lowbit_status lowbit_model_set_batch(lowbit_model* model, uint32_t max_batch);
/* Arena bytes for model->max_batch images (0 for a null model). The same on every target (x86, aarch64,
 * Cortex-M): each layer is sized for the largest backend that could run it. Firmware builds cannot size the
 * arena without memory and return 0: use the exporter's <NAME>_ARENA_BYTES (lowbit_run checks it exactly). */
uint64_t lowbit_arena_size(const lowbit_model* model);
lowbit_status lowbit_model_info(const lowbit_model* model, lowbit_info* info);
lowbit_status lowbit_op_info(const lowbit_model* model, uint32_t op, lowbit_op_desc* info);


/* Plans the arena and repacks the weights into it (lowbit_run does this on first use of an arena). */
lowbit_status lowbit_prepare(const lowbit_model* model, const lowbit_arena* arena);
/* Runs input->n ≤ max_batch images. Input [n][in_c][in_h][in_w] must match the model (else LOWBIT_ERR_SHAPE);
 * output->capacity ≥ n·classes (else LOWBIT_ERR_SHAPE). */
lowbit_status lowbit_run(const lowbit_model* model, const lowbit_arena* arena, const lowbit_input* input,
                         lowbit_output* output);

/* Pixels (n·c·h·w bytes, NCHW) to the model's input floats, with the training loader's arithmetic:
 * x = p·(1/(255·std[c])) + (−mean[c]/std[c]) (or p·(1/255) without normalisation). */
lowbit_status lowbit_normalize_u8(const lowbit_model* model, const uint8_t* pixels, size_t n, float* out);

#ifdef __cplusplus
}
#endif
#endif /* LOWBIT_H */
