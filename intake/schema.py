"""The database schema's version: created at the code's version when empty, checked at start-up, upgraded on demand.

The revisions live in `intake/migrations/versions` (Alembic). Start-up reads one row and compares it with the
newest revision's file name; Alembic itself is imported only when the schema has to be created, adopted or
upgraded, because it costs every `intake` process about 0.15 s.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlmodel import SQLModel

from intake import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from intake.settings import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"
# Any constant will do: it only has to be the same in every intake process that may create or upgrade the schema.
_PG_LOCK_KEY = 0x1A7A4E0011


# Alembic announces each of its plugins (on import) and each step at INFO: intake says in one line what changed.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaMismatch(ConfigError):
    """The database's schema is not the code's: one line saying which way and what to do (exit code 2)."""


_REVISION_LINE = re.compile(r'^revision = "([0-9A-Za-z_]+)"', re.MULTILINE)


def revisions() -> list[str]:
    """Every revision the code knows, oldest first: the id each file declares (`0003`, `0004`, …); every file name
    starts with its id and "_", so they sort the same way."""
    found = []
    for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"):
        match = _REVISION_LINE.search(path.read_text(encoding="utf-8"))
        if match:
            found.append(match.group(1))
    return sorted(found)


def code_revision() -> str:
    return revisions()[-1]


def ensure_current(engine: Engine) -> None:
    """At start-up of every command that uses the database: an empty database is created at the code's revision;
    one made before migrations is stamped with the revision its tables match; any other difference refuses."""
    head = code_revision()
    with engine.connect() as connection:
        stored = stored_revision(connection)
    if stored == head:
        return
    if stored is None:
        with exclusive(engine) as connection:
            stored = _adopt(connection)
            if stored is None:
                _create_at_head(connection)
                return
    check(stored)


def check(stored: str) -> None:
    head = code_revision()
    if stored == head:
        return
    if stored in revisions():
        raise SchemaMismatch(f"database schema {stored} is older than the code ({head}): run 'intake db upgrade'")
    raise SchemaMismatch(
        f"database schema {stored} is newer than the code ({head}): run the intake version that upgraded it"
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the code's revision: (the revision it was at, None when empty; the one it is at)."""
    from alembic import command

    head = code_revision()
    with exclusive(engine) as connection:
        before = _adopt(connection)
        if before is None:
            _create_at_head(connection)
            return None, head
        if before not in revisions():
            check(before)  # newer than the code: refuse rather than let Alembic fail on an unknown revision
        if before != head:
            command.upgrade(alembic_config(connection), head)
    return before, head


def describe(engine: Engine) -> str:
    """For `intake db current`: the database's revision and the code's, without changing anything."""
    head = code_revision()
    with engine.connect() as connection:
        stored = stored_revision(connection)
        if stored is None and _has_tables(connection):
            matching = _matching_revision(connection)
            stored_text = f"{matching} (made before migrations; not stamped yet)" if matching else "unknown tables"
        else:
            stored_text = stored or "empty"
    return f"database schema {stored_text}; code {head}"


def stored_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()


@contextmanager
def exclusive(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other intake process can interleave with a schema change: SQLite's BEGIN IMMEDIATE
    (intake.db) or a PostgreSQL advisory lock, so several hosts starting at once on an empty database create it
    once. All revisions run in it: both databases roll DDL back, so a failed upgrade leaves the old schema."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, dropping the old copy
            # of submission would fail for every row that points at it. The pragma is a no-op inside a
            # transaction, so it goes to the driver before SQLAlchemy begins one.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"schema change would break {len(broken)} foreign keys, e.g. {broken[0]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _adopt(connection: Connection) -> str | None:
    """The stored revision; a database made before migrations (tables, no version) is stamped with the revision
    whose tables and columns it has. None: an empty database."""
    from alembic import command

    stored = stored_revision(connection)
    if stored is not None or not _has_tables(connection):
        return stored
    matching = _matching_revision(connection)
    if matching is None:
        raise SchemaMismatch(
            "database has tables but no schema version, and they match no revision of the code: "
            "restore it from a backup or inspect it by hand"
        )
    command.stamp(alembic_config(connection), matching)
    return matching


def _create_at_head(connection: Connection) -> None:
    """From the models rather than by replaying every revision: the same tables (a test compares them), faster."""
    from alembic import command

    SQLModel.metadata.create_all(connection)
    command.stamp(alembic_config(connection), "head")


def _has_tables(connection: Connection) -> bool:
    names = set(inspect(connection).get_table_names())
    return any(table in names for table in SQLModel.metadata.tables)


def _matching_revision(connection: Connection) -> str | None:
    actual = _columns(connection)
    for revision in reversed(revisions()):
        if _columns_at(revision) == actual:
            return revision
    return None


def _columns(connection: Connection) -> dict[str, frozenset[str]]:
    inspector = inspect(connection)
    return {
        table: frozenset(column["name"] for column in inspector.get_columns(table))
        for table in inspector.get_table_names()
        if table != VERSION_TABLE
    }


@cache
def _columns_at(revision: str) -> dict[str, frozenset[str]]:
    """The tables and columns a revision has: its migrations replayed on a scratch in-memory SQLite database."""
    from alembic import command

    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            return _columns(connection)
    finally:
        scratch.dispose()


def alembic_config(connection: Connection, **attributes: Any):  # type: ignore[no-untyped-def]  # -> alembic Config
    """Alembic's configuration, made here rather than read from an alembic.ini: it runs on CONNECTION."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # NNNN_slug.py: the number is the revision id, and `revisions()` reads it from the name.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


def write_revision(message: str) -> Path:
    """For developers (`intake db revision -m ...`): compare the models with the schema the revisions build and
    write the difference as the next numbered revision, to be reviewed like any code."""
    from alembic import command

    number = f"{int(code_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = create_engine(f"sqlite:///{Path(scratch_dir) / 'head.db'}")
        try:
            with scratch.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
                script = command.revision(config, message=message, autogenerate=True, rev_id=number)
        finally:
            scratch.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)
