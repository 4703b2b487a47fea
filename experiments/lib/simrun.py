"""Helpers shared by the experiments: run `granary-sim run` and collect its JSON line.

The binary is build/bin/granary-sim under the repository (override with GRANARY_SIM).
Standard library only; the plotting scripts import matplotlib themselves.
"""
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("GRANARY_SIM", os.path.join(ROOT, "build", "bin", "granary-sim"))


def run(scenario, sets=(), seed=1, out=None):
    """Runs a scenario with FIELD=VALUE overrides; returns the summary dict."""
    cmd = [BINARY, "run", scenario, "--seed", str(seed)]
    for s in sets:
        cmd += ["--set", s]
    if out:
        cmd += ["--out", out]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nexit {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def write_csv(path, rows):
    """Writes a list of dicts (all with the same keys) as CSV."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def numeric(rows):
    """CSV rows with numbers parsed back (for --plot-only)."""
    out = []
    for row in rows:
        parsed = {}
        for key, value in row.items():
            try:
                parsed[key] = int(value)
            except ValueError:
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
        out.append(parsed)
    return out


def plot_with_matplotlib(script, plot, rows):
    """Plots with this interpreter when it has matplotlib, else with Debian's python3
    (python3-matplotlib, scripts/install-deps.sh) running `script --plot-only`."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system):
            subprocess.run([system, script, "--plot-only"], check=True)
            return
        raise
    plot(rows)
