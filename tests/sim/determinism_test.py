#!/usr/bin/env python3
"""Determinism of the simulator, across processes, and granary-sim's usage errors.

Usage: determinism_test.py PATH_TO_GRANARY_SIM [GOLDEN_HASHES_FILE]

Runs `granary-sim selftest --seed S` for 20 seeds, twice each as separate processes, and
checks that each seed gives the same trace_hash both times, that different seeds give
different hashes, and that every run passed its own checks. With a golden file, the hashes of
its seeds must equal the pinned ones (the same run after a rebuild, on any machine). Then checks that usage errors
(an unknown flag, values out of range) exit with 2 and one line on stderr naming the flag.
Standard library only.
"""
import json
import subprocess
import sys

SEEDS = range(1, 21)
RUNS_PER_SEED = 2
TIMEOUT_SECONDS = 60


def run_selftest(binary, seed):
    proc = subprocess.run([binary, "selftest", "--seed", str(seed)], capture_output=True,
                          text=True, timeout=TIMEOUT_SECONDS, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 1:
        raise AssertionError(f"seed {seed}: exit {proc.returncode}, stdout {proc.stdout!r}, "
                             f"stderr {proc.stderr!r}")
    result = json.loads(lines[0])
    if result["seed"] != seed or not result["passed"]:
        raise AssertionError(f"seed {seed}: selftest did not pass: {lines[0]}")
    return result["trace_hash"]


def check_golden(binary, path):
    failures = []
    with open(path, encoding="utf-8") as golden:
        for line in golden:
            if not line.strip() or line.startswith("#"):
                continue
            seed, pinned = line.split()
            got = run_selftest(binary, int(seed))
            if got != pinned:
                failures.append(f"seed {seed}: trace hash {got}, pinned {pinned} "
                                f"(intended model change? scripts/pin-trace-hashes.sh)")
    return failures


def check_determinism(binary):
    failures = []
    hashes = {}
    for seed in SEEDS:
        seen = [run_selftest(binary, seed) for _ in range(RUNS_PER_SEED)]
        if len(set(seen)) != 1:
            failures.append(f"seed {seed}: trace hashes differ between runs: {seen}")
        hashes[seed] = seen[0]
        print(f"seed {seed}: {seen[0]}")
    by_hash = {}
    for seed, trace_hash in hashes.items():
        by_hash.setdefault(trace_hash, []).append(seed)
    for trace_hash, seeds in by_hash.items():
        if len(seeds) > 1:
            failures.append(f"seeds {seeds} share the trace hash {trace_hash}")
    return failures


def check_usage_errors(binary):
    failures = []
    cases = [
        (["selftest", "--bogus"], "--bogus"),
        (["selftest", "--nodes", "1"], "--nodes"),
        (["selftest", "--nodes", "1001"], "--nodes"),
        (["selftest", "--seconds", "0"], "--seconds"),
        (["selftest", "--seconds", "-3"], "--seconds"),
        (["selftest", "--seed", "abc"], "--seed"),
    ]
    for args, flag in cases:
        proc = subprocess.run([binary] + args, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS, check=False)
        lines = proc.stderr.splitlines()
        problems = []
        if proc.returncode != 2:
            problems.append(f"exit {proc.returncode}, wanted 2")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr, wanted 1")
        elif flag not in lines[0] or not lines[0].startswith("granary-sim: "):
            problems.append(f"stderr {lines[0]!r} does not name {flag}")
        if proc.stdout:
            problems.append(f"unexpected stdout {proc.stdout!r}")
        if problems:
            failures.append(f"{' '.join(args)}: {'; '.join(problems)}")
        else:
            print(f"{' '.join(args)}: exit 2, {lines[0]}")
    return failures


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    failures = check_usage_errors(binary) + check_determinism(binary)
    if len(sys.argv) == 3:
        failures += check_golden(binary, sys.argv[2])
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
