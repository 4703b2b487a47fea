#!/usr/bin/env bash
# Reads on every namenode (issue 14). Three namenodes on an etcd journal; two Python
# processes (read policies least-loaded, the default, and random) each write small inline
# files and read every one back at once, wherever the read lands (read-your-writes), then
# read them all again. While they read again, every namenode must serve reads (reads_served
# in `granary report --json` grows on each). Then a standby is SIGSTOPped while both
# processes keep reading: every read still succeeds with the right bytes; SIGCONT at the end.
#
# Why the spread is checked in the second phase, not the first: a read right after its own
# write needs the standby to have applied that write, and a standby that has not within
# kStandbyReadWaitMax (50 ms) sends the client to the active, which then leaves it out of
# its reads for kSpreadReadAvoid. On a loaded machine that is the right answer, and it is
# what CI once saw (a standby with 0 reads after the first phase). Reads of files written
# before need nothing the standbys lack, so there every namenode answers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

PYDIR=$(cd "$BIN/../python" 2>/dev/null && pwd) || fail "no Python package beside $BIN (build target granary_python)"
[ -f "$PYDIR/granary/__init__.py" ] || fail "$PYDIR/granary is not the built Python package"
export PYTHONPATH="$PYDIR${PYTHONPATH:+:$PYTHONPATH}"
FILES=${HA_READS_FILES:-500}

start_ha_cluster --datanodes 1 --heartbeat-ms 200
active=$(active_address) || fail "no active namenode after start"
mapfile -t NAMENODES < <(namenodes_json | python3 -c '
import json, sys
for nn in json.load(sys.stdin): print(nn["address"])')
[ "${#NAMENODES[@]}" -eq 3 ] || fail "expected 3 namenodes, got ${NAMENODES[*]}"
standby=""
for nn in "${NAMENODES[@]}"; do [ "$nn" != "$active" ] && standby=$nn && break; done
log "active $active; standby to pause later: $standby"

cat >"$T/rw.py" <<'PY'
# rw.py NAME COUNT PHASE POLICY [SECONDS]: PHASE "write" writes /NAME/f<i> and reads each back
# at once; "read" reads all of them, again and again for SECONDS. Exits non-zero on the first
# wrong byte or error, naming it.
import os, sys, time
import granary

name, count, phase, policy = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
fs = granary.connect(os.environ["GRANARY_NAMENODE"], read_policy=policy or None)

def data(i):
    return (b"%s:%d;" % (name.encode(), i)) * (1 + i % 300)

if phase == "write":
    for i in range(count):
        path = "/%s/f%d" % (name, i)
        fs.write_bytes(path, data(i))
        got = fs.read_bytes(path)  # a read right after its write: any namenode
        if got != data(i):
            sys.exit("read-your-writes broken at %s: %d bytes, expected %d" % (path, len(got), len(data(i))))
        if fs.stat(path)["size"] != len(data(i)):
            sys.exit("stat of %s after its write has the wrong size" % path)
else:
    end = time.monotonic() + float(sys.argv[5])
    rounds = reads = 0
    while True:
        for i in range(count):
            path = "/%s/f%d" % (name, i)
            if fs.read_bytes(path) != data(i):
                sys.exit("wrong bytes in %s" % path)
            reads += 1
        rounds += 1
        if time.monotonic() >= end:
            break
    print("%s: %d reads in %d rounds" % (name, reads, rounds))
PY

start=$SECONDS
python3 "$T/rw.py" alpha "$FILES" write "" 2>"$T/alpha.err" &
a=$!
python3 "$T/rw.py" beta "$FILES" write random 2>"$T/beta.err" &
b=$!
at_exit "kill $a $b 2>/dev/null"
wait "$a" || fail "writer alpha: $(tail -n 5 "$T/alpha.err")"
wait "$b" || fail "writer beta: $(tail -n 5 "$T/beta.err")"
log "2 x $FILES files written and each read back at once in $((SECONDS - start)) s"

# The counters after the writes: the active counted every write.
namenodes_json >"$T/written.json"
python3 - "$T/written.json" "$active" $((2 * FILES)) <<'CHECK' || fail "counters after the writes: see above"
import json, sys
namenodes, active, writes = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
ok = True
for nn in namenodes:
    print("  %s: role %s, reads_served %s, writes_served %s, lag %s" % (
        nn["address"], nn["role"], nn.get("reads_served"), nn.get("writes_served"), nn.get("lag")),
        file=sys.stderr)
    if nn["address"] == active and nn.get("writes_served", 0) < writes:
        print("  the active counted fewer writes than were made", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
CHECK

# Both read everything again for a while; every namenode must serve some of those reads
# (within 8 s: the processes start under whatever load the machine has); then a standby
# stops answering.
python3 "$T/rw.py" alpha "$FILES" read "" 14 >"$T/alpha.out" 2>"$T/alpha.err" &
a=$!
python3 "$T/rw.py" beta "$FILES" read random 14 >"$T/beta.out" 2>"$T/beta.err" &
b=$!
at_exit "kill $a $b 2>/dev/null"
# every_namenode_read_more: true once each namenode's reads_served exceeds its count after
# the writes; prints the counts.
every_namenode_read_more() {
  namenodes_json >"$T/reading.json" || return 1
  python3 - "$T/written.json" "$T/reading.json" <<'CHECK'
import json, sys
before = {nn["address"]: nn.get("reads_served", 0) for nn in json.load(open(sys.argv[1]))}
ok = True
for nn in json.load(open(sys.argv[2])):
    grew = nn.get("reads_served", 0) - before.get(nn["address"], 0)
    print("  %s: role %s, %d more reads served" % (nn["address"], nn["role"], grew))
    ok = ok and grew > 0
sys.exit(0 if ok else 1)
CHECK
}
wait_until 8 "every namenode to serve reads of the files written before" every_namenode_read_more
every_namenode_read_more >&2
pid=$(pid_of "$(node_of "$standby")")
log "SIGSTOP $standby (pid $pid) while both read"
kill -STOP "$pid"
at_exit "kill -CONT $pid 2>/dev/null"
wait "$a" || fail "reader alpha with a standby stopped: $(tail -n 5 "$T/alpha.err")"
wait "$b" || fail "reader beta with a standby stopped: $(tail -n 5 "$T/beta.err")"
log "$(cat "$T/alpha.out"); $(cat "$T/beta.out")"
kill -CONT "$pid"
log "SIGCONT $standby"
log "PASS in $((SECONDS - start)) s"
