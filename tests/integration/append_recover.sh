#!/usr/bin/env bash
# Appends on real processes: a writer that syncs and is then SIGKILLed leaves, after
# `granary recover-lease`, a file holding every synced record intact; appends to inline files
# cross the inline threshold and stay byte-exact; `granary append` from standard input; a
# second appender is refused while the first holds the file.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$BIN/../python${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import granary" 2>/dev/null || { log "SKIP: the Python package is not built"; exit 77; }

start_cluster --datanodes 3 --block-size 1MiB --inline-threshold 64KiB

log "inline appends across the threshold, from files and from standard input"
: >"$T/expected"
"$G" put "$T/expected" /grow || fail "put of the empty file"
for size in 1 100 4000 30000 20000 9000 70000 300000 1200000; do
  make_file "$T/piece" "$size"
  cat "$T/piece" >>"$T/expected"
  if [ $((size % 2)) -eq 0 ]; then
    "$G" append "$T/piece" /grow || fail "append of $size bytes"
  else
    "$G" append - /grow <"$T/piece" || fail "append of $size bytes from standard input"
  fi
  "$G" cat /grow | cmp - "$T/expected" || fail "after appending $size bytes the file differs"
done
[ "$("$G" stat --json /grow | json inline)" = false ] || fail "the file did not move to blocks"
[ "$("$G" stat --json /grow | json blocks)" -eq 2 ] || fail "expected 2 blocks"

log "a pipe into granary append: its lines are visible while it is still open"
mkfifo "$T/pipe"
"$G" put - /piped </dev/null || fail "put of the empty /piped"
"$G" append - /piped <"$T/pipe" &
appender=$!
at_exit "kill $appender 2>/dev/null"
exec 7>"$T/pipe"
echo "first line" >&7
wait_until 20 "the first line to be visible" bash -c "[ \"\$('$G' cat /piped)\" = 'first line' ]"
expect_exit 1 "$G" append "$T/piece" /piped
grep -q "being written by" "$T/last.err" || fail "the refusal names no holder: $(cat "$T/last.err")"
echo "second line" >&7
exec 7>&-
wait "$appender" || fail "granary append - failed"
[ "$("$G" cat /piped)" = "$(printf 'first line\nsecond line')" ] || fail "/piped differs"

log "sync, SIGKILL the writer, recover-lease: every synced record survives"
cat >"$T/syncer.py" <<'PY'
import os, sys, time
import granary
fs = granary.connect(sys.argv[1])
fs.write_bytes(sys.argv[2], b"")
with fs.open(sys.argv[2], "ab") as f:
    i = 0
    while True:
        f.write(b"%08d" % i + bytes([65 + i % 26]) * (1000 + i % 700) + b"\n")
        if i % 3 == 0:
            f.sync()
            # Only now is record i promised: tell the test.
            with open(sys.argv[3] + ".tmp", "w") as out:
                out.write(str(i))
            os.replace(sys.argv[3] + ".tmp", sys.argv[3])
        i += 1
        if i == 3000:
            time.sleep(3600)  # never closes: killed
PY
python3 "$T/syncer.py" "$GRANARY_NAMENODE" /synced "$T/synced" &
syncer=$!
at_exit "kill -9 $syncer 2>/dev/null"
wait_until 60 "500 synced records" bash -c "[ -s '$T/synced' ] && [ \$(cat '$T/synced') -ge 500 ]"
kill -9 "$syncer"
wait "$syncer" 2>/dev/null || true
synced=$(cat "$T/synced")
log "writer killed after syncing record $synced"
expect_exit 1 "$G" append "$T/piece" /synced  # still held by the dead writer
"$G" recover-lease /synced || fail "recover-lease"
"$G" cat /synced >"$T/synced.out" || fail "cat after recovery"
python3 - "$T/synced.out" "$synced" <<'PY' || fail "synced records lost or damaged"
import sys
data = open(sys.argv[1], "rb").read()
synced = int(sys.argv[2])
lines = data.split(b"\n")
whole = lines[:-1]  # the last piece may be a record cut by the crash (never synced)
for i, line in enumerate(whole):
    want = b"%08d" % i + bytes([65 + i % 26]) * (1000 + i % 700)
    if line != want:
        sys.exit("record %d damaged" % i)
if len(whole) < synced + 1:
    sys.exit("%d whole records, %d were synced" % (len(whole), synced + 1))
tail = lines[-1]
i = len(whole)
if tail and not (b"%08d" % i + bytes([65 + i % 26]) * (1000 + i % 700)).startswith(tail):
    sys.exit("the cut tail is not a prefix of record %d" % i)
print("%d whole records, %d synced" % (len(whole), synced + 1))
PY
# Closed again: appendable.
"$G" append - /synced <<<"after recovery" || fail "append after recovery"
"$G" cat /synced | tail -c 15 | grep -q "after recovery" || fail "the appended tail is missing"
log "PASS"
