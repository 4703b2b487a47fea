#!/usr/bin/env python3
"""Smoke run of granary-bench with tiny sizes: it must exit 0 and print one JSON object per
line with the expected kinds and keys. Nothing about speed is checked (STYLE.md 12).

  granary_bench_smoke.py GRANARY_BENCH WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

EXPECTED = {
    "machine": ["cores", "cpu", "kernel"],
    "cluster": ["address", "inline_threshold_bytes"],
    "rpc": ["granary_rpc_per_s", "zmq_echo_per_s", "in_flight"],
    "tcp_loopback": ["mb_s"],
    "small_files": ["inline", "file_bytes", "clients", "create_per_s", "read_per_s", "stat_per_s"],
    "large_file": ["write_mb_s", "read_mb_s", "replication"],
    "append": ["create_1kib_files_per_s", "append_flush_records_per_s",
               "append_sync_records_per_s", "flush_latency_us_median"],
    "moosefs": [],
    "ratio": ["name", "value"],
    "calibration": ["file"],
}
RATIOS = {"rpc_vs_zmq_echo", "large_read_vs_tcp_loopback", "inline_vs_blocks_create_per_s",
          "inline_vs_blocks_read_per_s", "append_flush_vs_create_1kib",
          "append_sync_vs_create_1kib"}


def main():
    bench, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    calibration = os.path.join(work, "calibration.json")
    command = [bench, "--dir", work, "--files", "6", "--sizes", "4096", "--clients", "1,3",
               "--large-bytes", str(3 << 20), "--rpc-calls", "2000", "--rpc-rounds", "1", "--tcp-bytes",
               str(8 << 20), "--no-moosefs", "--calibrate", calibration]
    run = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=280)
    print(run.stdout)
    assert run.returncode == 0, f"granary-bench exited with {run.returncode}"
    seen = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        kind = record["bench"]
        assert kind in EXPECTED, f"unexpected kind {kind}"
        assert "error" not in record, line
        for key in EXPECTED[kind]:
            assert key in record, f"{kind} line lacks {key}: {line}"
        seen.setdefault(kind, []).append(record)
    for kind in EXPECTED:
        assert kind in seen, f"no {kind} line"
    assert len(seen["small_files"]) == 4, seen["small_files"]  # inline on/off x 1, 3 clients
    names = {r["name"] for r in seen["ratio"]}
    assert RATIOS <= names, f"missing ratios: {RATIOS - names}"
    with open(calibration) as f:
        calib = json.load(f)
    for key in ["format", "machine", "rpc_round_trip_us", "namenode_latency_us",
                "namenode_service_us", "datanode_us_per_mib"]:
        assert key in calib, f"calibration lacks {key}"
    for op in ["create", "stat", "open", "list"]:
        assert op in calib["namenode_service_us"], op
    for op in ["write", "read"]:
        assert op in calib["datanode_us_per_mib"], op
    # The CPU measurements the simulator's fit needs (sim/models/calibration.h): every process that
    # took part in an operation used some CPU for it.
    assert calib["format"] == "granary-calibration/2", calib["format"]
    ops = calib["cpu_us_per_op"]
    for op in ["create_inline", "stat_inline", "open_inline", "create_blocks", "open_blocks"]:
        assert ops[op]["client"] > 0 and ops[op]["namenode"] > 0, (op, ops[op])
    assert ops["create_blocks"]["datanodes"] > 0 and ops["open_blocks"]["datanodes"] > 0, ops
    for op in ["write", "read"]:
        assert calib["cpu_us_per_mib"][op]["datanodes"] > 0, calib["cpu_us_per_mib"]
    for cls in ["client", "namenode", "datanodes"]:
        assert 0 < calib["main_thread_share"][cls] <= 1, calib["main_thread_share"]
    assert calib["sync_us"] > 0 and calib["dir_sync_us"] > 0 and calib["rpc_cpu_us_per_call"] > 0
    assert calib["sync_cpu_us"] >= 0 and calib["dir_sync_cpu_us"] >= 0, calib
    assert calib["cpu_us_per_op_loaded"]["stat_inline"]["clients"] == 3, calib
    print("granary-bench smoke: ok")


if __name__ == "__main__":
    main()
