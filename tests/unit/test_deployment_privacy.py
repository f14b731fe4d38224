"""Issue 10 point 18: the database is private to the service account, /metrics does not name the IMAP login,
and HTTPS deployments get HSTS with their secure cookies."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from intake.clock import utcnow
from intake.db import make_engine, transaction
from intake.models import PollState
from intake.settings import ImapSettings, WebSettings
from intake.web.app import create_app
from tests.unit import runtimes

IMAP_LOGIN = "registratura.cluj"
IMAP_HOST = "imap.anofm.example"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, directories 0755
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
def test_a_new_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "date" / "intake.db"  # a directory that does not exist yet
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:  # WAL mode: a write leaves -wal and -shm while connected
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        connection.execute(text("INSERT INTO probe VALUES (1)"))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()
        assert mode(db) == 0o600
        assert mode(wal) == 0o600 and mode(shm) == 0o600
    engine.dispose()
    assert mode(db.parent) == 0o700


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_readable_database_is_tightened_and_its_directory_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    db = shared / "intake.db"
    make_engine(f"sqlite:///{db}").dispose()
    db.chmod(0o644)
    Path(f"{db}-wal").write_bytes(b"")
    Path(f"{db}-wal").chmod(0o644)
    engine = make_engine(f"sqlite:///{db}")
    assert mode(db) == 0o600
    assert mode(Path(f"{db}-wal")) == 0o600  # checked while open: SQLite removes the file when the last one closes
    engine.dispose()
    assert mode(shared) == 0o755  # not ours to change: an administrator chose it


def _metrics(tmp_path: Path, **imap: str) -> str:
    settings = ImapSettings(username=IMAP_LOGIN, host=IMAP_HOST, password="secret", **imap)  # type: ignore[arg-type]
    rt = runtimes.make_runtime(tmp_path, imap=settings)
    with transaction(rt.engine) as session:
        session.add(PollState(account=settings.account, folder="INBOX", office=rt.office, last_success_at=utcnow(),
                              consecutive_failures=2))
    response = TestClient(create_app(rt)).get("/metrics")
    assert response.status_code == 200
    return response.text


def test_metrics_name_the_mailbox_not_its_login(tmp_path: Path) -> None:
    exposed = _metrics(tmp_path)
    assert IMAP_LOGIN not in exposed and IMAP_HOST not in exposed
    assert 'intake_poll_failures{folder="INBOX",mailbox="CJ"} 2.0' in exposed  # default: the office code
    assert 'intake_last_successful_poll_timestamp_seconds{folder="INBOX",mailbox="CJ"}' in exposed


def test_metrics_use_the_configured_mailbox_name(tmp_path: Path) -> None:
    exposed = _metrics(tmp_path, name="registratura")
    assert IMAP_LOGIN not in exposed
    assert 'intake_poll_failures{folder="INBOX",mailbox="registratura"} 2.0' in exposed


@pytest.mark.parametrize("secure", [True, False])
def test_hsts_goes_with_secure_cookies(tmp_path: Path, secure: bool) -> None:
    rt = runtimes.make_runtime(tmp_path, web=WebSettings(secure_cookies=secure))
    client = TestClient(create_app(rt), base_url="https://intake.example")
    for path in ("/login", "/healthz"):
        header = client.get(path).headers.get("strict-transport-security")
        assert header == ("max-age=31536000" if secure else None), (path, header)
