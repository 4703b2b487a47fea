#!/usr/bin/env python3
"""Experiment 7: feeding accelerators from several namenodes. For 1,024 and 4,096 accelerators,
the share of time they are busy with 1, 2, 4 and 8 namenodes (one active, the others standbys
serving reads), and the smallest metadata tier that keeps them at least 90 % busy.
Writes results.csv and accelerator_namenodes.png beside this script.
Usage: python3 experiments/accelerator_namenodes/run.py [--plot-only]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ACCELERATORS = [1024, 4096]
NAMENODES = [1, 2, 4, 8]
SAMPLES_PER_ACCELERATOR = 8  # per epoch (experiment 3 has 24; fewer keep 4,096 within minutes)
TARGET = 0.9


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    rows = []
    for acc in ACCELERATORS:
        for namenodes in NAMENODES:
            files = acc * SAMPLES_PER_ACCELERATOR
            r = simrun.run(os.path.join(HERE, "scenario.textproto"), [
                f"cluster.clients={acc}", f"cluster.namenodes={namenodes}",
                f"workload.epoch_read.files={files}"])
            res = r["results"]
            read = r["ops"].get("read_sample", {"p50_ms": 0, "p99_ms": 0})
            nn = r["utilisation"]["namenode"]
            row = {"accelerators": acc, "namenodes": namenodes, "samples": files,
                   "busy_mean": round(res["accelerator_busy_mean"], 4),
                   "busy_min": round(res["accelerator_busy_min"], 4),
                   "samples_per_s": round(res["samples_per_s"]),
                   "read_p50_ms": round(read["p50_ms"], 3),
                   "read_p99_ms": round(read["p99_ms"], 3),
                   "read_failed": read.get("failed", 0),
                   "namenode_cpu_mean": round(nn["cpu_mean"], 3),
                   "namenode_nic_mean": round(nn["nic_mean"], 3),
                   "namenode_nic_max": round(nn["nic_max"], 3),
                   "wall_s": round(r["wall_seconds"], 1)}
            simrun.log(row)
            rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for acc, style in ((1024, "-o"), (4096, "--s")):
        pts = [r for r in rows if r["accelerators"] == acc]
        a.plot([p["namenodes"] for p in pts], [p["busy_mean"] for p in pts], style,
               label=f"{acc} accelerators")
        b.plot([p["namenodes"] for p in pts], [p["read_p99_ms"] for p in pts], style,
               label=f"{acc} accelerators")
    a.axhline(TARGET, color="gray", ls=":", lw=1, label="90 % busy")
    for ax, t in ((a, "accelerators busy (mean)"), (b, "sample read p99 (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("namenodes")
        ax.set_title(t)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8)
    b.set_yscale("log")
    fig.suptitle("Training on small inline files: 10 Gbit/s namenodes, reads spread over "
                 "them (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "accelerator_namenodes.png"), dpi=110)


if __name__ == "__main__":
    main()
