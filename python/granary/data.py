"""Input pipelines shaped like tf.data, run in C++ on the connection's thread.

    ds = granary.data.TFRecordDataset("granary://h:p/train/*.tfrecord",
                                      num_parallel_reads=8, cycle_length=8,
                                      shuffle_buffer=10000, seed=1, batch_size=32)
    for batch in ds: ...          # lists of bytes (bytes when batch_size is None)

    for sample in granary.data.FileDataset("granary://h:p/images/", seed=1): ...

    for batch in ds.batches(): ...  # RecordBatch: one buffer, offsets, memoryviews

Reading, interleaving, shuffling and batching happen on the connection's C++ thread
(fibers); Python only takes finished items from a bounded prefetch queue. The records are
never copied on the way: the C++ side parses each piece of a shard as it arrived from the
datanode (checking every record's CRC32C there, once) and passes references into it; the one
copy is into the Python object handed over, made with the GIL released. `batches()` hands
over a batch as one buffer with offsets (RecordBatch) instead of a bytes per record. Each iteration
is one epoch: with a seed, epoch k shuffles with a seed derived from (seed, k), so epochs
differ and runs repeat. Without a shuffle buffer the order is deterministic (file order,
shard after shard, when cycle_length is 1).
"""

import granary

__all__ = ["TFRecordDataset", "TFRecordWriter", "FileDataset", "CorruptRecordError",
           "RecordBatch", "follow_tfrecords"]

# A corrupt record surfaces as OSError(EIO) whose message names the file and the offset.
CorruptRecordError = OSError


def _resolve(files, fs, whole_dir=False):
    """(FileSystem, [paths]) from a granary:// URL (glob allowed), a list of URLs or paths,
    or paths with `fs`."""
    if isinstance(files, (str, bytes)) or hasattr(files, "__fspath__"):
        files = [files]
    files = [f.decode() if isinstance(f, bytes) else str(f) for f in files]
    paths = []
    for f in files:
        if f.startswith("granary://"):
            host, path = granary.split_url(f)
            if fs is None:
                fs = granary.connect(host)
        else:
            path = f
        if fs is None:
            raise ValueError("paths without granary://HOST:PORT need fs=")
        if granary._glob_magic(path):
            matched = fs.glob(path)
            if not matched:
                raise FileNotFoundError(2, "no file matches", f)
            paths.extend(m for m in matched if not fs.isdir(m))
        elif whole_dir and fs.isdir(path):
            paths.extend(fs.find(path))
        else:
            paths.append(path)
    return fs, paths


# Records (or files) the Python side takes from the loader per call (_Dataset._epoch).
_TAKE_RECORDS = 256


class RecordBatch:
    """A batch of records (or files) in one buffer: record i is
    buffer[offsets[i]:offsets[i + 1]]. Indexing and iteration give memoryviews over the
    buffer (no copy; bytes(view) makes one); `buffer` is a bytes, `offsets` a memoryview of
    len(batch) + 1 int64 (numpy.frombuffer(batch.offsets, numpy.int64) works too)."""

    __slots__ = ("buffer", "offsets", "_view")

    def __init__(self, buffer, offsets):
        self.buffer = buffer
        self.offsets = memoryview(offsets).cast("q")
        self._view = memoryview(buffer)

    def __len__(self):
        return len(self.offsets) - 1

    @property
    def nbytes(self):
        return len(self.buffer)

    def __getitem__(self, i):
        n = len(self.offsets) - 1
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("record index out of range")
        return self._view[self.offsets[i]:self.offsets[i + 1]]

    def __iter__(self):
        view = self._view
        offsets = self.offsets.tolist()
        for i in range(len(offsets) - 1):
            yield view[offsets[i]:offsets[i + 1]]

    def tolist(self):
        """The records as a list of bytes (a copy each)."""
        return [bytes(v) for v in self]

    def __repr__(self):
        return "<granary.data.RecordBatch %d records, %d bytes>" % (len(self), self.nbytes)


class _Paths:
    """Paths already resolved (absolute Granary paths of files): a dataset over them asks
    the namenode nothing before its epoch (granary.torch's batched __getitems__)."""

    def __init__(self, paths):
        self.paths = list(paths)


class _Dataset:
    def __init__(self, files, fs, whole_files, cycle_length, num_parallel_reads,
                 shuffle_buffer, shuffle_files, seed, batch_size, drop_remainder, prefetch,
                 skip_corrupt, shard_buffer_bytes):
        if isinstance(files, _Paths):
            if fs is None:
                raise ValueError("resolved paths need fs=")
            self.fs, self.paths = fs, files.paths
        else:
            self.fs, self.paths = _resolve(files, fs, whole_dir=whole_files)
        self._whole = whole_files
        self._options = dict(
            cycle_length=int(cycle_length), num_parallel_reads=int(num_parallel_reads),
            shuffle_buffer=int(shuffle_buffer or 0), shuffle_files=bool(shuffle_files),
            batch_size=int(batch_size or 0), drop_remainder=bool(drop_remainder),
            prefetch=int(prefetch), skip_corrupt=bool(skip_corrupt),
            shard_buffer_bytes=int(shard_buffer_bytes))
        self.seed = seed
        self.epoch = 0
        self.corrupt_skipped = 0

    def _seed_for(self, epoch):
        if self.seed is None:
            import random
            return random.getrandbits(63)
        return (int(self.seed) * 1000003 + epoch) & ((1 << 63) - 1)

    def __iter__(self):
        """One epoch: records (bytes), or batches (lists of bytes) with batch_size."""
        return self._epoch("next")

    def batches(self):
        """One epoch as RecordBatch objects: with batch_size, one per batch (the same batches,
        in the same order, as iteration gives as lists); without, whatever records are ready
        at each hand-off, in order, as one RecordBatch."""
        return self._epoch("next_batches", RecordBatch)

    def _epoch(self, method, wrap=None):
        o = self._options
        loader = self.fs._client.start_loader(
            list(self.paths), self._whole, o["cycle_length"], o["num_parallel_reads"],
            o["shuffle_buffer"], o["shuffle_files"], self._seed_for(self.epoch),
            o["batch_size"], o["drop_remainder"], o["prefetch"], o["skip_corrupt"],
            o["shard_buffer_bytes"])
        self.epoch += 1
        take = getattr(loader, method)
        # About _TAKE_RECORDS records per call however they are batched: the objects of one
        # call are allocated together, and taking 256 batches at once (up to the prefetch
        # queue) made the allocator hand fresh pages back and forth every call (a minor page
        # fault per page of every batch); one batch at a time reuses the memory just freed.
        per_take = max(1, _TAKE_RECORDS // max(1, o["batch_size"]))
        try:
            while True:
                items = take(per_take)
                if not items:
                    break
                if wrap is None:
                    yield from items
                else:
                    for item in items:
                        yield wrap(*item)
        finally:
            self.corrupt_skipped += loader.corrupt_skipped
            loader.close()


class TFRecordDataset(_Dataset):
    """Records of TFRecord shards, as bytes (lists of bytes with batch_size).

    files: a granary:// URL or glob, or a list of URLs (or of paths with fs=).
    cycle_length: shards interleaved round-robin (default num_parallel_reads, as tf.data).
    num_parallel_reads: shards read at once by reader fibers.
    shuffle_buffer, seed: a shuffle buffer of that many records (0: none).
    batch_size, drop_remainder: batching; prefetch: items queued ahead of the consumer.
    skip_corrupt: count and skip corrupt records (corrupt_skipped) instead of raising
    OSError naming the file and offset.
    """

    def __init__(self, files, fs=None, num_parallel_reads=1, cycle_length=None,
                 shuffle_buffer=0, seed=None, batch_size=None, drop_remainder=False,
                 prefetch=64, skip_corrupt=False, shard_buffer_bytes=2 << 20):
        super().__init__(files, fs, False, cycle_length or num_parallel_reads,
                         num_parallel_reads, shuffle_buffer, False, seed, batch_size,
                         drop_remainder, prefetch, skip_corrupt, shard_buffer_bytes)


class FileDataset(_Dataset):
    """One sample per file: the bytes of every file of a directory (or glob, or list), in
    a shuffled order per epoch (shuffle=False: the listing's order)."""

    def __init__(self, files, fs=None, shuffle=True, seed=None, num_parallel_reads=32,
                 batch_size=None, drop_remainder=False, prefetch=256):
        super().__init__(files, fs, True, 1, num_parallel_reads, 0, shuffle, seed,
                         batch_size, drop_remainder, prefetch, False, 1 << 20)


def follow_tfrecords(path, fs=None, poll_seconds=0.2, idle_timeout=None):
    """Yields the records of a TFRecord file while it is written (as TensorBoard reads
    event files): each record once, in order, as soon as its writer flushed it whole; a record
    cut by the end of what is flushed is waited for. Ends when the file is closed and read to
    its end, or after `idle_timeout` seconds without a new record (None: never)."""
    import time
    fs, paths = _resolve([path], fs)
    follower = fs._client.follow_tfrecords(paths[0])
    try:
        idle_since = time.monotonic()
        while True:
            record = follower.next()
            if record is not None:
                idle_since = time.monotonic()
                yield record
                continue
            if not follower.growing:
                # Closed: what the refresh that saw it closed made visible is all there is.
                return
            if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                return
            time.sleep(poll_seconds)
            follower.refresh()
    finally:
        follower.close()


class TFRecordWriter:
    """Writes a TFRecord file to Granary: write(bytes), flush(), close(); a context manager.
    The file is visible and durable after close. Like FileSystem.open, opening sends nothing:
    the create's errors (a missing parent, ...) surface at the first write that reaches the
    namenode, or at close."""

    def __init__(self, path, fs=None):
        fs, paths = _resolve([path], fs)
        self.fs = fs
        self.path = paths[0]
        self._writer = fs._client.open_tfrecord_writer(self.path)

    def write(self, record):
        self._writer.write(record)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    @property
    def records(self):
        return self._writer.records

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
