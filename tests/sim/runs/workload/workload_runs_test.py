#!/usr/bin/env python3
"""`granary-sim run` end to end: every workload on a small scenario, its invariants, and
determinism (the same seed gives the same trace_hash in two processes).

Usage: workload_runs_test.py PATH_TO_GRANARY_SIM SCENARIO_DIR WORK_DIR
Standard library only.
"""
import csv
import json
import os
import subprocess
import sys

TIMEOUT_SECONDS = 120


def run(binary, scenario, *extra, expect=0):
    proc = subprocess.run([binary, "run", scenario, *extra], capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    if proc.returncode != expect:
        raise AssertionError(f"{scenario} {extra}: exit {proc.returncode}, expected {expect}; "
                             f"stderr {proc.stderr!r}")
    if expect != 0:
        return proc.stderr
    lines = proc.stdout.splitlines()
    if len(lines) != 1:
        raise AssertionError(f"{scenario}: expected one JSON line, got {proc.stdout!r}")
    return json.loads(lines[0])


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    binary, scenarios, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    path = lambda name: os.path.join(scenarios, name)

    # Determinism: two processes, same seed, same trace; another seed, another trace.
    first = run(binary, path("ingest.textproto"), "--seed", "5")
    again = run(binary, path("ingest.textproto"), "--seed", "5")
    other = run(binary, path("ingest.textproto"), "--seed", "6")
    check(first["trace_hash"] == again["trace_hash"], "same seed, different trace hashes")
    check(first["trace_hash"] != other["trace_hash"], "different seeds, same trace hash")

    # small_file_ingest, both systems: every file written and read back at its length.
    for kind in ("granary", "hdfs"):
        out = os.path.join(work, "ingest_" + kind)
        r = run(binary, path("ingest.textproto"), "--set", f"system.kind={kind}", "--out", out)
        res = r["results"]
        check(res["files_written"] == 120 and res["files_read"] == 120, f"{kind}: {res}")
        check(res["failures"] == 0 and res["read_length_mismatches"] == 0, f"{kind}: {res}")
        check(r["ops"]["write"]["count"] == 120, f"{kind}: write count {r['ops']}")
        with open(os.path.join(out, "timeseries.csv")) as f:
            rows = list(csv.DictReader(f))
        check(rows, f"{kind}: empty time series")
        blocks = int(rows[-1]["blocks"])
        # Granary keeps these small files inline; HDFS puts every one in a block.
        check((blocks == 0) if kind == "granary" else (blocks == 120), f"{kind}: {blocks} blocks")
        check(os.path.exists(os.path.join(out, "latency.csv")), "no latency.csv")
    check(first["ops"]["write"]["p50_ms"] > 0, "latencies recorded")

    # spotify: the mix runs without failures; reads dominate.
    r = run(binary, path("spotify.textproto"))
    check(r["ops_failed"] == 0, f"spotify failures: {r.get('results')}")
    opens = r["ops"]["read_file_get_block_locations"]["count"]
    check(opens > 0.5 * r["ops_ok"], f"spotify mix: {opens} opens of {r['ops_ok']}")
    h = run(binary, path("spotify.textproto"), "--set", "system.kind=hdfs")
    check(h["ops_failed"] == 0, "spotify on hdfs failed ops")

    # Several namenodes (issue 14): reads spread over every one under least-loaded, and only
    # the active answers them under "active"; both systems (hdfs: observers).
    for kind in ("granary", "hdfs"):
        r = run(binary, path("spotify.textproto"), "--set", "cluster.namenodes=3",
                "--set", f"system.kind={kind}")
        served = r["namenode_reads_served"]
        check(r["ops_failed"] == 0 and len(served) == 3, f"{kind} x3: {served}, {r['ops_failed']}")
        # Reads are spread: at least the two standbys answer them. Least-loaded may leave the
        # active, which takes every write, none at all now that followers are woken by a
        # watch and standbys answer at once (consistent_reads_test says the same).
        check(sorted(served)[1] > 0, f"{kind} x3: reads not spread: {served}")
    a = run(binary, path("spotify.textproto"), "--set", "cluster.namenodes=3",
            "--set", 'system.read_policy="active"')
    served = a["namenode_reads_served"]
    check(sorted(served)[1] == 0 and max(served) > 0, f"active policy: reads {served}")
    err = run(binary, path("spotify.textproto"), "--set", 'system.read_policy="nearby"', expect=2)
    check("system.read_policy" in err, f"bad read policy: {err!r}")

    # epoch_read: every planned sample trained; busy fraction a fraction.
    r = run(binary, path("epoch_read.textproto"))
    res = r["results"]
    check(res["samples_trained"] == res["samples_planned"] == 200, f"epoch_read: {res}")
    check(0 < res["accelerator_busy_mean"] <= 1, f"epoch_read busy: {res}")
    check(res["read_failures"] == 0 and res["load_failures"] == 0, f"epoch_read: {res}")

    # checkpoint: every burst completes, all bytes written.
    r = run(binary, path("checkpoint.textproto"))
    res = r["results"]
    check(res["bursts_complete"] == 2, f"checkpoint: {res}")
    check(r["bytes_written"] == 2 * 3 * 3145728, f"checkpoint bytes {r['bytes_written']}")

    # recovery: the crashed datanode is declared dead and its blocks re-replicated.
    r = run(binary, path("recovery.textproto"))
    rec = r["recovery"]
    check(rec["dead_declared_s"] > 0, f"recovery: {rec}")
    check(rec["replication_restored_s"] >= rec["dead_declared_s"], f"recovery: {rec}")

    # trace: a hand-written trace replays without failures ...
    r = run(binary, path("trace.textproto"))
    check(r["results"]["replayed"] == r["results"]["trace_rows"] == 13, f"trace: {r['results']}")
    check(r["results"]["failed"] == 0, f"trace failures: {r}")
    # ... and a trace recorded from a workload replays too.
    recorded = os.path.join(work, "recorded.csv")
    run(binary, path("ingest.textproto"), "--record-trace", recorded)
    with open(recorded) as f:
        check(sum(1 for _ in f) == 1 + 240, "recorded trace rows")
    replay = os.path.join(work, "replay.textproto")
    with open(replay, "w") as f:
        f.write('cluster { datanodes: 5 clients: 6 }\n'
                f'workload {{ kind: "trace" trace {{ file: "{recorded}" }} }}\nduration_s: 60\n')
    r = run(binary, replay)
    check(r["results"]["replayed"] == 240 and r["results"]["failed"] == 0, f"replay: {r['results']}")

    # Bad scenarios: exit 2 naming the field.
    err = run(binary, path("bad_field.textproto"), expect=2)
    check("data_nodes" in err and "bad_field.textproto:1" in err, f"bad field: {err!r}")
    err = run(binary, path("bad_value.textproto"), expect=2)
    check("system.replication" in err, f"bad value: {err!r}")
    err = run(binary, path("ingest.textproto"), "--set", "cluster.nodes=3", expect=2)
    check("cluster.nodes" in err, f"bad --set: {err!r}")
    err = run(binary, path("ingest.textproto"), "--set", "cluster.datanodes=200000", expect=2)
    check("cluster.datanodes" in err, f"bad --set value: {err!r}")
    print("ok")


if __name__ == "__main__":
    main()
