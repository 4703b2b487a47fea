"""Reads on any namenode (issue 14) from Python: the read policy (argument and
GRANARY_READ_POLICY) and msync, against a single namenode (where every policy reads from
it and msync answers 0). tests/integration/ha_reads.sh covers three namenodes."""
import errno
import subprocess
import sys

import pytest

import granary


def test_msync_then_read(cluster, base):
    fs = cluster.connect(read_policy="random")
    try:
        fs.write_bytes(base + "/a", b"x" * 100)
        fs.msync()
        assert fs.read_bytes(base + "/a") == b"x" * 100
        assert fs.stat(base + "/a")["size"] == 100
    finally:
        fs.close()


@pytest.mark.parametrize("policy", ["active", "random", "least-loaded", "nearest", "observer"])
def test_every_policy_reads(cluster, fs, base, policy):
    fs.write_bytes(base + "/p", policy.encode())
    other = cluster.connect(read_policy=policy)
    try:
        assert other.read_bytes(base + "/p") == policy.encode()
    finally:
        other.close()


def test_an_unknown_policy_is_refused(cluster):
    with pytest.raises(ValueError, match="read_policy"):
        cluster.connect(read_policy="fastest")


def test_an_unknown_policy_in_the_environment_is_refused(cluster):
    # In a fresh interpreter: the variable is read when a connection is made.
    code = ("import granary, sys\n"
            "try:\n"
            "    granary.connect(%r)\n"
            "except OSError as e:\n"
            "    print(e.errno, e)\n"
            "    sys.exit(0)\n"
            "sys.exit('connected')\n" % cluster.address)
    env = dict(__import__("os").environ, GRANARY_READ_POLICY="fastest")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    assert str(errno.EINVAL) in out.stdout and "GRANARY_READ_POLICY" in out.stdout
