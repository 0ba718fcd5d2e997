# The libFuzzer harnesses, one add_glutescope_fuzzer() each (docs/RELIABILITY.md "Fuzzing"). Read twice:
# by the clang build in standalone/ (which compiles each harness with only the sources it names), and by
# the main build's tests/fuzz/CMakeLists.txt (which registers a smoke run per harness as a ctest test).
#
#   add_glutescope_fuzzer(<name> SOURCES <files, relative to the repository root...>
#                         [LIBS <fmt | hdf5 | edf | toml | pthread ...>] [THIRD_PARTY <library>])
#
# THIRD_PARTY: findings entirely inside that shared library (e.g. libhdf5) are listed as known instead of
# failing the smoke run (run_fuzzer.sh); every finding in glutescope's code still fails it.
#
# builds <name>_fuzzer from tests/fuzz/<name>_fuzzer.cpp plus SOURCES; tests/fuzz/corpus/<name>/ holds
# its committed seeds. A device decoder's harness is one more line here (see RELIABILITY.md).

set(GLUTESCOPE_FUZZ_DEVICE_SOURCES
    src/devices/protocol.cpp src/devices/stream_decoder.cpp src/devices/device_model.cpp
    src/core/clock_fit.cpp src/core/device_info.cpp)

add_glutescope_fuzzer(codec SOURCES firmware-protocol/c/glutescope_protocol.c)
add_glutescope_fuzzer(stream
  SOURCES firmware-protocol/c/glutescope_protocol.c ${GLUTESCOPE_FUZZ_DEVICE_SOURCES}
  LIBS fmt)
add_glutescope_fuzzer(csv_import SOURCES src/store/csv_table.cpp LIBS fmt)
add_glutescope_fuzzer(edf_import SOURCES src/store/edf_header.cpp LIBS fmt edf)
add_glutescope_fuzzer(xdf_import SOURCES src/store/xdf_reader.cpp LIBS fmt)
add_glutescope_fuzzer(session_reader
  SOURCES src/store/session_reader.cpp src/store/session_checks.cpp src/store/hdf5_handle.cpp src/store/hdf5_watchdog.cpp
          src/core/montage.cpp
  LIBS fmt hdf5 pthread
  THIRD_PARTY libhdf5)

# Third-party device decoders (tests/fuzz/device_fuzz.hpp). What every decoder links: the framework's
# reply check, the clock fit, and device_info_problem for the harness. Cyton's driver names itself through
# the registry (find_device), which lists every device, so its harness compiles all of them.
set(GLUTESCOPE_FUZZ_DECODER_SOURCES
    src/devices/device_decoder.cpp src/core/clock_fit.cpp src/core/device_info.cpp)
add_glutescope_fuzzer(cyton
  SOURCES src/devices/cyton_device.cpp src/devices/device_registry.cpp src/devices/glutescope_device.cpp
          src/devices/bitalino_device.cpp src/devices/bitalino_protocol.cpp src/devices/trigno_device.cpp
          src/devices/trigno_protocol.cpp firmware-protocol/c/glutescope_protocol.c
          ${GLUTESCOPE_FUZZ_DEVICE_SOURCES} ${GLUTESCOPE_FUZZ_DECODER_SOURCES}
  LIBS fmt)
add_glutescope_fuzzer(bitalino
  SOURCES src/devices/bitalino_device.cpp src/devices/bitalino_protocol.cpp ${GLUTESCOPE_FUZZ_DECODER_SOURCES}
  LIBS fmt)
add_glutescope_fuzzer(trigno
  SOURCES src/devices/trigno_device.cpp src/devices/trigno_protocol.cpp ${GLUTESCOPE_FUZZ_DECODER_SOURCES}
  LIBS fmt)
