#!/usr/bin/env python3
"""Experiment 6: namenode scaling. Spotify-mix throughput with 1, 2, 4, 8 and 16 namenodes
(Granary: one active and standbys serving reads; the HDFS baseline: one active and observers,
HDFS-12943), closed-loop clients growing with the namenodes until each configuration
saturates. Writes results.csv and namenode_scaling.png beside this script.
Usage: python3 experiments/namenode_scaling/run.py [--full] [--resume] [--plot-only]
  --resume: keep the rows of results.csv and run only the configurations it lacks.
  --full: 32-core namenodes (experiment 2's) and 16x the clients; hours of simulation.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NAMENODES = [1, 2, 4, 8, 16]
SYSTEMS = ["granary", "hdfs"]
# Granary's clients spread reads over every namenode; HDFS's ObserverReadProxyProvider sends
# them to observers only and keeps the active for writes ("observer": the active only when no
# other namenode answers). Before the baseline said so, both ran least-loaded, which kept
# reads off the active only because writes' replies made the active look slow.
READ_POLICY = {"granary": "least-loaded", "hdfs": "observer"}


def clients_for(namenodes, full):
    # Experiment 2 saturates one 32-core namenode at 256 clients: 8 per core, per namenode,
    # then four times that to show the plateau.
    per_namenode = 8 * (32 if full else 2)
    return [per_namenode * namenodes, 4 * per_namenode * namenodes]


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    full = "--full" in sys.argv
    cores = 32 if full else 2
    csv_path = os.path.join(HERE, "results.csv")
    rows = []
    if "--resume" in sys.argv and os.path.exists(csv_path):
        rows = [r for r in simrun.numeric(simrun.read_csv(csv_path)) if r["namenode_cores"] == cores]
    done = {(r["system"], r["namenodes"], r["clients"]) for r in rows}
    for system in SYSTEMS:
        for namenodes in NAMENODES:
            for clients in clients_for(namenodes, full):
                if (system, namenodes, clients) in done:
                    continue
                r = simrun.run(os.path.join(HERE, "scenario.textproto"), [
                    f"system.kind={system}", f"cluster.namenodes={namenodes}",
                    f"cluster.clients={clients}", f"cluster.namenode.cores={cores}",
                    f'system.read_policy="{READ_POLICY[system]}"'])
                ops = r["ops"]
                # A window in which no create finished (writers slower than the window) has none.
                none = {"p50_ms": float("nan"), "p99_ms": float("nan")}
                creates = ops.get("create_file", none)
                nn = r["utilisation"]["namenode"]
                row = {
                    "system": system, "namenodes": namenodes, "namenode_cores": cores,
                    "clients": clients,
                    "ops_per_s": round(r["throughput_ops_per_s"]),
                    "open_p50_ms": round(ops["read_file_get_block_locations"]["p50_ms"], 3),
                    "open_p99_ms": round(ops["read_file_get_block_locations"]["p99_ms"], 3),
                    "create_p50_ms": round(creates["p50_ms"], 3),
                    "create_p99_ms": round(creates["p99_ms"], 3),
                    "failed": r["ops_failed"],
                    "namenode_cpu_mean": round(nn["cpu_mean"], 3),
                    "namenode_cpu_max": round(nn["cpu_max"], 3),
                    "wall_s": round(r["wall_seconds"], 1),
                }
                simrun.log(row)
                rows.append(row)
                simrun.write_csv(csv_path, rows)  # after every run: --resume continues here
    simrun.write_csv(csv_path, rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def peak(rows, system, namenodes):
    pts = [r for r in rows if r["system"] == system and r["namenodes"] == namenodes]
    return max(pts, key=lambda r: r["ops_per_s"]) if pts else None


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4.2))
    for system, style in (("granary", "-o"), ("hdfs", "--s")):
        xs, ys, cpu_mean, cpu_max, p99 = [], [], [], [], []
        for n in NAMENODES:
            p = peak(rows, system, n)
            if p is None:
                continue
            xs.append(n)
            ys.append(p["ops_per_s"] / 1e3)
            cpu_mean.append(p["namenode_cpu_mean"])
            cpu_max.append(p["namenode_cpu_max"])
            p99.append(p["open_p99_ms"])
        a.plot(xs, ys, style, label=system)
        b.plot(xs, cpu_mean, style, label=f"{system} mean")
        b.plot(xs, cpu_max, style, alpha=0.5, label=f"{system} busiest")
        c.plot(xs, p99, style, label=system)
    if rows:
        one = peak(rows, "granary", 1)
        if one:
            a.plot(NAMENODES, [one["ops_per_s"] / 1e3 * n for n in NAMENODES], ":", color="gray",
                   label="linear from 1")
    for ax, t in ((a, "peak throughput (K ops/s)"), (b, "namenode CPU at the peak"),
                  (c, "open p99 at the peak (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("namenodes")
        ax.set_title(t)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    cores = rows[0]["namenode_cores"] if rows else "?"
    fig.suptitle(f"Spotify mix, 100 K files, {cores}-core namenodes: one active, "
                 "the others serving reads (simulated)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "namenode_scaling.png"), dpi=110)


if __name__ == "__main__":
    main()
