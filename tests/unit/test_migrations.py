"""Schema migrations (issue 11 §3): the revisions build exactly the models' schema, an older database is upgraded
with its rows intact, and start-up refuses any schema that is not the code's.

Every database test runs on SQLite and on the real PostgreSQL of tests/servers/postgres.py. The CLI side
(`intake db upgrade`, `run` and `poll` refusing) is tests/integration/test_schema_upgrade.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from intake import schema
from intake.db import make_engine, open_engine
from tests.old_schema import database_at, insert_rows_of_0001

HEAD = schema.code_revision()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return str(request.getfixturevalue("postgres_url"))


def stored(url: str) -> str | None:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return schema.stored_revision(connection)
    finally:
        engine.dispose()


def differences(url: str) -> list:  # type: ignore[type-arg]
    """What Alembic's autogenerate would still write to turn the database into the models' schema."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def test_revisions_form_one_line_numbered_like_their_files() -> None:
    with open_engine("sqlite://").connect() as connection:
        script = ScriptDirectory.from_config(schema.alembic_config(connection))
    chain = [revision.revision for revision in reversed(list(script.walk_revisions()))]
    assert chain == schema.revisions()
    assert chain[:2] == ["0001", "0002"]
    assert script.get_heads() == [HEAD]
    for revision in script.walk_revisions():
        assert Path(revision.path).name.startswith(f"{revision.revision}_")


def test_the_revisions_build_exactly_the_models_schema(database_url: str) -> None:
    database_at(database_url, "head")
    assert differences(database_url) == []
    assert stored(database_url) == HEAD


def test_a_fresh_database_starts_at_head(database_url: str) -> None:
    make_engine(database_url).dispose()
    assert stored(database_url) == HEAD
    assert differences(database_url) == []
    make_engine(database_url).dispose()  # and the next start finds it current


def test_an_older_database_is_refused_then_upgraded_with_its_rows(database_url: str) -> None:
    database_at(database_url, "0001")
    insert_rows_of_0001(database_url)
    with pytest.raises(schema.SchemaMismatch) as refused:
        make_engine(database_url)
    assert str(refused.value) == f"database schema 0001 is older than the code ({HEAD}): run 'intake db upgrade'"

    engine = open_engine(database_url)
    try:
        assert schema.upgrade(engine) == ("0001", HEAD)
        assert schema.upgrade(engine) == (HEAD, HEAD)
    finally:
        engine.dispose()
    assert differences(database_url) == []

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.text(
                "SELECT number, year, sender, subject, authentication, related_case_id, sender_key, reply_capped "
                "FROM submission"
            )).one()
            assert tuple(row) == (1, 2026, "maria.pop@example.ro", "Cerere indemnizație", None, None, None, False)
            assert connection.execute(sa.text("SELECT name, session_version FROM staffuser")).all() == [("ana", 0)]
            assert connection.execute(sa.text("SELECT uid, automatic FROM appointment")).all() == [
                ("old-visit@intake", False)
            ]
            assert connection.execute(sa.text("SELECT filename FROM document")).scalars().all() == ["cerere.pdf"]
            assert connection.execute(sa.text("SELECT last_number FROM registrycounter")).scalar() == 1
    finally:
        engine.dispose()


def test_a_database_made_before_migrations_is_adopted_by_its_tables(database_url: str) -> None:
    """Issue 9's intake left its tables without a version: they match 0001, so it is stamped 0001 and refused
    until upgraded. Issue 10's (create_all plus the column stopgap) matches 0002 and simply goes on."""
    database_at(database_url, "0001")
    _drop_version_table(database_url)
    with pytest.raises(schema.SchemaMismatch, match="database schema 0001 is older than the code"):
        make_engine(database_url)
    assert stored(database_url) == "0001"

    engine = open_engine(database_url)
    try:
        assert schema.upgrade(engine) == ("0001", HEAD)
    finally:
        engine.dispose()
    _drop_version_table(database_url)
    make_engine(database_url).dispose()
    assert stored(database_url) == HEAD


def test_tables_that_match_no_revision_are_refused(database_url: str) -> None:
    database_at(database_url, "head")
    _drop_version_table(database_url)
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE alert ADD COLUMN colour VARCHAR")
    finally:
        engine.dispose()
    with pytest.raises(schema.SchemaMismatch, match="no schema version, and they match no revision"):
        make_engine(database_url)


def test_a_newer_database_is_refused_by_start_up_and_by_upgrade(database_url: str) -> None:
    database_at(database_url, "head")
    engine = open_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
        message = f"database schema 0099 is newer than the code ({HEAD}): run the intake version that upgraded it"
        with pytest.raises(schema.SchemaMismatch) as refused:
            schema.upgrade(engine)
        assert str(refused.value) == message
    finally:
        engine.dispose()
    with pytest.raises(schema.SchemaMismatch) as refused:
        make_engine(database_url)
    assert str(refused.value) == message


def test_0002_downgrades_to_exactly_0001(tmp_path: Path) -> None:
    """Downgrades are not a supported operation (restore the backup), but they are written: keep them true."""
    upgraded, original = f"sqlite:///{tmp_path / 'down.db'}", f"sqlite:///{tmp_path / 'at-0001.db'}"
    database_at(upgraded, "head")
    database_at(original, "0001")
    engine = open_engine(upgraded)
    try:
        with schema.exclusive(engine) as connection:
            command.downgrade(schema.alembic_config(connection), "0001")
    finally:
        engine.dispose()
    assert _table_columns(upgraded) == _table_columns(original)


def _drop_version_table(url: str) -> None:
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE alembic_version")
    finally:
        engine.dispose()


def _table_columns(url: str) -> dict[str, list[str]]:
    engine = open_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {table: [column["name"] for column in inspector.get_columns(table)]
                for table in inspector.get_table_names()}
    finally:
        engine.dispose()
