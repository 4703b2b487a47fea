#!/usr/bin/env python3
"""roi-fit --plan end to end with the real simulator, on a tiny grid (seconds).

A 1 MB sample every 2 ms for each of 4 accelerators over SSD datanodes: 3 datanodes keep them
about 0.68 busy, 6 about 0.98, so on the grid 3,6,12 the known cheapest cluster busy >= 0.9
is 6 datanodes. Checks that the plan chooses it, that it is the cheapest busy-enough candidate
it measured (and a cheaper one was measured and failed), that the JSON has the fields the issue
names, and that the same seed gives the same plan whether 1 or 2 simulations run at once.
Usage: plan_check.py ROI_FIT CURVES.csv WORKDIR
"""
import json
import os
import shutil
import subprocess
import sys

roi_fit, curves, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def plan(jobs):
    out = subprocess.run(
        [roi_fit, curves, "--group-by", "dataset,model", "--group", "digits/random_forest",
         "--target-error", "0.02", "--bytes-per-sample", "1000000", "--bootstrap", "100",
         "--plan", "--accelerators", "4", "--seconds-per-sample", "0.002", "--sim-files", "64",
         "--disk", "ssd", "--datanodes-grid", "3,6,12", "--seed", "7", "--jobs", str(jobs),
         "--plan-dir", os.path.join(work, "jobs%d" % jobs), "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])["plan"]


one, two = plan(1), plan(2)
for key in ("datanodes", "namenodes", "accelerator_busy", "monthly_cost", "scenarios"):
    assert key in two, "plan lacks %s: %s" % (key, two)
assert two["datanodes"] == 6, two
middle = two["ends"]["middle"]["candidates"]
passing = [c for c in middle if c["busy_enough"]]
assert min(passing, key=lambda c: c["monthly_cost"])["datanodes"] == 6, middle
assert any(not c["busy_enough"] and c["monthly_cost"] < two["monthly_cost"] for c in middle)
assert all(os.path.exists(s) for s in two["scenarios"]), two["scenarios"]
strip = lambda p: json.loads(json.dumps(p).replace(os.path.join(work, "jobs1"), "D")
                             .replace(os.path.join(work, "jobs2"), "D"))
assert strip(one) == strip(two), "the same seed gave different plans:\n%s\n%s" % (one, two)
print("plan: %d datanodes, busy %.3f, monthly cost %g; same plan with 1 and 2 jobs" %
      (two["datanodes"], two["accelerator_busy"], two["monthly_cost"]))
