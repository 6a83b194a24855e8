# Static analysis gate (STYLE.md): clang-tidy with the repository's
# .clang-tidy over the bridge and libtrainevents sources, using the build's
# compile_commands.json. Any warning fails the test.
# Run with: cmake -DSRC=<source dir> -DBUILD=<build dir> -P tests/tidy.cmake
find_program(RUN_CLANG_TIDY run-clang-tidy REQUIRED)
execute_process(
  COMMAND ${RUN_CLANG_TIDY} -p ${BUILD} -quiet -j 2
          "${SRC}/bridge/[a-z_]*\\.c$" "${SRC}/bridge/proxy/.*\\.c$" "${SRC}/proto/src/.*\\.c$"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
string(REGEX MATCHALL "[^\n]*(warning|error): [^\n]*" findings "${out}\n${err}")
if(findings OR NOT rc EQUAL 0)
  string(REPLACE ";" "\n" listing "${findings}")
  message(FATAL_ERROR "clang-tidy (exit ${rc}):\n${listing}\n${err}")
endif()
message(STATUS "clang-tidy clean on bridge/ and proto/src/")
