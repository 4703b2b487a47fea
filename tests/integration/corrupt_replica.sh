#!/usr/bin/env bash
# Flip bytes of a block replica on a datanode's disk: reads still return the right bytes (the
# client verifies CRC32C and fails over), the scanner or the reader reports the replica, the
# namenode replaces it, and afterwards fsck is clean and the report shows nothing to repair
# and every datanode holding its replicas again.
source "$(dirname "$0")/lib.sh"

start_cluster --datanodes 3 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 2000 \
  --scan-period-ms 500 --scanner-bytes-per-second 64MiB

make_file "$T/file" $((3 * 1048576 + 100))
"$G" put "$T/file" /file || fail "put"

# A replica of the second block on datanode-1: blk_<id>_<stamp>.data.
replicas=$(ls "$CLUSTER/datanode-1/data" | grep -E '^blk_[0-9]+_[0-9]+\.data$' | sort -t_ -k2 -n)
[ "$(echo "$replicas" | wc -l)" -eq 4 ] || fail "expected 4 replicas on datanode-1: $replicas"
victim="$CLUSTER/datanode-1/data/$(echo "$replicas" | sed -n 2p)"
good_sum=$(md5sum <"$victim")
log "flipping bytes of $(basename "$victim")"
flip_bytes "$victim" 1000 64
flip_bytes "$victim" 500000 1
[ "$(md5sum <"$victim")" != "$good_sum" ] || fail "the flip did not change the replica"

log "reads return the right bytes"
for i in 1 2 3 4 5; do
  "$G" cat /file | cmp - "$T/file" || fail "read $i returned wrong bytes"
done

log "waiting for the replica to be replaced"
repaired() {
  [ -f "$victim" ] && [ "$(md5sum <"$victim")" = "$good_sum" ] || return 1
  local report
  report=$("$G" report --json)
  [ "$(echo "$report" | json corrupt_blocks)" -eq 0 ] &&
    [ "$(echo "$report" | json under_replicated_blocks)" -eq 0 ] &&
    [ "$(echo "$report" | json missing_blocks)" -eq 0 ] &&
    # Each datanode's line counts its replicas: 4 blocks on each of the 3, the replaced one
    # on datanode-1 counted once.
    [ "$(echo "$report" | json datanodes.0.blocks)" -eq 4 ] &&
    [ "$(echo "$report" | json datanodes.1.blocks)" -eq 4 ] &&
    [ "$(echo "$report" | json datanodes.2.blocks)" -eq 4 ]
}
wait_until 60 "the corrupt replica to be replaced" repaired
grep -q "corrupt" "$CLUSTER/logs/datanode-1.log" "$CLUSTER/logs/namenode.log" ||
  fail "the corruption left no trace in the logs"
"$G" fsck / >"$T/fsck" || fail "fsck: $(cat "$T/fsck")"
grep -q "under-replicated blocks: 0" "$T/fsck" || fail "fsck: under-replicated: $(cat "$T/fsck")"
"$G" fsck --read / >/dev/null || fail "fsck --read"
"$G" cat /file | cmp - "$T/file" || fail "read after repair"
log "PASS"
