#!/usr/bin/env bash
# SIGKILL the namenode and start it again: the namespace (inline files, blocks, renames,
# permissions, deletions) and every byte are intact, and the cluster keeps working.
source "$(dirname "$0")/lib.sh"

start_cluster --datanodes 3 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 2000

SRC="$T/src"
mkdir -p "$SRC/a/b" "$SRC/c"
for i in $(seq 1 40); do make_file "$SRC/a/f$i" $((RANDOM % 90000)); done
make_file "$SRC/a/b/large" $((5 * 1048576 + 3))
make_file "$SRC/c/exact" $((2 * 1048576))
"$G" put -r "$SRC" /tree || fail "put"
"$G" mv /tree/c /tree/c-renamed
"$G" mkdir -p /empty/nested
"$G" chmod 700 /tree/a/f1
"$G" put "$SRC/a/f2" /doomed && "$G" rm /doomed
"$G" ls -R -l / >"$T/before"

log "SIGKILL the namenode"
"$GC" kill "$CLUSTER" namenode || fail "kill namenode"
expect_exit 1 "$G" --retries 1 --timeout-ms 500 ls /
log "restart it"
"$GC" restart "$CLUSTER" namenode || fail "restart namenode"

"$G" ls -R -l / >"$T/after"
diff "$T/before" "$T/after" || fail "the namespace changed across the restart"
"$G" get -r /tree "$T/out" || fail "get after restart"
mv "$T/out/c-renamed" "$T/out/c"
diff -r "$SRC" "$T/out" || fail "data changed across the restart"
expect_exit 1 "$G" stat /doomed

log "writes work after the restart, and survive a second one"
make_file "$T/after-file" $((3 * 1048576))
"$G" put "$T/after-file" /after-file || fail "put after restart"
"$GC" kill "$CLUSTER" namenode
"$GC" restart "$CLUSTER" namenode || fail "second restart"
"$G" cat /after-file | cmp - "$T/after-file" || fail "/after-file after the second restart"
"$G" fsck --read / >"$T/fsck" || fail "fsck: $(cat "$T/fsck")"
[ "$(report_field live_datanodes)" -eq 3 ] || fail "3 live datanodes"
log "PASS"
