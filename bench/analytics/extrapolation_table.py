#!/usr/bin/python3
"""How well each method extrapolates a learning curve, and how honest its 90 % intervals are.

For every shared curve (scikit-learn: fit the smallest two thirds of the sizes, NMT: the
Training = 1 rows), each method predicts the mean error at the held-out sizes with a 90 %
interval for that mean; per curve we score holdout_rmse_log (RMSE of log error) and
holdout_coverage_90 (the fraction of held-out mean errors inside their intervals). Methods:

  roi-fit     the tool (its --backtest JSON), intervals from its prediction band
  bootstrap   the same fits, intervals from the bootstrap alone (--intervals bootstrap)
  m4          roi-fit --model m4 (Alabdulmohsin et al.'s M4 form, e0 = 1; bootstrap intervals)
  log-log     least-squares line in log-log space; t interval for the line's mean
  curve_fit   SciPy's curve_fit of a*m^b + c on raw error (as reference_fits.py), delta-method
              t interval from its covariance
  multistart  the reference: plain multi-start Levenberg-Marquardt of a*m^b + c on log
              residuals (scipy.optimize.least_squares, method "lm", c = c_max * sigmoid(t) so
              0 < c < the smallest mean error; 5 exponents x 4 floors as starts, best cost
              kept); delta-method t interval on log error from its Jacobian

Prints one line per curve and method, then a Markdown table of medians per curve set, and the
pooled coverage (held-out sizes inside / all held-out sizes). Usage:
  bench/analytics/extrapolation_table.py build/bin/roi-fit [CURVE_DIR]
Needs python3-numpy and python3-scipy (scripts/install-deps.sh).
"""
import csv
import json
import os
import subprocess
import sys

import numpy as np
from scipy import optimize, stats

LEVEL = 0.9
NMT_FIT_MAX = 256e6


def mean_curves(directory):
    """{set: [(name, sizes, mean errors, fit count)]}, the protocol of reference_fits.py."""
    out = {"sklearn": [], "nmt": []}
    rows = list(csv.DictReader(open(os.path.join(directory, "sklearn_curves.csv"))))
    for group in sorted({(r["dataset"], r["model"]) for r in rows}, key=lambda g: g):
        pts = [(float(r["train_size"]), float(r["test_error"])) for r in rows
               if (r["dataset"], r["model"]) == group]
        sizes = sorted({m for m, _ in pts})
        mean = np.array([np.mean([e for mm, e in pts if mm == m]) for m in sizes])
        out["sklearn"].append(("/".join(group), np.array(sizes), mean,
                               int(round(len(sizes) * 2 / 3))))
    rows = list(csv.DictReader(open(os.path.join(directory, "nmt_alabdulmohsin2022.csv"))))
    for model in sorted({r["Model"] for r in rows}):
        r = sorted([(float(x["Seen Examples"]), float(x["Loss"])) for x in rows
                    if x["Model"] == model])
        sizes = np.array([m for m, _ in r])
        out["nmt"].append((model, sizes, np.array([e for _, e in r]),
                           int(np.sum(sizes <= NMT_FIT_MAX))))
    return out


def score(pred, low, high, obs):
    rmse = float(np.sqrt(np.mean((np.log(np.maximum(pred, 1e-12)) - np.log(obs)) ** 2)))
    return rmse, float(np.mean((obs >= low) & (obs <= high)))


def log_log(fm, fe, hm, he):
    x, y = np.log(fm), np.log(fe)
    n = len(x)
    b, a = np.polyfit(x, y, 1)
    s2 = np.sum((y - (a + b * x)) ** 2) / (n - 2)
    x0 = np.log(hm)
    se = np.sqrt(s2 * (1 / n + (x0 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2)))
    t = stats.t.ppf((1 + LEVEL) / 2, n - 2)
    center = a + b * x0
    return score(np.exp(center), np.exp(center - t * se), np.exp(center + t * se), he)


def scipy_curve_fit(fm, fe, hm, he):
    b0, la = np.polyfit(np.log(fm), np.log(fe), 1)
    f = lambda m, a, b, c: a * m ** b + c
    try:
        p, cov = optimize.curve_fit(f, fm, fe, p0=[np.exp(la), b0, 0.0],
                                    bounds=([0, -3, 0], [np.inf, 0, fe.min()]), maxfev=20000)
    except RuntimeError:
        return log_log(fm, fe, hm, he)
    a, b, c = p
    grad = np.stack([hm ** b, a * hm ** b * np.log(hm), np.ones_like(hm)], axis=1)
    var = np.einsum("ij,jk,ik->i", grad, cov, grad)
    se = np.sqrt(np.maximum(var, 0)) if np.all(np.isfinite(var)) else np.full_like(hm, np.inf)
    t = stats.t.ppf((1 + LEVEL) / 2, max(len(fm) - 3, 1))
    pred = f(hm, *p)
    return score(pred, pred - t * se, pred + t * se, he)


def multistart_lm(fm, fe, hm, he):
    """The reference: multi-start LM of a*m^b + c on log residuals, c in (0, min error)."""
    x, y = np.log(fm), np.log(fe)
    c_max = fe.min()

    def model(theta, m_log):
        a, b, c = np.exp(theta[0]), -np.exp(theta[1]), c_max / (1 + np.exp(-theta[2]))
        return np.log(a * np.exp(b * m_log) + c)

    best = None
    for b in (-0.1, -0.3, -0.5, -1.0, -2.0):
        for c_frac in (0.001, 0.3, 0.6, 0.9):
            c = c_frac * c_max
            a = np.exp(np.mean(np.log(np.maximum(fe - c, 1e-12)) - b * x))
            theta0 = [np.log(a), np.log(-b), np.log(c_frac / (1 - c_frac))]
            try:
                r = optimize.least_squares(lambda t: model(t, x) - y, theta0, method="lm",
                                           max_nfev=2000)
            except ValueError:
                continue
            if np.all(np.isfinite(r.fun)) and (best is None or r.cost < best.cost):
                best = r
    theta = best.x
    n, p = len(x), 3
    s2 = 2 * best.cost / max(n - p, 1)
    cov = s2 * np.linalg.pinv(best.jac.T @ best.jac)
    x0 = np.log(hm)
    center = model(theta, x0)
    eps = 1e-6
    grad = np.stack([(model(theta + eps * np.eye(3)[k], x0) - center) / eps for k in range(3)],
                    axis=1)
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", grad, cov, grad), 0))
    t = stats.t.ppf((1 + LEVEL) / 2, max(n - p, 1))
    return score(np.exp(center), np.exp(center - t * se), np.exp(center + t * se), he)


def roi_fit(binary, directory, extra):
    """{(set, curve): (rmse, coverage, held-out count)} from roi-fit --backtest --json."""
    runs = {
        "sklearn": [os.path.join(directory, "sklearn_curves.csv"), "--group-by",
                    "dataset,model", "--backtest"],
        "nmt": [os.path.join(directory, "nmt_alabdulmohsin2022.csv"), "--size-col",
                "Seen Examples", "--error-col", "Loss", "--group-by", "Model",
                "--fit-max-size", str(NMT_FIT_MAX)],
    }
    out = {}
    for name, args in runs.items():
        text = subprocess.run([binary] + args + ["--json"] + extra, check=True,
                              capture_output=True, text=True).stdout
        for line in text.splitlines():
            r = json.loads(line)
            out[(name, r["group"])] = (r["holdout_rmse_log"], r["holdout_coverage_90"],
                                       r["n_holdout_sizes"])
    return out


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/bin/roi-fit"
    here = os.path.dirname(os.path.abspath(__file__))
    directory = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        here, "..", "..", "tests", "analytics", "data")
    curves = mean_curves(directory)
    tools = {"roi-fit": roi_fit(binary, directory, []),
             "bootstrap only": roi_fit(binary, directory, ["--intervals", "bootstrap"]),
             "M4": roi_fit(binary, directory, ["--model", "m4", "--intervals", "bootstrap"])}
    methods = ["roi-fit", "bootstrap only", "log-log", "curve_fit", "multistart LM", "M4"]
    table = {}
    for set_name, items in curves.items():
        for name, m, e, k in items:
            fm, fe, hm, he = m[:k], e[:k], m[k:], e[k:]
            results = {"log-log": log_log(fm, fe, hm, he),
                       "curve_fit": scipy_curve_fit(fm, fe, hm, he),
                       "multistart LM": multistart_lm(fm, fe, hm, he)}
            for tool, scores in tools.items():
                group = name if set_name == "sklearn" else name
                results[tool] = scores[(set_name, group)][:2]
            for method in methods:
                rmse, cover = results[method]
                table.setdefault((set_name, method), []).append((rmse, cover, len(hm)))
                print("%-8s %-36s %-15s rmse_log %.4f  coverage_90 %.2f" %
                      (set_name, name, method, rmse, cover))
    print()
    print("| curves | method | median holdout_rmse_log | median holdout_coverage_90 | "
          "pooled coverage (inside / held-out sizes) |")
    print("|---|---|---|---|---|")
    for set_name in curves:
        for method in methods:
            rows = table[(set_name, method)]
            inside = sum(round(c * n) for _, c, n in rows)
            total = sum(n for _, _, n in rows)
            print("| %s | %s | %.3f | %.2f | %.2f (%d / %d) |" % (
                set_name, method, np.median([r for r, _, _ in rows]),
                np.median([c for _, c, _ in rows]), inside / total, inside, total))


if __name__ == "__main__":
    main()
