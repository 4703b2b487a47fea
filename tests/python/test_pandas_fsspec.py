# pandas and fsspec over Granary: file objects, granary:// URLs, globs, the entry point.
import os
import subprocess
import sys

import fsspec
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest


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
