# Helpers shared by the per-folder CMakeLists.

# Per-file ISA flags, chosen from the file name suffix. No -march=native: each ISA variant is its own
# translation unit and is only called after runtime CPU detection (kernels/isa.h).
set(LOWBIT_FLAGS_AVX2   -mavx2 -mfma -mbmi -mbmi2 -mpopcnt -mf16c)
set(LOWBIT_FLAGS_AVX512 -mavx2 -mfma -mbmi -mbmi2 -mpopcnt -mavx512f -mavx512bw -mavx512vl -mavx512dq
                        -mavx512cd -mavx512vpopcntdq -mavx512vnni -mavx512bitalg)

function(lowbit_apply_isa_flags)
  set(is_x86 FALSE)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64|i.86")
    set(is_x86 TRUE)
  endif()
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${LOWBIT_FLAGS_AVX512}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${LOWBIT_FLAGS_AVX2}")
    endif()
    # ISA variants may use xsimd (third_party/deps.cmake): its headers are on their include path only.
    if(src MATCHES "_(avx2|avx512|neon)\\.cpp$" AND LOWBIT_XSIMD_INCLUDE_DIR)
      set_source_files_properties(${src} PROPERTIES INCLUDE_DIRECTORIES "${LOWBIT_XSIMD_INCLUDE_DIR}")
    endif()
  endforeach()
endfunction()

# Collects the sources of a library folder (recursively), dropping ISA files the target cannot build:
# *_avx2.cpp / *_avx512.cpp only on x86-64, *_neon.cpp only on aarch64, and all of them in firmware builds.
function(lowbit_collect_sources out dir)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/*.c)
  set(keep "")
  foreach(s IN LISTS srcs)
    if(s MATCHES "_(avx2|avx512)\\.cpp$")
      if(LOWBIT_FIRMWARE OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
        continue()
      endif()
    elseif(s MATCHES "_neon\\.cpp$")
      if(LOWBIT_FIRMWARE OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
        continue()
      endif()
    endif()
    list(APPEND keep ${s})
  endforeach()
  lowbit_apply_isa_flags(${keep})
  set(${out} ${keep} PARENT_SCOPE)
endfunction()

# generated/lowbit_version.h: version, git revision, compiler, build type.
function(lowbit_write_version_header)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/lowbit_version.h.in
                 ${PROJECT_BINARY_DIR}/generated/lowbit_version.h @ONLY)
  # The git revision is re-read at every build (not only at configure time): target lowbit_git_revision, which
  # every lowbit library depends on (lowbit_add_folder_library).
  set(out ${PROJECT_BINARY_DIR}/generated/lowbit_git_revision.h)
  set(cmd ${CMAKE_COMMAND} -DSRC_DIR=${PROJECT_SOURCE_DIR} -DOUT=${out} -P ${PROJECT_SOURCE_DIR}/cmake/git_revision.cmake)
  execute_process(COMMAND ${cmd})
  add_custom_target(lowbit_git_revision ALL COMMAND ${cmd} BYPRODUCTS ${out} VERBATIM
                    COMMENT "git revision -> generated/lowbit_git_revision.h")
endfunction()

# lowbit_add_folder_library(<name> PUBLIC <deps...> PRIVATE <deps...>)
# Builds lowbit_<name> (alias lowbit::<name>) from every source in the calling folder; a folder with no
# sources yet becomes an INTERFACE library carrying only its public dependencies.
function(lowbit_add_folder_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC;PRIVATE" ${ARGN})
  lowbit_collect_sources(srcs ${CMAKE_CURRENT_SOURCE_DIR})
  set(tgt lowbit_${name})
  if(srcs)
    add_library(${tgt} STATIC ${srcs})
    target_link_libraries(${tgt} PUBLIC lowbit_options ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
    add_dependencies(${tgt} lowbit_git_revision)
  else()
    add_library(${tgt} INTERFACE)
    target_link_libraries(${tgt} INTERFACE lowbit_options ${ARG_PUBLIC})
  endif()
  add_library(lowbit::${name} ALIAS ${tgt})
  set_target_properties(${tgt} PROPERTIES EXPORT_NAME ${name})
endfunction()
