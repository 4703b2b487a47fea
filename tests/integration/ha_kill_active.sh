#!/usr/bin/env bash
# Three namenodes on an etcd journal: SIGKILL the active during a stream of small-file creates
# and a large write. A standby takes over, every acknowledged file reads back intact, the
# large write completes or fails with a clear error, and writes go on through the new active.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

start_ha_cluster --datanodes 3 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 3000
first=$(active_address) || fail "no active namenode after start"
log "active: $first ($(node_of "$first"))"

make_file "$T/big" $((48 * 1048576))
"$G" --datanode-timeout-ms 5000 put --no-progress "$T/big" /big 2>"$T/put.err" &
put_pid=$!
at_exit "kill $put_pid 2>/dev/null"
start_writer small 400

has_acked() { [ "$(acked_count small)" -ge 5 ]; }
wait_until 30 "5 acknowledged small files" has_acked
log "SIGKILL the active $first"
"$GC" kill "$CLUSTER" "$(node_of "$first")" || fail "kill the active"
killed_at=$(acked_count small)

wait_until 30 "a standby to become active" other_active "$first"
second=$(active_address)
log "new active: $second"
more_acked() { [ "$(acked_count small)" -ge $((killed_at + 5)) ]; }
wait_until 40 "5 more acknowledged creates through the new active" more_acked
stop_writer small

put_rc=0
wait $put_pid || put_rc=$?
if [ "$put_rc" -eq 0 ]; then
  log "the large write completed across the failover"
  "$G" cat /big | cmp - "$T/big" || fail "acknowledged /big reads back wrong"
else
  log "the large write failed (exit $put_rc): $(cat "$T/put.err")"
  [ "$put_rc" -eq 1 ] || fail "exit code $put_rc"
  [ "$(wc -l <"$T/put.err")" -eq 1 ] || fail "one error line expected: $(cat "$T/put.err")"
  grep -q "/big" "$T/put.err" || fail "the error names the file"
fi
check_acked small

log "the killed namenode comes back as a standby and catches up"
"$GC" restart "$CLUSTER" "$(node_of "$first")" || fail "restart $first"
wait_until 30 "$first to be a standby" is_standby "$first"
caught_up() { [ "$(nn_field "$first" applied_seq)" = "$(nn_field "$second" applied_seq)" ]; }
wait_until 30 "$first to catch up" caught_up
is_active "$second" || fail "the active changed when $first came back"
log "PASS"
