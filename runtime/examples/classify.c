/* classify: runs a lowbit packed model (.lbm) on images and prints one prediction per image, with the accuracy
 * when labels are given. A plain C99 program against runtime/include/lowbit.h.
 *
 *   classify MODEL.lbm IMAGES [LABELS] [--count N] [--batch B] [--threads T] [--logits FILE]
 *
 * IMAGES: an IDX file of unsigned bytes (MNIST / Fashion-MNIST layout: magic 0x00000803, N, H, W, for 1-channel
 * models; or magic 0x00000804, N, C, H, W), uncompressed; pixels are normalised with the model's own mean/std
 * (lowbit_normalize_u8). Or raw little-endian fp32 already normalised, N·C·H·W of them, when the file name ends in
 * ".f32". LABELS: an IDX label file (magic 0x00000801). Output: "<index> <predicted>[ <label>]" per image, then
 * "accuracy <correct>/<n>" with labels. --logits FILE writes every image's logits, one line per image, "%.9g"
 * separated by spaces (the same text as `lowbit run --logits`: the floats round-trip exactly, so runs on two
 * machines compare bit for bit). Exit status 0, or 1 with a message on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit.h"

static unsigned char* read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char* buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      /* 64-byte aligned, as the model blob likes it: aligned_alloc needs a multiple of the alignment. */
      size_t ncap = cap ? 2 * cap : 1 << 16;
      unsigned char* nb = (unsigned char*)aligned_alloc(64, ncap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      if (buf) memcpy(nb, buf, n);
      free(buf);
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

static uint32_t be32(const unsigned char* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int ends_with(const char* s, const char* suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "classify: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 1;
}

int main(int argc, char** argv) {
  const char* paths[3] = {NULL, NULL, NULL};
  int npaths = 0;
  long count = -1, batch = 1, threads = 0;
  const char* logits_path = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--logits") == 0 && i + 1 < argc) logits_path = argv[++i];
    else if (npaths < 3) paths[npaths++] = argv[i];
    else return fail("too many arguments", argv[i]);
  }
  if (npaths < 2) {
    fprintf(stderr, "usage: classify MODEL.lbm IMAGES [LABELS] [--count N] [--batch B] [--threads T] [--logits FILE]\n");
    return 1;
  }
  if (batch < 1 || batch > 4096) return fail("--batch must be 1 to 4096", NULL);

  size_t model_len = 0;
  unsigned char* blob = read_file(paths[0], &model_len);
  if (!blob) return fail("cannot read the model", paths[0]);
  lowbit_model model;
  lowbit_status st = lowbit_model_init(blob, model_len, &model);
  if (st != LOWBIT_OK) return fail(lowbit_status_string(st), model.message);
  model.threads = (int32_t)threads;
  if ((st = lowbit_model_set_batch(&model, (uint32_t)batch)) != LOWBIT_OK) return fail(lowbit_status_string(st), model.message);
  lowbit_info info;
  lowbit_model_info(&model, &info);
  const size_t image_floats = (size_t)info.in_c * info.in_h * info.in_w;

  size_t images_len = 0;
  unsigned char* images = read_file(paths[1], &images_len);
  if (!images) return fail("cannot read the images", paths[1]);
  long n = 0;
  const unsigned char* pixels = NULL;
  const float* floats = NULL;
  if (ends_with(paths[1], ".f32")) {
    n = (long)(images_len / (image_floats * sizeof(float)));
    floats = (const float*)images;
  } else {
    if (images_len < 16) return fail("not an IDX image file", paths[1]);
    const uint32_t magic = be32(images);
    size_t header = 0, c = 1, h = 0, w = 0;
    if (magic == 0x00000803u) header = 16, h = be32(images + 8), w = be32(images + 12);
    else if (magic == 0x00000804u && images_len >= 20) header = 20, c = be32(images + 8), h = be32(images + 12), w = be32(images + 16);
    else return fail("not an IDX file of unsigned bytes with 3 or 4 dimensions", paths[1]);
    if (c != (size_t)info.in_c || h != (size_t)info.in_h || w != (size_t)info.in_w)
      return fail("the images do not have the model's input shape", paths[1]);
    n = (long)be32(images + 4);
    if ((images_len - header) / image_floats < (size_t)n) return fail("the IDX file is truncated", paths[1]);
    pixels = images + header;
  }
  const unsigned char* labels = NULL;
  unsigned char* label_file = NULL;
  if (paths[2]) {
    size_t label_len = 0;
    label_file = read_file(paths[2], &label_len);
    if (!label_file || label_len < 8 || be32(label_file) != 0x00000801u || (long)be32(label_file + 4) < n ||
        label_len - 8 < (size_t)n)
      return fail("not an IDX label file covering every image", paths[2]);
    labels = label_file + 8;
  }
  if (count >= 0 && count < n) n = count;

  const size_t arena_bytes = (size_t)lowbit_arena_size(&model);
  lowbit_arena arena = {aligned_alloc(64, (arena_bytes + 63) / 64 * 64), arena_bytes};
  float* in = (float*)malloc(image_floats * (size_t)batch * sizeof(float));
  float* logits = (float*)malloc((size_t)info.classes * (size_t)batch * sizeof(float));
  if (!arena.data || !in || !logits) return fail("out of memory", NULL);
  FILE* logits_file = NULL;
  if (logits_path && !(logits_file = fopen(logits_path, "w"))) return fail("cannot write the logits", logits_path);
  long correct = 0;
  for (long first = 0; first < n; first += batch) {
    const long b = n - first < batch ? n - first : batch;
    if (pixels) lowbit_normalize_u8(&model, pixels + (size_t)first * image_floats, (size_t)b, in);
    else memcpy(in, floats + (size_t)first * image_floats, (size_t)b * image_floats * sizeof(float));
    lowbit_input x = {in, (int32_t)b, info.in_c, info.in_h, info.in_w};
    lowbit_output y = {logits, (size_t)info.classes * (size_t)batch, 0, 0};
    if ((st = lowbit_run(&model, &arena, &x, &y)) != LOWBIT_OK) return fail("lowbit_run", lowbit_status_string(st));
    for (long i = 0; i < b; ++i) {
      const float* l = logits + (size_t)i * (size_t)info.classes;
      if (logits_file) {
        for (int k = 0; k < info.classes; ++k) fprintf(logits_file, k ? " %.9g" : "%.9g", (double)l[k]);
        fputc('\n', logits_file);
      }
      int best = 0;
      for (int k = 1; k < info.classes; ++k)
        if (l[k] > l[best]) best = k;
      if (labels) {
        printf("%ld %d %d\n", first + i, best, labels[first + i]);
        correct += best == labels[first + i];
      } else {
        printf("%ld %d\n", first + i, best);
      }
    }
  }
  if (labels) printf("accuracy %ld/%ld\n", correct, n);
  if (logits_file && fclose(logits_file) != 0) return fail("cannot write the logits", logits_path);
  free(logits);
  free(in);
  free(arena.data);
  free(label_file);
  free(images);
  free(blob);
  return 0;
}
