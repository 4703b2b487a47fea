#!/usr/bin/env python3
"""How steady is this machine? Experiment 4's reference needs repeated windows to agree; this
measures whether the machine itself gives them, with no Granary process at all.

    python3 experiments/sim_vs_real/machine_probe.py [--seconds 30] [--out probe.json]

Two probes, each for --seconds, counted in 100 ms slices:
  cpu   one process spinning on arithmetic (work per slice: the vCPU's speed as this process
        sees it, steal and the host's contention included);
  wake  two processes passing one byte back and forth over pipes (round trips per slice: the
        cost of waking a sleeping process on the other vCPU, what every RPC of the cluster
        pays).
Then, for windows of 0.1, 0.5, 1.5, 5 and 15 s (consecutive slices summed), the spread of
the windows: the interquartile range as a share of the median, and min and max. Experiment 4
calls a row undecidable when its reference's IQR passes +-10 %; if the machine's own windows
spread that much at the bench's window length, no reference measured here can be decidable.
Prints a short table, and one JSON object per line with --json (or to --out).
"""

import argparse
import json
import os
import statistics
import sys
import time

SLICE_S = 0.1


def cpu_probe(seconds):
    counts = []
    end = time.monotonic() + seconds
    while True:
        slice_end = time.monotonic() + SLICE_S
        if slice_end > end:
            break
        n = 0
        x = 1
        while True:
            for _ in range(1000):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            n += 1
            if time.monotonic() >= slice_end:
                break
        counts.append(n)
    return counts


def wake_probe(seconds):
    to_echo_r, to_echo_w = os.pipe()  # parent -> echo
    back_r, back_w = os.pipe()        # echo -> parent
    pid = os.fork()
    if pid == 0:  # the echo: wakes for every byte and sends it back
        os.close(to_echo_w)
        os.close(back_r)
        try:
            while True:
                byte = os.read(to_echo_r, 1)
                if not byte:
                    break
                os.write(back_w, byte)
        finally:
            os._exit(0)
    os.close(to_echo_r)
    os.close(back_w)
    counts = []
    end = time.monotonic() + seconds
    try:
        while True:
            slice_end = time.monotonic() + SLICE_S
            if slice_end > end:
                break
            n = 0
            while time.monotonic() < slice_end:
                os.write(to_echo_w, b"x")
                os.read(back_r, 1)
                n += 1
            counts.append(n)
    finally:
        os.close(to_echo_w)  # the echo reads EOF and exits
        os.close(back_r)
        os.waitpid(pid, 0)
    return counts


def spread(counts, window_s):
    per = max(1, round(window_s / SLICE_S))
    windows = [sum(counts[i:i + per]) for i in range(0, len(counts) - per + 1, per)]
    if len(windows) < 4:
        return None
    q = statistics.quantiles(windows, n=4)
    median = statistics.median(windows)
    return {
        "window_s": window_s,
        "windows": len(windows),
        "iqr_low_pct": round(100 * (q[0] / median - 1), 1),
        "iqr_high_pct": round(100 * (q[2] / median - 1), 1),
        "min_pct": round(100 * (min(windows) / median - 1), 1),
        "max_pct": round(100 * (max(windows) / median - 1), 1),
    }


def steal_ticks():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    values = [int(v) for v in fields]
    return values[7] if len(values) > 7 else 0, sum(values)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--out", default="")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.seconds < 6:
        sys.exit("machine_probe: --seconds must be at least 6 (four windows of 1.5 s)")
    lines = []
    for name, probe in (("cpu", cpu_probe), ("wake", wake_probe)):
        print(f"probing {name} for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        steal0, total0 = steal_ticks()
        counts = probe(args.seconds)
        steal1, total1 = steal_ticks()
        steal_pct = round(100 * (steal1 - steal0) / max(1, total1 - total0), 1)
        for window in (0.1, 0.5, 1.5, 5, 15):
            s = spread(counts, window)
            if s:
                lines.append({"probe": name, "steal_pct": steal_pct,
                              "load_1m": os.getloadavg()[0], **s})
    if args.out:
        with open(args.out, "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
    if args.json:
        for line in lines:
            print(json.dumps(line))
    else:
        print("probe  window  windows  IQR (share of median)   min..max      steal")
        for l in lines:
            print(f"{l['probe']:5} {l['window_s']:6g}s {l['windows']:8} "
                  f"{l['iqr_low_pct']:+7.1f}%..{l['iqr_high_pct']:+6.1f}%   "
                  f"{l['min_pct']:+6.1f}%..{l['max_pct']:+6.1f}%  {l['steal_pct']:5.1f}%")


if __name__ == "__main__":
    main()
