#!/usr/bin/env python3
"""Experiment 6: learning-curve analytics. How well roi-fit extrapolates the shared learning
curves against the log-log line, SciPy's curve_fit, plain multi-start Levenberg-Marquardt and
the M4 form (bench/analytics/extrapolation_table.py does the fitting and scoring), and the
worked decision of docs/roi-fit.md run again.

Writes results.csv (one row per curve and method), summary.csv (medians per curve set and
method), decision.json (roi-fit --json on examples/learning_curves/digits_logreg.csv) and
analytics.png beside this script. Needs build/bin/roi-fit, python3-numpy and python3-scipy.
Usage: python3 experiments/analytics/run.py [--plot-only]
"""
import json
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import simrun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = simrun.ROOT
ROI_FIT = os.environ.get("GRANARY_ROI_FIT", os.path.join(ROOT, "build", "bin", "roi-fit"))
LINE = re.compile(r"^(\S+)\s+(\S+)\s+(.+?)\s+rmse_log (\S+)\s+coverage_90 (\S+)$")
# The worked decision of docs/roi-fit.md: 150 kB samples, $0.05 a sample, $500, 2,000 samples/s.
DECISION_ARGS = ["--group-by", "dataset,model", "--target-error", "0.025",
                 "--bytes-per-sample", "150000", "--cost-per-gb-month", "0.023",
                 "--cost-per-sample", "0.05", "--budget", "500", "--samples-per-second", "2000",
                 "--json"]


def python_with_scipy():
    """extrapolation_table.py needs numpy and scipy, which Debian's python3 has."""
    try:
        import numpy  # noqa: F401
        import scipy  # noqa: F401
        return sys.executable
    except ImportError:
        return "/usr/bin/python3"


def table_rows():
    script = os.path.join(ROOT, "bench", "analytics", "extrapolation_table.py")
    proc = subprocess.run([python_with_scipy(), script, ROI_FIT], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{script} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    rows = []
    for line in proc.stdout.splitlines():
        m = LINE.match(line.strip())
        if m:
            rows.append({"set": m.group(1), "curve": m.group(2), "method": m.group(3).strip(),
                         "holdout_rmse_log": float(m.group(4)),
                         "holdout_coverage_90": float(m.group(5))})
    if not rows:
        sys.exit(f"{script} printed no result lines")
    return rows


def summarize(rows):
    out = []
    for key in dict.fromkeys((r["set"], r["method"]) for r in rows):
        picked = [r for r in rows if (r["set"], r["method"]) == key]
        out.append({"set": key[0], "method": key[1], "curves": len(picked),
                    "median_rmse_log": round(statistics.median(
                        r["holdout_rmse_log"] for r in picked), 4),
                    "median_coverage_90": round(statistics.median(
                        r["holdout_coverage_90"] for r in picked), 2)})
    return out


def decision():
    csv = os.path.join(ROOT, "examples", "learning_curves", "digits_logreg.csv")
    proc = subprocess.run([ROI_FIT, csv] + DECISION_ARGS, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"roi-fit failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout.splitlines()[-1])


def main():
    if "--plot-only" in sys.argv:
        plot(simrun.numeric(simrun.read_csv(os.path.join(HERE, "summary.csv"))))
        return
    if not os.path.exists(ROI_FIT):
        sys.exit(f"{ROI_FIT} not found: build first (cmake --build build --target roi-fit)")
    rows = table_rows()
    simrun.write_csv(os.path.join(HERE, "results.csv"), rows)
    summary = summarize(rows)
    simrun.write_csv(os.path.join(HERE, "summary.csv"), summary)
    for row in summary:
        simrun.log(row)
    with open(os.path.join(HERE, "decision.json"), "w") as f:
        json.dump(decision(), f, indent=1, sort_keys=True)
        f.write("\n")
    simrun.plot_with_matplotlib(os.path.abspath(__file__), plot, summary)


def plot(summary):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sets = list(dict.fromkeys(r["set"] for r in summary))
    fig, axes = plt.subplots(1, len(sets), figsize=(11, 4))
    for ax, name in zip(axes, sets):
        picked = [r for r in summary if r["set"] == name]
        x = range(len(picked))
        ax.bar(x, [r["median_rmse_log"] for r in picked], color="#4472c4")
        for i, r in enumerate(picked):
            ax.text(i, r["median_rmse_log"], "%.2f" % r["median_coverage_90"], ha="center",
                    va="bottom", fontsize=7)
        ax.set_xticks(list(x))
        ax.set_xticklabels([r["method"] for r in picked], rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{name} curves ({picked[0]['curves']}): held-out RMSE of log error")
        ax.grid(True, axis="y", lw=0.3)
    fig.suptitle("Extrapolating learning curves (labels: median coverage of 90 % intervals)")
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "analytics.png"), dpi=110)


if __name__ == "__main__":
    main()
