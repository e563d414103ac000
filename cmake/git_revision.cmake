# Writes OUT (generated/lowbit_git_revision.h) with the revision of the source tree at SRC_DIR: the short hash of
# HEAD, with "-dirty" when tracked files differ from it. Run at every build (target lowbit_git_revision), so
# results files record the revision that was actually compiled, not the one of the last CMake configure; the file
# is rewritten only when the text changes, so an unchanged revision recompiles nothing.
set(rev "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC_DIR}
                  OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND NOT head STREQUAL "")
    set(rev "${head}")
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC_DIR}
                    OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc2)
    if(rc2 EQUAL 0 AND NOT changes STREQUAL "")
      set(rev "${rev}-dirty")
    endif()
  endif()
endif()
set(text "// Generated at build time by cmake/git_revision.cmake. Do not edit.\n#pragma once\n#define LOWBIT_GIT_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
else()
  set(old "")
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
