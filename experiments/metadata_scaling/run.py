#!/usr/bin/env python3
"""Experiment 2: metadata scaling. Spotify-mix throughput and latency against the number of
closed-loop clients, for Granary and the HDFS baseline, until each saturates.
Writes results.csv and metadata_scaling.png beside this script.
Usage: python3 experiments/metadata_scaling/run.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = [16, 64, 256, 1024]
SYSTEMS = ["granary", "hdfs"]


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    rows = []
    for system in SYSTEMS:
        for clients in CLIENTS:
            r = simrun.run(os.path.join(HERE, "scenario.textproto"),
                           [f"system.kind={system}", f"cluster.clients={clients}"])
            ops = r["ops"]
            row = {
                "system": system, "clients": clients,
                "ops_per_s": round(r["throughput_ops_per_s"]),
                "open_p50_ms": round(ops["read_file_get_block_locations"]["p50_ms"], 3),
                "open_p99_ms": round(ops["read_file_get_block_locations"]["p99_ms"], 3),
                "create_p50_ms": round(ops["create_file"]["p50_ms"], 3),
                "create_p99_ms": round(ops["create_file"]["p99_ms"], 3),
                "failed": r["ops_failed"],
                "namenode_cpu": round(r["utilisation"]["namenode"]["cpu_mean"], 3),
                "wall_s": round(r["wall_seconds"], 1),
                "sim_ops_per_wall_s": round(r["sim_ops_per_wall_s"]),
            }
            simrun.log(row)
            rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4.2))
    for system, style in (("granary", "-o"), ("hdfs", "--s")):
        pts = [r for r in rows if r["system"] == system]
        x = [p["clients"] for p in pts]
        a.plot(x, [p["ops_per_s"] / 1e3 for p in pts], style, label=system)
        b.plot(x, [p["open_p99_ms"] for p in pts], style, label=f"{system} open p99")
        b.plot(x, [p["create_p99_ms"] for p in pts], style, alpha=0.5, label=f"{system} create p99")
        c.plot(x, [p["namenode_cpu"] for p in pts], style, label=system)
    for ax, t in ((a, "throughput (K ops/s)"), (b, "latency p99 (ms)"), (c, "namenode CPU utilisation")):
        ax.set_xscale("log")
        ax.set_xlabel("clients")
        ax.set_title(t)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    b.set_yscale("log")
    fig.suptitle("Spotify operation mix, 100 K files, one 32-core namenode (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "metadata_scaling.png"), dpi=110)


if __name__ == "__main__":
    main()
