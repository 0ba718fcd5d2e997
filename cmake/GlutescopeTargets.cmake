# Per-target build settings: warnings and sanitizers are set on each target, never directory-wide.

function(glutescope_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                              -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough>
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Wstrict-prototypes
                            -Wmissing-prototypes -Wconversion -Wsign-conversion>
    $<$<BOOL:${GLUTESCOPE_WERROR}>:-Werror>)
  if(GLUTESCOPE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# add_glutescope_test(<name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>] [TIMEOUT <s>]
#                     [RUN_SERIAL] [RUNS_CLI])
# RUNS_CLI: the tests run the glutescope binary (tests/support/cli.hpp). The executable then depends on it
# (building the test rebuilds a stale binary) and gets its path as GLUTESCOPE_EXE; without RUNS_CLI,
# support/cli.hpp does not compile, so no test can run a guessed or stale binary.
# RUN_SERIAL: the tests pace a simulated device in real time and check what the recorder received within
# a deadline; ctest runs them alone so parallel tests cannot starve the pacing thread or the recorder.
# One GoogleTest executable linked to GoogleTest and to LIBS only (the modules under test: nothing else is
# linked by default, so a test sees only the headers of what it names); every TEST is registered with ctest.
function(add_glutescope_test name)
  cmake_parse_arguments(ARG "RUN_SERIAL;RUNS_CLI" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # Sanitizer builds run several times slower: scale every test's timeout rather than loosen release ones.
  if(GLUTESCOPE_SANITIZE)
    math(EXPR ARG_TIMEOUT "${ARG_TIMEOUT} * 6")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gmock GTest::gtest_main ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    GLUTESCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    GLUTESCOPE_SYSTEM_PYTHON="${GLUTESCOPE_SYSTEM_PYTHON}")
  if(ARG_RUNS_CLI)
    add_dependencies(${name} glutescope)
    target_compile_definitions(${name} PRIVATE GLUTESCOPE_EXE="$<TARGET_FILE:glutescope>")
  endif()
  glutescope_set_warnings(${name})
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} RUN_SERIAL ${ARG_RUN_SERIAL})
endfunction()

# glutescope_add_module(<name>): the static library glutescope_<name> (alias glutescope::<name>) for
# src/<name>. Its include root holds only "<name>/" (a link to src/<name> in the build tree), so a module
# sees exactly the headers of the modules it links: an include that docs/ARCHITECTURE.md forbids fails to
# compile ("No such file") instead of merely failing to link, or worse, working. The module's CMakeLists
# adds its sources with target_sources(glutescope_<name> PRIVATE ...) and its links with
# target_link_libraries (PUBLIC only for what its headers expose).
function(glutescope_module_include_root name out_var)
  set(root ${PROJECT_BINARY_DIR}/include/${name})
  file(MAKE_DIRECTORY ${root})
  file(REMOVE ${root}/${name})  # a link left by a moved checkout would point elsewhere
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  set(${out_var} ${root} PARENT_SCOPE)
endfunction()

function(glutescope_add_module name)
  glutescope_module_include_root(${name} root)
  add_library(glutescope_${name} STATIC)
  add_library(glutescope::${name} ALIAS glutescope_${name})
  target_include_directories(glutescope_${name} PUBLIC ${root})
  glutescope_set_warnings(glutescope_${name})
endfunction()

# Per-file optimisation flags for the vectorised kernels (see src/dsp/CMakeLists.txt for why). -O3 only
# where the build type optimises at all: the Debug (ASan) preset keeps -O0 so its stack traces and
# variables stay usable; -ffp-contract=off stays in every build type because the results depend on it.
set(GLUTESCOPE_KERNEL_OPTIMISE "$<$<NOT:$<CONFIG:Debug>>:-O3>")
