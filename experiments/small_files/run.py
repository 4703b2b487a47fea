#!/usr/bin/env python3
"""Experiment 1: small files, Granary against the HDFS baseline.

Write and read throughput (files/s) and median latency for file sizes from 1 KiB to 1 MiB
on 10, 100 and 1,000 datanodes. Writes results.csv and small_files.png beside this script.
Usage: python3 experiments/small_files/run.py [--quick]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [1024, 16384, 65536, 262144, 1048576]
DATANODES = [10, 100, 1000]
SYSTEMS = ["granary", "hdfs"]


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    quick = "--quick" in sys.argv
    sizes = SIZES[::2] if quick else SIZES
    rows = []
    for dn in DATANODES:
        for size in sizes:
            for system in SYSTEMS:
                files = 4096 if size <= 65536 else 1024
                r = simrun.run(os.path.join(HERE, "scenario.textproto"), [
                    f"system.kind={system}", f"cluster.datanodes={dn}",
                    f"cluster.racks={min(dn, 25)}",
                    f"workload.small_file_ingest.file_bytes={size}",
                    f"workload.small_file_ingest.files={files}"])
                w, rd, res = r["ops"]["write"], r["ops"]["read"], r["results"]
                row = {
                    "system": system, "datanodes": dn, "file_bytes": size,
                    "write_files_per_s": round(res["write_files_per_s"], 1),
                    "read_files_per_s": round(res["read_files_per_s"], 1),
                    "write_p50_ms": round(w["p50_ms"], 3), "write_p99_ms": round(w["p99_ms"], 3),
                    "read_p50_ms": round(rd["p50_ms"], 3), "read_p99_ms": round(rd["p99_ms"], 3),
                    "write_failed": w["failed"], "read_failed": rd["failed"],
                    "namenode_cpu": round(r["utilisation"]["namenode"]["cpu_mean"], 3),
                    "namenode_nic": round(r["utilisation"]["namenode"]["nic_mean"], 3),
                    "wall_s": round(r["wall_seconds"], 1),
                }
                simrun.log(row)
                rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels = [("write_files_per_s", "write throughput (files/s)", True),
              ("read_files_per_s", "read throughput (files/s)", True),
              ("write_p50_ms", "write latency p50 (ms)", True),
              ("read_p50_ms", "read latency p50 (ms)", True)]
    styles = {"granary": "-", "hdfs": "--"}
    for ax, (key, title, logy) in zip(axes.flat, panels):
        for dn in sorted({r["datanodes"] for r in rows}):
            for system in SYSTEMS:
                pts = [r for r in rows if r["datanodes"] == dn and r["system"] == system]
                pts.sort(key=lambda r: r["file_bytes"])
                ax.plot([p["file_bytes"] / 1024 for p in pts], [p[key] for p in pts],
                        styles[system], marker="o", label=f"{system}, {dn} DN")
        ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("file size (KiB)")
        ax.set_title(title)
        ax.axvline(64, color="grey", lw=0.5)
        ax.grid(True, which="both", lw=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Small files: Granary (inline <= 64 KiB) vs HDFS baseline, 256 clients (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "small_files.png"), dpi=110)


if __name__ == "__main__":
    main()
