#!/usr/bin/env bash
# SIGKILL a datanode of the pipeline in the middle of a large write: the write completes (the
# pipeline is rebuilt from the survivors) or fails with a clear error, every file that was
# acknowledged reads back intact, and the cluster restores full replication.
source "$(dirname "$0")/lib.sh"

# A killed peer's in-flight calls end at their deadline: short ones keep the test quick.
start_cluster --datanodes 4 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 2000 \
  --datanode-arg=--rpc-timeout-ms=3000

make_file "$T/big" $((96 * 1048576))
# Inline small files (no replica files), so that the newest replica on disk is /big's.
for i in $(seq 1 30); do make_file "$T/s$i" $((RANDOM % 60000)); done
# Files in blocks acknowledged before the fault; some of their replicas die with it.
for i in 1 2 3 4 5; do
  make_file "$T/pre$i" $((2 * 1048576 + 1000 * i))
  "$G" put "$T/pre$i" "/pre/$i" || fail "put /pre/$i"
done
touch "$T/big"

log "large write in the background"
"$G" --datanode-timeout-ms 4000 put --no-progress "$T/big" /big 2>"$T/put.err" &
put_pid=$!
at_exit "kill $put_pid 2>/dev/null"

# Small writes alongside; each one that returns 0 is acknowledged and must survive.
acked=()
(
  for i in $(seq 1 30); do
    if "$G" put "$T/s$i" "/small/s$i" 2>/dev/null; then echo "$i"; fi
    sleep 0.05
  done
) >"$T/acked" &
small_pid=$!
at_exit "kill $small_pid 2>/dev/null"

# Kill the datanode holding the newest replica being written: it is in the current pipeline.
newest_replica_node() {
  local f
  f=$(find "$CLUSTER"/datanode-*/data -name 'blk_*.data' -newer "$T/big" -printf '%T@ %p\n' 2>/dev/null |
    sort -n | tail -n 1 | cut -d' ' -f2)
  [ -n "$f" ] || return 1
  echo "$f" | sed -E 's#.*/(datanode-[0-9]+)/data/.*#\1#'
}
wait_until 20 "the write to reach a datanode" newest_replica_node
sleep 0.3
victim=$(newest_replica_node)
kill -0 $put_pid 2>/dev/null || fail "the write finished before the fault (make the file larger)"
log "SIGKILL $victim in the middle of the write"
"$GC" kill "$CLUSTER" "$victim" || fail "kill $victim"

put_rc=0
wait $put_pid || put_rc=$?
wait $small_pid || true
if [ "$put_rc" -eq 0 ]; then
  log "the large write completed despite the dead datanode"
  "$G" cat /big | cmp - "$T/big" || fail "acknowledged /big reads back wrong"
else
  log "the large write failed (exit $put_rc): $(cat "$T/put.err")"
  [ "$put_rc" -eq 1 ] || fail "exit code $put_rc"
  [ "$(wc -l <"$T/put.err")" -eq 1 ] || fail "one error line expected: $(cat "$T/put.err")"
  grep -q "/big" "$T/put.err" || fail "the error names the file"
fi

n=0
while read -r i; do
  "$G" cat "/small/s$i" | cmp - "$T/s$i" || fail "acknowledged /small/s$i reads back wrong"
  n=$((n + 1))
done <"$T/acked"
for i in 1 2 3 4 5; do
  "$G" cat "/pre/$i" | cmp - "$T/pre$i" || fail "acknowledged /pre/$i reads back wrong"
done
log "$n acknowledged small files and 5 earlier multi-block files intact"
[ "$n" -gt 0 ] || fail "no small write was acknowledged"

log "the namenode declares $victim dead and restores replication"
dead_is_one() { [ "$(report_field dead_datanodes)" -eq 1 ]; }
wait_until 20 "one dead datanode" dead_is_one
healed() {
  [ "$(report_field under_replicated_blocks)" -eq 0 ] && [ "$(report_field missing_blocks)" -eq 0 ] &&
    "$G" fsck / | grep -q "under-replicated blocks: 0"
}
wait_until 60 "full replication" healed
"$G" fsck --read / >/dev/null || fail "fsck --read after healing"
log "PASS"
