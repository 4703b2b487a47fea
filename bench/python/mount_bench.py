#!/usr/bin/env python3
"""granary-mount against a MooseFS mount and local ext4, and PyTorch loading three ways, all
in one run on this machine.

    PYTHONPATH=build/python GRANARY_BIN_DIR=build/bin python3 bench/python/mount_bench.py \
        [--parts fsbench,loader] [--threads 1,8] [--rounds 3] [--nsmall 2000] [--n64 500] \
        [--nmeta 500] [--files 100000] [--file-bytes 16384] [--workers 4] [--no-moosefs] \
        [--variant negative_timeout=1] [--drop]
        [--loader-variant ro,entry_timeout=3600,attr_timeout=3600,cache_bytes=4294967296]

Prints one JSON object. Parts:
  fsbench: ../shared/peers/fsbench.c (small-file creates, reads without and with the page
           cache, stats, listings, mkdir/rename/rmdir, unlinks; 4 KiB and 64 KiB files) with
           each thread count on the Granary mount, a MooseFS mount (moosefs.sh: master and 3
           chunkservers, goal 3, on this machine) and local ext4; the three targets take turns
           within each round (the order rotates), and each figure is the median of the rounds.
           Ratios: Granary / MooseFS per phase. Target: creates and reads >= 5x MooseFS.
           --variant OPTS adds a second Granary mount of the same cluster with those -o
           options ("granary_variant"; default negative_timeout=1, "" for none), measured in
           the same turns. Without --drop (which flushes the whole machine's page cache, every
           other program's too) the first read of each file ("read_nodrop") follows its
           create; with it, fsbench drops the caches before the cold phases ("read_cold").
  loader:  one shuffled epoch of DataLoader(num_workers=--workers, batch_size=64) over
           --files files of --file-bytes: native granary.torch.FileDataset, the same files
           through the mount (open/read per sample) and local disk; turns rotate per round,
           median of rounds, after a warm-up epoch of each. Targets: native >= 0.5x local,
           mount >= 0.5x native. With --loader-variant OPTS (default
           ro,entry_timeout=3600,attr_timeout=3600,cache_bytes=4294967296; "" for none) a
           fourth reader, "mount_cached", reads the same files through a second mount with
           those options: what a read-only training set may use, the kernel keeping entries
           and pages and the mount the files' bytes.
Granary runs a namenode and 3 datanodes (replication 3, inline threshold 64 KiB) started
here on 127.0.0.1 and stopped by PID; everything shares this machine's cores, and other
programs may be running: the JSON records the load average before and after.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))

import granary  # noqa: E402
from granary.testing import LocalCluster, find_binary  # noqa: E402
from mount_util import Mount  # noqa: E402

PEERS = os.path.abspath(os.path.join(ROOT, "..", "..", "shared", "peers"))
if not os.path.isdir(PEERS):
    PEERS = "/work/shared/peers"


def parse_fsbench(text):
    out = {}
    for line in text.splitlines():
        if not line.startswith("RESULT"):
            continue
        parts = line.split()
        name = parts[1]
        fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        if "rate" in fields:
            out[name] = float(fields["rate"])
        elif "sec" in fields:
            out[name + "_sec"] = float(fields["sec"])
    return out


def run_fsbench(binary, directory, threads, args):
    os.makedirs(directory, exist_ok=True)
    result = subprocess.run([binary, directory, str(threads), "--skip-big",
                             "--nsmall", str(args.nsmall), "--n64", str(args.n64),
                             "--nmeta", str(args.nmeta)] + (["--drop"] if args.drop else []),
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError("fsbench on %s: %s" % (directory, result.stderr[-2000:]))
    return parse_fsbench(result.stdout)


def medians(samples):
    keys = sorted(set().union(*samples))
    return {k: statistics.median(s[k] for s in samples if k in s) for k in keys}


def fsbench_part(args, targets, work):
    binary = os.path.join(work, "fsbench")
    subprocess.run(["gcc", "-O2", "-pthread", "-o", binary,
                    os.path.join(PEERS, "fsbench.c")], check=True)
    names = list(targets)
    samples = {(n, t): [] for n in names for t in args.threads}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for threads in args.threads:
            for name in order:
                directory = os.path.join(targets[name], "fsb-r%d-t%d" % (r, threads))
                samples[(name, threads)].append(run_fsbench(binary, directory, threads, args))
                shutil.rmtree(directory, ignore_errors=True)
    out = {}
    for threads in args.threads:
        per = {n: medians(samples[(n, threads)]) for n in names}
        entry = {n: per[n] for n in names}
        # Every round's figure of each target: on a mount with 1 s caches a phase of 2,000
        # files lands on either side of the expiry, so rounds differ by multiples.
        entry["rounds"] = {n: {k: [round(s.get(k, 0)) for s in samples[(n, threads)]]
                               for k in per[n] if not k.endswith("_sec")} for n in names}
        def ratios(a, b, digits):
            return {k: round(per[a][k] / per[b][k], digits) for k in per[a]
                    if k in per[b] and per[b][k] > 0 and not k.endswith("_sec")}
        for g in [n for n in names if n.startswith("granary")]:
            if "moosefs" in per:
                entry[g + "_over_moosefs"] = ratios(g, "moosefs", 2)
            entry[g + "_over_local"] = ratios(g, "local", 3)
        out["threads_%d" % threads] = entry
    return out


class PathDataset:
    """Map-style over local paths (the mount or local disk): one open + read per sample."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with open(self.paths[i], "rb") as f:
            return f.read()


def loader_part(args, cluster, fs, mnt, work, cached=None):
    import torch
    import granary.torch as gtorch

    local = os.path.join(work, "local-ds")
    rng = random.Random(1)
    for i in range(args.files):
        d = os.path.join(local, "c%02d" % (i % 16))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
            f.write(rng.randbytes(args.file_bytes))
    t0 = time.monotonic()
    subprocess.run([find_binary("granary"), "--namenode", cluster.address, "--user",
                    cluster.superuser, "put", "-r", "--no-progress", "-j", "64", local, "/ds"],
                   check=True)
    upload_s = time.monotonic() - t0
    local_paths = sorted(os.path.join(dp, f) for dp, _, fs_ in os.walk(local) for f in fs_)
    index = gtorch.FileIndex.build(fs, "/ds")
    assert len(index) == args.files == len(local_paths)
    mount_paths = [mnt.path(p.lstrip("/")) for p in index.paths]
    datasets = {"native": gtorch.FileDataset(fs, index=index),
                "mount": PathDataset(mount_paths),
                "local": PathDataset(local_paths)}
    if cached is not None:
        # The same files through a second mount with the options a read-only training set
        # allows (--loader-variant; long entry and attribute timeouts): after the warm-up
        # epoch the kernel holds every entry and page, so an epoch makes no namenode call.
        datasets["mount_cached"] = PathDataset([cached.path(p.lstrip("/")) for p in index.paths])

    def epoch(ds):
        loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True,
                                             num_workers=args.workers, collate_fn=list,
                                             multiprocessing_context="fork")
        t = time.monotonic()
        n = sum(len(b) for b in loader)
        assert n == args.files, n
        return n / (time.monotonic() - t)

    names = list(datasets)
    for name in names:
        epoch(datasets[name])  # warm-up: page caches, connections, worker start
    rates = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            rates[name].append(epoch(datasets[name]))
    med = {n: statistics.median(v) for n, v in rates.items()}
    return {"files": args.files, "file_bytes": args.file_bytes, "workers": args.workers,
            "upload_s": round(upload_s, 1),
            "files_per_s": {n: round(v) for n, v in med.items()},
            "rounds": {n: [round(x) for x in v] for n, v in rates.items()},
            "native_over_local": round(med["native"] / med["local"], 3),
            "mount_over_native": round(med["mount"] / med["native"], 3),
            **({"mount_cached_over_native": round(med["mount_cached"] / med["native"], 3),
                "mount_cached_options": args.loader_variant} if "mount_cached" in med else {})}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default="fsbench,loader")
    p.add_argument("--threads", default="1,8")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--nsmall", type=int, default=2000)
    p.add_argument("--n64", type=int, default=500)
    p.add_argument("--nmeta", type=int, default=500)
    p.add_argument("--files", type=int, default=100000)
    p.add_argument("--file-bytes", type=int, default=16384)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--no-moosefs", action="store_true")
    p.add_argument("--variant", default="negative_timeout=1")
    p.add_argument("--drop", action="store_true")
    p.add_argument("--loader-variant",
                   default="ro,entry_timeout=3600,attr_timeout=3600,cache_bytes=4294967296",
                   help="-o options of a second mount the loader also reads through "
                        "(\"\" for none)")
    p.add_argument("--moosefs-port-base", type=int, default=19419)
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    parts = set(args.parts.split(","))
    work = tempfile.mkdtemp(prefix="mount-bench-", dir=os.environ.get("BENCH_DIR"))
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "loadavg_before": os.getloadavg()},
              "git": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
              "note": "one machine shared by every process of the run and by other programs"}
    cluster = LocalCluster(datanodes=3, inline_threshold=64 * 1024,
                           directory=os.path.join(work, "cluster"))
    moose_dir, moose_mnt = os.path.join(work, "mfs"), os.path.join(work, "mfs-mnt")
    moose_up = False
    mnt = variant = cached = None
    try:
        cluster.start()
        fs = cluster.connect()
        mnt = Mount(cluster, os.path.join(work, "granary-mnt")).start()
        targets = {"granary": mnt.path("bench"), "local": os.path.join(work, "local")}
        os.makedirs(targets["granary"])
        os.makedirs(targets["local"])
        if args.variant and "fsbench" in parts:
            variant = Mount(cluster, os.path.join(work, "granary-variant-mnt"),
                            options=args.variant.split(",")).start()
            targets["granary_variant"] = variant.path("bench-variant")
            os.makedirs(targets["granary_variant"])
            report["variant_options"] = args.variant
        if "fsbench" in parts:
            if not args.no_moosefs:
                subprocess.run(["bash", os.path.join(PEERS, "moosefs.sh"), "up", moose_dir,
                                moose_mnt, "--port-base", str(args.moosefs_port_base)],
                               check=True, stdout=subprocess.DEVNULL)
                moose_up = True
                targets["moosefs"] = os.path.join(moose_mnt, "bench")
                os.makedirs(targets["moosefs"], exist_ok=True)
            report["fsbench"] = fsbench_part(args, targets, work)
        if "loader" in parts:
            if args.loader_variant:
                cached = Mount(cluster, os.path.join(work, "granary-cached-mnt"),
                               options=args.loader_variant.split(",")).start()
            report["loader"] = loader_part(args, cluster, fs, mnt, work, cached)
        fs.close()
    finally:
        for m in (mnt, variant, cached):
            if m is not None:
                m.stop()
        if moose_up:
            subprocess.run(["bash", os.path.join(PEERS, "moosefs.sh"), "down", moose_dir,
                            moose_mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["loadavg_after"] = os.getloadavg()
    print(json.dumps(report, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
