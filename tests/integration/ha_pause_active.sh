#!/usr/bin/env bash
# Three namenodes on an etcd journal: SIGSTOP the active for longer than its lease while a
# client writes, then SIGCONT it. A standby takes over meanwhile; the paused one steps down
# (role standby); a write sent to it right after it wakes is either refused or in the
# namespace of the new active; no acknowledged write is lost.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

start_ha_cluster --datanodes 3 --heartbeat-ms 200 --dead-after-ms 3000
old=$(active_address) || fail "no active namenode after start"
old_node=$(node_of "$old")
old_pid=$(pid_of "$old_node")
log "active: $old ($old_node, pid $old_pid)"

start_writer small 400
has_acked() { [ "$(acked_count small)" -ge 5 ]; }
wait_until 30 "5 acknowledged small files" has_acked

log "SIGSTOP $old for $((LEASE_S * 2)) s (its lease: $LEASE_S s)"
kill -STOP "$old_pid"
stopped_at=$SECONDS
at_exit "kill -CONT $old_pid 2>/dev/null"
paused_at=$(acked_count small)
wait_until $((LEASE_S * 4)) "a standby to become active" other_active "$old"
new=$(active_address)
log "new active: $new"
while [ $((SECONDS - stopped_at)) -lt $((LEASE_S * 2)) ]; do sleep 0.25; done
log "SIGCONT $old"
kill -CONT "$old_pid"

# Straight at the woken namenode, before it may have noticed that it lost its lease.
echo "written to the deposed active" >"$T/late"
late_rc=0
"$G" --namenode "$old" --retries 1 put "$T/late" /late 2>"$T/late.err" || late_rc=$?
log "a put sent to the woken namenode: exit $late_rc $(cat "$T/late.err")"

wait_until 30 "$old to step down to standby" is_standby "$old"
is_active "$new" || fail "$new is no longer the active after $old woke"
if [ "$late_rc" -eq 0 ]; then
  "$G" cat /late | cmp - "$T/late" || fail "a put the woken namenode acknowledged is not in the namespace"
fi
more_acked() { [ "$(acked_count small)" -ge $((paused_at + 5)) ]; }
wait_until 40 "5 more acknowledged creates" more_acked
stop_writer small
check_acked small
caught_up() { [ "$(nn_field "$old" applied_seq)" = "$(nn_field "$new" applied_seq)" ]; }
wait_until 30 "$old to catch up as a standby" caught_up
log "PASS"
