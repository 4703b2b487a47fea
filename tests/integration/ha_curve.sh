#!/usr/bin/env bash
# Identities and block access tokens with several namenodes (issues 14 and 17): three
# namenodes on an etcd journal, CURVE on, users alice and bob, each with a key. Reads spread
# over every namenode (--read-policy random): standbys answer stats and inline files and bind
# identities as the active does (a standby cannot sign the active's block tokens, so it
# sends opens of files in blocks to the active). alice reads her 0600 files through each, bob
# is refused by each (as himself and claiming alice), and at least one standby served reads.
# Then the active is SIGKILLed: the datanodes take the new active's read and write tokens
# (its keys reach them in heartbeat replies), the refusals hold, and nothing bob tried
# changed anything.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

start_ha_cluster --datanodes 3 --block-size 1MiB --heartbeat-ms 200 --dead-after-ms 3000 \
  --curve --users alice,bob
export GRANARY_CURVE_KEYS="$CLUSTER/keys"  # the superuser's, for report and the setup
ALICE=(env GRANARY_CURVE_KEYS="$CLUSTER/keys/users/alice" "$G" --user alice --read-policy random)
BOB_KEY=(env GRANARY_CURVE_KEYS="$CLUSTER/keys/users/bob" "$G" --read-policy random --retries 2)
BOB=("${BOB_KEY[@]}" --user bob)
first=$(active_address) || fail "no active namenode after start"
log "active: $first ($(node_of "$first"))"

"$G" mkdir /alice && "$G" chown alice /alice || fail "the superuser makes alice's home"
make_file "$T/secret" $((2 * 1048576 + 77)) # three blocks: read from the datanodes
make_file "$T/small" 3000                    # inline: read from the namenode
"${ALICE[@]}" put "$T/secret" /alice/secret || fail "alice put"
"${ALICE[@]}" put "$T/small" /alice/small || fail "alice put small"
"${ALICE[@]}" chmod 600 /alice/secret || fail "alice chmod"
"${ALICE[@]}" chmod 600 /alice/small || fail "alice chmod small"
"${ALICE[@]}" chmod 700 /alice || fail "alice chmod dir"
"$G" ls -l /alice | grep -E "secret|small" >"$T/before" || fail "ls /alice"

served() { namenodes_json | python3 -c '
import json, sys
print(" ".join(str(nn.get("reads_served", 0)) for nn in json.load(sys.stdin)))'; }
log "reads served before: $(served)"

# reads_by_everyone ROUND: alice reads both files 9 times, bob is refused 9 times each way.
reads_by_everyone() {
  local round=$1
  for i in $(seq 1 9); do
    "${ALICE[@]}" cat /alice/secret | cmp -s - "$T/secret" ||
      fail "$round: alice's read $i of her file is wrong"
    "${ALICE[@]}" cat /alice/small | cmp -s - "$T/small" ||
      fail "$round: alice's read $i of her small file is wrong"
    expect_exit 1 "${BOB[@]}" cat /alice/secret
    grep -qi "permission denied" "$T/last.err" ||
      fail "$round: bob's read $i is not a permission error: $(cat "$T/last.err")"
    expect_exit 1 "${BOB_KEY[@]}" --user alice cat /alice/small
    grep -q "may not act as user 'alice'" "$T/last.err" ||
      fail "$round: bob as alice, read $i: $(cat "$T/last.err")"
  done
}

log "alice and bob read through every namenode"
reads_by_everyone "three namenodes"
standbys_served() { namenodes_json | python3 -c '
import json, sys
nns = json.load(sys.stdin)
sys.exit(0 if sum(1 for nn in nns if nn["role"] == "standby" and nn.get("reads_served", 0) > 0) >= 1 else 1)'; }
standbys_served || fail "no standby served a read: $(served)"
log "reads served after: $(served)"

log "SIGKILL the active $first"
"$GC" kill "$CLUSTER" "$(node_of "$first")" || fail "kill the active"
wait_until 30 "a standby to become active" other_active "$first"
second=$(active_address)
log "new active: $second"

log "the new active's write tokens: alice writes a file in blocks, reads it back"
make_file "$T/after" $((1048576 + 5))
"${ALICE[@]}" put "$T/after" /alice/after || fail "alice put after the failover"
"${ALICE[@]}" chmod 600 /alice/after || fail "alice chmod after the failover"
"${ALICE[@]}" cat /alice/after | cmp - "$T/after" || fail "alice reads her new file wrong"
expect_exit 1 "${BOB[@]}" cat /alice/after
grep -qi "permission denied" "$T/last.err" || fail "bob read the new file: $(cat "$T/last.err")"
reads_by_everyone "after the failover"

log "bob's attempts changed nothing"
for attempt in "rm /alice/secret" "chmod 644 /alice/secret" "mv /alice/small /stolen"; do
  # shellcheck disable=SC2086
  expect_exit 1 "${BOB[@]}" $attempt
done
expect_exit 1 "${BOB_KEY[@]}" --user "$(id -un)" rm /alice/secret
grep -q "may not act as user" "$T/last.err" || fail "bob as the superuser: $(cat "$T/last.err")"
"$G" ls -l /alice | grep -E "secret|small" >"$T/now" || fail "ls /alice"
diff "$T/before" "$T/now" >/dev/null || fail "alice's files changed: $(diff "$T/before" "$T/now")"
expect_exit 1 "$G" stat /stolen
"$G" cat /alice/secret | cmp - "$T/secret" || fail "the superuser reads alice's file wrong"
log "PASS"
