# One local cluster of the real binaries per pytest process (one ctest per suite).
import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import granary  # noqa: E402
from granary.testing import LocalCluster  # noqa: E402


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = LocalCluster(datanodes=3, inline_threshold=64 * 1024,
                     directory=str(tmp_path_factory.mktemp("cluster")))
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def fs(cluster):
    f = cluster.connect()
    yield f
    f.close()


@pytest.fixture
def base(fs):
    """A fresh directory per test."""
    path = "/t-" + uuid.uuid4().hex[:12]
    fs.mkdir(path, mode=0o777)
    return path
