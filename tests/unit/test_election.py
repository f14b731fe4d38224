"""Poller election (intake.election) and claims on pending work (intake.claims) for several hosts on one database.

The advisory lock and the claims run against the real PostgreSQL of tests/servers/postgres.py; the file lock of a
single SQLite host needs no server. The three-process scenario is tests/integration/test_several_hosts.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from intake import claims, election
from intake.db import make_engine, transaction
from intake.models import Submission
from intake.runtime import Runtime
from intake.settings import DatabaseSettings, Settings, StorageSettings
from intake.store import BlobStore
from tests.servers.postgres import PostgresServer


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.mark.integration
def test_one_leader_per_mailbox_and_a_standby_takes_over_when_its_connection_dies(
    pg_engine: Engine, postgres: PostgresServer
) -> None:
    first = election.for_mailbox(pg_engine, "CJ", "cluj@anofm.example", "INBOX")
    second = election.for_mailbox(pg_engine, "CJ", "cluj@anofm.example", "INBOX")
    other_office = election.for_mailbox(pg_engine, "BH", "bihor@anofm.example", "INBOX")
    try:
        assert isinstance(first, election.AdvisoryLockElection)
        assert first.leads() is True
        assert second.leads() is False
        assert first.leads() is True  # a leader confirms its lead on every step
        assert other_office.leads() is True  # keyed by office and mailbox: offices elect independently

        # The leader's lock connection dies (its host crashed, or the network cut it off): the server frees the lock.
        with postgres.admin(pg_engine.url.database or "postgres") as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'intake-poller' "
                "AND pid = %s",
                (first._connection.info.backend_pid,),  # type: ignore[attr-defined]
            )
        assert first.leads() is False  # it notices before its next leader step and stops leading
        # pg_terminate_backend only signals the backend: its locks go when it has exited, an instant later (longer
        # on a loaded machine). The standby asks again every poll interval; here, every 50 ms for up to 10 s.
        assert _eventually(second.leads)
        assert first.leads() is False  # and is now the standby
        assert second.leading and not first.leading

        second.close()  # a clean stop frees the lock as well
        assert first.leads() is True
    finally:
        for elector in (first, second, other_office):
            elector.close()


def _eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_on_sqlite_a_file_lock_keeps_a_second_daemon_standby(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    first = election.for_mailbox(engine, "CJ", "cluj@anofm.example", "INBOX")
    second = election.for_mailbox(engine, "CJ", "cluj@anofm.example", "INBOX")
    try:
        assert isinstance(first, election.FileLockElection)
        assert (first.leads(), second.leads()) == (True, False)
        first.close()
        assert second.leads() is True
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_the_lock_key_is_stable_and_per_mailbox() -> None:
    key = election.lock_key("CJ", "cluj@anofm.example", "INBOX")
    assert key == election.lock_key("CJ", "cluj@anofm.example", "INBOX")
    assert -(2**63) <= key < 2**63
    assert key != election.lock_key("BH", "cluj@anofm.example", "INBOX")


def _runtime(url: str, tmp_path: Path) -> Runtime:
    settings = Settings(database=DatabaseSettings(url=url), storage=StorageSettings(path=tmp_path / "store"))
    return Runtime(settings=settings, engine=make_engine(url), store=BlobStore(tmp_path / "store"))


def _submission(rt: Runtime) -> int:
    now = datetime.now(UTC)
    with transaction(rt.engine) as session:
        row = Submission(office="CJ", sha256="0" * 64, size=1, received_at=now, claimed_at=now)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


@pytest.mark.integration
def test_claims_keep_two_hosts_off_one_submission_until_the_lease_ends(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _runtime(postgres_url, tmp_path)
    try:
        submission_id = _submission(rt)
        monkeypatch.setattr(claims, "owner", lambda: "host-a:100")
        assert claims.take(rt, submission_id) is True
        assert claims.take(rt, submission_id) is True  # renewing one's own lease

        monkeypatch.setattr(claims, "owner", lambda: "host-b:200")
        assert claims.take(rt, submission_id) is False  # host a holds it

        # Host a died: its lease runs out (moved into the past here) and host b takes the submission over.
        with transaction(rt.engine) as session:
            row = session.get_one(Submission, submission_id)
            assert row.claimed_by == "host-a:100"
            assert row.claimed_until is not None
            row.claimed_until = claims.database_now(session) - timedelta(seconds=1)
        assert claims.take(rt, submission_id) is True

        # A row locked by another transaction (a claim or a stage being recorded elsewhere) is skipped, not waited for.
        with Session(rt.engine) as other_host:
            other_host.get_one(Submission, submission_id, with_for_update=True)
            monkeypatch.setattr(claims, "owner", lambda: "host-c:300")
            assert claims.take(rt, submission_id) is False
            other_host.rollback()

        monkeypatch.setattr(claims, "owner", lambda: "host-b:200")
        claims.release(rt, submission_id)
        with transaction(rt.engine) as session:
            assert session.get_one(Submission, submission_id).claimed_by is None
    finally:
        rt.engine.dispose()


@pytest.mark.integration
def test_a_dead_process_on_this_host_loses_its_claim_at_once(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import subprocess

    rt = _runtime(postgres_url, tmp_path)
    try:
        submission_id = _submission(rt)
        gone = subprocess.Popen(["true"])
        gone.wait()  # a pid that no longer runs
        monkeypatch.setattr(claims, "owner", lambda: f"{socket.gethostname()}:{gone.pid}")
        assert claims.take(rt, submission_id) is True
        monkeypatch.undo()
        assert claims.take(rt, submission_id) is True  # no lease to wait out: its children died with it
    finally:
        rt.engine.dispose()


def test_poll_once_beside_a_running_daemon_runs_only_the_parallel_stages(tmp_path: Path) -> None:
    """`intake poll --once` takes the same election as `intake run`: beside a daemon that leads the mailbox it
    neither fetches nor registers nor sends (it would register beside the leader, out of its order)."""
    from intake import scheduler
    from tests.unit import runtimes

    rt = runtimes.make_runtime(tmp_path)
    daemon = election.for_offices(rt)
    poll = election.for_offices(rt)
    try:
        assert all(elector.leads() for elector in daemon.values())
        (report,) = scheduler.drain(rt, poll).values()
        assert report.leader is False
        assert report.fetched.claimed == 0 and report.sent.sent == 0  # no IMAP or SMTP connection was even tried
    finally:
        for elector in (*daemon.values(), *poll.values()):
            elector.close()
        rt.engine.dispose()
