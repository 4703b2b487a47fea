#!/usr/bin/env bash
# Identities bound to keys and block access tokens (issue #17), CURVE on, two users:
# bob cannot read or change alice's 0600 file through the namenode, cannot claim to be alice
# or the superuser, and cannot read a block of it from a datanode directly with a valid key
# but no token, an expired token, a token for another block or a forged token; alice can;
# a client key cannot register as a datanode; only the superuser may ask for a failover.
# Every refusal is a clear error and nothing changes.
source "$(dirname "$0")/lib.sh"
P="$BIN/granary-block-probe"

start_cluster --datanodes 3 --block-size 1MiB --curve --users alice,bob \
  --namenode-arg=--block-token-lifetime-ms=3000
SU_KEYS="$CLUSTER/keys"
ALICE=(env GRANARY_CURVE_KEYS="$CLUSTER/keys/users/alice" "$G" --user alice --retries 2)
BOB=(env GRANARY_CURVE_KEYS="$CLUSTER/keys/users/bob" "$G" --user bob --retries 2)
for user in alice bob "$(id -un)"; do
  [ -f "$CLUSTER/keys/users/$user/client.key" ] || fail "no key directory for $user"
done
grep -q "block access tokens on" "$CLUSTER/logs/namenode.log" || fail "tokens are not on"

log "the superuser gives alice a home; alice writes a 0600 file"
GRANARY_CURVE_KEYS="$SU_KEYS" "$G" mkdir /alice || fail "mkdir as the superuser"
GRANARY_CURVE_KEYS="$SU_KEYS" "$G" chown alice /alice || fail "chown as the superuser"
make_file "$T/secret" $((2 * 1048576 + 77))
make_file "$T/other" 5000
"${ALICE[@]}" put "$T/secret" /alice/secret || fail "alice put"
"${ALICE[@]}" chmod 600 /alice/secret || fail "alice chmod"
"${ALICE[@]}" chmod 700 /alice || fail "alice chmod dir"
"${BOB[@]}" mkdir /bob 2>/dev/null && fail "bob made a directory in the superuser's /"
GRANARY_CURVE_KEYS="$SU_KEYS" "$G" mkdir /bob && GRANARY_CURVE_KEYS="$SU_KEYS" "$G" chown bob /bob
head -c 1500000 /dev/urandom >"$T/bobs"
"${BOB[@]}" put "$T/bobs" /bob/bobs || fail "bob put his own file"
"${ALICE[@]}" cat /alice/secret | cmp - "$T/secret" || fail "alice cannot read her file"
GRANARY_CURVE_KEYS="$SU_KEYS" "$G" ls -R -l / >"$T/before"

log "bob through the namenode, as himself"
for attempt in "cat /alice/secret" "rm /alice/secret" "mv /alice/secret /bob/stolen" \
  "chmod 644 /alice/secret" "ls /alice"; do
  # shellcheck disable=SC2086
  expect_exit 1 "${BOB[@]}" $attempt
  grep -qi "permission denied" "$T/last.err" || fail "'$attempt': not a permission error: $(cat "$T/last.err")"
done
expect_exit 1 "${BOB[@]}" put "$T/other" /alice/planted

log "bob claiming to be alice or the superuser"
for claim in alice "$(id -un)"; do
  for attempt in "cat /alice/secret" "rm /alice/secret" "chmod 644 /alice/secret"; do
    # shellcheck disable=SC2086
    expect_exit 1 env GRANARY_CURVE_KEYS="$CLUSTER/keys/users/bob" "$G" --user "$claim" \
      --retries 2 $attempt
    grep -q "may not act as user '$claim'" "$T/last.err" ||
      fail "bob as $claim: $(cat "$T/last.err")"
  done
done
grep -q "the key of user 'bob' may not act as user 'alice'" "$CLUSTER/logs/namenode.log" ||
  fail "the namenode did not log the refusal with both names"
log "bob claiming the supergroup: groups come from the key file, not the request"
expect_exit 1 "${BOB[@]}" --group supergroup cat /alice/secret
grep -qi "permission denied" "$T/last.err" || fail "supergroup claim: $(cat "$T/last.err")"

log "alice's blocks and tokens; bob's own"
"$P" --curve-keys "$CLUSTER/keys/users/alice" locate --namenode "$GRANARY_NAMENODE" \
  --path /alice/secret --user alice >"$T/alice.blocks" || fail "alice locate"
"$P" --curve-keys "$CLUSTER/keys/users/bob" locate --namenode "$GRANARY_NAMENODE" \
  --path /bob/bobs --user bob >"$T/bob.blocks" || fail "bob locate"
[ "$(wc -l <"$T/alice.blocks")" -eq 3 ] || fail "expected 3 blocks: $(cat "$T/alice.blocks")"
read -r id stamp length dn token <"$T/alice.blocks"
read -r bob_id _ _ _ bob_token <"$T/bob.blocks"
[ "$token" != "-" ] || fail "the namenode issued no token"
expect_exit 1 "$P" --curve-keys "$CLUSTER/keys/users/bob" locate --namenode "$GRANARY_NAMENODE" \
  --path /alice/secret --user bob

BOB_READ=("$P" --curve-keys "$CLUSTER/keys/users/bob" read --datanode "$dn" --block "$id"
  --stamp "$stamp" --length "$length")
log "alice reads her block directly with her token"
"$P" --curve-keys "$CLUSTER/keys/users/alice" read --datanode "$dn" --block "$id" \
  --stamp "$stamp" --length "$length" --token "$token" --out "$T/block0" ||
  fail "alice's token refused"
cmp "$T/block0" <(head -c "$length" "$T/secret") || fail "the block read is not the file's"

log "bob at the datanode: no token, another block's, forged, expired"
expect_exit 1 "${BOB_READ[@]}"
grep -q "no block access token" "$T/last.err" || fail "no token: $(cat "$T/last.err")"
expect_exit 1 "${BOB_READ[@]}" --token "$bob_token"
grep -q "for block $bob_id, not $id" "$T/last.err" || fail "other block: $(cat "$T/last.err")"
forged=$(python3 -c '
import sys
t = bytearray.fromhex(sys.argv[1])
t[5:13] = int(sys.argv[2]).to_bytes(8, "little")   # bob'"'"'s token, re-aimed at alice'"'"'s block
print(t.hex())' "$bob_token" "$id")
expect_exit 1 "${BOB_READ[@]}" --token "$forged"
grep -q "forged" "$T/last.err" || fail "forged: $(cat "$T/last.err")"
random_mac="${token:0:${#token}-64}$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
expect_exit 1 "${BOB_READ[@]}" --token "$random_mac"
grep -q "forged" "$T/last.err" || fail "random MAC: $(cat "$T/last.err")"
sleep 3.5  # past the 3 s lifetime of alice's token
expect_exit 1 "${BOB_READ[@]}" --token "$token"
grep -q "expired" "$T/last.err" || fail "expired: $(cat "$T/last.err")"
log "alice's reader fetches fresh tokens"
"${ALICE[@]}" cat /alice/secret | cmp - "$T/secret" || fail "alice cannot read after expiry"

log "a client key cannot act as a datanode"
for keys in "$CLUSTER/keys/users/bob" "$SU_KEYS"; do
  expect_exit 1 "$P" --curve-keys "$keys" register --namenode "$GRANARY_NAMENODE"
  grep -q "not a datanode key" "$T/last.err" || fail "register: $(cat "$T/last.err")"
done

log "administrative calls are the superuser's: bob cannot hand over the active namenode"
expect_exit 1 "${BOB[@]}" failover
grep -q "only the superuser '$(id -un)' may make this request, not user 'bob'" "$T/last.err" ||
  fail "bob's failover: $(cat "$T/last.err")"
grep -q "nn.Failover: only the superuser" "$CLUSTER/logs/namenode.log" ||
  fail "the namenode did not log bob's failover"
# The superuser's call passes the check: this namenode has no journal to fail over with.
expect_exit 1 env GRANARY_CURVE_KEYS="$SU_KEYS" "$G" --retries 2 failover
grep -q "without a journal" "$T/last.err" || fail "superuser's failover: $(cat "$T/last.err")"

log "nothing changed"
GRANARY_CURVE_KEYS="$SU_KEYS" "$G" ls -R -l / >"$T/after"
diff "$T/before" "$T/after" || fail "the namespace changed"
"${ALICE[@]}" cat /alice/secret | cmp - "$T/secret" || fail "alice's file changed"
log "PASS"
