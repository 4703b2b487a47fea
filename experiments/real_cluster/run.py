#!/usr/bin/env python3
"""Experiment 7: the real binaries on this machine. granary-bench starts its own clusters on
loopback (granary-cluster) and measures, in one run each:

  bench.jsonl   4 KiB small files (creates, reads, stats; 1 and 8 clients; inline on and off),
                a 256 MiB file written and read (against a loopback TCP transfer), appends of
                1 KiB records with a flush or a sync each (against 1 KiB creates), and MooseFS
                through its FUSE mount with the same files and clients when it is installed
                (../shared/peers/moosefs.sh, Debian's moosefs-* packages);
  ha.jsonl      4 KiB creates on three namenodes sharing an etcd journal against one namenode,
                interleaved rounds, 1 and 32 clients; then the time from SIGKILL of the active
                namenode to the first acknowledged create, 5 trials.

Every line the bench printed is kept, with the machine and its load; results.csv picks the
figures the paper and the README quote, and real_cluster.png draws them. A rerun measures
again: the figures move with the machine and what else runs on it.
Usage: python3 experiments/real_cluster/run.py [--plot-only] [--skip-ha] [--skip-main]
"""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.environ.get("GRANARY_BENCH", os.path.join(simrun.ROOT, "build", "bin", "granary-bench"))
MAIN_ARGS = ["--files", "1000", "--sizes", "4096", "--clients", "1", "8",
             "--large-bytes", "268435456", "--only", "rpc", "tcp", "small", "large", "append",
             "moosefs"]
HA_ARGS = ["--ha", "--files", "1000", "--clients", "1", "32", "--ha-rounds", "3",
           "--ha-failovers", "5"]


def context():
    head = subprocess.run(["git", "-C", simrun.ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    with open("/proc/loadavg") as f:
        load = float(f.read().split()[0])
    return {"bench": "context", "commit": head, "load_average_1m": load,
            "cores": os.cpu_count()}


def run_bench(args, out_name):
    """Runs granary-bench, streaming its lines to OUT_NAME with a context line first."""
    path = os.path.join(HERE, out_name)
    with open(path, "w") as out:
        out.write(json.dumps(context()) + "\n")
        proc = subprocess.Popen([BENCH] + args, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            out.write(line)
            out.flush()
            simrun.log(line.rstrip()[:160])
        if proc.wait() != 0:
            sys.exit(f"granary-bench {' '.join(args)} exited {proc.returncode}")
        out.write(json.dumps(dict(context(), bench="context_after")) + "\n")


def read_lines(name):
    path = os.path.join(HERE, name)
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize():
    """The figures quoted elsewhere, one row each: (name, value, unit, of)."""
    rows = []
    main = read_lines("bench.jsonl")
    for line in main:
        kind = line.get("bench")
        if kind == "small_files" and line.get("file_bytes") == 4096:
            tag = "inline" if line.get("inline") else "blocks"
            for op in ("create_per_s", "read_per_s"):
                rows.append({"name": f"granary_{tag}_{op}_c{line['clients']}",
                             "value": line[op], "unit": "files/s", "of": "4 KiB files"})
        elif kind == "moosefs" and "create_per_s" in line:
            for op in ("create_per_s", "read_per_s"):
                rows.append({"name": f"moosefs_{op}_c{line['clients']}", "value": line[op],
                             "unit": "files/s", "of": "4 KiB files through the MooseFS mount"})
        elif kind == "ratio":
            suffix = "".join(f"_c{line[k]}" for k in ("clients",) if k in line)
            rows.append({"name": line["name"] + suffix, "value": line["value"], "unit": "ratio",
                         "of": line.get("of", "")})
        elif kind == "large_file":
            for key in ("write_mb_s", "read_mb_s"):
                if key in line:
                    rows.append({"name": f"large_{key}", "value": line[key], "unit": "MB/s",
                                 "of": "256 MiB, replication 3"})
        elif kind == "append":
            for key, value in line.items():
                if key.endswith("_per_s") or key.startswith("flush_latency"):
                    rows.append({"name": f"append_{key}", "value": value,
                                 "unit": "records/s" if key.endswith("_per_s") else "us",
                                 "of": "1 KiB records, one writer"})
    if os.path.exists(os.path.join(HERE, "ha.jsonl")):
        for line in read_lines("ha.jsonl"):
            kind = line.get("bench")
            if kind == "ha_creates_summary":
                rows.append({"name": f"ha_{line['cluster']}_creates_c{line['clients']}",
                             "value": line["median_creates_per_s"], "unit": "files/s",
                             "of": "4 KiB inline creates, median of rounds"})
            elif kind == "ratio":
                rows.append({"name": f"{line['name']}_c{line['clients']}", "value": line["value"],
                             "unit": "ratio", "of": line.get("of", "")})
            elif kind == "ha_failover_summary":
                rows.append({"name": "ha_failover_ms", "value": line[
                    "median_ms_to_first_acked_create"], "unit": "ms", "of": line.get("of", "")})
    for name in ("bench.jsonl", "ha.jsonl"):
        if os.path.exists(os.path.join(HERE, name)):
            loads = [x["load_average_1m"] for x in read_lines(name)
                     if x.get("bench", "").startswith("context")]
            rows.append({"name": name.split(".")[0] + "_load_1m_max", "value": max(loads),
                         "unit": "load", "of": "1-minute load average before/after"})
    return rows


def main():
    if "--plot-only" not in sys.argv:
        if not os.path.exists(BENCH):
            sys.exit(f"{BENCH} not found: build first (cmake --build build)")
        if "--skip-main" not in sys.argv:
            run_bench(MAIN_ARGS, "bench.jsonl")
        if "--skip-ha" not in sys.argv:
            run_bench(HA_ARGS, "ha.jsonl")
        simrun.write_csv(os.path.join(HERE, "results.csv"), summarize())
    rows = simrun.read_csv(os.path.join(HERE, "results.csv"))
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    value = {r["name"]: float(r["value"]) for r in rows}
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    groups = [("create", "create_per_s"), ("read", "read_per_s")]
    labels, series = [], {"Granary inline": [], "Granary blocks": [], "MooseFS": []}
    for clients in (1, 8):
        for label, op in groups:
            labels.append(f"{label}\n{clients} client{'s' if clients > 1 else ''}")
            series["Granary inline"].append(value.get(f"granary_inline_{op}_c{clients}", 0))
            series["Granary blocks"].append(value.get(f"granary_blocks_{op}_c{clients}", 0))
            series["MooseFS"].append(value.get(f"moosefs_{op}_c{clients}", 0))
    width = 0.27
    for i, (name, ys) in enumerate(series.items()):
        a.bar([x + (i - 1) * width for x in range(len(labels))], ys, width, label=name)
    a.set_xticks(range(len(labels)))
    a.set_xticklabels(labels, fontsize=8)
    a.set_yscale("log")
    a.set_ylabel("files/s (log)")
    a.set_title("4 KiB files on loopback, same run")
    a.legend(fontsize=7)
    a.grid(True, axis="y", lw=0.3)
    ha = [(c, value.get(f"ha_single_creates_c{c}", 0), value.get(f"ha_ha_creates_c{c}", 0))
          for c in (1, 32)]
    b.bar([x - 0.2 for x in range(len(ha))], [s for _, s, _ in ha], 0.4, label="1 namenode")
    b.bar([x + 0.2 for x in range(len(ha))], [h for _, _, h in ha], 0.4,
          label="3 namenodes, etcd journal")
    b.set_xticks(range(len(ha)))
    b.set_xticklabels([f"{c} client{'s' if c > 1 else ''}" for c, _, _ in ha])
    b.set_ylabel("4 KiB creates/s")
    b.set_title("The cost of the shared journal")
    b.legend(fontsize=7)
    b.grid(True, axis="y", lw=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "real_cluster.png"), dpi=110)


if __name__ == "__main__":
    main()
