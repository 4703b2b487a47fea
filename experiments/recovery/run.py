#!/usr/bin/env python3
"""Experiment 5: recovery. A datanode is lost during ingest; time to full replication and
write throughput during it, for both systems on 10 datanodes.
Writes results.csv, timeseries_<system>_<datanodes>.csv and recovery.png beside this script.
Usage: python3 experiments/recovery/run.py
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [("granary", 10), ("hdfs", 10)]


def load_series():
    return {(system, dn): simrun.read_csv(os.path.join(HERE, f"timeseries_{system}_{dn}.csv"))
            for system, dn in CASES}


def main():
    if "--plot-only" in sys.argv:
        plot(load_series())
        return
    rows = []
    series = {}
    for system, dn in CASES:
        out = tempfile.mkdtemp()
        r = simrun.run(os.path.join(HERE, "scenario.textproto"),
                       [f"system.kind={system}", f"cluster.datanodes={dn}"], out=out)
        ts = simrun.read_csv(os.path.join(out, "timeseries.csv"))
        name = f"timeseries_{system}_{dn}.csv"
        shutil.copy(os.path.join(out, "timeseries.csv"), os.path.join(HERE, name))
        shutil.rmtree(out)
        series[(system, dn)] = ts
        before = [float(t["write_mib_per_s"]) for t in ts if 2 <= float(t["t_s"]) <= 10]
        restored = r["recovery"]["replication_restored_s"]
        until = 10 + restored if restored > 0 else float(ts[-1]["t_s"])
        during = [float(t["write_mib_per_s"]) for t in ts if 10 < float(t["t_s"]) <= until]
        row = {"system": system, "datanodes": dn,
               "dead_declared_s": r["recovery"]["dead_declared_s"],
               "replication_restored_s": r["recovery"]["replication_restored_s"],
               "write_mib_per_s_before": round(sum(before) / max(len(before), 1), 1),
               "write_mib_per_s_during": round(sum(during) / max(len(during), 1), 1),
               "blocks_at_end": int(ts[-1]["blocks"]), "write_failed": r["ops"]["write"]["failed"],
               "wall_s": round(r["wall_seconds"], 1)}
        simrun.log(row)
        rows.append(row)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, series)


def plot(series):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for (system, dn), ts in series.items():
        style = "-" if system == "granary" else "--"
        t = [float(x["t_s"]) for x in ts]
        a.plot(t, [float(x["write_mib_per_s"]) for x in ts], style, label=f"{system}, {dn} DN")
        b.plot(t, [int(x["under_replicated"]) + int(x["pending_replications"]) for x in ts], style,
               label=f"{system}, {dn} DN")
    for ax, title in ((a, "client write throughput (MiB/s)"),
                      (b, "under-replicated + pending blocks")):
        ax.axvline(10, color="red", lw=0.6)
        ax.set_xlabel("time (s); datanode 0 crashes at 10 s")
        ax.set_title(title)
        ax.grid(True, lw=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Losing a datanode during ingest of 4 MiB files (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "recovery.png"), dpi=110)


if __name__ == "__main__":
    main()
