#!/usr/bin/env bash
# Installs exactly what glutescope needs to build, test and run on Debian 12 (bookworm).
# Idempotent: packages already present are left alone; nothing is fetched from outside Debian.
# Usage: tools/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev  # libFuzzer + sanitizers for the separate fuzz build (tests/fuzz, docs/RELIABILITY.md)
  clang-format clang-tidy  # source checks run by the test suite (tools/checks/)
  # libraries linked by the core library, the CLI, the tests and the benchmarks
  libboost-dev            # Boost.Asio (header-only) for serial I/O
  libeigen3-dev           # quaternions and small linear algebra in motion/
  libhdf5-dev hdf5-tools  # HDF5 C API (1.10.8) and h5dump/h5clear for diagnostics
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev            # command line
  libfmt-dev              # formatting
  libtomlplusplus-dev     # TOML configuration and montage files
  nlohmann-json3-dev      # ground-truth and --json outputs
  libsdbus-c++-dev libsystemd-dev dbus  # BLE through BlueZ D-Bus; dbus-daemon for the tests' private bus
  libedf-dev              # EDF+/BDF+ export and import
  # Python used only by tests and reference-vector scripts (Debian's /usr/bin/python3)
  python3 python3-numpy python3-scipy python3-h5py python3-mne
  chromium  # headless HTML report test (tests/analysis) and the clinician page's tests (tests/web)
  slurm-wlm munge parallel  # real one-node Slurm and GNU parallel cohort tests (tests/scaling)
)

# The clinician page (web/, docs/CLINICIAN.md): the build runs `npm ci` on web/package-lock.json (uPlot,
# playwright-core). Debian's nodejs and npm only when no npm is on PATH: a NodeSource nodejs ships its own
# npm, and Debian's npm package conflicts with it.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
