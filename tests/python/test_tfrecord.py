# TFRecord byte compatibility: Granary's C++ writer and reader against a plain Python
# implementation written from the format's documentation (CRC32C from crcmod).
import io
import os
import random
import struct

import pytest

import granary
import granary.data as gd
import plain_tfrecord as plain


def _records(n, seed, max_bytes=5000):
    rng = random.Random(seed)
    return [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, max_bytes)))
            if i % 50 else b"" for i in range(n)]


def test_granary_writes_plain_reads(fs, base):
    records = _records(300, 1) + [os.urandom(200000)]  # one record spans 64 KiB chunks
    with gd.TFRecordWriter(base + "/g.tfrecord", fs=fs) as w:
        for r in records:
            w.write(r)
        assert w.records == len(records)
    data = fs.read_bytes(base + "/g.tfrecord")
    assert data == b"".join(plain.frame(r) for r in records)  # byte for byte
    assert list(plain.read_records(io.BytesIO(data))) == records
    with fs.open(base + "/g.tfrecord", "rb") as f:
        assert list(plain.read_records(f)) == records


def test_plain_writes_granary_reads(fs, base, tmp_path):
    shards = []
    for s in range(3):
        records = _records(400, 10 + s)
        shards.append(records)
        local = tmp_path / ("s%d.tfrecord" % s)
        with open(local, "wb") as f:
            plain.write_records(f, records)
        fs.put(str(local), "%s/s%d.tfrecord" % (base, s))
    # A shard written through open() too, larger than a block read.
    big = [os.urandom(60000) for _ in range(100)]
    with fs.open(base + "/s3.tfrecord", "wb") as f:
        plain.write_records(f, big)
    shards.append(big)
    got = list(gd.TFRecordDataset(base + "/s*.tfrecord", fs=fs))
    assert got == [r for shard in shards for r in shard]


def _corrupt_file(fs, path, records, index, where):
    framed = [plain.frame(r) for r in records]
    offset = sum(len(f) for f in framed[:index])
    data = bytearray(b"".join(framed))
    if where == "data":
        data[offset + 12 + 3] ^= 0x40
    elif where == "length":
        data[offset + 2] ^= 0x01
    elif where == "truncate":
        data = data[:offset + 12 + 5]
    fs.write_bytes(path, bytes(data))
    return offset


@pytest.mark.parametrize("where", ["data", "length", "truncate"])
def test_corrupt_record_names_file_and_offset(fs, base, where):
    records = [b"record-%03d" % i * 20 for i in range(100)]
    path = base + "/bad-%s.tfrecord" % where
    offset = _corrupt_file(fs, path, records, 37, where)
    ds = gd.TFRecordDataset(path, fs=fs)
    got = []
    with pytest.raises(OSError) as e:
        for r in ds:
            got.append(r)
    assert path in str(e.value) and ("offset %d" % offset) in str(e.value)
    assert got == records[:37]


def test_skip_corrupt_counts(fs, base):
    records = [b"r%04d" % i * 30 for i in range(200)]
    path = base + "/skip.tfrecord"
    _corrupt_file(fs, path, records, 10, "data")
    good = base + "/good.tfrecord"
    with gd.TFRecordWriter(good, fs=fs) as w:
        for r in records:
            w.write(r)
    ds = gd.TFRecordDataset([path, good], fs=fs, skip_corrupt=True)
    got = list(ds)
    assert got == records[:10] + records[11:] + records
    assert ds.corrupt_skipped == 1
    # A bad length loses the rest of that file, counted once.
    _corrupt_file(fs, path, records, 150, "length")
    ds = gd.TFRecordDataset([path, good], fs=fs, skip_corrupt=True)
    assert list(ds) == records[:150] + records
    assert ds.corrupt_skipped == 1


def test_frame_function_matches_plain():
    for r in (b"", b"x", os.urandom(1000)):
        assert granary._granary.frame_tfrecord(r) == plain.frame(r)
    # TensorFlow's documented masked CRC of the empty string's length field.
    assert struct.unpack("<Q", plain.frame(b"")[:8])[0] == 0


def test_truncated_tail_and_url_list(cluster, fs, base):
    records = [b"tail-%d" % i for i in range(10)]
    data = b"".join(plain.frame(r) for r in records)
    fs.write_bytes(base + "/tail.tfrecord", data + b"\x05\x00\x00")  # a partial header
    urls = ["granary://%s%s/tail.tfrecord" % (cluster.address, base)]
    with pytest.raises(OSError) as e:
        list(gd.TFRecordDataset(urls))
    assert "truncated record header" in str(e.value) and "offset %d" % len(data) in str(e.value)
    ds = gd.TFRecordDataset(urls, skip_corrupt=True)
    assert list(ds) == records and ds.corrupt_skipped == 1


def _piece_crossing_records(seed):
    """~11 MiB of records whose boundaries fall everywhere relative to the readers' pieces
    (1 MiB for the local reader, up to 4 MiB for Granary's): sizes up to 300 KB, one record
    larger than any piece, empty ones; and the index of the record that spans offset 4 MiB."""
    rng = random.Random(seed)
    records = []
    while sum(len(r) + 16 for r in records) < 11 << 20:
        i = len(records)
        size = 0 if i % 17 == 0 else rng.randint(1, 300000)
        if i == 20:
            size = 5 << 20
        records.append(rng.randbytes(size))
    at = 0
    for i, r in enumerate(records):
        if at < 4 << 20 < at + len(r) + 16:
            return records, i
        at += len(r) + 16
    raise AssertionError("no record spans 4 MiB")


def test_records_across_pieces_local_and_granary(fs, base, tmp_path):
    records, spanning = _piece_crossing_records(7)
    framed = [granary._granary.frame_tfrecord(r) for r in records]
    data = b"".join(framed)
    local = tmp_path / "pieces.tfrecord"
    local.write_bytes(data)

    def local_records(path, verify=True):
        reader = granary._granary.LocalTFRecordReader(str(path), verify)
        out = []
        while True:
            got = reader.next()
            if not got:
                return out
            out.extend(got)

    assert local_records(local) == records
    assert local_records(local, verify=False) == records
    fs.put(str(local), base + "/pieces.tfrecord")
    assert list(gd.TFRecordDataset(base + "/pieces.tfrecord", fs=fs)) == records
    batches = gd.TFRecordDataset(base + "/pieces.tfrecord", fs=fs, batch_size=7).batches()
    assert [r for b in batches for r in b.tolist()] == records
    # A corrupt record that spans a piece boundary (offset 4 MiB) is named by its offset,
    # after every record before it; skipped, it is the only one missing.
    offset = sum(len(f) for f in framed[:spanning])
    bad = bytearray(data)
    bad[offset + 12 + len(records[spanning]) - 1] ^= 0x01
    local.write_bytes(bytes(bad))
    with pytest.raises(OSError) as e:
        local_records(local)
    assert "data checksum mismatch" in str(e.value) and "offset %d" % offset in str(e.value)
    assert local_records(local, verify=False) == records[:spanning] + [
        bytes(bad[offset + 12:offset + 12 + len(records[spanning])])] + records[spanning + 1:]
    fs.put(str(local), base + "/bad-pieces.tfrecord")
    got = []
    with pytest.raises(OSError) as e:
        for r in gd.TFRecordDataset(base + "/bad-pieces.tfrecord", fs=fs):
            got.append(r)
    assert "offset %d" % offset in str(e.value) and got == records[:spanning]
    ds = gd.TFRecordDataset(base + "/bad-pieces.tfrecord", fs=fs, skip_corrupt=True)
    assert list(ds) == records[:spanning] + records[spanning + 1:] and ds.corrupt_skipped == 1
    # A file cut inside a record larger than any piece.
    local.write_bytes(data[:sum(len(f) for f in framed[:21]) - 100])
    with pytest.raises(OSError) as e:
        local_records(local)
    assert "truncated record" in str(e.value)


def test_corrupt_record_in_batches_and_shuffled(fs, base):
    # The data checksum is checked where the records are handed over: the batches before
    # the one holding the corrupt record come out whole, then the error, as before.
    records = [b"record-%03d" % i * 20 for i in range(100)]
    path = base + "/bad-batched.tfrecord"
    offset = _corrupt_file(fs, path, records, 37, "data")
    for as_batches in (False, True):
        ds = gd.TFRecordDataset(path, fs=fs, batch_size=10)
        got = []
        with pytest.raises(OSError) as e:
            for b in (ds.batches() if as_batches else ds):
                got.append(b.tolist() if as_batches else b)
        assert path in str(e.value) and "offset %d" % offset in str(e.value)
        assert got == [records[i:i + 10] for i in range(0, 30, 10)]
    got = []
    with pytest.raises(OSError) as e:
        for r in gd.TFRecordDataset(path, fs=fs, shuffle_buffer=20, seed=1):
            got.append(r)
    assert "offset %d" % offset in str(e.value)
    assert set(got) <= set(records) and len(got) < 100
