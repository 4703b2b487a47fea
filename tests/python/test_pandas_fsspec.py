# pandas and fsspec over Granary: file objects, granary:// URLs, globs, the entry point.
import os
import socket
import subprocess
import sys

import fsspec
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import granary


def _frame(rows=5000):
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "id": np.arange(rows),
        "x": rng.normal(size=rows),
        "label": rng.choice(["cat", "dog", "émeu"], size=rows),
        "flag": rng.integers(0, 2, size=rows).astype(bool),
    })


def test_read_csv_file_object_and_url_match_local(cluster, fs, base, tmp_path):
    local = tmp_path / "frame.csv"
    _frame().to_csv(local, index=False)
    fs.put(str(local), base + "/frame.csv")
    expected = pd.read_csv(local)
    with fs.open(base + "/frame.csv", "rb") as f:
        pdt.assert_frame_equal(pd.read_csv(f), expected)
    with fs.open(base + "/frame.csv", "r", encoding="utf-8") as f:
        pdt.assert_frame_equal(pd.read_csv(f), expected)
    url = "granary://%s%s/frame.csv" % (cluster.address, base)
    pdt.assert_frame_equal(pd.read_csv(url), expected)
    pdt.assert_frame_equal(pd.read_csv(url, usecols=["id", "label"], nrows=10),
                           pd.read_csv(local, usecols=["id", "label"], nrows=10))


def test_to_csv_round_trips(cluster, fs, base):
    frame = _frame(3000)
    url = "granary://%s%s/out.csv" % (cluster.address, base)
    frame.to_csv(url, index=False)
    pdt.assert_frame_equal(pd.read_csv(url), frame)
    with fs.open(base + "/out2.csv", "w", newline="") as f:
        frame.to_csv(f, index=False)
    with fs.open(base + "/out2.csv", "rb") as f:
        pdt.assert_frame_equal(pd.read_csv(f), frame)
    assert fs.read_bytes(base + "/out.csv") == fs.read_bytes(base + "/out2.csv")
    frame.to_csv(url.replace(".csv", ".csv.gz"), index=False, compression="gzip")
    pdt.assert_frame_equal(pd.read_csv(url.replace(".csv", ".csv.gz")), frame)


def test_fsspec_open_files_glob_and_calls(cluster, fs, base):
    frames = [_frame(100 + i) for i in range(3)]
    for i, frame in enumerate(frames):
        frame.to_csv("granary://%s%s/part-%d.csv" % (cluster.address, base, i), index=False)
    fs.write_bytes(base + "/other.txt", b"not csv")
    files = fsspec.open_files("granary://%s%s/*.csv" % (cluster.address, base))
    assert [os.path.basename(f.path) for f in files] == ["part-0.csv", "part-1.csv",
                                                         "part-2.csv"]
    for f, frame in zip(files, frames):
        with f as handle:
            pdt.assert_frame_equal(pd.read_csv(handle), frame)
    gfs = fsspec.filesystem("granary", host=cluster.address)
    assert gfs.exists(base + "/other.txt")
    assert gfs.info(base + "/other.txt")["size"] == 7
    assert gfs.cat_file(base + "/other.txt", start=4) == b"csv"
    assert gfs.isdir(base) and gfs.isfile(base + "/other.txt")
    assert sorted(gfs.find(base)) == sorted(
        [base + "/other.txt"] + [base + "/part-%d.csv" % i for i in range(3)])
    gfs.mkdir(base + "/sub")
    gfs.pipe_file(base + "/sub/p", b"piped")
    assert gfs.cat(base + "/sub/p") == b"piped"
    gfs.mv(base + "/sub/p", base + "/sub/q")
    gfs.rm(base + "/sub", recursive=True)
    assert not gfs.exists(base + "/sub")
    with fsspec.open("granary://%s%s/t.txt" % (cluster.address, base), "w") as f:
        f.write("text through fsspec\n")
    with fsspec.open("granary://%s%s/t.txt" % (cluster.address, base), "r") as f:
        assert f.read() == "text through fsspec\n"
    with pytest.raises(FileNotFoundError):
        pd.read_csv("granary://%s%s/missing.csv" % (cluster.address, base))


def test_entry_point_registers_protocol_without_import(cluster, fs, base):
    fs.write_bytes(base + "/e.csv", b"a,b\n1,2\n")
    code = ("import pandas, sys; df = pandas.read_csv(%r); "
            "assert 'granary' not in sys.modules or True; print(int(df['b'][0]))" %
            ("granary://%s%s/e.csv" % (cluster.address, base)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
    code = ("from importlib.metadata import entry_points; "
            "print([e.value for e in entry_points(group='fsspec.specs') if e.name == 'granary'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "granary.fs_spec:GranaryFileSystem" in out.stdout


def _unused_port():
    """A 127.0.0.1 port nobody listens on (bound, then released; nothing here listens)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_url_naming_a_namenode_list_parses_into_the_list_and_the_path():
    from granary.fs_spec import GranaryFileSystem
    url = "granary://127.0.0.1:7000,127.0.0.1:7010,nn-3:7020/data/x.csv"
    assert GranaryFileSystem._strip_protocol(url) == "/data/x.csv"
    assert GranaryFileSystem._get_kwargs_from_urls(url) == {
        "host": "127.0.0.1:7000,127.0.0.1:7010,nn-3:7020"}
    assert granary.split_url(url) == ("127.0.0.1:7000,127.0.0.1:7010,nn-3:7020", "/data/x.csv")
    # fsspec's own splitting keeps the list whole too.
    protocol, rest = fsspec.core.split_protocol(url)
    assert protocol == "granary" and rest.startswith("127.0.0.1:7000,127.0.0.1:7010,nn-3:7020/")
    for bad in ("127.0.0.1:7000,,127.0.0.1:7010", "granary://a:1,/x", ","):
        with pytest.raises(ValueError, match="is empty"):
            granary.connect(bad)


def test_a_list_whose_first_namenode_is_down_reaches_the_next(cluster, fs, base, tmp_path):
    dead = "127.0.0.1:%d" % _unused_port()
    namenodes = "%s,%s" % (dead, cluster.address)
    frame = _frame(200)
    local = tmp_path / "ha.csv"
    frame.to_csv(local, index=False)
    fs.put(str(local), base + "/ha.csv")
    # A call to the dead namenode times out (1 s), then goes to the next of the list.
    listed = granary.connect(namenodes, user=cluster.superuser, timeout=1.0)
    try:
        assert listed.address == namenodes
        with listed.open(base + "/ha.csv") as f:
            pdt.assert_frame_equal(pd.read_csv(f), frame)
        listed.write_bytes(base + "/written.txt", b"through the list")
        assert fs.read_bytes(base + "/written.txt") == b"through the list"
    finally:
        listed.close()
    url = "granary://%s%s/ha.csv" % (namenodes, base)
    options = {"user": cluster.superuser, "timeout": 1.0}
    pdt.assert_frame_equal(pd.read_csv(url, storage_options=options), frame)
    files = fsspec.open_files("granary://%s%s/*.csv" % (namenodes, base), **options)
    assert [os.path.basename(f.path) for f in files] == ["ha.csv"]


def test_the_cli_takes_a_namenode_list_from_the_flag_and_the_environment(cluster, fs, base):
    from granary.testing import find_binary
    fs.write_bytes(base + "/cli.txt", b"listed")
    cli = find_binary("granary")
    namenodes = "127.0.0.1:%d,%s" % (_unused_port(), cluster.address)
    common = ["--user", cluster.superuser, "--timeout-ms", "1000"]
    out = subprocess.run([cli, "--namenode", namenodes] + common + ["cat", base + "/cli.txt"],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"listed"
    env = dict(os.environ, GRANARY_NAMENODE=namenodes)
    out = subprocess.run([cli] + common + ["cat", base + "/cli.txt"], capture_output=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"listed"
    out = subprocess.run([cli, "--namenode", cluster.address + ",", "ls", "/"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "expected HOST:PORT or HOST:PORT,HOST:PORT" in out.stderr
