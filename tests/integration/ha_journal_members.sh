#!/usr/bin/env bash
# Three namenodes on a three-member etcd journal: with one member killed writes go on; with two
# killed writes fail with a clear error (naming the journal) and nothing is acknowledged; when
# one member returns, writes resume, and every acknowledged file reads back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

start_ha_cluster --datanodes 3 --heartbeat-ms 200 --dead-after-ms 3000
active_address >/dev/null || fail "no active namenode after start"

put_ok() { "$G" --timeout-ms 3000 put "$1" "$2"; }
mkdir -p "$T/f"
for i in $(seq 1 30); do make_file "$T/f/$i" $((RANDOM % 3000 + 1)); done

for i in 1 2 3; do put_ok "$T/f/$i" "/f/$i" || fail "put /f/$i with the whole journal"; done

log "SIGKILL journal-3: a majority is left"
"$GC" kill "$CLUSTER" journal-3 || fail "kill journal-3"
for i in 4 5 6 7 8; do put_ok "$T/f/$i" "/f/$i" || fail "put /f/$i with one journal member down"; done
active_address >/dev/null || fail "no active namenode with two journal members"

log "SIGKILL journal-2: no majority"
"$GC" kill "$CLUSTER" journal-2 || fail "kill journal-2"
rc=0
"$G" --timeout-ms 3000 --retries 3 put "$T/f/9" /f/9 2>"$T/noquorum.err" || rc=$?
log "put without a journal majority: exit $rc: $(cat "$T/noquorum.err")"
[ "$rc" -eq 1 ] || fail "a put without a journal majority must fail (exit $rc)"
[ "$(wc -l <"$T/noquorum.err")" -eq 1 ] || fail "one error line expected: $(cat "$T/noquorum.err")"
grep -q "/f/9" "$T/noquorum.err" || fail "the error names the file"
grep -qiE "journal|etcd|quorum|majority|not active" "$T/noquorum.err" ||
  fail "the error does not say that the journal is the problem: $(cat "$T/noquorum.err")"

log "restart journal-2: a majority again"
"$GC" restart "$CLUSTER" journal-2 --wait-seconds 30 || fail "restart journal-2"
resumed() { put_ok "$T/f/10" /f/10; }
wait_until 40 "writes to resume" resumed
for i in 11 12 13; do put_ok "$T/f/$i" "/f/$i" || fail "put /f/$i after the journal recovered"; done
for i in 1 2 3 4 5 6 7 8 10 11 12 13; do
  "$G" cat "/f/$i" | cmp - "$T/f/$i" || fail "acknowledged /f/$i reads back wrong"
done
if "$G" stat /f/9 >/dev/null 2>&1; then
  "$G" cat /f/9 | cmp - "$T/f/9" || fail "/f/9 exists but is not what was written"
fi
"$GC" restart "$CLUSTER" journal-3 --wait-seconds 30 || fail "restart journal-3"
log "PASS"
