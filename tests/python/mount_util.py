"""granary-mount for tests: mounts a LocalCluster on a temporary directory and unmounts it.

    with Mount(cluster, "/tmp/x/mnt", options=["ro"]) as mnt:
        open(mnt.path("a.txt"), "w").write("hi")

The mount runs in the foreground as a child process; stop() sends it SIGTERM (which
unmounts), waits for it by PID and, should it be gone without unmounting (a test killed it),
detaches the mount point with fusermount3 -u -z.
"""

import os
import signal
import subprocess
import time

from granary.testing import find_binary


def fuse_available():
    return os.path.exists("/dev/fuse") and subprocess.call(
        ["sh", "-c", "command -v fusermount3"], stdout=subprocess.DEVNULL) == 0


class Mount:
    def __init__(self, cluster, mountpoint, options=(), log=None):
        self.cluster = cluster
        self.mountpoint = mountpoint
        self.options = list(options)
        self.log = log or mountpoint + ".log"
        self.process = None

    def path(self, *parts):
        return os.path.join(self.mountpoint, *parts)

    def start(self, timeout=20.0):
        os.makedirs(self.mountpoint, exist_ok=True)
        args = [find_binary("granary-mount"), self.mountpoint, "--namenode",
                self.cluster.address, "-f", "-o", "user=" + self.cluster.superuser]
        if self.options:
            args += ["-o", ",".join(self.options)]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.mountpoint):
            if self.process.poll() is not None:
                raise RuntimeError("granary-mount exited with %s: %s" %
                                   (self.process.returncode, open(self.log).read()))
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("not mounted after %.0f s" % timeout)
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.path.ismount(self.mountpoint) or _is_dead_mount(self.mountpoint):
            subprocess.call(["fusermount3", "-u", "-z", self.mountpoint],
                            stderr=subprocess.DEVNULL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _is_dead_mount(path):
    try:
        os.stat(path)
        return False
    except OSError as e:
        return e.errno == 107  # ENOTCONN
