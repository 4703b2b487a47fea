"""fsspec filesystem for ``granary://HOST:PORT/path`` URLs.

The host part may list the namenodes of an HA cluster, ``granary://H1:P1,H2:P2,H3:P3/path``:
everything between ``granary://`` and the first "/" is the namenode list, handed to
``granary.connect`` as it is (fsspec itself never splits it: this class parses its URLs).

Registered under the protocol "granary" by the package's entry point (fsspec.specs) and by
``import granary``, so that ``pandas.read_csv("granary://h:p/x.csv")``,
``DataFrame.to_csv("granary://...")`` and ``fsspec.open_files("granary://h:p/d/*.csv")`` work.
One Granary connection per (host, user): fsspec caches instances by their arguments.

One namenode call for a small file written through fsspec (``to_csv("granary://...")``):
fsspec's ``open_files`` calls ``makedirs(parent, exist_ok=True)`` before it opens a file for
writing (its auto_mkdir). That call is deferred here: the directory is remembered, and a file
then opened for writing in it makes it (and its missing parents) in the same namenode call
as its own create; any other call of this filesystem makes the remembered directories
first, so nothing observed through it differs. The visible differences: until then another
connection does not see the directory, and an error making it (a file in the way) surfaces
as NotADirectoryError at the written file's close rather than as FileExistsError.
"""

import posixpath
import threading

from fsspec.spec import AbstractFileSystem

import granary


class GranaryFileSystem(AbstractFileSystem):
    protocol = "granary"
    root_marker = "/"

    def __init__(self, host=None, user=None, timeout=10.0, **kwargs):
        super().__init__(**kwargs)
        if not host:
            raise ValueError("granary:// URLs name the namenode: granary://HOST:PORT/path "
                             "(or granary://HOST:PORT,HOST:PORT,.../path)")
        self.host = host
        self.fs = granary.connect(host, user=user, timeout=timeout)
        # Directories asked for by makedirs(exist_ok=True) and not made yet (see above).
        self._pending_dirs = set()
        self._pending_lock = threading.Lock()

    def _make_pending(self, claim=None):
        """Makes the pending directories, except `claim` (a file's parent), which is taken
        off the list: True when it was on it, and then the caller's create makes it."""
        with self._pending_lock:
            claimed = claim is not None and claim in self._pending_dirs
            self._pending_dirs.discard(claim)
            pending = sorted(self._pending_dirs)
            self._pending_dirs.clear()
        for path in pending:
            self.fs.makedirs(path, exist_ok=True)
        return claimed

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("granary://"):
            path = path[len("granary://"):]
            slash = path.find("/")
            path = "/" if slash < 0 else path[slash:]
        if not path.startswith("/"):
            path = "/" + path
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        return path

    @staticmethod
    def _get_kwargs_from_urls(path):
        if str(path).startswith("granary://"):
            host = str(path)[len("granary://"):].split("/", 1)[0]
            return {"host": host}
        return {}

    def unstrip_protocol(self, name):
        return "granary://%s%s" % (self.host, self._strip_protocol(name))

    @staticmethod
    def _entry(d):
        out = dict(d)
        out["name"] = d["name"]
        out["type"] = "directory" if d["type"] == "directory" else "file"
        out["size"] = d["size"] if d["type"] != "directory" else 0
        out["created"] = d["mtime"]
        return out

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        self._make_pending()
        entries = [self._entry(e) for e in self.fs.ls(path, detail=True)]
        return entries if detail else [e["name"] for e in entries]

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        self._make_pending()
        return self._entry(self.fs.stat(path))

    def quota(self, path):
        """The directory's quota: names_max and bytes_max (None when not set), names_used
        and bytes_used (bytes count times replication; `granary quota show`)."""
        self._make_pending()
        return self.fs.quota(self._strip_protocol(path))

    def exists(self, path, **kwargs):
        self._make_pending()
        return self.fs.exists(self._strip_protocol(path))

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kwargs):
        path = self._strip_protocol(path)
        if mode not in ("rb", "wb", "xb", "ab"):
            raise ValueError("granary:// files open with rb, wb, xb or ab (text through "
                             "fsspec's wrapper), not %r" % (mode,))
        # Appending opens an existing file: no parent to make.
        parents = self._make_pending(None if mode in ("rb", "ab") else self._parent(path))
        return self.fs._open_file(path, mode, block_size or -1, None, None, None, parents)

    def mkdir(self, path, create_parents=True, **kwargs):
        path = self._strip_protocol(path)
        self._make_pending()
        self.fs.mkdir(path, parents=create_parents)

    def makedirs(self, path, exist_ok=False):
        path = self._strip_protocol(path)
        if exist_ok:
            if path != self.root_marker:  # the root always exists
                with self._pending_lock:
                    self._pending_dirs.add(path)
            return
        self._make_pending()
        self.fs.makedirs(path, exist_ok=exist_ok)

    def rmdir(self, path):
        self._make_pending()
        self.fs.rmdir(self._strip_protocol(path))

    def _rm(self, path):
        self._make_pending()
        self.fs.rm(self._strip_protocol(path), recursive=False)

    def rm_file(self, path):
        self._make_pending()
        self.fs.rm(self._strip_protocol(path), recursive=False)

    def rm(self, path, recursive=False, maxdepth=None):
        self._make_pending()
        paths = path if isinstance(path, list) else [path]
        for p in paths:
            self.fs.rm(self._strip_protocol(p), recursive=recursive)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        self._make_pending()
        self.fs.mv(self._strip_protocol(path1), self._strip_protocol(path2))

    def cp_file(self, path1, path2, **kwargs):
        self._make_pending()
        with self.fs.open(self._strip_protocol(path1), "rb") as source, \
                self.fs.open(self._strip_protocol(path2), "wb") as target:
            while True:
                chunk = source.read(granary.DEFAULT_BUFFER_SIZE)
                if not chunk:
                    break
                target.write(chunk)

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        self._make_pending()
        if start is None and end is None:
            return self.fs.read_bytes(path)
        with self.fs.open(path, "rb") as f:
            size = f.raw.size()
            start = 0 if start is None else (start if start >= 0 else max(0, size + start))
            end = size if end is None else (end if end >= 0 else max(0, size + end))
            f.seek(start)
            return f.read(max(0, end - start))

    def pipe_file(self, path, value, **kwargs):
        path = self._strip_protocol(path)
        # write_bytes makes the parents itself.
        self._make_pending(self._parent(path))
        self.fs.write_bytes(path, value)

    def put_file(self, lpath, rpath, **kwargs):
        self._make_pending()
        self.fs.put(lpath, self._strip_protocol(rpath))

    def get_file(self, rpath, lpath, **kwargs):
        self._make_pending()
        self.fs.get(self._strip_protocol(rpath), lpath)

    def created(self, path):
        import datetime
        return datetime.datetime.fromtimestamp(self.info(path)["mtime"])

    def modified(self, path):
        return self.created(path)

    def touch(self, path, truncate=True, **kwargs):
        path = self._strip_protocol(path)
        self._make_pending()
        if truncate or not self.fs.exists(path):
            self.fs.write_bytes(path, b"")

    def sign(self, path, expiration=100, **kwargs):
        raise NotImplementedError

    def __reduce__(self):
        return GranaryFileSystem, (self.host,)
