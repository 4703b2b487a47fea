#!/usr/bin/env bash
# A cluster whose namenode, datanodes and client each live in their own network namespace,
# joined by veth pairs to a bridge in a hub namespace (addresses 10.201.0.0/24 exist only
# inside the namespaces this test makes, so no traffic leaves the machine). It works as on
# loopback (servers listen on their namespace's address with --insecure-bind-any), and cutting
# one datanode's link is survived like that datanode's death. Skipped (exit 77) where
# namespaces cannot be made; every namespace made is deleted at exit.
source "$(dirname "$0")/lib.sh"

SKIP=77
command -v ip >/dev/null || { echo "SKIP: the ip command (iproute2) is not installed"; exit $SKIP; }
S="gr$$"
skip() {
  echo "SKIP: cannot build network namespaces here (needs CAP_NET_ADMIN and CAP_SYS_ADMIN): $*"
  exit $SKIP
}
ip netns add "${S}hub" 2>"$T/netns.err" || skip "$(cat "$T/netns.err")"
at_exit "ip netns del ${S}hub"
# Creating the namespace may be allowed where making links in it is not: probe that too.
ip -n "${S}hub" link add br0 type bridge 2>"$T/netns.err" || skip "$(cat "$T/netns.err")"
ip -n "${S}hub" link set br0 up

# node NAME LAST_OCTET: a namespace with e0 at 10.201.0.LAST_OCTET on the hub's bridge.
node() {
  local ns="$S$1"
  ip netns add "$ns"
  at_exit "ip netns del $ns"
  ip link add e0 netns "$ns" type veth peer name "h$1" netns "${S}hub"
  ip -n "$ns" addr add "10.201.0.$2/24" dev e0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set e0 up
  ip -n "${S}hub" link set "h$1" master br0
  ip -n "${S}hub" link set "h$1" up
}
node nn 1
for k in 1 2 3 4; do node "d$k" $((10 + k)); done
node cl 100

PIDS=()
# run NS LOG COMMAND...: starts COMMAND in namespace NS; its PID is remembered and killed at exit.
run() {
  local ns="$S$1" logfile="$T/$2.log"
  shift 2
  ip netns exec "$ns" "$@" >>"$logfile" 2>&1 &
  PIDS+=($!)
  at_exit "kill -KILL $! 2>/dev/null"
}

NN=10.201.0.1:7000
run nn namenode "$BIN/granary-namenode" --listen "$NN" --insecure-bind-any --meta-dir "$T/nn" \
  --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 2000 --superuser "$(id -un)"
for k in 1 2 3 4; do
  run "d$k" "datanode-$k" "$BIN/granary-datanode" --namenode "$NN" --insecure-bind-any \
    --listen "10.201.0.$((10 + k)):7001" --data-dir "$T/d$k" --rack "/rack-$((k % 2))" --name "datanode-$k"
done
client() { ip netns exec "${S}cl" "$G" --namenode "$NN" "$@"; }
creport() { client report --json | json "$1"; }

live_is() { [ "$(creport live_datanodes)" -eq "$1" ]; }
wait_until 30 "4 live datanodes" live_is 4
grep -q "WITHOUT CURVE" "$T/namenode.log" || fail "the namenode does not warn about plaintext"
# The loopback guard holds without the flag.
expect_exit 1 ip netns exec "${S}nn" "$BIN/granary-namenode" --listen 10.201.0.1:7100 \
  --meta-dir "$T/nn2"
grep -q "refusing to listen" "$T/last.err" || fail "no refusal: $(cat "$T/last.err")"

SRC="$T/src"
mkdir -p "$SRC/d"
for i in $(seq 1 30); do make_file "$SRC/d/s$i" $((RANDOM * 3)); done
make_file "$SRC/big" $((6 * 1048576 + 7))
client put -r "$SRC" /tree || fail "put across namespaces"
client get -r /tree "$T/out" || fail "get across namespaces"
diff -r "$SRC" "$T/out" || fail "data differs across namespaces"
client report | grep -q "10.201.0.1" || fail "report names the datanodes' addresses"

log "cutting datanode-2's link"
ip -n "${S}d2" link set e0 down
wait_until 20 "datanode-2 to be declared dead" live_is 3
make_file "$T/after" $((3 * 1048576))
client put "$T/after" /after || fail "write with a datanode cut off"
client cat /after | cmp - "$T/after" || fail "read of the new file"
client cat /tree/big | cmp - "$SRC/big" || fail "read of an old file"
healed() {
  [ "$(creport under_replicated_blocks)" -eq 0 ] && [ "$(creport missing_blocks)" -eq 0 ]
}
wait_until 60 "re-replication without datanode-2" healed
client fsck --read / >"$T/fsck" || fail "fsck: $(cat "$T/fsck")"

log "restoring the link: datanode-2 comes back"
ip -n "${S}d2" link set e0 up
wait_until 30 "4 live datanodes again" live_is 4
client get -f /tree/big "$T/big-again" && cmp "$T/big-again" "$SRC/big" || fail "read after heal"
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
log "PASS"
