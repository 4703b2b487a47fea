#!/usr/bin/env bash
# Proves the structure check can fail: a fixture tree with one violation per rule must be
# flagged on every one of them, and a clean tree must pass.
set -uo pipefail
check=${1:?usage: structure_selftest.sh STRUCTURE_SCRIPT}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/core/x" "$dir/sim" "$dir/tests/core/x"
# A 601-line file, an 81-line function, a core unit without a test, a method name as a string.
{ echo 'int Long() {'; for i in $(seq 1 79); do echo "  int v$i = $i;"; done; echo '}'; } >"$dir/sim/long_function.cc"
for i in $(seq 1 601); do echo "// $i"; done >"$dir/sim/long_file.h"
echo 'int Untested() { return 0; }' >"$dir/core/x/untested.cc"
echo 'const char* m = "nn.Create";' >"$dir/sim/name.cc"
out=$(bash "$check" "$dir")
rc=$?
[ $rc -eq 1 ] || { echo "structure exited $rc on a bad tree:"; echo "$out"; exit 1; }
for want in 'sim/long_file.h: 601 lines' 'function Long is 81 lines' 'core/x/untested.cc: no' \
            'sim/name.cc:1: RPC method name'; do
  grep -qF "$want" <<<"$out" || { echo "structure did not flag: $want"; echo "$out"; exit 1; }
done
# The same tree made clean: each unit at its limit, the test mirrored, the escape used.
sed -i '$d' "$dir/sim/long_file.h"
sed -i '2d' "$dir/sim/long_function.cc"
echo 'int main() { return 0; }' >"$dir/tests/core/x/untested_test.cc"
echo 'const char* m = "nn.Create";  // structure: allow (shows the escape)' >"$dir/sim/name.cc"
out=$(bash "$check" "$dir") || { echo "structure failed a clean tree:"; echo "$out"; exit 1; }
# A test named in tests/README.md counts as mirrored.
rm "$dir/tests/core/x/untested_test.cc"
echo '- `core/x/untested.cc`: covered by tests/core/x/other_test.cc' >"$dir/tests/README.md"
out=$(bash "$check" "$dir") || { echo "structure ignored tests/README.md:"; echo "$out"; exit 1; }
echo "structure selftest: ok"
