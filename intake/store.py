"""Content-addressed blob store: raw mail, attachments and receipts, named by their SHA-256.

A blob is durable when put() returns: written to a temporary file, fsynced, renamed into place and the
directory fsynced. File names come only from hashes, never from anything in an e-mail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o600)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def head(self, sha256: str, limit: int) -> bytes:
        """The blob's first `limit` bytes (a mail's header section without reading all of a 25 MB mail)."""
        with self.path_for(sha256).open("rb") as blob:
            return blob.read(limit)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
