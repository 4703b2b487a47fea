#!/usr/bin/env bash
# Builds paper/granary.pdf from the committed data of experiments/.
#   bash paper/build.sh           redraw every figure from its committed CSV, then typeset
#   bash paper/build.sh --rerun   build Granary, rerun every experiment (about an hour on two
#                                 cores; the real-cluster figures are measured again), then typeset
# Installs TeX Live and the figures' Python packages from Debian (scripts/install-deps.sh
# --paper). Fails on an undefined reference or citation, a missing figure, or a number the
# text uses that paper/gen_macros.py does not produce.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rerun=0
for arg in "$@"; do
  case "$arg" in
    --rerun) rerun=1 ;;
    *) echo "paper/build.sh: unknown option '$arg' (known: --rerun)" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh --paper
experiments=(small_files metadata_scaling accelerators sim_vs_real recovery analytics swarm
             real_cluster)
if ((rerun)); then
  bash scripts/install-deps.sh
  bash scripts/build.sh
  for e in "${experiments[@]}"; do
    echo "== rerunning experiments/$e"
    /usr/bin/python3 "experiments/$e/run.py"
  done
else
  for e in "${experiments[@]}"; do
    echo "== redrawing experiments/$e"
    /usr/bin/python3 "experiments/$e/run.py" --plot-only
  done
fi

/usr/bin/python3 tests/paper/check_paper.py
out="$root/paper/build"
mkdir -p "$out"
# Fonts TeX generates on the fly (mktexpk) go here, not into the home directory.
export TEXMFVAR="$out/texmf-var"
/usr/bin/python3 paper/gen_macros.py "$out/numbers.tex"
cd paper
latex() {
  TEXINPUTS=".:$out:" pdflatex -interaction=nonstopmode -halt-on-error -output-directory "$out" \
    granary.tex > "$out/pdflatex.out" || { tail -40 "$out/pdflatex.out"; exit 1; }
}
echo "== typesetting"
latex
(cd "$out" && BIBINPUTS="$root/paper:" bibtex granary > bibtex.out) || { cat "$out/bibtex.out"; exit 1; }
latex
latex
if grep -E "undefined|Citation .* undefined|File .* not found|There were undefined" "$out/granary.log"; then
  echo "paper/build.sh: the log above has undefined references or missing files" >&2
  exit 1
fi
if grep -q "Warning--" "$out/bibtex.out"; then
  cat "$out/bibtex.out"
  echo "paper/build.sh: BibTeX warned (see above)" >&2
  exit 1
fi
cp "$out/granary.pdf" "$root/paper/granary.pdf"
pages=$(grep -ao "Output written on .*" "$out/granary.log" || true)
echo "paper/granary.pdf written ($pages)"
