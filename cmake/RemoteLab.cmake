# Shared build conventions: warnings, sanitizer flavour, dependency targets, test helpers.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

add_compile_definitions(_GNU_SOURCE RL_VERSION="${PROJECT_VERSION}")
add_compile_options(-Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wwrite-strings -Wpointer-arith -Wundef
                    -Wno-unused-parameter -fno-common)
if(RL_WERROR)
  add_compile_options(-Werror)
endif()
if(RL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
add_link_options(-Wl,--as-needed)

# One imported target per dependency; a missing package fails the configure step.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd>=0.9.75)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd>=252)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=2.14)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.88)
pkg_check_modules(XML2 REQUIRED IMPORTED_TARGET libxml-2.0>=2.9)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3>=3.40)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb>=3.3)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto>=3.0)
pkg_check_modules(UUID REQUIRED IMPORTED_TARGET uuid)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(GSSAPI REQUIRED IMPORTED_TARGET krb5-gssapi)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka>=1.1)

set(RL_SAN_ENV
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

# rl_add_unit_test(<name> SOURCES <files...> [LIBS <targets...>])
# Builds one cmocka binary under build/tests/unit and registers it with ctest (label "unit").
function(rl_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/unit)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120
                       ENVIRONMENT "${RL_SAN_ENV}")
endfunction()

# rl_add_e2e_test(<name> <pytest path> [TIMEOUT s] [COST s] [ENV k=v...])
# Runs Debian's pytest against the real binaries (label "e2e"). Exit code 5 (no tests) fails.
# COST: the suite's usual run time in seconds; `ctest -j` starts the costliest first, so a
# fresh tree (no CTestCostData.txt yet) does not leave the longest suite for last.
function(rl_add_e2e_test name path)
  cmake_parse_arguments(T "" "TIMEOUT;COST" "ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  if(NOT T_COST)
    set(T_COST 10)
  endif()
  add_test(NAME ${name}
           COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/run-pytest ${CMAKE_SOURCE_DIR}/${path})
  set_tests_properties(${name} PROPERTIES LABELS e2e TIMEOUT ${T_TIMEOUT} COST ${T_COST}
    ENVIRONMENT "RL_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RL_BUILD_DIR=${CMAKE_BINARY_DIR};RL_SOURCE_DIR=${CMAKE_SOURCE_DIR};${T_ENV}")
endfunction()

# rl_add_fuzzer(<name> SOURCES <files...> [LIBS <targets...>] [INCLUDES <dirs...>] CORPUS <dir>)
# A libFuzzer target (RL_FUZZ=ON, clang) built into build/fuzz, plus a 20 s ctest smoke run
# (label "fuzz") over the checked-in corpus fuzz/corpus/<dir> and the dictionary
# fuzz/<name>.dict when it exists. The code under test is listed in SOURCES so it is compiled
# with coverage instrumentation; new inputs go to the build tree, never into the repository.
function(rl_add_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS;INCLUDES" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${F_INCLUDES})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=all)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz/corpus-${name})
  set(dict)
  if(EXISTS ${PROJECT_SOURCE_DIR}/fuzz/${name}.dict)
    set(dict -dict=${PROJECT_SOURCE_DIR}/fuzz/${name}.dict)
  endif()
  add_test(NAME ${name}-smoke
           COMMAND ${name} -max_total_time=20 ${dict}
                   -artifact_prefix=${CMAKE_BINARY_DIR}/fuzz/${name}-
                   ${CMAKE_BINARY_DIR}/fuzz/corpus-${name}
                   ${PROJECT_SOURCE_DIR}/fuzz/corpus/${F_CORPUS})
  set_tests_properties(${name}-smoke PROPERTIES LABELS fuzz TIMEOUT 120
                       ENVIRONMENT "${RL_SAN_ENV}")
endfunction()

# rl_embed(<out.c> SYMBOLS <sym>... FILES <file>...)
# Generates <out.c> (in the build tree) with `const char <sym>[]` / `const size_t <sym>_len`
# holding each file's bytes and `const char <sym>_sha256[]` its SHA-256 in hex; add it to a
# target's sources.
function(rl_embed out)
  cmake_parse_arguments(E "" "" "SYMBOLS;FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DSYMBOLS=${E_SYMBOLS}" "-DFILES=${E_FILES}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${E_SYMBOLS}" VERBATIM)
endfunction()
