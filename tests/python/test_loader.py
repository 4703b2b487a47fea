# granary.data.TFRecordDataset and FileDataset: order, interleave, shuffle, batching,
# prefetch, early exit, errors; small-file epochs.
import pytest

import granary.data as gd


def _interleave(shards, cycle_length):
    """tf.data's interleave with block_length 1: a finished shard's slot goes to the next."""
    queues = [list(s) for s in shards]
    active, nxt, out, slot = [], 0, [], 0
    while len(active) < cycle_length and nxt < len(queues):
        active.append(nxt)
        nxt += 1
    while active:
        slot %= len(active)
        q = queues[active[slot]]
        if q:
            out.append(q.pop(0))
            slot += 1
        elif nxt < len(queues):
            active[slot] = nxt
            nxt += 1
        else:
            active.pop(slot)
    return out


_M64 = (1 << 64) - 1


def _mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


class _Random:
    """granary::Random (core/common/random.cc) in Python: xoshiro256** seeded by splitmix64,
    Derive by FNV-1a of the stream's name, Below by Lemire's method. An independent model,
    so that the loader's order is checked against its documented definition."""

    def __init__(self, seed):
        self.seed = seed
        self.s = []
        x = seed
        for _ in range(4):
            x = _mix64(x)
            self.s.append(x)

    def derive(self, name):
        h = 0xCBF29CE484222325
        for c in name:
            h = ((h ^ c) * 0x100000001B3) & _M64
        return _Random(_mix64(self.seed ^ _mix64((h + 0x632BE59BD9B4E019) & _M64)))

    def next(self):
        s = self.s

        def rotl(x, k):
            return ((x << k) | (x >> (64 - k))) & _M64
        result = (rotl((s[1] * 5) & _M64, 7) * 9) & _M64
        t = (s[1] << 17) & _M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, bound):
        product = self.next() * bound
        if (product & _M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (product & _M64) < threshold:
                product = self.next() * bound
        return product >> 64


def _file_order(paths, seed, epoch=0):
    """FileDataset's documented order: the listing, Fisher-Yates shuffled by
    Random(epoch seed).Derive("files"), one sample per file in that order."""
    rng = _Random((seed * 1000003 + epoch) & ((1 << 63) - 1)).derive(b"files")
    out = list(paths)
    for i in range(len(out), 1, -1):
        j = rng.below(i)
        out[i - 1], out[j] = out[j], out[i - 1]
    return out


@pytest.fixture(scope="module")
def shards(fs):
    base = "/loader-shards"
    fs.makedirs(base, exist_ok=True)
    sizes = [300, 0, 1200, 50, 700, 1, 900, 400]  # uneven, one empty
    content = []
    for s, n in enumerate(sizes):
        records = [b"%d:%d:" % (s, i) + b"z" * (i % 3000) for i in range(n)]
        content.append(records)
        with gd.TFRecordWriter("%s/part-%02d.tfrecord" % (base, s), fs=fs) as w:
            for r in records:
                w.write(r)
    return base, content


def test_file_order_without_shuffle(fs, shards):
    base, content = shards
    expected = [r for s in content for r in s]
    for reads in (1, 4, 16):
        ds = gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=reads,
                                cycle_length=1, shard_buffer_bytes=64 * 1024)
        assert list(ds) == expected


@pytest.mark.parametrize("cycle,reads", [(2, 1), (3, 3), (4, 8), (16, 2)])
def test_interleave_order(fs, shards, cycle, reads):
    base, content = shards
    ds = gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=reads,
                            cycle_length=cycle, prefetch=3, shard_buffer_bytes=32 * 1024)
    assert list(ds) == _interleave(content, cycle)


def test_shuffle_is_seeded_permutation(fs, shards):
    base, content = shards
    expected = sorted(r for s in content for r in s)
    a = gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=4,
                           shuffle_buffer=500, seed=11)
    first = list(a)
    second = list(a)  # the next epoch: another order
    assert sorted(first) == expected and sorted(second) == expected
    assert first != second
    again = gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=4,
                               shuffle_buffer=500, seed=11)
    assert list(again) == first  # same seed, same epoch: same order
    unshuffled = _interleave(content, 4)
    assert first != unshuffled


def test_batching(fs, shards):
    base, content = shards
    flat = [r for s in content for r in s]
    batches = list(gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, batch_size=64))
    assert all(isinstance(b, list) for b in batches)
    assert [len(b) for b in batches[:-1]] == [64] * (len(batches) - 1)
    assert [r for b in batches for r in b] == flat
    dropped = list(gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, batch_size=64,
                                      drop_remainder=True))
    assert len(dropped) == len(flat) // 64
    assert all(len(b) == 64 for b in dropped)


def test_early_exit_and_reuse(fs, shards):
    base, content = shards
    ds = gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=8,
                            cycle_length=8, prefetch=2)
    for _ in range(3):
        it = iter(ds)
        assert next(it) is not None
        it.close()  # the pipeline's fibers stop; the connection stays usable
    assert fs.exists(base)
    assert len(list(ds)) == sum(len(s) for s in content)


def test_errors(fs, shards):
    base, _ = shards
    with pytest.raises(FileNotFoundError):
        gd.TFRecordDataset(base + "/*.nothing", fs=fs)
    with pytest.raises(FileNotFoundError):
        list(gd.TFRecordDataset([base + "/part-00.tfrecord", base + "/missing"], fs=fs))
    with pytest.raises(ValueError):
        list(gd.TFRecordDataset(base + "/*.tfrecord", fs=fs, num_parallel_reads=0))


def test_file_dataset_shuffled_epochs(cluster, fs):
    base = "/small-files"
    fs.makedirs(base, exist_ok=True)
    samples = [b"sample-%04d" % i * (1 + i % 7) for i in range(300)]
    for i, s in enumerate(samples):
        fs.write_bytes("%s/f%04d" % (base, i), s)
    url = "granary://%s%s" % (cluster.address, base)
    ds = gd.FileDataset(url, seed=5)
    epoch1, epoch2 = list(ds), list(ds)
    assert sorted(epoch1) == sorted(samples) and sorted(epoch2) == sorted(samples)
    assert epoch1 != epoch2 and epoch1 != samples
    assert list(gd.FileDataset(url, seed=5)) == epoch1
    assert list(gd.FileDataset(base, fs=fs, shuffle=False)) == samples
    batches = list(gd.FileDataset(base, fs=fs, seed=1, batch_size=32))
    assert len(batches) == 10 and sum(len(b) for b in batches) == 300


def test_file_dataset_order_is_the_seeded_shuffle_of_the_listing(fs, base):
    # Inline files, files in blocks (past the 64 KiB threshold) and empty ones, over more
    # files than one nn.OpenMany batch (kLoaderOpenBatchFiles, 128) holds: the order is the
    # listing shuffled by the seed (as before opens were batched), whatever the parallelism.
    content = {}
    for i in range(300):
        size = 70 * 1024 if i % 50 == 0 else (0 if i % 37 == 0 else 1 + (i * 97) % 9000)
        data = (b"%04d" % i * (size // 4 + 1))[:size]
        path = "%s/f%04d" % (base, i)
        fs.write_bytes(path, data)
        content[path] = data
    assert not fs.stat(base + "/f0000")["inline"] and fs.stat(base + "/f0001")["inline"]
    listing = fs.find(base)
    assert sorted(listing) == sorted(content)
    for parallel in (1, 64):
        ds = gd.FileDataset(base, fs=fs, seed=7, num_parallel_reads=parallel)
        for epoch in range(2):
            expected = [content[p] for p in _file_order(listing, 7, epoch)]
            assert list(ds) == expected, (parallel, epoch)
    assert list(gd.FileDataset(base, fs=fs, shuffle=False)) == [content[p] for p in listing]
    # An epoch left early stops its fibers; the next one is whole.
    ds = gd.FileDataset(base, fs=fs, seed=7, prefetch=2)
    it = iter(ds)
    assert next(it) == content[_file_order(listing, 7, 0)[0]]
    it.close()
    assert list(ds) == [content[p] for p in _file_order(listing, 7, 1)]


def test_file_dataset_fails_at_a_missing_file_in_order(fs, base):
    for i in range(5):
        fs.write_bytes("%s/f%d" % (base, i), b"x%d" % i)
    paths = ["%s/f%d" % (base, i) for i in range(5)]
    ds = gd.FileDataset(paths[:2] + [base + "/missing"] + paths[2:], fs=fs, shuffle=False,
                        prefetch=1)
    it = iter(ds)
    assert next(it) == b"x0" and next(it) == b"x1"
    with pytest.raises(FileNotFoundError):
        next(it)


def test_batches_are_the_same_records_in_one_buffer(fs, shards):
    # RecordBatch (batches()): the batches iteration gives, in order, as one buffer with
    # offsets; memoryviews over it; with and without shuffling, remainder kept or dropped.
    base, content = shards
    url = base + "/*.tfrecord"
    for kwargs in ({"num_parallel_reads": 4, "cycle_length": 3},
                   {"num_parallel_reads": 2, "shuffle_buffer": 300, "seed": 3},
                   {"drop_remainder": True}):
        lists = list(gd.TFRecordDataset(url, fs=fs, batch_size=50, **kwargs))
        batches = list(gd.TFRecordDataset(url, fs=fs, batch_size=50, **kwargs).batches())
        assert [b.tolist() for b in batches] == lists
        assert all(isinstance(b, gd.RecordBatch) for b in batches)
        b = batches[0]
        assert len(b) == 50 and bytes(b[0]) == lists[0][0] and bytes(b[-1]) == lists[0][-1]
        assert b.nbytes == sum(len(r) for r in lists[0])
        assert [bytes(v) for v in b] == lists[0]
        with pytest.raises(IndexError):
            b[50]
    # Unbatched: the records in order, in groups of whatever was ready.
    flat = [r for s in content for r in s]
    groups = list(gd.TFRecordDataset(url, fs=fs, cycle_length=1).batches())
    assert [r for g in groups for r in g.tolist()] == flat


def test_file_dataset_batches(fs, base):
    samples = [b"f%03d" % i * (i % 5) for i in range(140)]
    for i, s in enumerate(samples):
        fs.write_bytes("%s/b%03d" % (base, i), s)
    ds = gd.FileDataset(base, fs=fs, shuffle=False, batch_size=64)
    batches = list(ds.batches())
    assert [len(b) for b in batches] == [64, 64, 12]
    assert [r for b in batches for r in b.tolist()] == samples
    assert [b.tolist() for b in gd.FileDataset(base, fs=fs, seed=9, batch_size=64).batches()] \
        == list(gd.FileDataset(base, fs=fs, seed=9, batch_size=64))
