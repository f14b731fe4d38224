"""Engine and sessions: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session, create_engine

from intake import models  # noqa: F401  (registers the tables on SQLModel.metadata)

log = logging.getLogger(__name__)

# The database holds mail bodies, CNPs and password hashes: readable by the service account only, like the blobs.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_engine(url: str) -> Engine:
    """The engine every command uses: an empty database is created at the code's schema version, any other
    version refuses (`intake.schema.SchemaMismatch`, exit code 2) until `intake db upgrade`."""
    from intake import schema  # it imports the models and settings; intake.db is imported before both

    engine = open_engine(url)
    try:
        schema.ensure_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_engine(url: str) -> Engine:
    """The engine alone, schema untouched: for `intake db`, which changes or reports the schema."""
    if url.startswith("sqlite:///"):
        db_path = Path(url.removeprefix("sqlite:///"))
        if str(db_path) not in ("", ":memory:"):
            _private_sqlite_files(db_path)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
    elif url.startswith("postgresql"):
        from intake.postgres import postgres_engine  # needs the driver, which SQLite deployments do not install

        engine = postgres_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def _begin_sqlite(conn: Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start of every write transaction, so two processes can never
    # both read the same registry counter and then both write it. A read transaction begins deferred: under WAL
    # it reads a snapshot and never waits for (nor holds up) a writer.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _private_sqlite_files(db_path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite would use the umask, typically 0644; it gives
    its -wal and -shm files the database file's mode), and tighten the files of an existing database."""
    if not db_path.parent.exists():
        # Only a directory we create: an existing one (/var/lib/intake, a shared volume) keeps the mode its
        # owner gave it.
        db_path.parent.mkdir(parents=True, mode=PRIVATE_DIR_MODE, exist_ok=True)
    if not db_path.exists():
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
        try:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(PRIVATE_FILE_MODE)
                log.info("database file %s was mode %o, now %o", path, mode, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours (another account created it): say so rather than refuse to start
            log.warning("database file %s is readable by others and cannot be changed by this account", path)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # pysqlite's own transaction handling would defeat BEGIN IMMEDIATE; we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# The execution option of a read transaction's connection: how the SQLite begin hook tells it from a write.
READ_ONLY = "intake_read_only"

_open = threading.local()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception.

    Transactions never nest: with SQLite every transaction takes the write lock, so a second one opened
    inside the first on the same thread would wait for itself until the busy timeout. Fail at once instead.
    """
    with _session(engine) as session:
        yield session


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Session]:
    """A unit of reading: a consistent snapshot that never takes the write lock, for pages, `status`, metrics and
    the pipeline's look-ups. SQLite: a deferred BEGIN (under WAL it proceeds while a worker holds the write lock);
    PostgreSQL: a READ ONLY transaction. Writing in it is a bug: it fails rather than being silently dropped."""
    read_engine = engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})
    with _session(read_engine, read_only=True) as session:
        yield session


@contextmanager
def _session(engine: Engine, read_only: bool = False) -> Iterator[Session]:
    if getattr(_open, "depth", 0):
        raise RuntimeError("nested transaction: pass the open session down instead")
    _open.depth = 1
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                if read_only and (session.new or session.dirty or session.deleted):
                    raise RuntimeError("a read transaction changed rows: use intake.db.transaction")
                # A read transaction commits too (nothing to write): a rollback would expire what it read.
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        _open.depth = 0
