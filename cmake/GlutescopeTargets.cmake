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
#                     [RUN_SERIAL])
# RUN_SERIAL: the tests pace a simulated device in real time and check what the recorder received within
# a deadline; ctest runs them alone so parallel tests cannot starve the pacing thread or the recorder.
# One GoogleTest executable linked to the core library; every TEST is registered with ctest.
function(add_glutescope_test name)
  cmake_parse_arguments(ARG "RUN_SERIAL" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # Sanitizer builds run several times slower: scale every test's timeout rather than loosen release ones.
  if(GLUTESCOPE_SANITIZE)
    math(EXPR ARG_TIMEOUT "${ARG_TIMEOUT} * 6")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE glutescope::core GTest::gmock GTest::gtest_main ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    GLUTESCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    GLUTESCOPE_BINARY_DIR="${PROJECT_BINARY_DIR}"
    GLUTESCOPE_SYSTEM_PYTHON="${GLUTESCOPE_SYSTEM_PYTHON}")
  glutescope_set_warnings(${name})
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} RUN_SERIAL ${ARG_RUN_SERIAL})
endfunction()
