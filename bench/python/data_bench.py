#!/usr/bin/env python3
"""End-to-end benchmark of granary.data against honest local baselines, on a local cluster
started here. Prints one JSON object per line: the machine, then one per part.

    PYTHONPATH=build/python GRANARY_BIN_DIR=build/bin /usr/bin/python3 bench/python/data_bench.py \
        [--total-bytes 1GiB] [--shards 64] [--record-bytes 4096] [--files 100000] \
        [--file-bytes 16384] [--parts tfrecord,smallfiles] [--rounds 5]

Every configuration of a part runs once untimed (warm-up, and the page cache), then
`--rounds` rounds in which the configurations take turns (interleaved, so that the load of
the machine falls on all of them alike); each figure is the median of its rounds, and the
ratios are of those medians, all measured in the same run. Both local and Granary data are in
the page cache (written just before): the comparison is of the software paths, not of disks.

Parts:
  tfrecord:   --shards TFRecord shards of --record-bytes records, read
                local_c_crc        local files, records checked with Granary's CRC32C in C++
                                   (granary._granary.LocalTFRecordReader: read(2) in 1 MiB
                                   pieces, a bytes per record, as TensorFlow's reader does)
                local_c_nocrc      the same without the check
                local_python_nocrc plain Python (tests/python/plain_tfrecord.py), no check
                granary_read_bytes Granary's large-file read of the same shards
                                   (FileSystem.read_bytes, one shard after the other)
                granary_stream     the same through open(..., buffering=0).readinto(4 MiB)
                tfrecord_records   TFRecordDataset (num_parallel_reads = cycle_length =
                                   --parallel), a bytes per record
                tfrecord_batches   TFRecordDataset(batch_size=256).batches(): one buffer
                                   with offsets per batch (RecordBatch)
              Targets: tfrecord_records >= 0.8x Granary's large-file read (the faster of
              granary_read_bytes and granary_stream in the run) and >= 0.5x local_c_crc.
  smallfiles: one shuffled epoch over --files files of --file-bytes, on a cluster with
              inline small files (threshold 64 KiB), read
                granary_files      FileDataset (a bytes per file)
                granary_batches    FileDataset(batch_size=256).batches()
                local_plain        the same files on local disk, in a shuffled order,
                                   open().read() one after the other
                local_pool         the same with a thread pool (--local-threads)
              Target: granary_files >= 0.5x local_pool. With --inline-off the epoch on a
              cluster without inline files (every file a block) is measured too.
              Also reported: CPU time per file of each process (namenode, datanodes, this
              client process) in the median Granary epoch.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))

import granary  # noqa: E402
import granary._granary as native  # noqa: E402
import granary.data as gd  # noqa: E402
from granary.testing import LocalCluster  # noqa: E402
import plain_tfrecord as plain  # noqa: E402


def parse_size(text):
    text = text.strip().lower()
    for suffix, scale in (("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10),
                          ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * scale)
    return int(text)


def load():
    return [round(x, 2) for x in os.getloadavg()]


def run_rounds(configs, rounds):
    """configs: {name: fn() -> (items, bytes)}. One untimed warm-up of each, then `rounds`
    rounds taking turns (the order rotates every round). Returns {name: summary}."""
    for fn in configs.values():
        fn()
    names = list(configs)
    samples = {n: [] for n in names}
    counts = {}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            start = time.perf_counter()
            items, nbytes = configs[name]()
            samples[name].append(time.perf_counter() - start)
            if counts.setdefault(name, (items, nbytes)) != (items, nbytes):
                raise AssertionError("%s read %r, before %r" % (name, (items, nbytes),
                                                                 counts[name]))
    out = {}
    for name in names:
        items, nbytes = counts[name]
        median = statistics.median(samples[name])
        out[name] = {"items": items, "bytes": nbytes,
                     "seconds": [round(x, 3) for x in samples[name]],
                     "median_seconds": round(median, 4),
                     "items_per_s": round(items / median, 1),
                     "mb_per_s": round(nbytes / median / 1e6, 1)}
    return out


def ratio(result, a, b, key="mb_per_s"):
    return round(result[a][key] / result[b][key], 3)


def consume(iterable):
    n = 0
    nbytes = 0
    for record in iterable:
        n += 1
        nbytes += len(record)
    return n, nbytes


def consume_batches(iterable):
    n = 0
    nbytes = 0
    for batch in iterable:
        n += len(batch)
        nbytes += batch.nbytes
    return n, nbytes


def write_shards(args, local_dir):
    per_shard = max(1, args.total_bytes // args.shards // args.record_bytes)
    record = os.urandom(args.record_bytes)
    paths = []
    # Distinct records (a counter in the first bytes) so that nothing can be deduplicated.
    for s in range(args.shards):
        p = os.path.join(local_dir, "part-%03d.tfrecord" % s)
        with open(p, "wb") as f:
            for i in range(per_shard):
                f.write(native.frame_tfrecord((b"%08d%08d" % (s, i)) + record[16:]))
        paths.append(p)
    return per_shard, paths


def bench_tfrecord(args, work):
    local_dir = os.path.join(work, "local-shards")
    os.makedirs(local_dir)
    per_shard, paths = write_shards(args, local_dir)
    total = per_shard * args.shards * args.record_bytes
    with LocalCluster(datanodes=args.datanodes, replication=args.replication,
                      directory=os.path.join(work, "cluster-tf")) as cluster:
        fs = cluster.connect()
        fs.makedirs("/bench/tf", exist_ok=True)
        start = time.perf_counter()
        for p in paths:
            fs.put(p, "/bench/tf/" + os.path.basename(p))
        upload_s = time.perf_counter() - start
        remote = ["/bench/tf/" + os.path.basename(p) for p in paths]
        buffer = bytearray(4 << 20)

        def local_c(verify):
            def run():
                n = nbytes = 0
                for p in paths:
                    reader = native.LocalTFRecordReader(p, verify)
                    while True:
                        records = reader.next()
                        if not records:
                            break
                        a, b = consume(records)
                        n += a
                        nbytes += b
                return n, nbytes
            return run

        def local_python_nocrc():
            n = nbytes = 0
            for p in paths:
                with open(p, "rb", buffering=1 << 20) as f:
                    a, b = consume(plain.read_records(f, verify=False))
                n += a
                nbytes += b
            return n, nbytes

        def granary_read_bytes():
            nbytes = 0
            for p in remote:
                nbytes += len(fs.read_bytes(p))
            return len(remote), nbytes

        def granary_stream():
            nbytes = 0
            for p in remote:
                with fs.open(p, "rb", buffering=0) as f:
                    while True:
                        got = f.readinto(buffer)
                        if not got:
                            break
                        nbytes += got
            return len(remote), nbytes

        def dataset(batch_size):
            return gd.TFRecordDataset(remote, fs=fs, num_parallel_reads=args.parallel,
                                      cycle_length=args.parallel, batch_size=batch_size)

        configs = {
            "local_c_crc": local_c(True),
            "local_c_nocrc": local_c(False),
            "local_python_nocrc": local_python_nocrc,
            "granary_read_bytes": granary_read_bytes,
            "granary_stream": granary_stream,
            "tfrecord_records": lambda: consume(dataset(None)),
        }
        if hasattr(gd.TFRecordDataset, "batches"):
            configs["tfrecord_batches"] = lambda: consume_batches(dataset(256).batches())
        load_before = load()
        result = run_rounds(configs, args.rounds)
        fs.close()
    for name in ("local_c_crc", "local_c_nocrc", "local_python_nocrc", "tfrecord_records",
                 "tfrecord_batches"):
        if name in result:
            assert result[name]["bytes"] == total, (name, result[name]["bytes"], total)
    out = {"part": "tfrecord", "shards": args.shards, "record_bytes": args.record_bytes,
           "records_per_shard": per_shard, "total_bytes": total,
           "parallel_reads": args.parallel, "datanodes": args.datanodes,
           "replication": args.replication, "rounds": args.rounds,
           "upload_mb_per_s": round(total / upload_s / 1e6, 1),
           "load_average_before": load_before, "load_average_after": load(),
           "results": result}
    # Granary's large-file read: the faster of its two forms in this run.
    large = max(("granary_read_bytes", "granary_stream"), key=lambda n: result[n]["mb_per_s"])
    ratios = {
        "large_file_read": large,
        "records_vs_large_file_read": ratio(result, "tfrecord_records", large),
        "records_vs_read_bytes": ratio(result, "tfrecord_records", "granary_read_bytes"),
        "records_vs_local_c_crc": ratio(result, "tfrecord_records", "local_c_crc"),
        "records_vs_local_c_nocrc": ratio(result, "tfrecord_records", "local_c_nocrc"),
        "read_bytes_vs_local_c_nocrc": ratio(result, "granary_read_bytes", "local_c_nocrc"),
        "local_c_crc_vs_nocrc": ratio(result, "local_c_crc", "local_c_nocrc"),
        "stream_vs_read_bytes": ratio(result, "granary_stream", "granary_read_bytes"),
    }
    if "tfrecord_batches" in result:
        ratios["batches_vs_large_file_read"] = ratio(result, "tfrecord_batches", large)
        ratios["batches_vs_local_c_crc"] = ratio(result, "tfrecord_batches", "local_c_crc")
    out["ratios"] = ratios
    out["targets"] = {"records_vs_large_file_read>=0.8":
                      ratios["records_vs_large_file_read"] >= 0.8,
                      "records_vs_local_c_crc>=0.5": ratios["records_vs_local_c_crc"] >= 0.5}
    shutil.rmtree(local_dir, ignore_errors=True)
    return out


def write_files(fs, base, count, size, threads):
    payload = os.urandom(size)
    errors = []

    def work(first):
        try:
            for i in range(first, count, threads):
                fs.write_bytes("%s/f%07d" % (base, i), (b"%08d" % i) + payload[8:])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def write_local_files(base, count, size):
    payload = os.urandom(size)
    os.makedirs(base)
    paths = []
    for i in range(count):
        p = os.path.join(base, "f%07d" % i)
        with open(p, "wb") as f:
            f.write((b"%08d" % i) + payload[8:])
        paths.append(p)
    return paths


def cpu_seconds(pid):
    """User + system CPU seconds of a process, from /proc (Linux)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_local(path):
    with open(path, "rb") as f:
        return f.read()


def bench_smallfiles(args, work):
    out = {"part": "smallfiles", "files": args.files, "file_bytes": args.file_bytes,
           "parallel_reads": args.file_parallel, "local_threads": args.local_threads,
           "datanodes": args.datanodes, "replication": args.replication,
           "rounds": args.rounds, "load_average_before": load()}
    local_paths = write_local_files(os.path.join(work, "local-small"), args.files,
                                    args.file_bytes)
    pool = concurrent.futures.ThreadPoolExecutor(args.local_threads)
    epoch = [0]

    def local_plain():
        order = list(local_paths)
        random.Random(epoch[0]).shuffle(order)
        epoch[0] += 1
        return consume(read_local(p) for p in order)

    def local_pool():
        order = list(local_paths)
        random.Random(epoch[0]).shuffle(order)
        epoch[0] += 1
        return consume(pool.map(read_local, order, chunksize=64))

    clusters = [("inline", 64 * 1024)] + ([("blocks", 0)] if args.inline_off else [])
    results = {}
    cpu = {}
    for label, threshold in clusters:
        with LocalCluster(datanodes=args.datanodes, replication=args.replication,
                          inline_threshold=threshold,
                          directory=os.path.join(work, "cluster-" + label)) as cluster:
            fs = cluster.connect()
            fs.makedirs("/bench/small", exist_ok=True)
            start = time.perf_counter()
            write_files(fs, "/bench/small", args.files, args.file_bytes, args.write_threads)
            out["write_files_per_s_" + label] = round(args.files / (time.perf_counter() - start),
                                                      1)
            datasets = {size: gd.FileDataset("/bench/small", fs=fs, seed=1, batch_size=size,
                                             num_parallel_reads=args.file_parallel)
                        for size in (None, 256)}
            procs = {"namenode": [cluster.processes[0].pid],
                     "datanodes": [p.pid for p in cluster.processes[1:]],
                     "client": [os.getpid()]}
            per_epoch = []

            def granary_files(batch_size=None):
                ds = datasets[batch_size]
                before = {k: sum(cpu_seconds(p) for p in v) for k, v in procs.items()}
                n = consume_batches(ds.batches()) if batch_size else consume(ds)
                if batch_size is None:
                    per_epoch.append({k: round((sum(cpu_seconds(p) for p in v) - before[k]) *
                                               1e6 / n[0], 1) for k, v in procs.items()})
                return n

            configs = {"granary_files_" + label: granary_files}
            if hasattr(gd.FileDataset, "batches"):
                configs["granary_batches_" + label] = lambda: granary_files(256)
            if label == "inline":
                configs["local_plain"] = local_plain
                configs["local_pool"] = local_pool
            results.update(run_rounds(configs, args.rounds))
            # The epoch whose time is the median's (per_epoch[0] is the warm-up).
            timed = per_epoch[1:]
            seconds = results["granary_files_" + label]["seconds"]
            median_at = sorted(range(len(seconds)), key=lambda i: seconds[i])[len(seconds) // 2]
            cpu[label] = dict(timed[median_at], total=round(sum(timed[median_at].values()), 1))
            fs.close()
    pool.shutdown()
    shutil.rmtree(os.path.join(work, "local-small"), ignore_errors=True)
    for name, r in results.items():
        assert r["items"] == args.files, (name, r["items"])
    out["results"] = results
    out["cpu_us_per_file"] = cpu
    ratios = {"files_vs_local_pool": ratio(results, "granary_files_inline", "local_pool"),
              "files_vs_local_plain": ratio(results, "granary_files_inline", "local_plain"),
              "local_pool_vs_plain": ratio(results, "local_pool", "local_plain")}
    if "granary_batches_inline" in results:
        ratios["batches_vs_local_pool"] = ratio(results, "granary_batches_inline", "local_pool")
    if args.inline_off:
        ratios["inline_vs_blocks"] = ratio(results, "granary_files_inline",
                                           "granary_files_blocks")
    out["ratios"] = ratios
    out["targets"] = {"files_vs_local_pool>=0.5": ratios["files_vs_local_pool"] >= 0.5}
    out["load_average_after"] = load()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="tfrecord,smallfiles")
    p.add_argument("--total-bytes", type=parse_size, default=1 << 30)
    p.add_argument("--shards", type=int, default=64)
    p.add_argument("--record-bytes", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=8, help="TFRecord num_parallel_reads")
    p.add_argument("--files", type=int, default=100000)
    p.add_argument("--file-bytes", type=int, default=16384)
    p.add_argument("--file-parallel", type=int, default=64, help="FileDataset readers")
    p.add_argument("--local-threads", type=int, default=16, help="local_pool's threads")
    p.add_argument("--inline-off", action="store_true",
                   help="also a cluster without inline files")
    p.add_argument("--write-threads", type=int, default=16)
    p.add_argument("--datanodes", type=int, default=3)
    p.add_argument("--replication", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5, help="timed rounds (median)")
    p.add_argument("--work-dir", default=None)
    args = p.parse_args()
    if args.rounds < 1 or args.shards < 1 or args.files < 1:
        p.error("--rounds, --shards and --files must be positive")
    parts = args.parts.split(",")
    unknown = set(parts) - {"tfrecord", "smallfiles"}
    if unknown:
        p.error("unknown parts: %s" % ", ".join(sorted(unknown)))
    work = tempfile.mkdtemp(prefix="granary-bench-", dir=args.work_dir)
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                  "python": platform.python_version(),
                                  "load_average": load()}}), flush=True)
    try:
        if "tfrecord" in parts:
            print(json.dumps(bench_tfrecord(args, work)), flush=True)
        if "smallfiles" in parts:
            print(json.dumps(bench_smallfiles(args, work)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
