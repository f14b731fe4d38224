"""deploy/backup and deploy/restore: back up a database and blob store with submissions in them, wipe both,
restore, and intake shows the same state (`status --json`, `submissions --json`, the stored bytes).

Both databases: SQLite (the Python backup API) and PostgreSQL (pg_dump / pg_restore against the suite's private
server). The state is built directly (rows and blobs, as the pipeline leaves them) rather than by a poll cycle:
what is tested is the copy, and a cycle would cost seconds per backend.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from intake import cli
from intake.clock import utcnow
from intake.db import transaction
from intake.models import Alert, Event, MailboxItem, OutboxMessage, PollState, Submission
from intake.runtime import Runtime
from intake.settings import load_settings
from tests import mailfactory
from tests.servers.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
# deploy/backup.py is a script beside the package, not part of it: loaded from its file for the in-process checks.
_spec = importlib.util.spec_from_file_location("deploy_backup", REPO / "deploy" / "backup.py")
assert _spec is not None and _spec.loader is not None
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'intake.db'}"
    return str(request.getfixturevalue("postgres_url"))


def run_script(name: str, *args: str | Path, config: Path) -> subprocess.CompletedProcess[str]:
    """deploy/NAME as an operator runs it, `config` in INTAKE_CONFIG (a --config among `args` wins)."""
    env = dict(os.environ, INTAKE_PYTHON=sys.executable, INTAKE_CONFIG=str(config))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [str(REPO / "deploy" / name), *map(str, args)], env=env, capture_output=True, text=True, timeout=120
    )


def populate(rt: Runtime) -> dict[str, bytes]:
    """Two registered submissions with their raw mail, a quarantined one, an ignored bounce, a reply in the outbox."""
    now = utcnow()
    raws = [
        mailfactory.good_submission().as_bytes(),
        mailfactory.good_submission(sender="ana.pop@example.ro").as_bytes(),
        mailfactory.auto_reply().as_bytes(),
        mailfactory.bounce(),
    ]
    hashes = [rt.store.put(raw) for raw in raws]
    with transaction(rt.engine) as session:
        for index, (sha256, state) in enumerate(
            zip(hashes, ["receipted", "registered", "quarantined", "ignored"], strict=True)
        ):
            at = now - timedelta(hours=4 - index)
            registered = state in ("receipted", "registered")
            submission = Submission(
                office=rt.office, sha256=sha256, size=len(raws[index]), received_at=at, claimed_at=at, state=state,
                sender=f"s{index}@example.ro", subject=f"Cerere {index}", number=index + 1 if registered else None,
                year=at.year if registered else None, registered_at=at if registered else None,
            )  # fmt: skip
            session.add(submission)
            session.flush()
            assert submission.id is not None
            session.add(
                MailboxItem(
                    office=rt.office, account="intake@mail.example", folder="INBOX", uidvalidity=7, uid=index + 1,
                    sha256=sha256, submission_id=submission.id, claimed_at=at,
                )
            )  # fmt: skip
            session.add(Event(submission_id=submission.id, at=at, action="stage:parse", detail={"duration_ms": 12.5}))
        session.add(
            OutboxMessage(
                office=rt.office, kind="receipt", message_id="<r1@x>", recipient="s0@example.ro", raw=b"x",
                state="sent", next_attempt_at=now, created_at=now,
            )
        )  # fmt: skip
        session.add(PollState(account="intake@mail.example", folder="INBOX", office=rt.office, last_success_at=now))
        session.add(
            Alert(office=rt.office, kind="booking_overflow", key="s1", message="peste capacitate", opened_at=now)
        )
    return dict(zip(hashes, raws, strict=True))


def intake_json(command: str, config: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    assert cli.main(["--config", str(config), command, "--json"]) == 0
    return _without_ages(json.loads(capsys.readouterr().out))


def _without_ages(value: Any) -> Any:
    """Ages are measured against the clock of the moment, not stored."""
    if isinstance(value, dict):
        return {key: _without_ages(item) for key, item in value.items() if not key.endswith("age_seconds")}
    if isinstance(value, list):
        return [_without_ages(item) for item in value]
    return value


def wipe(database_url: str, storage: Path, request: pytest.FixtureRequest) -> None:
    shutil.rmtree(storage)
    if database_url.startswith("sqlite"):
        shutil.rmtree(Path(database_url.removeprefix("sqlite:///")).parent)
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = database_url.rsplit("/", 1)[1]
    with server.admin(name) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public AUTHORIZATION intake")


def test_back_up_wipe_restore_gives_the_same_state(
    tmp_path: Path,
    database_url: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)  # pytest keeps its own log handlers
    storage = tmp_path / "state" / "storage"
    config = tmp_path / "intake.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[storage]\npath = "{storage}"\n')
    rt = Runtime.from_settings(load_settings(config))
    blobs = populate(rt)
    rt.engine.dispose()
    before = [intake_json(command, config, capsys) for command in ("status", "submissions")]
    assert before[0]["queues"] == {"receipted": 1, "registered": 1, "quarantined": 1, "ignored": 1}

    made = run_script("backup", "--config", config, tmp_path / "backups", config=tmp_path / "elsewhere.toml")
    assert made.returncode == 0, made.stderr
    (backup,) = (tmp_path / "backups").iterdir()
    assert made.stdout.strip() == f"backup written to {backup}"
    assert sorted(path.name for path in backup.iterdir()) == sorted(
        ["manifest.json", "storage.tar", "database.sqlite3" if "sqlite" in database_url else "database.pgdump"]
    )
    assert all(path.stat().st_mode & 0o077 == 0 for path in backup.iterdir() if path.name != "manifest.json")

    wipe(database_url, storage, request)
    # deploy/restore runs the same file as deploy/backup with "restore": in-process here, a second start-up saved.
    monkeypatch.setenv("INTAKE_CONFIG", str(config))
    assert tool.main(["restore", str(backup)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"restored {backup}: database ")

    after = [intake_json(command, config, capsys) for command in ("status", "submissions")]
    assert after == before
    rt = Runtime.from_settings(load_settings(config))
    try:
        assert all(rt.store.get(sha256) == raw for sha256, raw in blobs.items())
    finally:
        rt.engine.dispose()


def test_a_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "blob").write_bytes(b"x")
    database = tmp_path / "intake.db"
    sqlite3.connect(database).close()
    url = f"sqlite:///{database}"
    backup = tool.back_up(url, storage, tmp_path / "backups")
    with pytest.raises(tool.BackupError, match="--force"):  # over live data: only on purpose
        tool.restore_backup(backup, url, storage, force=False)
    with (backup / "storage.tar").open("r+b") as archive:
        archive.seek(600)
        archive.write(b"damaged")
    database.unlink()
    shutil.rmtree(storage)
    with pytest.raises(tool.BackupError, match=r"storage\.tar: missing or damaged"):
        tool.restore_backup(backup, url, storage, force=False)
    assert not database.exists() and not storage.exists()
