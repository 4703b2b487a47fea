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
