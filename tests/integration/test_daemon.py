"""The daemon (`intake run`) and outages: IDLE push, polling fallback, IMAP down, SMTP down."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.harness import Intake
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))


@contextmanager
def running_daemon(intake: Intake, **env: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        intake.command("run"),
        cwd=intake.workdir,
        env=intake.environment(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_polled(intake: Intake, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if intake.json("status")["last_successful_poll"]:
            return
        time.sleep(0.3)
    raise AssertionError("the daemon never completed a poll")


def test_idle_push_delivers_without_waiting_for_the_interval(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # A 10-minute interval: within the test only IDLE can bring the new message in.
    with running_daemon(intake, INTAKE_IMAP__POLL_INTERVAL_SECONDS="600", INTAKE_IMAP__IDLE="true") as daemon:
        _wait_until_polled(intake)
        time.sleep(1.0)  # let the IDLE connection settle
        dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
        sent = replies(smtp_sink.wait_for(2, timeout=45))
        assert [reply.recipient for reply in sent if reply.is_receipt] == ["ion.popescu@example.ro"]
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    assert dovecot.uids("INBOX") == []


def test_polling_fallback_without_idle(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    settings = {
        "INTAKE_IMAP__POLL_INTERVAL_SECONDS": "1",
        "INTAKE_IMAP__IDLE": "false",
        "INTAKE_LOGGING__FORMAT": "json",
    }
    with running_daemon(intake, **settings) as daemon:
        _wait_until_polled(intake)
        dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
        sent = replies(smtp_sink.wait_for(2, timeout=45))
        assert len([reply for reply in sent if reply.is_receipt]) == 1
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    # logging.format = "json": one object per line, local time with its offset; no line per job run (a poll a second).
    assert daemon.stdout is not None
    output = daemon.stdout.read()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "intake" and line["message"] == "intake stopped" for line in lines), output
    assert all(datetime.fromisoformat(line["time"]).utcoffset() is not None for line in lines)
    assert "Running job" not in output and "executed successfully" not in output


def test_mailbox_down_is_a_clear_error_and_nothing_is_lost(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    failed = intake.run("poll", "--once", check=False, INTAKE_IMAP__PORT="1")
    assert failed.returncode == 1
    assert "mailbox unreachable" in failed.stderr
    status = intake.json("status")
    assert status["mailboxes"][0]["consecutive_failures"] == 1 and status["mailboxes"][0]["last_error"]

    intake.poll()
    assert [s["number"] for s in intake.json("submissions")] == [1]
    assert intake.json("status")["mailboxes"][0]["consecutive_failures"] == 0


def test_smtp_down_defers_and_retries_without_duplicates(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    for index, sender in enumerate(["a@example.ro", "b@example.ro"]):
        dovecot.append(
            mailfactory.good_submission(sender=sender).as_bytes(), internaldate=T0 + timedelta(minutes=index)
        )

    intake.poll(
        INTAKE_SMTP__PORT="1", INTAKE_WORKER__OUTBOX_BACKOFF_SECONDS="0.01"
    )  # the mail server is unreachable: processing still completes
    status = intake.json("status")
    assert status["queues"] == {"receipted": 2}
    assert status["outbox"]["pending"] == 4 and status["outbox"]["sent"] == 0
    assert smtp_sink.messages == []

    smtp_sink.fail_next = 1  # then a temporary 451 on the first message
    intake.poll(INTAKE_WORKER__OUTBOX_BACKOFF_SECONDS="0.01")
    time.sleep(0.1)
    intake.poll(INTAKE_WORKER__OUTBOX_BACKOFF_SECONDS="0.01")

    sent = replies(smtp_sink.wait_for(4))
    assert len(sent) == 4
    assert len({str(reply.message["Message-ID"]) for reply in sent}) == 4
    assert intake.json("status")["outbox"] == {
        "pending": 0,
        "sent": 4,
        "failed": 0,
        "oldest_pending_age_seconds": None,
    }


def test_tsa_down_receipts_wait_unquarantined_then_go_out_once(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    """A down time-stamping authority is not the citizens' fault (intake.outages): their messages are registered
    and wait for the recipisă, none is quarantined, and after the first failure the others do not each wait for
    the TSA's time-out. When it answers again, each recipisă goes out once."""
    senders = [f"tsa{index}@example.ro" for index in range(4)]
    for index, sender in enumerate(senders):
        message = mailfactory.good_submission(sender=sender)
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))

    intake.poll(INTAKE_SIGNING__TIMESTAMP_URL="http://127.0.0.1:9/tsa", INTAKE_WORKER__PROCESSES="2")
    assert intake.json("status")["queues"] == {"registered": 4}
    rows = intake.json("submissions")
    assert [row["number"] for row in sorted(rows, key=lambda row: row["number"])] == [1, 2, 3, 4]
    with sqlite3.connect(intake.workdir / "intake.db") as db:
        deferred = db.execute("SELECT detail FROM event WHERE action = 'deferred'").fetchall()
        errors = db.execute("SELECT count(*) FROM event WHERE action IN ('error', 'quarantined')").fetchone()[0]
        attempts = {row[0] for row in db.execute("SELECT attempts FROM submission")}
    # Only the runs already under way when the first one met the outage tried the TSA (two workers).
    assert 1 <= len(deferred) <= 2, deferred
    assert all(json.loads(detail)["stage"] == "receipt" for (detail,) in deferred)
    assert errors == 0 and attempts == {0}
    assert [reply.recipient for reply in replies(smtp_sink.messages) if reply.is_receipt] == []

    intake.poll()  # the TSA is back (here: none configured)
    assert intake.json("status")["queues"] == {"receipted": 4}
    receipts = [reply for reply in replies(smtp_sink.wait_for(8)) if reply.is_receipt]
    assert sorted(reply.recipient for reply in receipts) == senders
