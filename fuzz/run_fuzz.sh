#!/usr/bin/env bash
# Builds and runs Granary's libFuzzer targets (fuzz/README.md).
#
#   run_fuzz.sh build SOURCE_DIR FUZZ_DIR CLANGXX   configure fuzz/project into FUZZ_DIR/build
#                                                   with clang++ and build it (incremental)
#   run_fuzz.sh run FUZZ_DIR TARGET SECONDS CORPUS  fuzz TARGET for SECONDS from the committed
#                                                   CORPUS; exits non-zero on any crash
#
# New inputs go to FUZZ_DIR/corpus/TARGET (never into the committed corpus); a crashing input
# is saved as FUZZ_DIR/artifacts/TARGET-crash-*, to be added to the committed corpus once fixed.
set -euo pipefail
cmd=${1:-}
case $cmd in
  build)
    src=$2; dir=$3; cxx=$4
    cmake -S "$src/fuzz/project" -B "$dir/build" -DCMAKE_CXX_COMPILER="$cxx" \
      -DGRANARY_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=None >"$dir.configure.log" 2>&1 ||
      { cat "$dir.configure.log"; exit 1; }
    cmake --build "$dir/build" -j2
    ;;
  run)
    dir=$2; target=$3; seconds=$4; corpus=$5
    mkdir -p "$dir/corpus/$target" "$dir/artifacts"
    exec "$dir/build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/$target-" \
      "$dir/corpus/$target" "$corpus"
    ;;
  *)
    sed -n '4,8p' "$0" | sed 's/^# *//'
    exit 2
    ;;
esac
