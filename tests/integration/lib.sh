# Shared helpers of the integration tests (sourced). Each test runs the real binaries from
# BIN (first argument), keeps every file under its own temporary directory, listens on
# 127.0.0.1 only (or on addresses inside network namespaces it made itself), and stops what it
# started by PID, never by name.
set -euo pipefail

BIN=${1:?usage: $0 BIN_DIR}
BIN=$(cd "$BIN" && pwd)
G="$BIN/granary"
GC="$BIN/granary-cluster"
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/granary-it-$TEST_NAME-XXXXXX")
CLUSTER="$T/cluster"
CLEANUPS=()

log() { echo "[$TEST_NAME $(date +%H:%M:%S)] $*" >&2; }

fail() {
  log "FAIL: $*"
  # GRANARY_IT_KEEP_LOGS=DIR keeps every log of a failed test (the tails below are short).
  if [ -n "${GRANARY_IT_KEEP_LOGS:-}" ] && [ -d "$CLUSTER/logs" ]; then
    mkdir -p "$GRANARY_IT_KEEP_LOGS/$TEST_NAME-$$" && cp -r "$CLUSTER/logs" "$GRANARY_IT_KEEP_LOGS/$TEST_NAME-$$/" || true
  fi
  # A helper file may say more about the cluster's state at the failure (ha_lib.sh: roles).
  if declare -F on_fail >/dev/null; then on_fail || true; fi
  if [ -d "$CLUSTER/logs" ]; then
    for f in "$CLUSTER"/logs/*.log; do
      echo "---- tail of $f" >&2
      tail -n 25 "$f" >&2 || true
    done
  fi
  exit 1
}

on_exit() {
  local rc=$?
  set +e
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}"; done
  if [ -f "$CLUSTER/cluster.json" ]; then "$GC" stop "$CLUSTER" --wait-seconds 10 >/dev/null 2>&1; fi
  rm -rf "$T"
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Registers a command to run at exit (last registered runs first).
at_exit() { CLEANUPS+=("$1"); }

# start_cluster ARGS...: starts a cluster in $CLUSTER and exports GRANARY_NAMENODE.
start_cluster() {
  local address
  address=$("$GC" start "$CLUSTER" "$@") || fail "granary-cluster start $*"
  export GRANARY_NAMENODE="$address"
  log "cluster up at $address"
}

# json FIELD: reads one JSON object on stdin and prints FIELD (dotted path).
json() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(json.dumps(value) if isinstance(value, (dict, list, bool)) else value)' "$1"
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s until it succeeds.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.25
  done
}

# make_file PATH BYTES: a file of BYTES pseudo-random bytes.
make_file() { head -c "$2" /dev/urandom >"$1"; }

# expect_exit CODE COMMAND...: runs COMMAND and checks its exit code.
expect_exit() {
  local want=$1
  shift
  local rc=0
  "$@" >"$T/last.out" 2>"$T/last.err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc: $* ($(cat "$T/last.err"))"
}

# report_field FIELD: one field of `granary report --json`.
report_field() { "$G" report --json | json "$1"; }

# flip_bytes FILE OFFSET COUNT: inverts COUNT bytes of FILE at OFFSET in place.
flip_bytes() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
path, offset, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(offset)
    data = f.read(count)
    f.seek(offset)
    f.write(bytes(b ^ 0xFF for b in data))
PY
}
