#!/usr/bin/env python3
"""Checks paper/ against the data, without TeX (ctest runs it; paper/build.sh runs it first).

1. Every data macro the text uses (a command named like \\sfWriteSpeedupMin: lowercase first,
   then an uppercase letter) is produced by paper/gen_macros.py from experiments/.
2. Every figure the text includes exists under experiments/, and a run.py in that
   experiment's directory names it (so a script there made it).
3. Every citation key is in paper/refs.bib, and every \\input file exists.

Usage: check_paper.py [--selftest]. --selftest feeds the checks a text with an undefined
macro, a missing figure and an unknown citation, and fails unless all three are reported.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAPER = os.path.join(ROOT, "paper")
EXPERIMENTS = os.path.join(ROOT, "experiments")
DATA_MACRO = re.compile(r"\\([a-z]+[A-Z][A-Za-z]*)")
FIGURE = re.compile(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}")
CITE = re.compile(r"\\cite[tp]?\*?(?:\[[^\]]*\])?\{([^}]+)\}")
INPUT = re.compile(r"\\input\{([^}]+)\}")
NEWCOMMAND = re.compile(r"\\newcommand\{\\([A-Za-z]+)\}")


def strip_comments(text):
    return "\n".join(re.sub(r"(?<!\\)%.*", "", line) for line in text.splitlines())


def tex_sources():
    """{relative name: text} of granary.tex and every file it inputs."""
    out = {}
    pending = ["granary.tex"]
    while pending:
        name = pending.pop()
        path = os.path.join(PAPER, name if name.endswith(".tex") else name + ".tex")
        if not os.path.exists(path):
            out[name] = None
            continue
        with open(path) as f:
            text = strip_comments(f.read())
        out[name] = text
        pending += [m for m in INPUT.findall(text) if m != "numbers.tex" and m not in out]
    return out


def produced_macros():
    proc = subprocess.run([sys.executable, os.path.join(PAPER, "gen_macros.py")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"paper/gen_macros.py failed: {proc.stderr.strip()}")
    return set(NEWCOMMAND.findall(proc.stdout))


def bib_keys():
    with open(os.path.join(PAPER, "refs.bib")) as f:
        return set(re.findall(r"@\w+\{([^,\s]+),", f.read()))


def check(sources, macros, keys):
    problems = []
    for name, text in sources.items():
        if text is None:
            problems.append(f"{name}: \\input names a file that does not exist")
            continue
        for macro in sorted(set(DATA_MACRO.findall(text)) - macros):
            problems.append(f"{name}: \\{macro} is used but paper/gen_macros.py does not "
                            "produce it")
        for figure in FIGURE.findall(text):
            path = os.path.join(EXPERIMENTS, figure)
            if not os.path.exists(path):
                problems.append(f"{name}: figure experiments/{figure} does not exist")
                continue
            script = os.path.join(os.path.dirname(path), "run.py")
            made = os.path.exists(script) and os.path.basename(figure) in open(script).read()
            if not made:
                problems.append(f"{name}: no run.py in experiments/{os.path.dirname(figure)} "
                                f"makes {os.path.basename(figure)}")
        for group in CITE.findall(text):
            for key in (k.strip() for k in group.split(",")):
                if key not in keys:
                    problems.append(f"{name}: \\cite{{{key}}} is not in paper/refs.bib")
    return problems


def selftest():
    bad = {"bad.tex": "\\notProducedAnywhere \\includegraphics{nowhere/none.png} \\cite{nobody}"}
    problems = check(bad, produced_macros(), bib_keys())
    wanted = ["notProducedAnywhere", "nowhere/none.png", "nobody"]
    missed = [w for w in wanted if not any(w in p for p in problems)]
    if missed:
        sys.exit(f"selftest: the checks did not report {missed}; they reported {problems}")
    print(f"selftest: {len(problems)} problems reported, as expected")


def main():
    if "--selftest" in sys.argv:
        selftest()
        return
    sources = tex_sources()
    macros = produced_macros()
    problems = check(sources, macros, bib_keys())
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(f"check_paper: {len(problems)} problems")
    used = set()
    for text in sources.values():
        used |= set(DATA_MACRO.findall(text or ""))
    print(f"check_paper: {len(sources)} files, {len(used)} data macros used of "
          f"{len(macros)} produced, figures and citations present")


if __name__ == "__main__":
    main()
