/* A downstream C99 program: links the installed lowbit::runtime and uses lowbit.h. A blob that is not a model is
 * refused with a status and a message; a minimal valid header with a wrong version names the version. */
#include <stdio.h>
#include <string.h>

#include "lowbit.h"

int main(void) {
  static uint64_t words[32]; /* 256 zero bytes, 8-byte aligned */
  unsigned char* blob = (unsigned char*)words;
  lowbit_model model;
  lowbit_status s = lowbit_model_init(blob, sizeof words, &model);
  printf("lowbit runtime: %s (%s)\n", lowbit_status_string(s), model.message);
  if (s != LOWBIT_ERR_MAGIC) return 1;
  memcpy(blob, "LBM\x1a", 4);
  blob[4] = 9; /* major version 9 */
  s = lowbit_model_init(blob, sizeof words, &model);
  printf("lowbit runtime: %s (%s)\n", lowbit_status_string(s), model.message);
  return s == LOWBIT_ERR_VERSION && strstr(model.message, "9.0") != NULL ? 0 : 1;
}
