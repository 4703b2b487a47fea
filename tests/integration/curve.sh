#!/usr/bin/env bash
# With CURVE on, a client whose key is not listed (or a client without keys) is refused and
# nothing changes; the listed client works.
source "$(dirname "$0")/lib.sh"

start_cluster --datanodes 3 --block-size 1MiB --curve
export GRANARY_CURVE_KEYS="$CLUSTER/keys"
grep -q "with CURVE" "$CLUSTER/logs/namenode.log" || fail "the namenode does not log CURVE"

make_file "$T/file" $((2 * 1048576 + 5))
make_file "$T/small" 1000
"$G" put "$T/file" /file || fail "put with the cluster's key"
"$G" put "$T/small" /small || fail "put small with the cluster's key"
"$G" ls -R -l / >"$T/before"

log "a client with an unlisted key"
"$G" keygen "$T/rogue" --server-pub "$CLUSTER/keys/server.pub" >/dev/null 2>&1 || fail keygen
rogue=(env GRANARY_CURVE_KEYS="$T/rogue" "$G" --retries 2 --timeout-ms 1000)
for attempt in "mkdir /evil" "rm -r /file" "mv /file /stolen" "chmod 777 /file" "ls /" "cat /small"; do
  # shellcheck disable=SC2086
  expect_exit 1 "${rogue[@]}" $attempt
  [ "$(wc -l <"$T/last.err")" -eq 1 ] || fail "one error line expected: $(cat "$T/last.err")"
  [ ! -s "$T/last.out" ] || fail "refused '$attempt' printed: $(cat "$T/last.out")"
done
expect_exit 1 "${rogue[@]}" put "$T/small" /evil-file

log "a client without keys (plaintext)"
expect_exit 1 env -u GRANARY_CURVE_KEYS "$G" --retries 2 --timeout-ms 1000 mkdir /evil2

log "nothing changed"
"$G" ls -R -l / >"$T/after"
diff "$T/before" "$T/after" || fail "the namespace changed"
"$G" cat /file | cmp - "$T/file" || fail "/file changed"

log "admitting the new key (restarting the servers) lets it in"
cp "$T/rogue/client.pub" "$CLUSTER/keys/clients/rogue.pub"
for node in namenode datanode-1 datanode-2 datanode-3; do "$GC" restart "$CLUSTER" "$node" >/dev/null; done
# The key acts as the user its file names (clients/rogue.pub: rogue), whatever --user says.
env GRANARY_CURVE_KEYS="$T/rogue" "$G" --user rogue cat /small | cmp - "$T/small" ||
  fail "admitted key refused"
expect_exit 1 env GRANARY_CURVE_KEYS="$T/rogue" "$G" --user "$(id -un)" --retries 2 rm /small
grep -q "may not act as user" "$T/last.err" || fail "rogue acted as the superuser"
log "PASS"
