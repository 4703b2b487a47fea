#!/usr/bin/env bash
# The structure check (STYLE.md 8 and 10, issue 12): small units, tests that mirror the code,
# and one table of RPC method names.
# Usage: structure.sh SOURCE_ROOT. Prints each violation as FILE[:LINE]: reason; exits 1 on any.
#
# - No file in core/, net/ or sim/ above kFileLinesMax lines.
# - No function in them above kFunctionLinesMax lines, from its signature to its closing brace
#   (universal-ctags finds the ends; scripts/install-deps.sh installs it).
# - Every .cc under core/ has a test at the mirrored path (core/x/y.cc ->
#   tests/core/x/y_test.cc) or a line of tests/README.md naming it (`core/x/y.cc`) with the
#   test that covers it.
# - An RPC method's wire name ("nn.Create") is written only in core/rpc/methods.h; everyone
#   else names the constant. A line may opt out with a trailing "// structure: allow <reason>"
#   (a test that sends an unknown or raw method on purpose).
set -uo pipefail
root=${1:?usage: structure.sh SOURCE_ROOT}
cd "$root" || exit 2
[ -d core ] || { echo "structure: no core/ under $root"; exit 2; }
kFileLinesMax=600
kFunctionLinesMax=80
status=0
dirs=()
for d in core net sim; do [ -d "$d" ] && dirs+=("$d"); done

sources() {  # C++ sources and headers under the given folders
  find "$@" -type f \( -name '*.cc' -o -name '*.h' \) | sort
}

# Files.
while IFS= read -r f; do
  n=$(wc -l <"$f")
  if [ "$n" -gt "$kFileLinesMax" ]; then
    echo "$f: $n lines (at most $kFileLinesMax)"
    status=1
  fi
done < <(sources "${dirs[@]}")

# Functions.
if ! command -v ctags >/dev/null || ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
  echo "structure: universal-ctags is missing (scripts/install-deps.sh installs it)"
  exit 2
fi
long=$(ctags -R --languages=C++ --kinds-C++=f --fields=+ne -o - "${dirs[@]}" 2>/dev/null |
  awk -F'\t' -v max="$kFunctionLinesMax" '{
    l = 0; e = 0
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^line:/) l = substr($i, 6)
      if ($i ~ /^end:/) e = substr($i, 5)
    }
    if (e > 0 && e - l + 1 > max) printf "%s:%d: function %s is %d lines (at most %d)\n", $2, l, $1, e - l + 1, max
  }' | sort)
if [ -n "$long" ]; then
  echo "$long"
  status=1
fi

# Tests mirror core/.
while IFS= read -r f; do
  t="tests/${f%.cc}_test.cc"
  if [ ! -f "$t" ] && ! grep -qF "\`$f\`" tests/README.md 2>/dev/null; then
    echo "$f: no $t, and tests/README.md does not name the test that covers it"
    status=1
  fi
done < <(find core -type f -name '*.cc' | sort)

# RPC method names.
names=$(grep -rnE --include='*.h' --include='*.cc' '"(nn|dn)\.[A-Z][A-Za-z]*"' \
          core net sim tools bench python fuzz tests 2>/dev/null |
        grep -v '^core/rpc/methods.h:' | grep -v 'structure: allow')
if [ -n "$names" ]; then
  while IFS= read -r line; do
    echo "${line%%:*}:$(cut -d: -f2 <<<"$line"): RPC method name written as a string (use core/rpc/methods.h)"
  done <<<"$names"
  status=1
fi

if [ $status -eq 0 ]; then echo "structure: clean"; fi
exit $status
