#!/usr/bin/env bash
# Put a directory tree of mixed small (inline) and large (multi-block) files, get it back and
# compare every byte; the other CLI commands on the result; the CLI's exit codes.
source "$(dirname "$0")/lib.sh"

start_cluster --datanodes 3 --block-size 1MiB --inline-threshold 64KiB

SRC="$T/src"
mkdir -p "$SRC/small" "$SRC/large" "$SRC/mixed/deeper/deepest" "$SRC/empty-dir"
for i in $(seq 1 150); do make_file "$SRC/small/f$i" $((RANDOM % 70000)); done
: >"$SRC/small/zero"
make_file "$SRC/small/exactly-inline" 65536
make_file "$SRC/small/just-over-inline" 65537
make_file "$SRC/large/one-block" 1048576
make_file "$SRC/large/block-plus-one" 1048577
make_file "$SRC/large/three-and-a-bit" $((3 * 1048576 + 12345))
make_file "$SRC/large/eight" $((8 * 1048576))
for i in $(seq 1 20); do make_file "$SRC/mixed/deeper/m$i" $((RANDOM * 17)); done
make_file "$SRC/mixed/deeper/deepest/big" $((2 * 1048576 + 1))
local_bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
local_files=$(find "$SRC" -type f | wc -l)

log "put -r of $local_files files, $local_bytes bytes"
"$G" put -r -j 16 "$SRC" /data || fail "put -r"

# The namespace matches the local tree.
[ "$("$G" ls -R /data | wc -l)" -eq "$(find "$SRC" -mindepth 1 | wc -l)" ] || fail "ls -R count"
[ "$("$G" du -s /data | awk '{print $1}')" -eq "$local_bytes" ] || fail "du -s"
[ "$("$G" stat --json /data/large/three-and-a-bit | json blocks)" -eq 4 ] || fail "4 blocks"
[ "$("$G" stat --json /data/small/exactly-inline | json inline)" = true ] || fail "inline file"
[ "$("$G" stat --json /data/small/just-over-inline | json inline)" = false ] || fail "not inline"
[ "$("$G" stat --json /data/empty-dir | json type)" = directory ] || fail "empty dir copied"

log "get -r and compare every byte"
"$G" get -r -j 16 /data "$T/out" || fail "get -r"
diff -r "$SRC" "$T/out" || fail "tree read back differs"
"$G" cat /data/large/eight | cmp - "$SRC/large/eight" || fail "cat differs"
"$G" fsck --read / >"$T/fsck.out" || fail "fsck --read: $(cat "$T/fsck.out")"
grep -q "status: HEALTHY" "$T/fsck.out" || fail "fsck not healthy"

log "put into an existing directory, many sources, stdin, overwrite"
"$G" mkdir /more
"$G" put "$SRC/large/one-block" "$SRC/small/f1" /more
"$G" get /more/one-block "$T/one-block" || fail "get one file"
cmp "$T/one-block" "$SRC/large/one-block" || fail "one file read back differs"
echo "from stdin" | "$G" put - /more/stdin
[ "$("$G" cat /more/stdin)" = "from stdin" ] || fail "put -"
expect_exit 1 "$G" put "$SRC/small/f2" /more/f1           # exists, no -f
"$G" put -f "$SRC/small/f2" /more/f1
"$G" cat /more/f1 | cmp - "$SRC/small/f2" || fail "put -f"

log "mv, chmod, chown, rm"
"$G" mkdir -p /moved/into
"$G" mv /more/f1 /more/stdin /moved/into
"$G" ls /moved/into | grep -qx /moved/into/f1 || fail "mv into a directory"
"$G" mv /moved/into/f1 /moved/renamed
"$G" cat /moved/renamed | cmp - "$SRC/small/f2" || fail "renamed file"
"$G" chmod 600 /moved/renamed
[ "$("$G" stat --json /moved/renamed | json mode)" = "0600" ] || fail "chmod"
"$G" chown someone:somegroup /moved/renamed
[ "$("$G" stat --json /moved/renamed | json owner)" = someone ] || fail "chown"
expect_exit 1 "$G" rm /moved                               # a directory without -r
"$G" rm -r /moved
expect_exit 1 "$G" stat /moved
"$G" rm -f /does/not/exist

log "errors: one line naming the path, exit 1; usage errors exit 2"
expect_exit 1 "$G" cat /no/such/file
[ "$(wc -l <"$T/last.err")" -eq 1 ] || fail "one line expected: $(cat "$T/last.err")"
grep -q "/no/such/file" "$T/last.err" || fail "the path is named"
expect_exit 2 "$G" ls --bogus-flag
[ "$(wc -l <"$T/last.err")" -eq 1 ] || fail "one usage line expected"
grep -q -- "--bogus-flag" "$T/last.err" || fail "the flag is named"
expect_exit 2 "$G" chmod u+x /data
expect_exit 2 "$BIN/granary-namenode" --listen 127.0.0.1:1 --meta-dir "$T/x" --replication 99
expect_exit 2 "$BIN/granary-datanode" --namenode nowhere --listen 127.0.0.1:1 --data-dir "$T/y"
expect_exit 2 env -u GRANARY_NAMENODE "$G" ls /

report=$("$G" report --json)
[ "$(echo "$report" | json live_datanodes)" -eq 3 ] || fail "report: 3 live datanodes"
[ "$(echo "$report" | json missing_blocks)" -eq 0 ] || fail "report: missing blocks"
log "PASS"
