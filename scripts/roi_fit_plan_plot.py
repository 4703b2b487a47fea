#!/usr/bin/python3
"""Draws a roi-fit plan: the accelerators' busy fraction measured by granary-sim for every
cluster the plan tried, against its datanodes, with the --busy target, the monthly cost and
the chosen cluster of each end of the projected dataset.

Usage: roi-fit ... --plan --json > plan.json; scripts/roi_fit_plan_plot.py plan.json OUT.png
Needs python3-matplotlib (scripts/install-deps.sh).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    line = json.loads(open(sys.argv[1]).readline())
    plan = line["plan"]
    fig, busy_axis = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    cost_axis = busy_axis.twinx()
    colours = {"low": "#4c9f70", "middle": "#1f5fa8", "high": "#b4462d"}
    for name, end in plan["ends"].items():
        if not end.get("candidates"):
            continue
        points = sorted((c["datanodes"], c["accelerator_busy"], c["monthly_cost"])
                        for c in end["candidates"])
        busy_axis.plot([p[0] for p in points], [p[1] for p in points], "o-",
                       color=colours[name], alpha=0.8,
                       label="%s end: %.0f samples" % (name, end["samples"]))
        cost_axis.plot([p[0] for p in points], [p[2] for p in points], "s:",
                       color=colours[name], alpha=0.35)
    # One note per chosen cluster, naming every end that chose it.
    chosen = {}
    for name, end in plan["ends"].items():
        if end.get("feasible"):
            chosen.setdefault((end["datanodes"], round(end["accelerator_busy"], 3),
                               round(end["monthly_cost"])),
                              []).append(name)
    for i, ((datanodes, busy, cost), names) in enumerate(sorted(chosen.items())):
        busy_axis.annotate("%s: %d datanodes, busy %.3f, %.0f/month" % (
            ", ".join(names), datanodes, busy, cost), (datanodes, busy),
            xytext=(14, -30 - 14 * i), textcoords="offset points", fontsize=8,
            arrowprops={"arrowstyle": "->", "color": colours[names[0]]})
    busy_axis.axhline(plan["busy_target"], color="grey", linestyle="--", linewidth=1)
    busy_axis.text(busy_axis.get_xlim()[0], plan["busy_target"], " --busy %.2f" %
                   plan["busy_target"], va="bottom", fontsize=8, color="grey")
    busy_axis.set_xlabel("datanodes (1 namenode each)")
    busy_axis.set_ylabel("accelerator busy fraction (granary-sim)")
    cost_axis.set_ylabel("monthly cost (dotted)")
    busy_axis.set_ylim(0, 1.05)
    busy_axis.legend(loc="lower right", fontsize=8)
    busy_axis.set_title("%s: the cheapest cluster keeping the accelerators busy" % line["group"],
                        fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
