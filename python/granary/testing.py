"""A local Granary cluster of the real binaries, for tests and benchmarks.

    with LocalCluster(datanodes=3, inline_threshold=65536) as cluster:
        fs = granary.connect(cluster.address)

Starts granary-namenode and N granary-datanode processes on 127.0.0.1 with their data in a
temporary directory, waits until every datanode is live, and stops them by PID (SIGTERM,
then SIGKILL after a grace period). The binaries come from $GRANARY_BIN_DIR, else the
build/bin beside this package, else PATH.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import granary


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(name):
    candidates = []
    if os.environ.get("GRANARY_BIN_DIR"):
        candidates.append(os.path.join(os.environ["GRANARY_BIN_DIR"], name))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "bin", name))
    for c in candidates:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError("cannot find %s (set GRANARY_BIN_DIR to the build's bin/)" % name)


class LocalCluster:
    def __init__(self, datanodes=3, inline_threshold=64 * 1024, replication=None,
                 block_size=None, directory=None, superuser=None, start_timeout=30.0,
                 namenode_args=()):
        self.datanodes = datanodes
        self.namenode_args = list(namenode_args)  # extra granary-namenode flags
        self.inline_threshold = inline_threshold
        self.replication = replication or min(3, datanodes)
        self.block_size = block_size
        self.superuser = superuser or os.environ.get("USER") or "root"
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="granary-cluster-")
        os.makedirs(self.directory, exist_ok=True)
        self.start_timeout = start_timeout
        self.address = None
        self.processes = []

    def _spawn(self, args, log):
        with open(os.path.join(self.directory, log), "ab") as out:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        self.processes.append(p)
        return p

    def start(self):
        port = _free_port()
        self.address = "127.0.0.1:%d" % port
        args = [find_binary("granary-namenode"), "--listen", self.address,
                "--meta-dir", os.path.join(self.directory, "meta"),
                "--inline-threshold", str(self.inline_threshold),
                "--replication", str(self.replication),
                "--superuser", self.superuser,
                "--heartbeat-ms", "200", "--dead-after-ms", "10000",
                "--log-level", "warn"]
        if self.block_size:
            args += ["--block-size", str(self.block_size)]
        args += self.namenode_args
        self._spawn(args, "namenode.log")
        for i in range(self.datanodes):
            args = [find_binary("granary-datanode"), "--namenode", self.address,
                    "--listen", "127.0.0.1:%d" % _free_port(),
                    "--data-dir", os.path.join(self.directory, "dn%d" % i),
                    "--log-level", "warn"]
            self._spawn(args, "datanode%d.log" % i)
        deadline = time.monotonic() + self.start_timeout
        fs = granary.connect(self.address, user=self.superuser, timeout=2.0, attempts=2)
        try:
            while True:
                for p in self.processes:
                    if p.poll() is not None:
                        raise RuntimeError("%s exited with %s; logs in %s" %
                                           (p.args[0], p.returncode, self.directory))
                try:
                    if fs.report()["live_datanodes"] >= self.datanodes:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("cluster in %s not ready after %.0f s" %
                                       (self.directory, self.start_timeout))
                time.sleep(0.1)
        finally:
            fs.close()
        return self

    def connect(self, user=None, **kwargs):
        return granary.connect(self.address, user=user or self.superuser, **kwargs)

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes = []
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
