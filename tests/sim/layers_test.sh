#!/usr/bin/env bash
# The include rule of sim/'s layers (sim/README.md): sim/kernel/ includes nothing from
# sim/models/ or sim/runs/, and sim/models/ nothing from sim/runs/. Usage: layers_test.sh ROOT.
# Prints each offending include; exits 1 on any.
set -uo pipefail
root=${1:?usage: layers_test.sh SOURCE_ROOT}
cd "$root" || exit 2
[ -d sim/kernel ] && [ -d sim/models ] && [ -d sim/runs ] || { echo "no sim layers under $root"; exit 2; }
status=0
check() {  # check DIR REGEX REASON
  local hits
  hits=$(grep -rnE --include='*.h' --include='*.cc' "$2" "$1")
  if [ -n "$hits" ]; then
    echo "$hits" | sed "s/\$/: $3/"
    status=1
  fi
}
check sim/kernel '#include[[:space:]]*"sim/(models|runs)/' "the kernel includes a model or a run"
check sim/models '#include[[:space:]]*"sim/runs/' "a model includes a run"
check sim '#include[[:space:]]*"sim/[a-z_]+\.h"' "a header outside the three layers"
[ $status -eq 0 ] && echo "layers: clean"
exit $status
