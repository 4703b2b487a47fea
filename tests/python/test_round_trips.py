# The small-file promise from Python: writing a 4 KiB file costs one namenode call, through
# FileSystem.open(path, "wb") and through DataFrame.to_csv("granary://..."), and what io.open
# must refuse is still refused (by that one call's create, at close).
#
# The calls are counted by the connection itself (FileSystem.namenode_calls: requests sent
# per method, retries included), not by the namenode: the namenode also serves the
# datanodes' heartbeats and the other connections of the session, and its counters would
# have to be read through a call of their own.
import os

import fsspec
import pandas as pd
import pytest

import granary


def _calls_during(fs, action):
    """The namenode calls `fs` (a granary.FileSystem) sends while `action` runs."""
    before = fs.namenode_calls()
    action()
    after = fs.namenode_calls()
    return {method: count - before.get(method, 0) for method, count in after.items()
            if count != before.get(method, 0)}


def _frame_of_4_kib():
    # A 64-byte header and 63 rows of 64 bytes: 4096 bytes of CSV.
    return pd.DataFrame({"x" * 63: ["%063d" % i for i in range(63)]})


def test_open_wb_of_4_kib_costs_one_namenode_call(fs, base):
    fs.defaults()  # the cluster's defaults: asked once per connection
    data = os.urandom(4096)

    def write(path, mode):
        def run():
            with fs.open(path, mode) as f:
                f.write(data if "b" in mode else data.hex()[:4096])
        return run

    assert _calls_during(fs, write(base + "/a.bin", "wb")) == {"nn.Create": 1}
    assert _calls_during(fs, write(base + "/a.bin", "wb")) == {"nn.Create": 1}  # overwrite
    assert _calls_during(fs, write(base + "/b.bin", "xb")) == {"nn.Create": 1}
    assert _calls_during(fs, write(base + "/c.txt", "w")) == {"nn.Create": 1}
    assert fs.read_bytes(base + "/a.bin") == data
    assert fs.read_bytes(base + "/b.bin") == data
    assert fs.read_bytes(base + "/c.txt") == data.hex()[:4096].encode()
    assert fs.stat(base + "/a.bin")["inline"] is True


def test_to_csv_of_4_kib_costs_one_namenode_call(cluster, base):
    # The instance pandas gets for the URL: fsspec caches it by its arguments.
    gfs = fsspec.filesystem("granary", host=cluster.address)
    gfs.fs.defaults()
    frame = _frame_of_4_kib()
    url = "granary://%s%s/frame.csv" % (cluster.address, base)
    assert _calls_during(gfs.fs, lambda: frame.to_csv(url, index=False)) == {"nn.Create": 1}
    assert len(gfs.cat_file(base + "/frame.csv")) == 4096
    pd.testing.assert_frame_equal(pd.read_csv(url, dtype=str), frame)
    # fsspec's auto_mkdir of a missing directory rides on the same create.
    deep = "granary://%s%s/new/sub/frame.csv" % (cluster.address, base)
    assert _calls_during(gfs.fs, lambda: frame.to_csv(deep, index=False)) == {"nn.Create": 1}
    assert gfs.isdir(base + "/new/sub")
    assert gfs.info(base + "/new/sub/frame.csv")["size"] == 4096


def test_fsspec_makedirs_is_made_before_anything_observes_it(cluster, base):
    gfs = fsspec.filesystem("granary", host=cluster.address)
    gfs.makedirs(base + "/later/a", exist_ok=True)
    gfs.makedirs(base + "/later/b", exist_ok=True)
    assert gfs.isdir(base + "/later/a") and gfs.isdir(base + "/later/b")
    gfs.makedirs(base + "/later/c", exist_ok=True)
    with gfs.open(base + "/later/a/f", "wb") as f:  # not c's file: c is made first
        f.write(b"x")
    assert gfs.ls(base + "/later", detail=False) == [base + "/later/" + n for n in "abc"]
    with pytest.raises(FileExistsError):
        gfs.makedirs(base + "/later/a", exist_ok=False)


def test_write_errors_are_io_open_classes_at_close(cluster, fs, base):
    fs.write_bytes(base + "/file", b"x")
    fs.mkdir(base + "/dir")
    cases = [
        (base + "/dir", "wb", IsADirectoryError),
        (base + "/dir", "w", IsADirectoryError),
        (base + "/no/parent/f", "wb", FileNotFoundError),
        (base + "/file/child", "wb", NotADirectoryError),
        (base + "/file", "xb", FileExistsError),
        (base + "/file", "x", FileExistsError),
    ]
    for path, mode, error in cases:
        f = fs.open(path, mode)  # sends nothing
        f.write(b"data" if "b" in mode else "data")
        before = fs.namenode_calls()
        with pytest.raises(error) as e:
            f.close()
        assert e.value.filename == path, (path, mode)
        assert f.closed
        after = fs.namenode_calls()
        assert after["nn.Create"] == before["nn.Create"] + 1, (path, mode)
        assert sum(after.values()) == sum(before.values()) + 1, (path, mode)
    assert fs.read_bytes(base + "/file") == b"x"
    assert not fs.exists(base + "/no")
    # A file past the inline threshold meets them at the write that starts its first block.
    raw = fs.open(base + "/dir", "wb", buffering=0)
    with pytest.raises(IsADirectoryError):
        raw.write(os.urandom(fs.defaults()["inline_threshold"] + 1))
    with pytest.raises(OSError):  # a failed writer closes with an error of its own
        raw.close()
    assert raw.closed
    # Permission: another user may not create in a directory that is not theirs.
    fs.mkdir(base + "/private", mode=0o755)
    alice = granary.connect(cluster.address, user="alice", groups=["users"])
    try:
        f = alice.open(base + "/private/f", "wb")
        f.write(b"no")
        with pytest.raises(PermissionError):
            f.close()
    finally:
        alice.close()
    assert not fs.exists(base + "/private/f")


def test_fsspec_write_errors(cluster, fs, base):
    fs.write_bytes(base + "/file", b"x")
    fs.mkdir(base + "/dir")
    frame = _frame_of_4_kib()
    with pytest.raises(IsADirectoryError):
        frame.to_csv("granary://%s%s/dir" % (cluster.address, base), index=False)
    with pytest.raises(NotADirectoryError):  # auto_mkdir over a file
        frame.to_csv("granary://%s%s/file/f.csv" % (cluster.address, base), index=False)
    gfs = fsspec.filesystem("granary", host=cluster.address)
    with pytest.raises(FileExistsError):
        with gfs.open(base + "/file", "xb") as f:
            f.write(b"y")
    assert fs.read_bytes(base + "/file") == b"x"
