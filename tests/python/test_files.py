# granary.connect / FileSystem / open: io semantics, namespace calls, exception classes.
import io
import os
import threading

import numpy as np
import pytest

import granary


def test_binary_round_trip_small_and_large(fs, base):
    small = b"abc" * 10
    large = os.urandom(3 * 1024 * 1024 + 123)  # past the inline threshold: blocks
    for name, data in (("small", small), ("large", large)):
        with fs.open(base + "/" + name, "wb") as f:
            assert f.writable() and not f.readable()
            assert f.write(data) == len(data)
        with fs.open(base + "/" + name, "rb") as f:
            assert f.readable() and f.seekable() and not f.writable()
            assert f.read() == data
        assert fs.stat(base + "/" + name)["size"] == len(data)
    assert fs.stat(base + "/small")["inline"] is True
    assert fs.stat(base + "/large")["inline"] is False


def test_readinto_seek_tell_readline(fs, base):
    data = b"".join(b"line %d\n" % i for i in range(20000))
    fs.write_bytes(base + "/f", data)
    with fs.open(base + "/f", "rb") as f:
        buf = bytearray(10)
        assert f.readinto(buf) == 10 and bytes(buf) == data[:10]
        assert f.tell() == 10
        assert f.seek(-7, io.SEEK_END) == len(data) - 7
        assert f.read() == data[-7:]
        f.seek(5000)
        assert f.read(100) == data[5000:5100]
        f.seek(0)
        assert f.readline() == b"line 0\n"
        assert sum(1 for _ in f) == 19999
        f.seek(len(data) + 10)
        assert f.read(5) == b""
    with fs.open(base + "/f", "rb", buffering=0) as raw:
        assert isinstance(raw, io.RawIOBase)
        assert raw.read(4) == b"line"


def test_text_modes_encoding_newline(fs, base):
    text = "héllo\nwörld\r\nend"
    with fs.open(base + "/t.txt", "w", encoding="utf-8", newline="") as f:
        f.write(text)
    assert fs.read_bytes(base + "/t.txt") == text.encode("utf-8")
    with fs.open(base + "/t.txt", "r", encoding="utf-8") as f:
        assert f.read() == "héllo\nwörld\nend"  # universal newlines
    with fs.open(base + "/t.txt", "r", encoding="utf-8", newline="") as f:
        assert f.readlines() == ["héllo\n", "wörld\r\n", "end"]
    with fs.open(base + "/latin.txt", "w", encoding="latin-1") as f:
        f.write("café")
    assert fs.read_bytes(base + "/latin.txt") == "café".encode("latin-1")
    with pytest.raises(ValueError):
        fs.open(base + "/t.txt", "rb", encoding="utf-8")
    with pytest.raises(ValueError):
        fs.open(base + "/t.txt", "r+")  # "a" appends (test_append.py); "+" is not offered


def test_numpy_save_load(fs, base):
    array = np.arange(200000, dtype=np.float64).reshape(400, 500)
    with fs.open(base + "/a.npy", "wb") as f:
        np.save(f, array)
    with fs.open(base + "/a.npy", "rb") as f:
        loaded = np.load(f)
    assert np.array_equal(array, loaded)
    with fs.open(base + "/z.npz", "wb") as f:
        np.savez(f, x=array, y=array[:3])
    with fs.open(base + "/z.npz", "rb") as f:
        z = np.load(f)
        assert np.array_equal(z["y"], array[:3])


def test_namespace_calls(fs, base, tmp_path):
    fs.makedirs(base + "/a/b/c")
    fs.makedirs(base + "/a/b/c", exist_ok=True)
    fs.mkdir(base + "/a/d")
    for p in ("/a/x.csv", "/a/b/y.csv", "/a/b/c/z.txt", "/a/d/w.csv"):
        fs.write_bytes(base + p, p.encode())
    assert fs.exists(base + "/a/x.csv") and not fs.exists(base + "/nope")
    assert fs.isdir(base + "/a/b") and not fs.isdir(base + "/a/x.csv")
    assert fs.isfile(base + "/a/x.csv")
    assert fs.ls(base + "/a") == [base + "/a/b", base + "/a/d", base + "/a/x.csv"]
    assert fs.ls(base + "/a", detail=True)[0]["type"] == "directory"
    walked = list(fs.walk(base + "/a"))
    assert walked[0] == (base + "/a", ["b", "d"], ["x.csv"])
    assert (base + "/a/b/c", [], ["z.txt"]) in walked
    assert fs.glob(base + "/a/*.csv") == [base + "/a/x.csv"]
    assert fs.glob(base + "/a/*/*.csv") == [base + "/a/b/y.csv", base + "/a/d/w.csv"]
    assert fs.glob(base + "/a/**/*.csv") == [base + "/a/b/y.csv", base + "/a/d/w.csv",
                                             base + "/a/x.csv"]
    fs.mv(base + "/a/x.csv", base + "/a/moved.csv")
    assert fs.read_bytes(base + "/a/moved.csv") == b"/a/x.csv"
    assert not fs.exists(base + "/a/x.csv")
    fs.rm(base + "/a/moved.csv")
    fs.rm(base + "/a/d", recursive=True)
    assert not fs.exists(base + "/a/d/w.csv")
    # put / get, a file and a tree
    local = tmp_path / "in.bin"
    local.write_bytes(os.urandom(200000))
    fs.put(str(local), base + "/in.bin")
    fs.get(base + "/in.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == local.read_bytes()
    fs.get(base + "/a", str(tmp_path / "tree"), recursive=True)
    assert (tmp_path / "tree" / "b" / "c" / "z.txt").read_bytes() == b"/a/b/c/z.txt"


def test_exception_classes(cluster, fs, base):
    fs.write_bytes(base + "/file", b"x")
    fs.mkdir(base + "/dir")
    with pytest.raises(FileNotFoundError) as e:
        fs.open(base + "/missing")
    assert e.value.filename == base + "/missing" and "not found" in str(e.value)
    with pytest.raises(FileNotFoundError):
        fs.stat(base + "/missing")
    # A file opened for writing meets its create's errors at close (one round trip).
    with pytest.raises(FileNotFoundError):
        with fs.open(base + "/no/such/parent", "wb") as f:
            f.write(b"x")
    with pytest.raises(IsADirectoryError):
        fs.open(base + "/dir", "rb")
    with pytest.raises(IsADirectoryError):
        with fs.open(base + "/dir", "wb") as f:
            f.write(b"x")
    with pytest.raises(FileExistsError):
        fs.mkdir(base + "/dir")
    with pytest.raises(FileExistsError):
        with fs.open(base + "/file", "xb") as f:
            f.write(b"x")
    with pytest.raises(FileExistsError):
        fs.makedirs(base + "/dir")
    with pytest.raises(NotADirectoryError):
        with fs.open(base + "/file/child", "wb") as f:
            f.write(b"x")
    with pytest.raises(NotADirectoryError):
        fs.rmdir(base + "/file")
    with pytest.raises(OSError):
        fs.rm(base + "/dir-with-child-not-recursive-missing")
    fs.write_bytes(base + "/dir/child", b"y")
    with pytest.raises(OSError) as e:
        fs.rm(base + "/dir")
    assert "not empty" in str(e.value)
    # Another user may not write in a directory that is not theirs.
    fs.mkdir(base + "/private", mode=0o755)
    alice = granary.connect(cluster.address, user="alice", groups=["users"])
    try:
        with pytest.raises(PermissionError):
            alice.mkdir(base + "/private/x")
        with pytest.raises(PermissionError):
            with alice.open(base + "/private/f", "wb") as f:
                f.write(b"no")
        assert alice.read_bytes(base + "/file") == b"x"  # 0644: others may read
    finally:
        alice.close()
    with pytest.raises(ValueError):
        fs.open("relative/path")


def test_closed_connection_and_file(cluster, base):
    own = cluster.connect()
    own.write_bytes(base + "/c", b"data")
    f = own.open(base + "/c", "rb")
    own.close()
    with pytest.raises(OSError):
        f.read()
    with pytest.raises(OSError):
        own.stat(base + "/c")
    with pytest.raises(OSError):
        granary.connect("127.0.0.1:1", timeout=0.3, attempts=1).stat("/")


def test_gil_released_during_io(fs, base):
    data = os.urandom(8 * 1024 * 1024)
    fs.write_bytes(base + "/big", data)
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)

    t = threading.Thread(target=spin)
    t.start()
    try:
        for _ in range(3):
            with fs.open(base + "/big", "rb", buffering=0) as f:
                assert len(f.read(len(data))) == len(data)
    finally:
        stop.set()
        t.join()
    assert ticks  # the other thread ran while this one waited for the cluster


def test_concurrent_threads(fs, base):
    errors = []

    def work(i):
        try:
            for j in range(20):
                p = "%s/th%d-%d" % (base, i, j)
                fs.write_bytes(p, b"%d" % j * 100)
                assert fs.read_bytes(p) == b"%d" % j * 100
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(fs.ls(base)) == 160
