# Helpers of the HA integration tests (sourced after lib.sh): a cluster of three namenodes on
# a three-member etcd journal (granary-cluster start --namenodes 3), every namenode's role
# through `granary report --json`, and a writer of small files that records what was
# acknowledged.

[ -x /usr/bin/etcd ] || fail "/usr/bin/etcd missing (Debian package etcd-server, scripts/install-deps.sh)"

# The lease the namenodes campaign with (granary-namenode's default, 5 s).
LEASE_S=5

# At a failure: every namenode's role, applied sequence and idea of the active.
on_fail() {
  echo "---- namenodes at the failure" >&2
  "$G" --timeout-ms 1500 --retries 1 report --json 2>&1 | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        for nn in json.loads(line).get("namenodes", []):
            print(json.dumps(nn), file=sys.stderr)
    except ValueError:
        print(line.rstrip(), file=sys.stderr)' || true
}

# start_ha_cluster ARGS...: three namenodes; exports GRANARY_NAMENODE (all three).
start_ha_cluster() { start_cluster --namenodes 3 --wait-seconds 60 "$@"; }

# namenodes_json: the `namenodes` array of `granary report --json` (printed even when no
# namenode is active).
namenodes_json() { "$G" --timeout-ms 1500 --retries 1 report --json 2>/dev/null | json namenodes; }

# nn_field ADDRESS FIELD: one field of ADDRESS's entry in namenodes_json ("" when absent).
nn_field() {
  namenodes_json | python3 -c '
import json, sys
for nn in json.load(sys.stdin):
    if nn["address"] == sys.argv[1]:
        print(nn.get(sys.argv[2], ""))' "$1" "$2"
}

# active_address: the address of the one namenode whose role is active; fails when none.
active_address() {
  local a
  a=$(namenodes_json | python3 -c '
import json, sys
active = [nn["address"] for nn in json.load(sys.stdin) if nn["role"] == "active"]
print(active[0] if len(active) == 1 else "")')
  [ -n "$a" ] && echo "$a"
}

# node_of ADDRESS: the granary-cluster node name (namenode-K) of a namenode address.
node_of() {
  python3 - "$CLUSTER/cluster.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
port = int(sys.argv[2].rsplit(":", 1)[1])
print("namenode-%d" % (c["namenode_ports"].index(port) + 1))
PY
}

# pid_of NODE: the PID granary-cluster recorded for NODE.
pid_of() { cat "$CLUSTER/run/$1.pid"; }

# is_active ADDRESS / is_standby ADDRESS / other_active ADDRESS (one active, not ADDRESS).
is_active() { [ "$(active_address)" = "$1" ]; }
is_standby() { [ "$(nn_field "$1" role)" = standby ]; }
other_active() {
  local a
  a=$(active_address) && [ "$a" != "$1" ]
}

# start_writer NAME COUNT: creates COUNT small local files $T/NAME/f<i> (0..3000 bytes, so
# inline) and puts them one after the other to /NAME/f<i> in the background; every index
# whose put returned 0 (acknowledged) is appended to $T/NAME.acked. Sets WRITER_PID.
start_writer() {
  local name=$1 count=$2
  mkdir -p "$T/$name"
  for i in $(seq 1 "$count"); do make_file "$T/$name/f$i" $((RANDOM % 3000 + 1)); done
  : >"$T/$name.acked"
  (
    for i in $(seq 1 "$count"); do
      [ -f "$T/$name.stop" ] && break
      if "$G" put "$T/$name/f$i" "/$name/f$i" 2>>"$T/$name.err"; then echo "$i" >>"$T/$name.acked"; fi
    done
  ) &
  WRITER_PID=$!
  at_exit "kill $WRITER_PID 2>/dev/null"
}

# stop_writer NAME: lets the writer finish its current put and waits for it.
stop_writer() {
  touch "$T/$1.stop"
  wait "$WRITER_PID" || true
}

# acked_count NAME
acked_count() { wc -l <"$T/$1.acked"; }

# check_acked NAME: every acknowledged file of the writer reads back byte for byte.
check_acked() {
  local name=$1 n=0
  while read -r i; do
    "$G" cat "/$name/f$i" | cmp -s - "$T/$name/f$i" || fail "acknowledged /$name/f$i reads back wrong"
    n=$((n + 1))
  done <"$T/$name.acked"
  [ "$n" -gt 0 ] || fail "no write of $name was acknowledged"
  log "$n acknowledged files of $name read back intact"
}
