"""granary.torch on a real local cluster: DataLoader workers (forked after the connection
was made) read every sample exactly once per epoch with the right bytes, through the native
datasets and through torchvision's DatasetFolder on the mount; state_dicts round-trip through
fs.open and the mount, both ways; fsspec survives fork."""

import multiprocessing
import os

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import fsspec  # noqa: E402

import granary  # noqa: E402
import granary.torch as gtorch  # noqa: E402
from granary.data import TFRecordWriter  # noqa: E402
from mount_util import Mount, fuse_available  # noqa: E402


# `cluster` and `fs` come from conftest.py.


def sample_bytes(i):
    # Sizes from empty to past the inline threshold; each content unique.
    return (b"sample-%05d:" % i) + os.urandom((i * 7919) % (96 * 1024))


@pytest.fixture(scope="module")
def files(fs):
    expected = {}
    for i in range(60):
        path = "/files/c%d/s%03d.bin" % (i % 3, i)
        data = sample_bytes(i)
        fs.write_bytes(path, data)
        expected[path] = data
    return expected


def epoch(loader):
    return [bytes(x) for x in loader]


def test_file_dataset_every_sample_once_per_epoch_in_workers(fs, files):
    ds = gtorch.FileDataset(fs, "/files")
    assert len(ds) == len(files)
    assert [ds.path(i) for i in range(len(ds))] == sorted(files)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, shuffle=True,
                                         multiprocessing_context="fork")
    for _ in range(2):
        got = epoch(loader)
        assert sorted(got) == sorted(files.values())


def test_file_dataset_reads_a_batch_together(fs, files):
    # DataLoader with batch_size hands __getitems__ a batch's indices: the samples come in
    # that order, the same bytes as __getitem__, through nn.OpenMany rather than one
    # nn.Open per sample.
    ds = gtorch.FileDataset(fs, "/files")
    indices = [5, 0, 59, 5, 17, 33]
    before = dict(fs.namenode_calls())
    got = ds.__getitems__(indices)
    calls = fs.namenode_calls()
    assert got == [files[ds.path(i)] for i in indices]
    assert calls.get("nn.Open", 0) == before.get("nn.Open", 0)
    assert calls.get("nn.OpenMany", 0) == before.get("nn.OpenMany", 0) + 1
    assert gtorch.FileDataset(fs, "/files", transform=len).__getitems__([1, 2]) == [
        len(files[ds.path(1)]), len(files[ds.path(2)])]
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True,
                                         generator=torch.Generator().manual_seed(3))
    batches = list(loader)
    assert [len(b) for b in batches] == [16, 16, 16, 12]
    assert sorted(bytes(x) for b in batches for x in b) == sorted(files.values())


def test_file_dataset_transform_and_rank_split(fs, files):
    halves = [gtorch.FileDataset(fs, "/files", transform=len, rank=r, world_size=2)
              for r in range(2)]
    assert len(halves[0]) + len(halves[1]) == len(files)
    assert not set(halves[0].index.paths) & set(halves[1].index.paths)
    sizes = sorted(h[i] for h in halves for i in range(len(h)))
    assert sizes == sorted(len(v) for v in files.values())


def test_tfrecord_shards_split_across_workers_and_ranks(fs):
    expected = set()
    fs.makedirs("/shards", exist_ok=True)
    for s in range(5):
        with TFRecordWriter("/shards/part-%d.tfrecord" % s, fs=fs) as w:
            for r in range(23):
                record = b"shard%d-record%d-" % (s, r) + os.urandom(r * 100)
                w.write(record)
                expected.add(record)
    ds = gtorch.TFRecordShards(fs, "/shards/*.tfrecord")
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2,
                                         multiprocessing_context="fork")
    for _ in range(2):
        got = epoch(loader)
        assert len(got) == len(expected) and set(got) == expected
    by_rank = []
    for rank in range(2):
        shards = gtorch.TFRecordShards(fs, "/shards", rank=rank, world_size=2,
                                       shuffle_shards=True, seed=7)
        shards.set_epoch(3)
        by_rank.append(list(shards))
    assert len(by_rank[0]) + len(by_rank[1]) == len(expected)
    assert set(by_rank[0]) | set(by_rank[1]) == expected


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_state_dict_round_trip_through_fs_open_and_atomic_save(fs):
    state = small_model().state_dict()
    fs.makedirs("/ckpt", exist_ok=True)
    with fs.open("/ckpt/raw.pt", "wb") as f:
        torch.save(state, f)
    with fs.open("/ckpt/raw.pt", "rb") as f:
        assert_same_state(torch.load(f), state)
    gtorch.save(state, fs, "/ckpt/model.pt")
    newer = {k: v + 1 for k, v in state.items()}
    gtorch.save(newer, fs, "/ckpt/model.pt")  # replaces the old one
    assert_same_state(gtorch.load(fs, "/ckpt/model.pt"), newer)
    assert [p for p in fs.ls("/ckpt") if ".tmp-" in p] == []


def test_fsspec_and_native_connections_survive_fork(cluster, fs, files):
    path = sorted(files)[5]
    ffs = fsspec.filesystem("granary", host=cluster.address)
    assert ffs.cat_file(path) == files[path]  # connected before the fork

    def child(queue):
        try:
            queue.put((ffs.cat_file(path), fs.read_bytes(path)))
        except Exception as e:  # noqa: BLE001: reported to the parent
            queue.put(repr(e))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=child, args=(queue,))
    p.start()
    result = queue.get(timeout=60)
    p.join(timeout=60)
    assert result == (files[path], files[path])
    assert fs.read_bytes(path) == files[path]  # the parent's connection is untouched


@pytest.mark.skipif(not fuse_available(), reason="no /dev/fuse or fusermount3")
def test_through_the_mount(cluster, fs, files, tmp_path):
    with Mount(cluster, str(tmp_path / "mnt")) as mnt:
        folder = torchvision.datasets.DatasetFolder(
            mnt.path("files"), loader=lambda p: open(p, "rb").read(), extensions=(".bin",))
        assert len(folder) == len(files)
        loader = torch.utils.data.DataLoader(folder, batch_size=None, num_workers=2,
                                             shuffle=True, multiprocessing_context="fork")
        for _ in range(2):
            got = [(bytes(x), int(y)) for x, y in loader]
            assert sorted(x for x, _ in got) == sorted(files.values())
            classes = {x: y for x, y in got}
            for p, data in files.items():
                assert folder.classes[classes[data]] == p.split("/")[2]
        # state_dict: saved on the mount, loaded natively; and the other way.
        state = small_model().state_dict()
        os.makedirs(mnt.path("ckpt2"))
        tmp, final = mnt.path("ckpt2", "m.pt.tmp"), mnt.path("ckpt2", "m.pt")
        torch.save(state, tmp)
        os.replace(tmp, final)
        assert_same_state(gtorch.load(fs, "/ckpt2/m.pt"), state)
        gtorch.save(state, fs, "/ckpt2/n.pt")
        assert_same_state(torch.load(mnt.path("ckpt2", "n.pt")), state)
