#!/usr/bin/env bash
# Files that grow while others read them, on real processes: a writer process appends
# 10,000 records with a flush after each while `granary cat --follow` in another process
# prints the file as it grows, and a checker sees every record once, in order; then the
# TensorBoard-style check: a writer emits TFRecord records with a flush each while
# granary.data.follow_tfrecords in another process yields each record once, in order.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$BIN/../python${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import granary" 2>/dev/null || { log "SKIP: the Python package is not built"; exit 77; }

start_cluster --datanodes 3 --block-size 1MiB --inline-threshold 64KiB
RECORDS=10000

"$G" put - /log </dev/null || fail "put of the empty log"

# The writer: record i is "i <i's digest repeated>\n", 60 to 120 bytes, flushed one by one.
cat >"$T/writer.py" <<'PY'
import hashlib, sys, time
import granary
fs = granary.connect(sys.argv[1])
n = int(sys.argv[3])
with fs.open(sys.argv[2], "ab") as f:
    for i in range(n):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        f.write(b"%d %s\n" % (i, digest[: 10 + i % 50].encode()))
        f.flush()
PY
# The checker: every line in order, each exactly as written, and all of them.
cat >"$T/check.py" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
expected = 0
for line in sys.stdin.buffer:
    i, _, digest = line.rstrip(b"\n").partition(b" ")
    if int(i) != expected:
        sys.exit("record %d where %d was expected" % (int(i), expected))
    want = hashlib.sha256(str(expected).encode()).hexdigest()[: 10 + expected % 50]
    if digest.decode() != want or not line.endswith(b"\n"):
        sys.exit("record %d is damaged: %r" % (expected, line))
    expected += 1
if expected != n:
    sys.exit("%d records, %d expected" % (expected, n))
print("followed %d records in order" % expected)
PY

log "follow while a writer appends $RECORDS records with a flush each"
python3 "$T/writer.py" "$GRANARY_NAMENODE" /log "$RECORDS" &
writer=$!
at_exit "kill $writer 2>/dev/null"
# The follower starts once the writer holds the file (a closed file is read and done), so
# it sees it grow from its first records, and ends when the writer closes it.
wait_until 30 "the writer to open /log" \
  bash -c "'$G' stat --json /log | grep -q '\"under_construction\": *true'"
("$G" cat --follow --poll-ms 20 /log | python3 "$T/check.py" "$RECORDS" >"$T/follow.out" 2>&1) &
follower=$!
at_exit "kill $follower 2>/dev/null"
wait "$writer" || fail "the writer failed"
wait_until 60 "the follower to finish" bash -c "! kill -0 $follower"
wait "$follower" || fail "the follower failed: $(cat "$T/follow.out")"
log "$(cat "$T/follow.out")"
# The closed file holds the same records.
"$G" cat /log | python3 "$T/check.py" "$RECORDS" >/dev/null || fail "the closed file differs"

log "TFRecord: writer flushes each record, a follower in another process reads them"
cat >"$T/tf_writer.py" <<'PY'
import sys
import granary
from granary.data import TFRecordWriter
fs = granary.connect(sys.argv[1])
with TFRecordWriter(sys.argv[2], fs=fs) as w:
    for i in range(int(sys.argv[3])):
        w.write(b"event-%d-" % i + b"x" * (i * 37 % 3000))
        w.flush()
PY
cat >"$T/tf_reader.py" <<'PY'
import sys
import granary
from granary.data import follow_tfrecords
fs = granary.connect(sys.argv[1])
n = int(sys.argv[3])
got = 0
for record in follow_tfrecords(sys.argv[2], fs=fs, poll_seconds=0.02, idle_timeout=60):
    want = b"event-%d-" % got + b"x" * (got * 37 % 3000)
    if record != want:
        sys.exit("record %d: %r..." % (got, record[:40]))
    got += 1
if got != n:
    sys.exit("%d records of %d" % (got, n))
print("followed %d TFRecord records in order" % got)
PY
TF_RECORDS=2000
# The reader needs the file to exist: the writer creates it with its first flush.
python3 "$T/tf_writer.py" "$GRANARY_NAMENODE" /events.tfrecord "$TF_RECORDS" &
tf_writer=$!
at_exit "kill $tf_writer 2>/dev/null"
wait_until 30 "the event file to appear" "$G" stat /events.tfrecord
python3 "$T/tf_reader.py" "$GRANARY_NAMENODE" /events.tfrecord "$TF_RECORDS" >"$T/tf.out" 2>&1 ||
  fail "the TFRecord follower failed: $(cat "$T/tf.out")"
wait "$tf_writer" || fail "the TFRecord writer failed"
log "$(cat "$T/tf.out")"
log "PASS"
