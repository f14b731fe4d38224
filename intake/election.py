"""Which `intake run` is the poller of a mailbox: one leader per office, the others hot standbys.

Only the leader fetches from IMAP (and holds IDLE), registers and books (so numbers follow arrival with no
sequencing across hosts), moves settled mail and sends the outbox; every process, leader or standby, runs the
parallel stages (intake.claims). On PostgreSQL the leader holds a session-level advisory lock on a key derived
from the office and mailbox, on a connection of its own: when the process dies, or its connection does, the
server releases the lock and the next standby to try (once per poll interval) leads. A leader checks its lock
connection before every leader step, so one cut off from the database stops acting as leader.

On SQLite (one host) an exclusive file lock beside the database file plays the same part, so two `intake run`
on one database file do not both poll. Any other backend: the process always leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine

if TYPE_CHECKING:
    from intake.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds a leader waits for its lock connection to answer before it stops leading.
CHECK_TIMEOUT_SECONDS = 5


class Election(Protocol):
    def leads(self) -> bool:
        """Take the lead if it is free, confirm it if held; False for a standby (or a leader that lost it)."""
        ...

    @property
    def leading(self) -> bool:
        """The last answer of `leads`, without asking the database (for threads that must not block)."""
        ...

    def close(self) -> None: ...


def lock_key(office: str, account: str, folder: str) -> int:
    """A signed 64-bit key (what pg_try_advisory_lock takes), stable across hosts and Python versions."""
    digest = hashlib.sha256(f"intake-poller\x00{office}\x00{account}\x00{folder}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def for_offices(rt: Runtime) -> dict[str, Election]:
    """One election per office's mailbox (keyed by office code): `intake run` and `intake poll --once` alike, so a
    poll started beside a running daemon does not fetch, register or send beside it."""
    return {
        office.office: for_mailbox(
            office.engine, office.office, office.settings.imap.account, office.settings.imap.folder
        )
        for office in rt.offices
    }


def for_mailbox(engine: Engine, office: str, account: str, folder: str) -> Election:
    name = engine.url.get_backend_name()
    if name == "postgresql":
        return AdvisoryLockElection(engine, office, lock_key(office, account, folder))
    if name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return FileLockElection(
            Path(f"{engine.url.database}.poller-{lock_key(office, account, folder) & 0xFFFF_FFFF_FFFF_FFFF:016x}.lock")
        )
    return AlwaysLeader()


class AlwaysLeader:
    leading = True

    def leads(self) -> bool:
        return True

    def close(self) -> None:
        return None


class AdvisoryLockElection:
    def __init__(self, engine: Engine, office: str, key: int) -> None:
        self.office = office
        self.key = key
        # A connection of its own, outside the pool: the lock lives exactly as long as this session.
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = None
        self._guard = threading.Lock()  # the poll job and the IDLE thread may ask at once
        self.leading = False

    def leads(self) -> bool:
        with self._guard:
            if self._connection is not None and self.leading:
                if self._alive():
                    return True
                log.error(
                    "lost the database connection that holds the poller lock of office %s: now standby", self.office
                )
                self._drop()
                return False  # this step is not ours: try again at the next one, like any standby
            try:
                if self._connection is None:
                    self._connection = self._connect()
                with self._connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                    row = cursor.fetchone()
                    self.leading = bool(row and row[0])
            except Exception as exc:  # psycopg.Error, OSError: the database is unreachable, so we cannot lead
                log.warning("poller election of office %s: database unreachable (%s)", self.office, type(exc).__name__)
                self._drop()
                return False
            if self.leading:
                log.warning("leader: this process is now the poller of office %s (pid %s)", self.office, os.getpid())
            return self.leading

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=CHECK_TIMEOUT_SECONDS,
            application_name="intake-poller",
            # A leader cut off from the server notices within seconds (its check cannot hang on a dead socket), and
            # the server notices a vanished host by its keepalives and frees the lock (~25 s), not after the
            # kernel's default of two hours.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=CHECK_TIMEOUT_SECONDS * 1000,
            options="-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
        )

    def _alive(self) -> bool:
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {CHECK_TIMEOUT_SECONDS * 1000}")
                # The lock itself, not just the connection: confirms the session still holds it.
                # A bigint key is kept as two unsigned 32-bit halves (classid, objid) with objsubid 1.
                unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
                    "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                    (unsigned >> 32, unsigned & 0xFFFF_FFFF),
                )
                row = cursor.fetchone()
                return bool(row and row[0])
        except Exception:
            return False

    def _drop(self) -> None:
        self.leading = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: closing it is all we wanted
                connection.close()

    def close(self) -> None:
        with self._guard:
            self._drop()


class FileLockElection:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._guard = threading.Lock()
        self.leading = False

    def leads(self) -> bool:
        with self._guard:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            # Children forked by the workers inherit the descriptor; flock belongs to the open file, so it stays
            # ours until the daemon closes it (children never do) or exits.
            self._fd = fd
            self.leading = True
            log.info("leader: this process is now the poller of %s", self.path.name)
            return True

    def close(self) -> None:
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.leading = False
