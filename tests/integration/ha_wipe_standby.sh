#!/usr/bin/env bash
# Three namenodes on an etcd journal: wipe a standby's metadata directory and start it again.
# It bootstraps from the others and the journal, its applied sequence reaches the active's,
# and after a failover to it every file is there.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

start_ha_cluster --datanodes 3 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 3000
active=$(active_address) || fail "no active namenode after start"
IFS=, read -r -a all <<<"$GRANARY_NAMENODE"
victim=""
for a in "${all[@]}"; do [ "$a" != "$active" ] && victim=$a && break; done
victim_node=$(node_of "$victim")
log "active $active; wiping the standby $victim ($victim_node)"

SRC="$T/src"
mkdir -p "$SRC/d"
for i in $(seq 1 40); do make_file "$SRC/d/f$i" $((RANDOM % 60000 + 1)); done
make_file "$SRC/d/large" $((3 * 1048576 + 7))
"$G" put -r "$SRC" /tree || fail "put the tree"
"$G" mv /tree/d/f1 /tree/d/renamed
"$G" rm /tree/d/f2

"$GC" kill "$CLUSTER" "$victim_node" || fail "kill $victim_node"
rm -rf "$CLUSTER/$victim_node/meta"
# Writes while it is down: it must get them from the others or the journal.
make_file "$SRC/d/while-down" 5000
"$G" put "$SRC/d/while-down" /tree/d/while-down || fail "put while the standby is down"
"$GC" restart "$CLUSTER" "$victim_node" --wait-seconds 60 || fail "restart the wiped $victim_node"
[ -d "$CLUSTER/$victim_node/meta" ] || fail "no metadata directory after the restart"
wait_until 30 "$victim to be a standby" is_standby "$victim"
caught_up() {
  local mine theirs
  mine=$(nn_field "$victim" applied_seq)
  theirs=$(nn_field "$active" applied_seq)
  [ -n "$mine" ] && [ "$mine" -gt 0 ] && [ "$mine" = "$theirs" ]
}
wait_until 60 "the wiped standby to catch up" caught_up
log "caught up at applied seq $(nn_field "$victim" applied_seq)"

"$G" ls -R -l / >"$T/before"
now=$("$G" failover --to "$victim") || fail "failover --to $victim"
[ "$now" = "$victim" ] || fail "failover printed $now, expected $victim"
is_active "$victim" || fail "$victim is not active after the failover"
"$G" ls -R -l / >"$T/after"
diff "$T/before" "$T/after" || fail "the namespace differs on the bootstrapped namenode"
"$G" get -r /tree "$T/out" || fail "get the tree from the bootstrapped namenode"
mv "$T/out/d/renamed" "$T/out/d/f1"
rm "$SRC/d/f2"
diff -r "$SRC" "$T/out" || fail "data differs after the failover to the bootstrapped namenode"
"$G" put "$SRC/d/f3" /after-failover || fail "put through the bootstrapped active"
log "PASS"
