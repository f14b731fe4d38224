"""Back up and restore intake's state: the database and the blob store (`storage.path`). See deploy/README.md.

    backup.py backup DEST [--config FILE]      writes DEST/intake-YYYYMMDDTHHMMSSZ/
    backup.py restore BACKUP [--config FILE] [--force]

Run it as the service account with the service's configuration (the `deploy/backup` and `deploy/restore` wrappers
run it with intake's own Python). A backup is a directory:

    manifest.json        what it holds, with the size and SHA-256 of each file (checked before a restore)
    database.sqlite3     SQLite: a consistent online copy (sqlite3's backup API; the daemon may keep running)
    database.pgdump      PostgreSQL: `pg_dump --format=custom`
    storage.tar          the whole storage.path: raw mail, documents, receipts, trust cache, link secret

The database is copied first and the storage after it: intake stores a blob (fsynced) before it commits the row
that names it, so every blob the copied database points to is already on disk when the storage copy starts.
Blobs are never rewritten, so copying them while the daemon runs is safe.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from intake.settings import ConfigError, load_settings

STORAGE_TAR = "storage.tar"
MANIFEST = "manifest.json"
# Files the store writes and renames: one left behind by a crash is not data.
TEMPORARY_PREFIX = ".tmp-"


class BackupError(Exception):
    """A problem the operator must fix; the message is one line."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intake-backup", description=__doc__.split("\n", 1)[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="intake's configuration (default: $INTAKE_CONFIG or config/intake.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    backup = commands.add_parser(
        "backup", parents=[common], help="copy the database and the storage into a new directory in DEST"
    )
    backup.add_argument("destination", type=Path)
    restore = commands.add_parser("restore", parents=[common], help="put a backup back (intake stopped everywhere)")
    restore.add_argument("backup", type=Path)
    restore.add_argument(
        "--force", action="store_true", help="replace a database and storage that are not empty (the current state)"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        url, storage = settings.database.url, settings.storage.path
        if args.command == "backup":
            print(f"backup written to {back_up(url, storage, args.destination)}")
        else:
            restore_backup(args.backup, url, storage, force=args.force)
            print(f"restored {args.backup}: database {_describe(url)}, storage {storage}")
    except ConfigError as exc:
        print(f"intake-backup: {exc}", file=sys.stderr)
        return 2
    except (BackupError, OSError, sqlite3.Error, subprocess.CalledProcessError) as exc:
        print(f"intake-backup: {exc}", file=sys.stderr)
        return 1
    return 0


def back_up(database_url: str, storage: Path, destination: Path) -> Path:
    # The backup holds what was committed before this instant (the database is copied first).
    taken_at = datetime.now(UTC)
    stamp = taken_at.strftime("%Y%m%dT%H%M%SZ")
    target = destination / f"intake-{stamp}"
    if target.exists():
        raise BackupError(f"{target} already exists")
    destination.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed when complete: a half-written backup never looks like one.
    work = Path(tempfile.mkdtemp(prefix=f".intake-{stamp}-", dir=destination))
    try:
        database_file = _dump_database(database_url, work)
        _tar_storage(storage, work / STORAGE_TAR)
        files = {name: _fingerprint(work / name) for name in (database_file, STORAGE_TAR)}
        manifest = {
            "taken_at": taken_at.isoformat(timespec="seconds"),
            "database": {"kind": _kind(database_url), "file": database_file},
            "storage": {"file": STORAGE_TAR, "path": str(storage)},
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def restore_backup(backup: Path, database_url: str, storage: Path, *, force: bool) -> None:
    manifest = _checked_manifest(backup)
    kind = _kind(database_url)
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"the backup holds a {manifest['database']['kind']} database; database.url is {kind}")
    if not force:
        _refuse_overwrite(database_url, storage)
    dump = backup / manifest["database"]["file"]
    if kind == "sqlite":
        _restore_sqlite(dump, _sqlite_path(database_url))
    else:
        dbname, environment = _libpq(database_url)
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
             dbname, str(dump)],
            check=True, env=environment,
        )  # fmt: skip
    _restore_storage(backup / manifest["storage"]["file"], storage)


def _kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"database.url: cannot back up a {backend} database (SQLite or PostgreSQL)")
    return backend


def _describe(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("database.url: an in-memory SQLite database has nothing to back up")
    return Path(database)


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The connection string the PostgreSQL tools understand (no `+psycopg`) and their environment. The password
    goes in PGPASSWORD: on the command line every user of the host could read it in the process list."""
    url = make_url(database_url)
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return f"--dbname={plain.render_as_string(hide_password=False)}", environment


def _dump_database(database_url: str, work: Path) -> str:
    if _kind(database_url) == "sqlite":
        source_path = _sqlite_path(database_url)
        if not source_path.is_file():
            raise BackupError(f"database.url: no database at {source_path}")
        name = "database.sqlite3"
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(work / name)
        try:
            # One consistent snapshot, whatever the daemon writes meanwhile (WAL included).
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        os.chmod(work / name, 0o600)
        return name
    name = "database.pgdump"
    dbname, environment = _libpq(database_url)
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={work / name}", dbname], check=True, env=environment
    )
    os.chmod(work / name, 0o600)
    return name


def _tar_storage(storage: Path, target: Path) -> None:
    if not storage.is_dir():
        raise BackupError(f"storage.path: no directory at {storage}")

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if Path(member.name).name.startswith(TEMPORARY_PREFIX) else member

    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # personal data: never readable by others
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
        archive.add(storage, arcname="storage", filter=keep)


def _fingerprint(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _checked_manifest(backup: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{backup}: not an intake backup ({MANIFEST}: {exc})") from None
    for name, expected in manifest["files"].items():
        path = backup / name
        if not path.is_file() or _fingerprint(path) != expected:
            raise BackupError(f"{path}: missing or damaged (size or SHA-256 differs from {MANIFEST}); not restored")
    return manifest


def _refuse_overwrite(database_url: str, storage: Path) -> None:
    """A restore over live data would throw away every message received since the backup: only on purpose."""
    if _kind(database_url) == "sqlite" and _sqlite_path(database_url).exists():
        raise BackupError(f"database {_sqlite_path(database_url)} exists: move it away, or restore with --force")
    if _kind(database_url) == "postgresql":
        dbname, environment = _libpq(database_url)
        tables = subprocess.run(
            ["psql", "--no-psqlrc", "--tuples-only", "--no-align", dbname,
             "--command=SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"],
            check=True, env=environment, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        if tables != "0":
            raise BackupError(f"database {_describe(database_url)} has tables: restore with --force to replace them")
    if storage.exists() and any(storage.iterdir()):
        raise BackupError(f"storage {storage} is not empty: move it away, or restore with --force")


def _restore_sqlite(dump: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    # The copy's journal is not WAL; the old database's -wal/-shm would belong to other contents.
    for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(fd)
    os.chmod(temporary, 0o600)
    try:
        source, copy = sqlite3.connect(dump), sqlite3.connect(temporary)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _restore_storage(archive_path: Path, storage: Path) -> None:
    storage.mkdir(parents=True, mode=0o700, exist_ok=True)
    with tarfile.open(archive_path) as archive:
        for member in archive.getmembers():
            if member.name != "storage" and not member.name.startswith("storage/"):
                raise BackupError(f"{archive_path}: unexpected entry {member.name!r}; not restored")
            member.name = member.name.removeprefix("storage").lstrip("/") or "."
        # The "data" filter refuses absolute paths, links out of the directory and device files.
        archive.extractall(storage, filter="data")


if __name__ == "__main__":
    sys.exit(main())
