#!/usr/bin/env python3
"""Experiment 4: the simulator against reality.

Normal group (default, ~4 min on a 2-vCPU machine):
  1. one granary-bench run CALIBRATES (--calibrate, CALIB_ROUNDS rounds of time windows):
     calibration.json, the costs and distributions the simulator is given;
  2. another granary-bench run is the REFERENCE: REF_ROUNDS interleaved rounds, each a
     WARMUP_S warm-up and a WINDOW_S window of every workload (medians, quartiles, min-max);
  3. granary-sim runs the same workloads with a scenario that mirrors this machine.
  No prediction is compared with the run its costs were measured in. A row is *undecidable*
  when the reference itself spreads beyond +-SPREAD_PCT of its median (its interquartile range
  over the rounds): no model can be judged against it.
Writes real_bench.jsonl, calibration.json, scenario.textproto, results.csv, sim_vs_real.png.

--conditions (~8 min): calibrates once on the normal machine, then measures and predicts
  (a) normal, (b) the cluster and the client pinned to one core (taskset -c 0), (c) the same
  with a CPU-burning neighbour on that core, (d) every sync delayed by SYNC_DELAY_US (the
  binaries' GRANARY_TEST_SYNC_DELAY_US test knob), (e) 32 clients instead of 8; the
  simulator gets the conditions as scenario inputs (cores, neighbours, the delay, clients),
  never a refit. Writes conditions.csv and conditions_bench.jsonl.
Each bench run is followed by a "host" line: the machine's CPU time by state during it (%,
steal and iowait among them) and its disks' I/O (reads that missed the page cache).
--ablate (~1 min, simulations only): the committed run's predictions with one part of the
  model taken out at a time (sync distributions, the host's shared syncs, wake-ups):
  ablations.csv.
--window-seconds S: the window of every phase (default 5; the machine probe below found
  1.5 s windows of cross-vCPU wake-ups spreading -12 %..+17 % on this VM, 5 s ones +-6 %).
Usage: python3 experiments/sim_vs_real/run.py [--plot-only] [--conditions] [--ablate]
           [--window-seconds S]
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
FILE_BYTES = 4096
CLIENTS = [1, 8]
LARGE_BYTES = 64 << 20
THRESHOLDS = [65536, 0]  # the bench's two clusters: inline on, and every file in blocks
GOAL_PCT = 20.0
SPREAD_PCT = 10.0
WARMUP_S = 0.5
WINDOW_S = 5.0
CALIB_ROUNDS = 2
REF_ROUNDS = 5
COND_ROUNDS = 3
SYNC_DELAY_US = 1000
SIM_FILES = 1000


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def host_counters():
    """The host's CPU time by state (/proc/stat, ticks) and its whole disks' I/O
    (/proc/diskstats: reads, sectors read, writes, sectors written), to tell what a run met:
    steal (the hypervisor ran another guest), iowait, reads that missed the page cache."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    out = {f"cpu_{n}": v for n, v in zip(names, cpu)}
    for key in ("reads", "sectors_read", "writes", "sectors_written"):
        out[f"disk_{key}"] = 0
    with open("/proc/diskstats") as f:
        for line in f:
            p = line.split()
            if not p[2].startswith(("vd", "sd", "nvme", "xvd")) or p[2][-1].isdigit() and \
                    not p[2].startswith("nvme"):
                continue  # loop, zram, partitions
            for key, at in (("reads", 3), ("sectors_read", 5), ("writes", 7),
                            ("sectors_written", 9)):
                out[f"disk_{key}"] += int(p[at])
    return out


def host_delta(before, after):
    d = {k: after[k] - before[k] for k in before}
    ticks = sum(v for k, v in d.items() if k.startswith("cpu_")) or 1
    return {"bench": "host", **{k: round(100.0 * v / ticks, 2) if k.startswith("cpu_") else v
                                for k, v in d.items()}}


def run_bench(name, work, rounds, clients=CLIENTS, calibrate=False, only="small,large",
              prefix=(), env_extra=None):
    """One granary-bench run measuring by time; returns its JSON lines (and the calibration
    file's path when calibrating)."""
    calib = os.path.join(work, f"calibration-{name}.json")
    cmd = [*prefix, BENCH, "--dir", os.path.join(work, f"bench-{name}"),
           "--sizes", str(FILE_BYTES), "--clients", *map(str, clients),
           "--large-bytes", str(LARGE_BYTES), "--window-seconds", str(WINDOW_S),
           "--warmup-seconds", str(WARMUP_S), "--rounds", str(rounds), "--no-moosefs"]
    if calibrate:
        cmd += ["--calibrate", calib, "--rpc-calls", "5000", "--rpc-rounds", "3",
                "--tcp-bytes", str(LARGE_BYTES)]
    else:
        cmd += ["--only", only]
    env = dict(os.environ, **(env_extra or {}))
    before = loadavg()
    counters = host_counters()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    host = host_delta(counters, host_counters())
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nexit {proc.returncode}: {proc.stderr}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    lines.append(host)
    for line in lines:
        line["run"] = name
        line["load_1m_before"] = before
    simrun.log(f"bench {name}: load {before} -> {loadavg()}; steal {host['cpu_steal']} %, "
               f"iowait {host['cpu_iowait']} %, disk reads {host['disk_reads']}")
    return lines, calib


def spread(values):
    """Median, quartiles (inclusive method: with 5 rounds the 2nd and 4th) and min-max."""
    med = statistics.median(values)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = med
    return {"real": med, "real_q25": q1, "real_q75": q3, "real_min": min(values),
            "real_max": max(values)}


def real_figures(lines):
    """{(workload, clients): spread of the rounds' rates} from a bench run's summary lines."""
    out = {}
    for line in lines:
        if line["bench"] == "small_files":
            where = "inline" if line["inline_threshold_bytes"] > 0 else "blocks"
            for op, key in (("create", "create_per_s"), ("read", "read_per_s")):
                out[(f"4KiB {op}, {where}", line["clients"])] = spread(line[key + "_rounds"])
        elif line["bench"] == "large_file":
            for op in ("write", "read"):
                out[(f"64MiB {op}", 1)] = spread(line[f"{op}_mb_s_rounds"])
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
# - Disks: the page cache (the data fits in memory); each sync (block files, directories,
#   store commits) draws its latency from the measured distribution (calibration.json
#   sync_us_quantiles, dir_sync_us_quantiles), and the datanodes' syncs share the host's
#   disk, which completes as many at once as the calibration's sync_concurrency measured.
# - Client I/O as the real client's: 1 MiB packets and read-ahead.
# run.py overrides clients, inline threshold, the workload's files and size, and the
# conditions' inputs (shared_host_cores, host_cpu_neighbours, sync_delay_us).
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
  small_file_ingest {{ files: {SIM_FILES} file_bytes: {FILE_BYTES} read_back: true }}
}}
duration_s: 600
"""
    path = os.path.join(HERE, "scenario.textproto")
    with open(path, "w") as f:
        f.write(text)
    return path


def one_core_link(calibration):
    """The link latency for a host of one core: the scenario's (scheduling delays of a stat)
    scaled by the one-in-flight RPC's idle time (round trip less CPU) on one CPU against two.
    The calibration measures both; nothing is fitted to the condition's result."""
    stat_us = calibration["latency_us"]["stat_inline"]
    stat_cpu = calibration["cpu_us_per_op"]["stat_inline"]
    link = max(0.0, (stat_us - stat_cpu["client"] - stat_cpu["namenode"]) / 2)
    idle = calibration["rpc_round_trip_us"] - calibration["rpc_cpu_us_per_call"]
    one = calibration.get("rpc_round_trip_us_one_core", 0) - \
        calibration.get("rpc_cpu_us_per_call_one_core", 0)
    if idle <= 0 or "rpc_round_trip_us_one_core" not in calibration:
        return round(link, 1)
    return round(link * max(0.0, one) / idle, 1)


def sim_figures(scenario, clients=CLIENTS, sets=(), large=True):
    out = {}
    for threshold in THRESHOLDS:
        where = "inline" if threshold > 0 else "blocks"
        for c in clients:
            r = simrun.run(scenario, [f"cluster.clients={c}",
                                      f"system.inline_threshold_bytes={threshold}", *sets])
            res = r["results"]
            for op, key in (("create", "write_files_per_s"), ("read", "read_files_per_s")):
                out[(f"4KiB {op}, {where}", c)] = res[key]
    if large:
        r = simrun.run(scenario, ["cluster.clients=1", "workload.small_file_ingest.files=1",
                                  f"workload.small_file_ingest.file_bytes={LARGE_BYTES}", *sets])
        for op in ("write", "read"):
            out[(f"64MiB {op}", 1)] = LARGE_BYTES / 1e6 / (r["ops"][op]["mean_ms"] / 1e3)
    return out


def err(sim, real):
    return round(100.0 * (sim - real) / real, 1)


def verdict(row):
    """'within' / 'miss', or 'undecidable: ...' when the reference spreads beyond the bound."""
    lo = 100.0 * (row["real_q25"] / row["real"] - 1)
    hi = 100.0 * (row["real_q75"] / row["real"] - 1)
    if lo < -SPREAD_PCT or hi > SPREAD_PCT:
        return f"undecidable: reference IQR {lo:+.0f}%..{hi:+.0f}% of its median"
    return "within" if abs(row["throughput_error_pct"]) <= GOAL_PCT else "miss"


def make_rows(real, sim, extra=None):
    rows = []
    for key, r in real.items():
        workload, clients = key
        row = {**(extra or {}), "workload": workload, "clients": clients,
               "unit": "MB/s" if workload.startswith("64MiB") else "files/s",
               **{k: round(v, 1) for k, v in r.items()},
               "sim": round(sim[key], 1), "throughput_error_pct": err(sim[key], r["real"])}
        row["verdict"] = verdict(row)
        simrun.log(row)
        rows.append(row)
    return rows


def write_jsonl(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line, sort_keys=True) + "\n")


def calibrate(work):
    """One calibrating bench run: calibration.json beside this script, and its lines."""
    lines, calib = run_bench("calibrate", work, CALIB_ROUNDS, calibrate=True)
    with open(calib) as f:
        calibration = json.load(f)
    calibration["note"] = (f"granary-bench --calibrate, {CALIB_ROUNDS} rounds of {WINDOW_S} s "
                           f"windows after {WARMUP_S} s warm-ups (run.py)")
    with open(os.path.join(HERE, "calibration.json"), "w") as f:
        json.dump(calibration, f, indent=2, sort_keys=True)
        f.write("\n")
    machine = next(line for line in lines if line["bench"] == "machine")
    return lines, calibration, machine_scenario(machine, calibration)


def normal(work):
    lines, _, scenario = calibrate(work)
    ref, _ = run_bench("reference", work, REF_ROUNDS)
    write_jsonl(os.path.join(HERE, "real_bench.jsonl"), lines + ref)
    load = {"load_1m_before": ref[0]["load_1m_before"], "load_1m_after": loadavg()}
    rows = make_rows(real_figures(ref), sim_figures(scenario))
    for row in rows:
        row.update(load)
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, rows)


# The conditions: (name, pinned to core 0, a CPU burner there, sync delay, clients, the
# scenario's inputs for them).
CONDITIONS = [
    ("a normal", False, False, 0, CLIENTS, []),
    ("b one core", True, False, 0, CLIENTS, ["cluster.shared_host_cores=1"]),
    ("c one core + burner", True, True, 0, CLIENTS,
     ["cluster.shared_host_cores=1", "cluster.host_cpu_neighbours=1"]),
    ("d sync +1 ms", False, False, SYNC_DELAY_US, CLIENTS,
     [f"cluster.sync_delay_us={SYNC_DELAY_US}"]),
    ("e 32 clients", False, False, 0, [32], []),
]


def conditions(work):
    lines, calibration, scenario = calibrate(work)
    all_lines, rows = list(lines), []
    for name, pinned, burn, delay, clients, sets in CONDITIONS:
        if pinned:
            sets = [*sets, f"cluster.link_latency_us={one_core_link(calibration)}"]
        prefix = ["taskset", "-c", "0"] if pinned else []
        burner = None
        if burn:  # a neighbour that wants the core all the time, stopped by its PID
            burner = subprocess.Popen([*prefix, sys.executable, "-c", "while True: pass"])
        try:
            env = {"GRANARY_TEST_SYNC_DELAY_US": str(delay)} if delay else None
            ref, _ = run_bench(name.split()[0], work, COND_ROUNDS, clients=clients,
                               only="small,large" if clients == CLIENTS else "small",
                               prefix=prefix, env_extra=env)
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
        all_lines += ref
        sim = sim_figures(scenario, clients=clients, sets=sets, large=clients == CLIENTS)
        rows += make_rows(real_figures(ref), sim,
                          {"condition": name, "load_1m_before": ref[0]["load_1m_before"]})
    write_jsonl(os.path.join(HERE, "conditions_bench.jsonl"), all_lines)
    simrun.write_csv(os.path.join(HERE, "conditions.csv"), rows)


# Model ablations (--ablate, simulations only, from the committed calibration.json and
# results.csv): which part of the model moves which prediction. Each is the full model with
# one part taken out: the scenario's overrides, and the calibration's fields dropped.
ABLATIONS = [
    ("full model", [], []),
    ("syncs at their mean", [], ["sync_us_quantiles", "dir_sync_us_quantiles"]),
    ("each disk syncs alone", ["cluster.host_sync_slots=64"], []),
    ("no wake-ups", ["cluster.client.rpc_wakeup_us=0", "cluster.namenode.rpc_wakeup_us=0",
                     "cluster.datanode.rpc_wakeup_us=0"], []),
]


def ablate():
    with open(os.path.join(HERE, "calibration.json")) as f:
        calibration = json.load(f)
    real = {(r["workload"], int(r["clients"])): float(r["real"])
            for r in simrun.read_csv(os.path.join(HERE, "results.csv"))}
    rows = []
    work = tempfile.mkdtemp(prefix="granary-sim-vs-real-ablate-")
    try:
        for name, sets, dropped in ABLATIONS:
            doc = {k: v for k, v in calibration.items() if k not in dropped}
            with open(os.path.join(work, "calibration.json"), "w") as f:
                json.dump(doc, f)
            with open(os.path.join(HERE, "scenario.textproto")) as f:
                text = f.read()
            scenario = os.path.join(work, "scenario.textproto")
            with open(scenario, "w") as f:
                f.write(text)
            sim = sim_figures(scenario, sets=sets)
            for key, value in sim.items():
                rows.append({"model": name, "workload": key[0], "clients": key[1],
                             "sim": round(value, 1), "real": real[key],
                             "throughput_error_pct": err(value, real[key])})
                simrun.log(rows[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    simrun.write_csv(os.path.join(HERE, "ablations.csv"), rows)


def main():
    global WINDOW_S
    if "--window-seconds" in sys.argv:
        i = sys.argv.index("--window-seconds")
        try:
            WINDOW_S = float(sys.argv[i + 1])
        except (IndexError, ValueError):
            sys.exit("run.py: --window-seconds needs a number of seconds")
        if not 0.5 <= WINDOW_S <= 60:
            sys.exit("run.py: --window-seconds must be within 0.5..60")
    if "--ablate" in sys.argv:
        ablate()
        return
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "results.csv"))))
        return
    work = tempfile.mkdtemp(prefix="granary-sim-vs-real-")
    try:
        conditions(work) if "--conditions" in sys.argv else normal(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['workload']}\n{r['clients']} client{'s' if r['clients'] > 1 else ''}"
              for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(1, 1, figsize=(12, 5.5))
    w = 0.38
    real = [r["real"] for r in rows]
    lo = [r["real"] - r["real_min"] for r in rows]
    hi = [r["real_max"] - r["real"] for r in rows]
    ax.bar([i - w / 2 for i in x], real, w, yerr=[lo, hi], capsize=3,
           label=f"real (median of {REF_ROUNDS} windows, min-max)")
    ax.bar([i + w / 2 for i in x], [r["sim"] for r in rows], w, label="simulated (calibrated)")
    ax.set_yscale("log")
    ax.set_ylabel("throughput (files/s; MB/s for 64 MiB)")
    for i, r in enumerate(rows):
        e = r["throughput_error_pct"]
        undecidable = str(r["verdict"]).startswith("undecidable")
        color = "grey" if undecidable else "black" if abs(e) <= GOAL_PCT else "red"
        ax.annotate(f"{e:+.0f}%" + ("?" if undecidable else ""),
                    (i, max(r["real_max"], r["sim"]) * 1.15), ha="center", fontsize=8,
                    color=color)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("Simulator against reality: granary-cluster on loopback (1 NN, 3 DN) vs "
                 "granary-sim with the calibration file\n(error above each pair; red: beyond "
                 "20 %; grey ?: undecidable, the reference's IQR beyond ±10 %)", fontsize=10)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "sim_vs_real.png"), dpi=110)


if __name__ == "__main__":
    main()
