# Files that grow (issue 16) from Python: fs.open(path, "ab") and "a" append to inline files
# and to files in blocks, flush() makes appended bytes visible to new readers and sync()
# makes them durable, a reader refreshes to follow a growing file, fsspec opens "ab", and a
# second writer is refused with the holder named.
import errno
import os
import time

import fsspec
import pytest

from granary.testing import LocalCluster


def test_append_binary_grows_inline_then_into_blocks(fs, base):
    path = base + "/log"
    data = os.urandom(200 * 1024)
    fs.write_bytes(path, data[:1000])
    at = 1000
    # Inline appends stay byte-exact; the last one crosses the 64 KiB threshold.
    for piece in (1, 999, 30000, 200 * 1024 - 32000):
        with fs.open(path, "ab") as f:
            f.write(data[at:at + piece])
        at += piece
        assert fs.read_bytes(path) == data[:at]
    assert at == len(data)
    assert fs.stat(path)["size"] == len(data)


def test_append_text_mode(fs, base):
    path = base + "/lines.txt"
    with fs.open(path, "w") as f:
        f.write("one\n")
    with fs.open(path, "a") as f:
        f.write("two\n")
        f.write("three\n")
    with fs.open(path, "r") as f:
        assert f.read() == "one\ntwo\nthree\n"


def test_append_needs_an_existing_file_and_one_writer(fs, base):
    with pytest.raises(FileNotFoundError):
        fs.open(base + "/missing", "ab")
    with pytest.raises(IsADirectoryError):
        fs.open(base, "ab")
    path = base + "/one"
    fs.write_bytes(path, b"x")
    first = fs.open(path, "ab")
    with pytest.raises(OSError) as e:
        fs.open(path, "ab")
    assert e.value.errno == errno.EBUSY
    assert "being written by" in str(e.value)
    first.write(b"y")
    first.close()
    assert fs.read_bytes(path) == b"xy"


def test_flush_makes_appended_bytes_visible_and_a_reader_refreshes(fs, base):
    path = base + "/events"
    fs.write_bytes(path, b"")
    records = [os.urandom(n) for n in (10, 1000, 70000, 3, 65536, 200000, 5)]
    with fs.open(path, "ab") as writer, fs.open(path, "rb") as reader:
        assert reader.growing
        seen = b""
        expected = b""
        for i, record in enumerate(records):
            writer.write(record)
            expected += record
            if i % 2:
                writer.sync()
            else:
                writer.flush()
            # A new reader sees every flushed byte ...
            assert fs.read_bytes(path) == expected
            # ... and one opened earlier after a refresh.
            assert reader.refresh() == len(expected)
            seen += reader.read()
            assert seen == expected
    with fs.open(path, "rb") as after:
        assert not after.growing
        assert after.read() == expected


def test_sync_of_a_new_file_in_wb(fs, base):
    path = base + "/w"
    with fs.open(path, "wb") as f:
        f.write(b"abc")
        f.sync()
        assert fs.read_bytes(path) == b"abc"
        f.write(b"def")
    assert fs.read_bytes(path) == b"abcdef"


def test_fsspec_opens_ab(cluster, fs, base):
    path = base + "/spec"
    fs.write_bytes(path, b"head,")
    url = "granary://%s%s" % (cluster.address, path)
    with fsspec.open(url, "ab") as f:
        f.write(b"tail")
    assert fs.read_bytes(path) == b"head,tail"


def test_recover_lease_of_a_closed_file_is_true(fs, base):
    path = base + "/closed"
    fs.write_bytes(path, b"z")
    assert fs.recover_lease(path) is True
    with pytest.raises(FileNotFoundError):
        fs.recover_lease(base + "/nothing")


def test_a_writer_idle_past_the_hard_limit_keeps_its_file(tmp_path):
    # The client renews its writers' leases in the background (every 10 s): a file left open
    # between writes for longer than the namenode's hard limit (12 s here; 60 s by default),
    # as a log written once per training epoch, is not taken by lease recovery.
    cluster = LocalCluster(datanodes=3, directory=str(tmp_path / "cluster"),
                           namenode_args=["--lease-hard-limit-ms", "12000"])
    cluster.start()
    try:
        fs = cluster.connect()
        try:
            first, second = os.urandom(100 * 1024), os.urandom(30 * 1024)
            with fs.open("/epochs.log", "wb") as f:
                f.write(first)
                f.flush()
                time.sleep(25)  # past the hard limit twice over, with nothing written
                f.write(second)
            assert fs.read_bytes("/epochs.log") == first + second
        finally:
            fs.close()
    finally:
        cluster.stop()
