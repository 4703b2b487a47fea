#!/usr/bin/env python3
"""Experiment 8: the cost of consistency. Read latency on three namenodes under the Spotify
mix's writes, with the state-id wait (consistent reads), without it (stale reads: a standby
answers at once), and with every read on the active, at three loads.
Writes results.csv and consistency.png beside this script.
Usage: python3 experiments/consistency/run.py [--plot-only]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = [32, 128, 512]
# (label, overrides)
MODES = [("consistent", ["system.consistent_reads=true"]),
         ("stale", ["system.consistent_reads=false"]),
         ("active-only", ['system.read_policy="active"'])]
READS = ["read_file_get_block_locations", "stat_file", "list_dir"]


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    rows = []
    for clients in CLIENTS:
        for mode, sets in MODES:
            r = simrun.run(os.path.join(HERE, "scenario.textproto"),
                           [f"cluster.clients={clients}", *sets])
            ops = r["ops"]
            opens = ops["read_file_get_block_locations"]
            row = {"mode": mode, "clients": clients,
                   "ops_per_s": round(r["throughput_ops_per_s"]),
                   "open_mean_ms": round(opens["mean_ms"], 3),
                   "open_p50_ms": round(opens["p50_ms"], 3),
                   "open_p99_ms": round(opens["p99_ms"], 3),
                   "open_max_ms": round(opens["max_ms"], 3),
                   "create_p50_ms": round(ops["create_file"]["p50_ms"], 3),
                   "failed": r["ops_failed"],
                   "namenode_cpu_mean": round(r["utilisation"]["namenode"]["cpu_mean"], 3),
                   "namenode_cpu_max": round(r["utilisation"]["namenode"]["cpu_max"], 3),
                   "wall_s": round(r["wall_seconds"], 1)}
            simrun.log(row)
            rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    styles = {"consistent": "-o", "stale": "--s", "active-only": ":^"}
    for mode, style in styles.items():
        pts = [r for r in rows if r["mode"] == mode]
        x = [p["clients"] for p in pts]
        axes[0].plot(x, [p["open_p50_ms"] for p in pts], style, label=mode)
        axes[1].plot(x, [p["open_p99_ms"] for p in pts], style, label=mode)
        axes[2].plot(x, [p["ops_per_s"] / 1e3 for p in pts], style, label=mode)
    for ax, t in zip(axes, ("open p50 (ms)", "open p99 (ms)", "throughput (K ops/s)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("clients")
        ax.set_title(t)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8)
    axes[1].set_yscale("log")
    fig.suptitle("Spotify mix on three 8-core namenodes: reads with and without the "
                 "state-id wait (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "consistency.png"), dpi=110)


if __name__ == "__main__":
    main()
