#!/usr/bin/env bash
# Quotas through the CLI (issue #17): `granary quota set|clear|show`, superuser only to set and
# clear; a put past a name or space quota fails with a clear error and leaves nothing behind,
# while every file acknowledged before is intact; the limits and usage survive a namenode
# restart (usage is measured again at load).
source "$(dirname "$0")/lib.sh"

start_cluster --datanodes 2 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 2000
ME=$(id -un)

"$G" mkdir -p /q/names /q/space || fail "mkdir"
"$G" chmod 777 /q/names || fail "chmod"
log "only the superuser sets a quota"
expect_exit 1 "$G" --user alice quota set /q/names --names 3
grep -q "only the superuser" "$T/last.err" || fail "refusal says why: $(cat "$T/last.err")"
expect_exit 2 "$G" quota set /q/names
"$G" quota set /q/names --names 3 || fail "quota set --names"
"$G" quota show --json /q/names >"$T/show" || fail "quota show"
[ "$(json names_max <"$T/show")" = 3 ] || fail "names_max: $(cat "$T/show")"
[ "$(json names_used <"$T/show")" = 1 ] || fail "names_used: $(cat "$T/show")"
[ "$(json bytes_max <"$T/show")" = None ] || fail "bytes_max unset: $(cat "$T/show")"

log "a name quota: the directory itself counts"
make_file "$T/small" 100
"$G" --user alice put "$T/small" /q/names/a || fail "put a"
"$G" --user alice put "$T/small" /q/names/b || fail "put b"
expect_exit 1 "$G" --user alice put "$T/small" /q/names/c
grep -q "name quota of /q/names exceeded: 3 names" "$T/last.err" ||
  fail "name quota error: $(cat "$T/last.err")"
expect_exit 1 "$G" stat /q/names/c
expect_exit 1 "$G" mv /q/space /q/names/space
"$G" stat /q/space >/dev/null || fail "a refused rename moved something"

log "a space quota counts bytes times replication and reserves the block being written"
# Two replicas of 1 MiB blocks: a 1.5 MiB file needs 2 x 2 MiB while its second block is open.
"$G" quota set /q/space --bytes $((5 * 1048576)) || fail "quota set --bytes"
make_file "$T/big" $((1048576 + 524288))
"$G" put "$T/big" /q/space/one || fail "put one"
[ "$("$G" quota show --json /q/space | json bytes_used)" = $((2 * (1048576 + 524288))) ] ||
  fail "bytes_used after one file: $("$G" quota show --json /q/space)"
expect_exit 1 "$G" put "$T/big" /q/space/two
grep -q "space quota of /q/space exceeded" "$T/last.err" ||
  fail "space quota error: $(cat "$T/last.err")"
"$G" cat /q/space/one | cmp - "$T/big" || fail "the acknowledged file changed"
"$G" quota clear /q/space || fail "quota clear"
"$G" put "$T/big" /q/space/three || fail "put after clear"

log "limits and usage survive a restart"
"$G" quota show --json /q/names >"$T/before"
"$GC" kill "$CLUSTER" namenode || fail "kill namenode"
"$GC" restart "$CLUSTER" namenode || fail "restart namenode"
wait_until 30 "namenode back" "$G" quota show /q/names
"$G" quota show --json /q/names >"$T/after"
diff "$T/before" "$T/after" || fail "quota changed across the restart"
expect_exit 1 "$G" --user alice put "$T/small" /q/names/c
"$G" quota show /q/space | grep -q "space quota: none" || fail "cleared quota came back"
[ "$ME" != alice ] || fail "run as a user other than alice"
log "PASS"
