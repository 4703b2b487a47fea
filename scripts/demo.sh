#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run Granary's main job end
# to end on embedded defaults — the simulated cluster under faults, and a learning-curve fit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "building (this takes a few minutes the first time)..."
bash scripts/build.sh >/tmp/granary-build.log 2>&1 || { tail -40 /tmp/granary-build.log; exit 1; }
bin=build/bin

summarize() {  # one JSON line in, a few plain lines out
  python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
for k in sys.argv[1:]:
    v = d.get(k)
    if isinstance(v, float): v = round(v, 3)
    print(f"  {k:<28} {v}")
' "$@"
}

echo
echo "== 1. the simulation kernel: 5 nodes, RPCs, disks, crashes, partitions (seed 1)"
$bin/granary-sim selftest --seed 1 --seconds 10 | summarize trace_hash events virtual_seconds \
  wall_seconds events_per_second rpcs_ok rpcs_failed crashes durability_violations passed

echo
echo "== 2. the file system under a fault swarm: 1 namenode, 6 datanodes, 4 clients (seed 1)"
$bin/granary-sim swarm --seed 1 | summarize ops_ok ops_failed bytes_acked datanode_crashes \
  namenode_crashes corruptions partitions acked_lost corrupt_reads under_replicated \
  namespace_errors replication_restore_seconds passed

echo
echo "== 3. a real cluster on this machine: 1 namenode, 3 datanodes on 127.0.0.1"
work=$(mktemp -d)
trap '$bin/granary-cluster stop "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export GRANARY_NAMENODE=$($bin/granary-cluster start "$work/cluster" --datanodes 3)
echo "  namenode at $GRANARY_NAMENODE"
# A small dataset: many small files (stored inline with their metadata) and one large one.
mkdir -p "$work/dataset/shards"
for i in $(seq 1 200); do head -c $((RANDOM % 16384 + 1)) /dev/urandom > "$work/dataset/shards/sample-$i.bin"; done
head -c $((40 * 1024 * 1024)) /dev/urandom > "$work/dataset/checkpoint.bin"
cp examples/learning_curves/digits_logreg.csv "$work/dataset/"
$bin/granary put -r "$work/dataset" /dataset
$bin/granary get -r /dataset "$work/back"
if diff -r "$work/dataset" "$work/back" >/dev/null; then
  echo "  put and got back $(find "$work/dataset" -type f | wc -l) files: every byte identical"
else
  echo "  MISMATCH between what was put and what came back"; exit 1
fi
$bin/granary du -s /dataset | sed "s/^/  bytes: /"
$bin/granary report | sed 's/^/  /'
$bin/granary fsck /dataset | tail -1 | sed 's/^/  /'
$bin/granary-cluster stop "$work/cluster" >/dev/null

echo
echo "== 4. is more training data worth it? (digits / logistic regression learning curve)"
$bin/roi-fit examples/learning_curves/digits_logreg.csv --group-by dataset,model \
  --target-error 0.025 --bytes-per-sample 150000 --cost-per-gb-month 0.023 \
  --cost-per-sample 0.05 --budget 500 --samples-per-second 2000 --plot build/roi-fit-example.svg
echo
echo "plot written to build/roi-fit-example.svg"
