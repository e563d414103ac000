#include "lab/embedded_grids.h"

#include <cstring>

namespace lowbit::lab {

const EmbeddedFile* find_embedded_grid_file(const char* name) {
  for (const EmbeddedFile& f : embedded_grid_files())
    if (std::strcmp(f.name, name) == 0) return &f;
  return nullptr;
}

}  // namespace lowbit::lab
