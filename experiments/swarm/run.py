#!/usr/bin/env python3
"""Experiment 11: the fault swarm. `granary-sim swarm` runs clients against a simulated cluster
while it crashes and restarts datanodes, namenodes and clients, partitions links, corrupts
replicas (and, with several namenodes, pauses the active past its lease, wipes standby stores
and takes journal members down), then checks that nothing acknowledged was lost, no corrupt
byte was read, every block is replicated again, and the namespace is consistent.

Runs seeds 1..N (default 30) in each configuration below and writes results.csv (one row per
seed and configuration: every number the swarm printed), summary.csv (totals per
configuration) and swarm.png beside this script. Deterministic: a rerun gives the same CSVs.
Usage: python3 experiments/swarm/run.py [--seeds N] [--plot-only]
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# The first two are what ctest's slices sim.swarm_seeds and sim.swarm_ha_seeds run (appenders
# and quotas on in both); the third puts every file in blocks (no inline files), which ctest
# runs for seeds 101-105 (sim.swarm_inline_off).
CONFIGS = [("one namenode", []),
           ("three namenodes", ["--namenodes", "3"]),
           ("every file in blocks", ["--inline-threshold", "0"])]
FAULTS = ["datanode_crashes", "namenode_crashes", "client_crashes", "partitions", "corruptions",
          "namenode_pauses", "store_wipes", "journal_faults", "failovers"]


def run_seed(config, args, seed):
    cmd = [simrun.BINARY, "swarm", "--seed", str(seed)] + args
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        sys.exit(f"{' '.join(cmd)}: no result line (exit {proc.returncode}): {proc.stderr[-400:]}")
    result = json.loads(lines[-1])
    row = {"config": config, "seed": seed, "exit": proc.returncode}
    row.update({k: v for k, v in result.items() if isinstance(v, (int, float, bool))})
    return row


def summarize(rows):
    out = []
    for config in dict.fromkeys(r["config"] for r in rows):
        picked = [r for r in rows if r["config"] == config]
        total = {"config": config, "seeds": len(picked),
                 "passed": sum(str(r["passed"]) in ("True", "true", "1") for r in picked)}
        for key in ["ops_ok", "ops_failed", "bytes_acked", "acked_lost", "corrupt_reads",
                    "virtual_seconds"] + FAULTS:
            total[key] = round(sum(float(r.get(key, 0) or 0) for r in picked), 1)
        out.append(total)
    return out


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "summary.csv"))))
        return
    seeds = 30
    if "--seeds" in sys.argv:
        seeds = int(sys.argv[sys.argv.index("--seeds") + 1])
    rows = []
    for config, args in CONFIGS:
        for seed in range(1, seeds + 1):
            row = run_seed(config, args, seed)
            simrun.log(f"{config} seed {seed}: passed={row['passed']}")
            rows.append(row)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    simrun.write_csv(os.path.join(HERE, "results.csv"),
                     [{k: r.get(k, "") for k in keys} for r in rows])
    summary = summarize(rows)
    simrun.write_csv(os.path.join(HERE, "summary.csv"), summary)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, summary)


def plot(summary):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(summary)
    for i, row in enumerate(summary):
        xs = [x + (i - (len(summary) - 1) / 2) * width for x in range(len(FAULTS))]
        ax.bar(xs, [float(row[f]) for f in FAULTS], width,
               label=f"{row['config']}: {int(row['passed'])}/{int(row['seeds'])} seeds pass")
    ax.set_xticks(range(len(FAULTS)))
    ax.set_xticklabels([f.replace("_", " ") for f in FAULTS], rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("faults injected (all seeds)")
    ax.set_title("The fault swarm: what was injected, and how many seeds passed every check")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", lw=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "swarm.png"), dpi=110)


if __name__ == "__main__":
    main()
