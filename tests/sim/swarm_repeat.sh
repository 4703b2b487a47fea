#!/usr/bin/env bash
# Runs one swarm seed twice (in two processes) and fails unless both runs pass and print the
# same trace hash: the high-availability swarm (journal members, elections, leases) is as
# deterministic as the rest of the simulator.
# Usage: swarm_repeat.sh GRANARY_SIM SWARM_ARGS...
set -euo pipefail
sim=${1:?usage: swarm_repeat.sh GRANARY_SIM SWARM_ARGS...}
shift
first=$("$sim" swarm "$@")
second=$("$sim" swarm "$@")
hash() { sed -n 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/p' <<<"$1"; }
passed() { grep -q '"passed":true' <<<"$1"; }
if ! passed "$first" || ! passed "$second"; then
  echo "swarm_repeat: a run failed: $first / $second" >&2
  exit 1
fi
if [ -z "$(hash "$first")" ] || [ "$(hash "$first")" != "$(hash "$second")" ]; then
  echo "swarm_repeat: trace hashes differ: $(hash "$first") vs $(hash "$second") ($*)" >&2
  exit 1
fi
echo "swarm_repeat: $* -> $(hash "$first") twice"
