// The grid files of lab/grids/ (*.json and their notes *.md), compiled into the library: CMake turns them into
// a generated source (cmake/embed_files.cmake) at build time, so an installed `lowbit` knows its tables without
// the source tree. Edit the files in lab/grids/; the build picks the change up.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace lowbit::lab {

struct EmbeddedFile {
  const char* name;  // file name inside lab/grids/, e.g. "baselines.json"
  const char* data;  // the bytes (not NUL-terminated as far as size goes)
  std::size_t size;
};

// Every embedded file, sorted by name.
const std::vector<EmbeddedFile>& embedded_grid_files();
// The file of that name, or nullptr.
const EmbeddedFile* find_embedded_grid_file(const char* name);
inline const EmbeddedFile* find_embedded_grid_file(const std::string& name) { return find_embedded_grid_file(name.c_str()); }

}  // namespace lowbit::lab
