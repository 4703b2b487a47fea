#!/usr/bin/env python3
"""Experiment 4: the simulator against reality.

Runs granary-bench (real binaries, granary-cluster on loopback, 1 namenode + 3 datanodes)
REPS times with --calibrate, alternating two roles: the even repetitions calibrate (the
field-wise median of their calibration files drives the simulator), the odd ones are the
reference the simulator's predictions are compared with (medians, min-max) - so no figure
is checked against the very run it was measured from. Then the same workloads in granary-sim
with a scenario that mirrors this machine. Writes real_bench.jsonl (the bench's raw lines),
calibration.json, scenario.textproto, results.csv and sim_vs_real.png beside this script.
Usage: python3 experiments/sim_vs_real/run.py [--plot-only]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.environ.get("GRANARY_BENCH", os.path.join(simrun.ROOT, "build", "bin", "granary-bench"))
REPS = 6
FILES = 1000
FILE_BYTES = 4096
CLIENTS = [1, 8]
LARGE_BYTES = 64 << 20
THRESHOLDS = [65536, 0]  # the bench's two clusters: inline on, and every file in blocks
GOAL_PCT = 20.0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_bench(rep, work):
    calib = os.path.join(work, f"calibration-{rep}.json")
    cmd = [BENCH, "--dir", os.path.join(work, f"bench-{rep}"), "--files", str(FILES),
           "--sizes", str(FILE_BYTES), "--clients", *map(str, CLIENTS),
           "--large-bytes", str(LARGE_BYTES), "--rpc-calls", "5000", "--rpc-rounds", "3",
           "--tcp-bytes", str(LARGE_BYTES), "--no-moosefs", "--calibrate", calib]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nexit {proc.returncode}: {proc.stderr}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for line in lines:
        line["rep"] = rep
    return lines, calib


def real_figures(lines):
    """{(workload, clients): {"ops_per_s": x, "mean_ms": y}} from one repetition's lines.
    The bench reports rates only; the mean latency of its closed loop is clients / rate
    (Little's law)."""
    out = {}
    for line in lines:
        if line["bench"] == "small_files":
            where = "inline" if line["inline_threshold_bytes"] > 0 else "blocks"
            c = line["clients"]
            for op, key in (("create", "create_per_s"), ("read", "read_per_s")):
                rate = line[key]
                out[(f"4KiB {op}, {where}", c)] = {"ops_per_s": rate, "mean_ms": 1e3 * c / rate}
        elif line["bench"] == "large_file":
            for op in ("write", "read"):
                mb_s = line[f"{op}_mb_s"]
                out[(f"64MiB {op}", 1)] = {"ops_per_s": mb_s,
                                           "mean_ms": 1e3 * line["bytes"] / 1e6 / mb_s}
    return out


def machine_scenario(machine, calibration):
    """The scenario mirroring this machine (written beside this script)."""
    stat_us = calibration["latency_us"]["stat_inline"]
    stat_cpu = calibration["cpu_us_per_op"]["stat_inline"]
    busy_us = stat_cpu["client"] + stat_cpu["namenode"]
    link = round(max(0.0, (stat_us - busy_us) / 2), 1)
    text = f"""# Experiment 4 (simulator against reality): this machine as run.py measured it
# ({machine['cores']} cores, {machine['cpu']}). Written by run.py.
# - One host: the namenode, the datanodes and the client are processes of one machine and
#   share its {machine['cores']} cores (cluster.shared_host_cores); each runs its handlers on
#   one thread (`cores: 1`), which the measured main-thread share of its CPU needs; the
#   clients are fibers of one process, as in granary-bench (clients_in_one_process).
# - CPU costs: calibration.json, CPU per operation and per MiB measured on the real
#   processes and split between RPC messages and handlers as sim/models/calibration.h says.
# - Loopback: its cost is CPU (copies in the kernel), which the calibration already counts, so
#   the NICs are made fast (1 Tbit/s) and the one-way link latency is what is left of a
#   one-client stat's latency ({stat_us} us) after the CPU it used ({busy_us:.1f} us), halved:
#   scheduling delays.
# - Disks: the page cache (the data fits in memory), with the measured sync latency
#   (calibration.json sync_us) for block-file and metadata-store syncs.
# - Client I/O as the real client's: 1 MiB packets and read-ahead.
# run.py overrides clients, inline threshold and the workload's files and size.
name: "sim_vs_real"
cluster {{
  datanodes: 3 clients: 1 racks: 1
  shared_host_cores: {machine['cores']} clients_in_one_process: true
  namenode {{ cores: 1 nic_gbps: 1000 }}
  datanode {{ cores: 1 nic_gbps: 1000 disk: "page_cache" }}
  client {{ cores: 1 nic_gbps: 1000 }}
  link_latency_us: {link} link_jitter_us: 1
}}
system {{
  kind: "granary" calibration: "calibration.json"
  client_packet_bytes: 1048576 client_read_ahead_bytes: 1048576
}}
workload {{
  kind: "small_file_ingest"
  small_file_ingest {{ files: {FILES} file_bytes: {FILE_BYTES} read_back: true }}
}}
duration_s: 600
"""
    path = os.path.join(HERE, "scenario.textproto")
    with open(path, "w") as f:
        f.write(text)
    return path


def sim_figures(scenario):
    out = {}
    for threshold in THRESHOLDS:
        where = "inline" if threshold > 0 else "blocks"
        for c in CLIENTS:
            r = simrun.run(scenario, [f"cluster.clients={c}",
                                      f"system.inline_threshold_bytes={threshold}"])
            res = r["results"]
            for op, sim_op, key in (("create", "write", "write_files_per_s"),
                                    ("read", "read", "read_files_per_s")):
                out[(f"4KiB {op}, {where}", c)] = {
                    "ops_per_s": res[key], "mean_ms": r["ops"][sim_op]["mean_ms"],
                    "p50_ms": r["ops"][sim_op]["p50_ms"]}
    r = simrun.run(scenario, ["cluster.clients=1", "workload.small_file_ingest.files=1",
                              f"workload.small_file_ingest.file_bytes={LARGE_BYTES}"])
    for op in ("write", "read"):
        ms = r["ops"][op]["mean_ms"]
        out[(f"64MiB {op}", 1)] = {"ops_per_s": LARGE_BYTES / 1e6 / (ms / 1e3), "mean_ms": ms,
                                   "p50_ms": r["ops"][op]["p50_ms"]}
    return out


def median_calibration(calibs):
    """Field-wise median of the repetitions' calibration files (numbers only; the rest from
    the first), so that one repetition slowed by the machine's other jobs does not set the
    simulator's costs."""
    def merge(docs):
        if isinstance(docs[0], dict):
            return {k: merge([d[k] for d in docs]) for k in docs[0]}
        if isinstance(docs[0], (int, float)) and not isinstance(docs[0], bool):
            return round(statistics.median(docs), 2)
        return docs[0]
    out = merge(calibs)
    out["machine"] = calibs[0]["machine"]
    out["format"] = calibs[0]["format"]
    out["note"] = f"field-wise median of {len(calibs)} granary-bench --calibrate runs (run.py)"
    return out


def err(sim, real):
    return round(100.0 * (sim - real) / real, 1)


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    work = tempfile.mkdtemp(prefix="granary-sim-vs-real-")
    all_lines, reps, load, calibs = [], [], [], []
    try:
        for rep in range(REPS):
            load.append(loadavg())
            lines, calib = run_bench(rep, work)
            simrun.log(f"bench rep {rep}: load {load[-1]}")
            all_lines += lines
            if rep % 2 == 1:
                reps.append(real_figures(lines))
            else:
                with open(calib) as f:
                    calibs.append(json.load(f))
        load.append(loadavg())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(HERE, "real_bench.jsonl"), "w") as f:
        for line in all_lines:
            f.write(json.dumps(line, sort_keys=True) + "\n")
    machine = next(l for l in all_lines if l["bench"] == "machine")
    calibration = median_calibration(calibs)
    with open(os.path.join(HERE, "calibration.json"), "w") as f:
        json.dump(calibration, f, indent=2, sort_keys=True)
        f.write("\n")
    scenario = machine_scenario(machine, calibration)
    sim = sim_figures(scenario)
    rows = []
    for key in reps[0]:
        workload, clients = key
        rates = [r[key]["ops_per_s"] for r in reps]
        lats = [r[key]["mean_ms"] for r in reps]
        real_rate, real_lat = statistics.median(rates), statistics.median(lats)
        s = sim[key]
        row = {
            "workload": workload, "clients": clients,
            "unit": "MB/s" if workload.startswith("64MiB") else "files/s",
            "real": round(real_rate, 1), "real_min": round(min(rates), 1),
            "real_max": round(max(rates), 1), "sim": round(s["ops_per_s"], 1),
            "throughput_error_pct": err(s["ops_per_s"], real_rate),
            "real_mean_ms": round(real_lat, 3), "sim_mean_ms": round(s["mean_ms"], 3),
            "sim_p50_ms": round(s["p50_ms"], 3),
            "latency_error_pct": err(s["mean_ms"], real_lat),
            "load_1m_before": load[0], "load_1m_after": load[-1],
        }
        simrun.log(row)
        rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['workload']}\n{r['clients']} client{'s' if r['clients'] > 1 else ''}"
              for r in rows]
    x = range(len(rows))
    fig, axes = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    w = 0.38
    ax = axes[0]
    real = [r["real"] for r in rows]
    lo = [r["real"] - r["real_min"] for r in rows]
    hi = [r["real_max"] - r["real"] for r in rows]
    ax.bar([i - w / 2 for i in x], real, w, yerr=[lo, hi], capsize=3, label="real (median, min-max)")
    ax.bar([i + w / 2 for i in x], [r["sim"] for r in rows], w, label="simulated (calibrated)")
    ax.set_yscale("log")
    ax.set_ylabel("throughput (files/s; MB/s for 64 MiB)")
    for i, r in enumerate(rows):
        e = r["throughput_error_pct"]
        ax.annotate(f"{e:+.0f}%", (i, max(r["real_max"], r["sim"]) * 1.15), ha="center",
                    fontsize=8, color="black" if abs(e) <= GOAL_PCT else "red")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("throughput (error of the simulator above each pair; red: beyond 20 %)")
    ax = axes[1]
    ax.bar([i - w / 2 for i in x], [r["real_mean_ms"] for r in rows], w,
           label="real (clients / rate)")
    ax.bar([i + w / 2 for i in x], [r["sim_mean_ms"] for r in rows], w, label="simulated mean")
    ax.set_yscale("log")
    ax.set_ylabel("mean latency per operation (ms)")
    for i, r in enumerate(rows):
        e = r["latency_error_pct"]
        ax.annotate(f"{e:+.0f}%", (i, max(r["real_mean_ms"], r["sim_mean_ms"]) * 1.15),
                    ha="center", fontsize=8, color="black" if abs(e) <= GOAL_PCT else "red")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("latency")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    fig.suptitle("Simulator against reality: granary-cluster on loopback (1 NN, 3 DN) vs "
                 "granary-sim with the calibration file")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "sim_vs_real.png"), dpi=110)


if __name__ == "__main__":
    main()
