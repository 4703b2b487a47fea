"""PyTorch on Granary: datasets for DataLoader and checkpoints (needs PyTorch; granary itself
does not import this module).

    import granary, granary.torch
    fs = granary.connect("127.0.0.1:7000")
    ds = granary.torch.FileDataset(fs, "/images", transform=decode)     # map-style
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=4, shuffle=True)
    # (a batch's files are read together: __getitems__, nn.OpenMany and parallel reads)
    shards = granary.torch.TFRecordShards(fs, "/train/*.tfrecord", transform=parse)
    loader = torch.utils.data.DataLoader(shards, batch_size=64, num_workers=4)

    granary.torch.save(model.state_dict(), fs, "/ckpt/model.pt")        # atomic
    model.load_state_dict(granary.torch.load(fs, "/ckpt/model.pt"))

Workers and ranks. A map-style dataset is split across DataLoader workers by the loader's
sampler; across distributed ranks by torch.utils.data.DistributedSampler, or by `rank` and
`world_size` here (each rank keeps every world_size-th file). The iterable TFRecordShards
splits its shards: rank r of W keeps shards r, r+W, ...; worker w of N of that rank keeps
every N-th of those (get_worker_info). Records are read by the native TFRecord reader.

Fork safety. DataLoader forks its workers after the dataset (and its connection) was made:
granary.FileSystem reconnects in a child on first use (os.register_at_fork), so a dataset
built in the parent works in every worker.

Atomic checkpoints. save() writes a temporary name in the same directory, closes it (a
closed Granary file is durable on every replica) and renames it over the old checkpoint.
Granary's rename replaces the target atomically: a reader (or a restart after a crash) finds
the old checkpoint or the new one, whole, never a torn one. The same pattern works on the
mount (torch.save to "ckpt.tmp", os.replace("ckpt.tmp", "ckpt")).
"""

import io as _io
import os as _os
import posixpath as _posixpath
import uuid as _uuid

import torch as _torch
import torch.utils.data as _data

import granary as _granary
from granary import data as _gdata

__all__ = ["FileIndex", "FileDataset", "TFRecordShards", "save", "load"]


def _rank_and_world(rank, world_size):
    if rank is not None and world_size is not None:
        if not 0 <= int(rank) < int(world_size):
            raise ValueError("rank %r not in [0, %r)" % (rank, world_size))
        return int(rank), int(world_size)
    if rank is not None or world_size is not None:
        raise ValueError("give both rank and world_size, or neither")
    dist = _torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class FileIndex:
    """The files under a Granary directory (or matching a glob), sorted by path: a list a
    sampler can index. Built once (one listing per directory) and picklable, so the
    DataLoader's workers do not list again."""

    def __init__(self, paths):
        self.paths = list(paths)

    @classmethod
    def build(cls, fs, root):
        root = _granary._check_path(root)
        if _granary._glob_magic(root):
            return cls(p for p in fs.glob(root) if fs.isfile(p))
        if fs.isfile(root):
            return cls([root])
        return cls(fs.find(root))

    def shard(self, rank, world_size):
        return FileIndex(self.paths[rank::world_size])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.paths[i]


class FileDataset(_data.Dataset):
    """Map-style: sample i is the bytes of the i-th file under `root` (sorted by path),
    passed through `transform` when given. `rank`/`world_size` keep every world_size-th file
    (default: the torch.distributed group, when initialized; else everything)."""

    def __init__(self, fs, root=None, transform=None, index=None, rank=None, world_size=None):
        if index is None:
            if root is None:
                raise ValueError("give root or index")
            index = FileIndex.build(fs, root)
        rank, world = _rank_and_world(rank, world_size)
        self.fs = fs
        self.index = index.shard(rank, world) if world > 1 else index
        self.transform = transform

    def __len__(self):
        return len(self.index)

    def path(self, i):
        return self.index[i]

    def __getitem__(self, i):
        data = self.fs.read_bytes(self.index[i])
        return self.transform(data) if self.transform is not None else data

    def __getitems__(self, indices):
        """The samples of a batch at once, in the order of `indices` (DataLoader calls this
        with a batch's indices when batch_size is set): one granary.data.FileDataset over
        those files, opened up to 128 per namenode round trip (inline files arrive with the
        open) and read in parallel, instead of a round trip or two per sample."""
        paths = [self.index[i] for i in indices]
        if not paths:
            return []
        ds = _gdata.FileDataset(_gdata._Paths(paths), fs=self.fs, shuffle=False,
                                num_parallel_reads=min(32, len(paths)),
                                prefetch=min(256, len(paths)))
        samples = list(ds)
        if self.transform is not None:
            samples = [self.transform(s) for s in samples]
        return samples


class TFRecordShards(_data.IterableDataset):
    """Iterable: the records of TFRecord shards (a glob, a directory or a list of paths),
    each shard read by one worker of one rank; records go through `transform`. With
    shuffle_shards, the shard order changes per epoch (set_epoch) from `seed`, the same
    on every rank, so the split stays a partition."""

    def __init__(self, fs, files, transform=None, rank=None, world_size=None,
                 shuffle_shards=False, seed=0):
        if isinstance(files, (list, tuple)):
            paths = sorted(_granary._check_path(f) for f in files)
        else:
            paths = FileIndex.build(fs, files).paths
        if not paths:
            raise FileNotFoundError(2, "no TFRecord shard", str(files))
        self.fs = fs
        self.paths = paths
        self.transform = transform
        self.rank, self.world_size = _rank_and_world(rank, world_size)
        self.shuffle_shards = shuffle_shards
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def shards(self):
        """The shards this process (rank, and worker when in one) reads, in order."""
        order = list(self.paths)
        if self.shuffle_shards:
            g = _torch.Generator()
            g.manual_seed(int(self.seed) * 1000003 + self.epoch)
            order = [order[i] for i in _torch.randperm(len(order), generator=g).tolist()]
        mine = order[self.rank::self.world_size]
        info = _data.get_worker_info()
        if info is not None:
            mine = mine[info.id::info.num_workers]
        return mine

    def __iter__(self):
        for shard in self.shards():
            for record in _gdata.TFRecordDataset([shard], fs=self.fs):
                yield self.transform(record) if self.transform is not None else record


def save(obj, fs, path, **kwargs):
    """torch.save(obj) to `path` atomically: a temporary name beside it, closed (durable),
    then renamed over `path`. kwargs go to torch.save."""
    path = _granary._check_path(path)
    tmp = _posixpath.join(_posixpath.dirname(path),
                          ".%s.tmp-%d-%s" % (_posixpath.basename(path), _os.getpid(),
                                             _uuid.uuid4().hex[:8]))
    try:
        with fs.open(tmp, "wb") as f:
            _torch.save(obj, f, **kwargs)
        fs.rename(tmp, path)
    except BaseException:
        try:
            fs.rm(tmp)
        except OSError:
            pass
        raise


def load(fs, path, **kwargs):
    """torch.load from `path` (kwargs such as map_location go to torch.load)."""
    with fs.open(path, "rb") as f:
        # torch.load seeks; the reader is seekable, but a BytesIO avoids a round trip per
        # small read for checkpoints that fit in memory anyway.
        return _torch.load(_io.BytesIO(f.read()), **kwargs)
