#!/usr/bin/env bash
# Installs every package Granary needs to build and test, from Debian 12's archive only.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
# Every dependency of the project is named here and nowhere else.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git
  # concurrency: fibers for both the simulator and the real runtime
  libboost-fiber-dev libboost-context-dev
  # wire and configuration schemas
  libprotobuf-dev protobuf-compiler
  # real transport
  libzmq3-dev cppzmq-dev
  # block access tokens' MAC (core/security/block_token.cc)
  libsodium-dev
  # the HA journal (net/EtcdJournal): etcd's gRPC API and the etcd members its tests start
  libgrpc++-dev protobuf-compiler-grpc etcd-server
  # real metadata store (net/RocksDbStore)
  librocksdb-dev
  # analytics
  libeigen3-dev
  # command lines and JSON output of the tools
  libcli11-dev nlohmann-json3-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev valgrind
  # integration tests: network namespaces and veth links (tests/integration/netns.sh)
  iproute2
  # analytics reference checks and plots (rsvg-convert turns roi-fit's SVG into PNG)
  python3 python3-numpy python3-scipy librsvg2-bin
  # Python package (python/: pybind11 module, fsspec filesystem) and its pytest suites
  pybind11-dev python3-dev python3-pandas python3-fsspec python3-crcmod python3-pytest
  # the simulator's experiments draw their figures (experiments/*/run.py)
  python3-matplotlib
  # the structure check (tests/structure.sh) finds where functions end with universal-ctags
  universal-ctags
  # granary-mount (FUSE) and the programs its tests run on the mount
  libfuse3-dev fuse3 fio rsync
  # granary.torch and its tests (DataLoader, torchvision's DatasetFolder)
  python3-torch python3-torchvision
  # libFuzzer targets (fuzz/): clang++ with -fsanitize=fuzzer,address,undefined
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies: ok"
