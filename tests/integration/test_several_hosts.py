"""Issue 11, section 3: several `intake run` processes (standing for several hosts) share one PostgreSQL and one
mailbox. One leads (fetches, registers, books, settles, sends), the others are hot standbys that run the parallel
stages of the same work under claims; the leader is killed with SIGKILL mid-stream and a standby takes over.

One scenario, every assertion on it: every message registered exactly once, numbers 1..N gap-free in arrival
order, one recipisă each at the SMTP server, a standby took the lead, INBOX empty. The election and the claims on
their own are tests/unit/test_election.py.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

# Arrival within the last hour: deadlines counted from it are all still ahead (no late-clarification alerts).
T0 = datetime.now(ZoneInfo("Europe/Bucharest")).replace(microsecond=0) - timedelta(hours=1)
MESSAGES = 24
BEFORE_KILL = 12
LEADER_LINE = "leader: this process is now the poller of office"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Host:
    """One `intake run`, its output in a file (a pipe nobody reads would block it)."""

    def __init__(self, intake: Intake, name: str) -> None:
        self.log = intake.workdir / f"{name}.log"
        self._out = self.log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            intake.command("run"),
            cwd=intake.workdir,
            env=intake.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def leads(self) -> bool:
        return LEADER_LINE in self.output()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


@pytest.fixture
def hosts_intake(tmp_path: Path, module_dovecot, module_smtp_sink, signing_key, postgres_url: str) -> Intake:  # type: ignore[no-untyped-def]
    intake = intake_for(
        tmp_path / "intake",
        dovecot=module_dovecot,
        smtp_sink=module_smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
    )
    # One database and one blob store (the directory every host mounts) for all of them; one worker each, so
    # three processes on this 2-core machine.
    intake.env.update(
        INTAKE_DATABASE__URL=postgres_url,
        INTAKE_IMAP__POLL_INTERVAL_SECONDS="1",
        INTAKE_IMAP__IDLE="false",
        INTAKE_WORKER__PROCESSES="1",
        INTAKE_WORKER__OUTBOX_INTERVAL_SECONDS="1",
    )
    intake.run("db", "upgrade")
    return intake


@pytest.fixture
def hosts(hosts_intake: Intake) -> Iterator[list[Host]]:
    started: list[Host] = []
    try:
        started.append(Host(hosts_intake, "host-a"))
        # The first one leads before the others start, so the test knows which one to kill.
        _wait(started[0].leads, "the first process to lead", timeout=60)
        started += [Host(hosts_intake, "host-b"), Host(hosts_intake, "host-c")]
        yield started
    finally:
        for host in started:
            host.stop()


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def _registered(url: str) -> int:
    return int(str(_query(url, "SELECT count(*) FROM submission WHERE number IS NOT NULL")[0][0]))


def test_three_hosts_share_the_work_and_a_standby_takes_over_from_a_killed_leader(  # type: ignore[no-untyped-def]
    hosts: list[Host], hosts_intake: Intake, module_dovecot, module_smtp_sink
) -> None:
    url = hosts_intake.env["INTAKE_DATABASE__URL"]
    senders = [f"gazda{index:02d}@example.ro" for index in range(MESSAGES)]
    leader, standbys = hosts[0], hosts[1:]

    def deliver(indexes: range) -> None:
        for index in indexes:
            message = mailfactory.good_submission(sender=senders[index], subject=f"Cerere {index}")
            module_dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))

    deliver(range(BEFORE_KILL))
    _wait(lambda: _registered(url) >= 4, "the first registrations")
    leader.process.send_signal(signal.SIGKILL)  # mid-stream: some registered, others in every stage
    assert leader.process.wait(timeout=10) == -signal.SIGKILL
    deliver(range(BEFORE_KILL, MESSAGES))

    module_smtp_sink.wait_for(2 * MESSAGES, timeout=300)  # an acknowledgement and a recipisă each
    _wait(lambda: module_dovecot.uids("INBOX") == [], "an empty INBOX")

    # A standby took the lead, exactly one of them.
    assert sum(host.leads() for host in standbys) == 1, [host.output()[-2000:] for host in standbys]

    submissions = hosts_intake.json("submissions")
    assert len(submissions) == MESSAGES  # every message once: none lost, none claimed twice
    by_number = sorted(submissions, key=lambda s: s["number"])
    assert [s["number"] for s in by_number] == list(range(1, MESSAGES + 1))  # gap-free
    assert [s["sender"] for s in by_number] == senders  # in order of arrival
    assert all(s["state"] == "receipted" for s in submissions)

    # One recipisă queued per submission (no stage ran twice), and it went out once.
    queued = _query(url, "SELECT submission_id, count(*) FROM outboxmessage WHERE kind = 'receipt' GROUP BY 1")
    assert len(queued) == MESSAGES and all(count == 1 for _id, count in queued), queued
    receipts = [reply.recipient for reply in replies(list(module_smtp_sink.messages)) if reply.is_receipt]
    assert sorted(receipts) == senders  # one recipisă each, none twice
