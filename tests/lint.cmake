# Style gate (STYLE.md): every C file of ours is clang-format clean.
# Run with: cmake -DSRC=<source dir> -P tests/lint.cmake
file(GLOB_RECURSE sources
  ${SRC}/bridge/*.c ${SRC}/bridge/*.h ${SRC}/proto/*.c ${SRC}/proto/*.h
  ${SRC}/tests/unit/*.c ${SRC}/tests/fuzz/*.c ${SRC}/tests/support/*.c
  ${SRC}/tests/bench/*.c ${SRC}/tests/conformance/*.c)
find_program(CLANG_FORMAT clang-format REQUIRED)
set(bad "")
foreach(f ${sources})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${f}
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
list(LENGTH sources n)
if(bad)
  message(FATAL_ERROR "not clang-format clean (run clang-format -i on them):\n${bad}")
endif()
message(STATUS "${n} files are clang-format clean")
