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
