"""granary-mount on a real local cluster, exercised with programs nobody here wrote: tar,
diff, rsync, fio, Python's shutil and os. Skipped (not failed) only when the machine has no
FUSE (/dev/fuse, fusermount3)."""

import errno
import os
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from granary.testing import LocalCluster
from mount_util import Mount, fuse_available

pytestmark = pytest.mark.skipif(not fuse_available(), reason="no /dev/fuse or fusermount3")

BLOCK = 1 << 20  # small blocks: a few MiB make multi-block files


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LocalCluster(datanodes=3, inline_threshold=64 * 1024, block_size=BLOCK,
                     directory=str(tmp_path_factory.mktemp("cluster")))
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def mnt(cluster, tmp_path_factory):
    m = Mount(cluster, str(tmp_path_factory.mktemp("m") / "mnt"))
    m.start()
    yield m
    m.stop()


def make_tree(root):
    """Small, empty, multi-block files, nested directories and odd names."""
    os.makedirs(os.path.join(root, "d", "e", "f"))
    os.makedirs(os.path.join(root, "empty dir"))
    with open(os.path.join(root, "small.txt"), "w") as f:
        f.write("hello\n")
    open(os.path.join(root, "d", "empty"), "w").close()
    with open(os.path.join(root, "d", "e", "multi.bin"), "wb") as f:
        f.write(os.urandom(3 * BLOCK + 12345))
    with open(os.path.join(root, "d", "e", "f", "inline-edge.bin"), "wb") as f:
        f.write(os.urandom(64 * 1024))  # the inline threshold itself
    for name in ["sp ace", "ünïcödé-名前", "quote'\"", "-dash", "#hash%", "a" * 200,
                 "new\nline"]:
        with open(os.path.join(root, "d", name), "wb") as f:
            f.write(name.encode() * 3)
    os.chmod(os.path.join(root, "small.txt"), 0o600)


def diff(a, b):
    result = subprocess.run(["diff", "-r", a, b], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tar_extract_then_diff(mnt, tmp_path):
    src = str(tmp_path / "src")
    make_tree(src)
    archive = str(tmp_path / "tree.tar")
    with tarfile.open(archive, "w") as t:
        t.add(src, arcname=".")
    target = mnt.path("tar")
    os.mkdir(target)
    subprocess.run(["tar", "-x", "-f", archive, "-C", target], check=True)
    diff(src, target)
    assert os.stat(os.path.join(target, "small.txt")).st_mode & 0o777 == 0o600
    assert os.path.getsize(os.path.join(target, "d", "e", "multi.bin")) == 3 * BLOCK + 12345


def test_rsync_there_and_back(mnt, tmp_path):
    src = str(tmp_path / "src")
    make_tree(src)
    there = mnt.path("rsync")
    back = str(tmp_path / "back")
    subprocess.run(["rsync", "-a", src + "/", there + "/"], check=True)
    diff(src, there)
    subprocess.run(["rsync", "-a", there + "/", back + "/"], check=True)
    diff(src, back)
    # A second pass over changed sources replaces files through rsync's temp-and-rename.
    with open(os.path.join(src, "small.txt"), "w") as f:
        f.write("changed\n")
    subprocess.run(["rsync", "-a", "--checksum", src + "/", there + "/"], check=True)
    diff(src, there)


def fio(*args):
    return subprocess.run(["fio", "--ioengine=psync", "--fallocate=none", "--bs=1M",
                           "--size=12M", "--verify=crc32c", "--verify_state_save=0", *args],
                          capture_output=True, text=True)


def test_fio_sequential_write_then_verified_read(mnt):
    directory = mnt.path("fio")
    os.mkdir(directory)
    written = fio("--name=seq", "--directory=" + directory, "--rw=write", "--do_verify=0",
                  "--end_fsync=1")
    assert written.returncode == 0, written.stdout + written.stderr
    read = fio("--name=seq", "--directory=" + directory, "--rw=read")
    assert read.returncode == 0, read.stdout + read.stderr
    # The read job does verify: bytes fio did not write fail it.
    with open(os.path.join(directory, "seq.0.0"), "wb") as f:
        f.write(os.urandom(12 * BLOCK))
    bad = fio("--name=seq", "--directory=" + directory, "--rw=read")
    assert bad.returncode != 0


def test_python_tree_operations(mnt, tmp_path):
    src = str(tmp_path / "src")
    make_tree(src)
    copy = mnt.path("py", "copy")
    shutil.copytree(src, copy)
    diff(src, copy)
    seen = sorted(os.path.relpath(os.path.join(d, f), copy)
                  for d, _, files in os.walk(copy) for f in files)
    expected = sorted(os.path.relpath(os.path.join(d, f), src)
                      for d, _, files in os.walk(src) for f in files)
    assert seen == expected
    with os.scandir(os.path.join(copy, "d")) as it:
        entries = {e.name: e for e in it}
    assert entries["e"].is_dir() and entries["empty"].is_file()
    assert entries["sp ace"].stat().st_size == len("sp ace") * 3
    # os.replace: the atomic-checkpoint pattern, over an existing file.
    tmp = os.path.join(copy, "ckpt.tmp")
    final = os.path.join(copy, "ckpt")
    for generation in range(3):
        with open(tmp, "wb") as f:
            f.write(b"generation %d" % generation)
        os.replace(tmp, final)
        with open(final, "rb") as f:
            assert f.read() == b"generation %d" % generation
    assert not os.path.exists(tmp)
    os.rename(os.path.join(copy, "d"), os.path.join(copy, "moved"))
    assert os.path.getsize(os.path.join(copy, "moved", "e", "multi.bin")) == 3 * BLOCK + 12345
    shutil.rmtree(copy)
    assert not os.path.exists(copy)


def test_seek_back_within_the_window_and_refusals(mnt):
    d = mnt.path("posix")
    os.mkdir(d)
    p = os.path.join(d, "header-last")
    with open(p, "wb") as f:
        f.write(b"\0" * 8)
        f.write(os.urandom(3 * BLOCK))
        f.seek(0)
        f.write(b"HEADER!!")  # filled in at the end, as zip and numpy writers do
    with open(p, "rb") as f:
        assert f.read(8) == b"HEADER!!"
    assert os.path.getsize(p) == 8 + 3 * BLOCK
    # A closed file's bytes do not change: EOPNOTSUPP, never silent corruption.
    with pytest.raises(OSError) as e:
        os.open(p, os.O_WRONLY | os.O_APPEND)
    assert e.value.errno == errno.EOPNOTSUPP
    fd = os.open(p, os.O_WRONLY)
    with pytest.raises(OSError) as e:
        os.pwrite(fd, b"x", 5)
    os.close(fd)
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        os.truncate(p, 3)
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        os.link(p, os.path.join(d, "hard"))
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.symlink(p, os.path.join(d, "soft"))
    assert e.value.errno == errno.EPERM
    # Truncating to zero on open rewrites the file.
    with open(p, "wb") as f:
        f.write(b"short")
    with open(p, "rb") as f:
        assert f.read() == b"short"
    # RENAME_NOREPLACE through mv -n is refused when the target exists... and shell
    # redirections (dup2 then close before the first write) work.
    subprocess.run(["sh", "-c", "{ echo a; /bin/echo b; } > '%s'" % os.path.join(d, "sh")],
                   check=True)
    with open(os.path.join(d, "sh")) as f:
        assert f.read() == "a\nb\n"
    st = os.statvfs(d)
    assert st.f_blocks > 0 and st.f_bavail <= st.f_blocks


def test_times_are_kept(cluster, tmp_path):
    # utimensat sets a file's and a directory's times (nn.SetTimes), also on a file still
    # being written (applied when it is finished), and tar keeps an archive's times.
    with Mount(cluster, str(tmp_path / "times")) as m:
        p = m.path("t")
        with open(p, "w") as f:
            f.write("x")
        os.utime(p, ns=(1_500_000_000_000_000_123, 1_600_000_000_000_000_456))
        st = os.stat(p)
        assert st.st_mtime_ns == 1_600_000_000_000_000_456
        assert st.st_atime_ns == 1_500_000_000_000_000_123
        d = m.path("d")
        os.mkdir(d)
        os.utime(d, (1000, 2000))
        assert os.stat(d).st_mtime == 2000
        w = m.path("w")
        with open(w, "w") as f:
            f.write("y")
            f.flush()
            os.utime(w, (3000, 4000))
        assert os.stat(w).st_mtime == 4000
        src = tmp_path / "src"
        src.mkdir()
        (src / "a").write_bytes(b"abc")
        os.utime(src / "a", (5000, 6000))
        archive = str(tmp_path / "t.tar")
        subprocess.run(["tar", "-cf", archive, "-C", str(src), "a"], check=True)
        subprocess.run(["tar", "-xf", archive, "-C", m.path()], check=True)
        assert os.stat(m.path("a")).st_mtime == 6000


def test_cached_small_files_follow_changes(cluster, tmp_path):
    # The mount answers a small file's attributes, open and reads from what its lookup or
    # its own write brought, for at most attr_timeout: changes through the mount show at once,
    # another client's within the timeout, and the kernel keeps pages only of the same version.
    with Mount(cluster, str(tmp_path / "cache"), options=["attr_timeout=0.5",
                                                         "entry_timeout=0.5"]) as m:
        p = m.path("f")
        with open(p, "wb") as f:
            f.write(b"one-")
        assert open(p, "rb").read() == b"one-"
        assert os.stat(p).st_size == 4
        os.chmod(p, 0o600)
        assert os.stat(p).st_mode & 0o777 == 0o600
        with open(p, "wb") as f:  # a rewrite through the mount: same size, other bytes
            f.write(b"two-")
        assert open(p, "rb").read() == b"two-"
        with open(p, "wb") as f:
            f.write(b"3")
        assert open(p, "rb").read() == b"3"
        assert os.stat(p).st_size == 1
        fs = cluster.connect()
        fs.write_bytes("/f", b"four")  # another client: seen once the timeouts ran out
        time.sleep(1.2)
        assert os.stat(p).st_size == 4
        assert open(p, "rb").read() == b"four"
        fs.write_bytes("/f", b"five")  # the same size: the kernel's pages must go
        time.sleep(1.2)
        assert open(p, "rb").read() == b"five"
        fs.close()


def test_known_directories_answer_missing_names(cluster, tmp_path):
    # With negative_timeout, a directory the mount made or listed answers lookups of names it
    # lacks by itself: names made through the mount are never missed (the kernel's entries
    # expire long before), another client's show within negative_timeout.
    with Mount(cluster, str(tmp_path / "neg"), options=[
            "entry_timeout=0.1", "attr_timeout=0.1", "negative_timeout=1"]) as m:
        d = m.path("known")
        os.mkdir(d)
        with open(os.path.join(d, "f"), "wb") as f:
            f.write(b"x")
        w = open(os.path.join(d, "w"), "wb")  # still being written
        w.write(b"y")
        w.flush()
        os.mkdir(os.path.join(d, "sub"))
        os.rename(os.path.join(d, "f"), os.path.join(d, "g"))
        time.sleep(0.3)  # the kernel's entries are gone; the mount's knowledge is not
        assert open(os.path.join(d, "g"), "rb").read() == b"x"
        assert not os.path.exists(os.path.join(d, "f"))
        assert os.path.isdir(os.path.join(d, "sub"))
        assert os.stat(os.path.join(d, "w")).st_size == 1
        w.close()
        assert sorted(os.listdir(d)) == ["g", "sub", "w"]
        fs = cluster.connect()
        fs.write_bytes("/known/other", b"z")  # another client's name: seen once it expires
        time.sleep(1.3)
        assert open(os.path.join(d, "other"), "rb").read() == b"z"
        fs.close()


def test_read_only_mount(cluster, tmp_path):
    with Mount(cluster, str(tmp_path / "ro"), options=["ro"]) as ro:
        assert os.path.isdir(ro.path())
        with pytest.raises(OSError) as e:
            open(ro.path("nope"), "w")
        assert e.value.errno == errno.EROFS


def test_dataset_preset_holds_what_it_read_and_options_beside_it_win(cluster, tmp_path):
    # -o dataset: read-only, and what it read stays for an hour (a training set that does not
    # change while mounted), so another client's overwrite is not seen; attr_timeout and
    # entry_timeout given beside it override the preset's, so there it is.
    fs = cluster.connect()
    fs.write_bytes("/ds/a", b"first")
    with Mount(cluster, str(tmp_path / "ds"), options=["dataset"]) as held, \
            Mount(cluster, str(tmp_path / "ds2"),
                  options=["attr_timeout=0.3,dataset,entry_timeout=0.3"]) as short:
        assert open(held.path("ds/a"), "rb").read() == b"first"
        assert open(short.path("ds/a"), "rb").read() == b"first"
        assert not os.path.exists(held.path("ds/b"))
        with pytest.raises(OSError) as e:
            open(short.path("ds/new"), "wb")
        assert e.value.errno == errno.EROFS
        fs.write_bytes("/ds/a", b"second!")
        fs.write_bytes("/ds/b", b"b")
        time.sleep(1.0)
        assert open(short.path("ds/a"), "rb").read() == b"second!"
        assert open(held.path("ds/a"), "rb").read() == b"first"
        assert not os.path.exists(held.path("ds/b"))
    fs.close()


def test_sigterm_unmounts_and_sigkill_gives_enotconn(cluster, tmp_path):
    m = Mount(cluster, str(tmp_path / "k"))
    m.start()
    with open(m.path("f"), "w") as f:
        f.write("x")
    m.process.send_signal(signal.SIGKILL)
    m.process.wait(timeout=10)
    try:
        with pytest.raises(OSError) as e:
            os.listdir(m.path())
        assert e.value.errno == errno.ENOTCONN
    finally:
        m.stop()
    assert not os.path.ismount(m.path())
    m2 = Mount(cluster, str(tmp_path / "t"))
    m2.start()
    m2.process.send_signal(signal.SIGTERM)
    assert m2.process.wait(timeout=20) == 0
    assert not os.path.ismount(m2.path())
