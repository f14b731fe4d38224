"""What a PostgreSQL engine needs that SQLite's does not (`database.url = "postgresql+psycopg://..."`).

SQLite serialises every transaction (BEGIN IMMEDIATE, `intake.db`); PostgreSQL lets them run side by side and
relies on row locks instead, so the isolation level is part of correctness, not a tuning knob. Imported only for
a PostgreSQL URL: an SQLite deployment needs no driver.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.string import StrBinaryDumper, StrDumperUnknown
from sqlalchemy import Engine, event
from sqlmodel import create_engine

# Shown in pg_stat_activity, so a DBA can tell intake's connections from others on a shared server.
APPLICATION_NAME = "intake"


def postgres_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        pool_pre_ping=True,  # a server restart or failover must not fail the next command with a dead connection
        # READ COMMITTED whatever the server's default_transaction_isolation: the registry counter's UPDATE waits
        # for the row lock of a concurrent registration and then increments the committed value. Under REPEATABLE
        # READ or SERIALIZABLE the second registration would fail with a serialisation error instead.
        isolation_level="READ COMMITTED",
        connect_args={"application_name": APPLICATION_NAME},
    )
    event.listen(engine, "connect", _nul_free_strings)
    return engine


def _without_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


class _NulFreeStrDumper(StrDumperUnknown):
    def dump(self, obj: str) -> Any:
        return super().dump(_without_nul(obj))


class _NulFreeStrBinaryDumper(StrBinaryDumper):
    def dump(self, obj: str) -> Any:
        return super().dump(_without_nul(obj))


def _nul_free_strings(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL text cannot hold U+0000 (psycopg refuses the whole statement), SQLite text can, and mail brings
    it: a broken or hostile message's body or file names would make its submission impossible to store, so it
    could never be registered, receipted or even quarantined. NUL becomes U+FFFD, the character a decoder puts for
    what it cannot represent; the message's exact bytes stay in the blob store."""
    adapters = dbapi_connection.adapters
    # The text dumper last: the one registered last also serves "%s" (automatic format), as psycopg's default does.
    adapters.register_dumper(str, _NulFreeStrBinaryDumper)
    adapters.register_dumper(str, _NulFreeStrDumper)
