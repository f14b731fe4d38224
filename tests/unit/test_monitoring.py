"""Health checks behind ops alerts (intake/monitoring.py): one alert per incident, a recovery notice, readiness,
and the processing-time figures of the dashboard. Real SQLite Runtime; alert e-mails land in the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from intake import monitoring
from intake.clock import utcnow
from intake.db import transaction
from intake.models import Alert, Event, OutboxMessage, PollState, Submission, TrustListState
from intake.runtime import Runtime
from intake.settings import AlertsSettings, DatabaseSettings, ImapSettings, Settings, StorageSettings, TrustSettings
from intake.signatures import trust_state
from intake.views import status_view
from tests.unit import runtimes

OPS = "ops@ajofm.example"


def make_runtime(tmp_path: Path, trust: TrustSettings | None = None) -> Runtime:
    return runtimes.make_runtime(
        tmp_path,
        alerts=AlertsSettings(ops_address=OPS, poll_failure_minutes=15, trusted_list_stale_hours=48),
        imap=ImapSettings(username="intake", host="mail.example", poll_interval_seconds=60),
        trust=trust or TrustSettings(),
    )


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return make_runtime(tmp_path)


def alert_mails(rt: Runtime) -> list[str]:
    """Subjects of the alert e-mails queued so far, oldest first."""
    with transaction(rt.engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "alert").order_by(col(OutboxMessage.id))
        ).all()
        for row in rows:
            assert row.recipient == OPS
        return [" ".join(str(message_from_bytes(row.raw, policy=policy.default)["Subject"]).split()) for row in rows]


def open_alerts(rt: Runtime) -> list[Alert]:
    with transaction(rt.engine) as session:
        return list(session.exec(select(Alert).where(col(Alert.resolved_at).is_(None))).all())


def set_poll(rt: Runtime, *, last_success_at: datetime | None, failures: int, error: str | None = "timeout") -> None:
    with transaction(rt.engine) as session:
        poll = session.get(PollState, ("intake@mail.example", "INBOX")) or PollState(
            account="intake@mail.example", folder="INBOX", office=rt.office
        )
        poll.last_success_at = last_success_at
        poll.consecutive_failures = failures
        poll.last_error = error if failures else poll.last_error
        poll.last_error_at = utcnow() if failures else poll.last_error_at
        session.add(poll)


def add_outbox(rt: Runtime, *, state: str, kind: str = "receipt", message_id: str = "<m1@x>") -> None:
    now = utcnow()
    with transaction(rt.engine) as session:
        session.add(
            OutboxMessage(
                office=rt.office,
                kind=kind,
                message_id=message_id,
                recipient="someone@example.org",
                raw=b"Subject: x\r\n\r\nx",
                state=state,
                attempts=12,
                next_attempt_at=now,
                last_error="550 mailbox unavailable",
                created_at=now,
            )
        )


# ------------------------------------------------------------------------------------------------ polling
def test_poll_failure_alerts_once_then_recovers(rt: Runtime) -> None:
    set_poll(rt, last_success_at=utcnow() - timedelta(minutes=30), failures=30, error="ConnectionRefusedError")

    problems = monitoring.check_health(rt)
    assert any("poll_failing" in line for line in problems)
    assert [a.kind for a in open_alerts(rt)] == ["poll_failing"]
    assert len(alert_mails(rt)) == 1
    assert "ALERTĂ poll_failing" in alert_mails(rt)[0]

    # The condition persists over more cycles: still one open incident, still one e-mail.
    monitoring.check_health(rt)
    monitoring.check_health(rt)
    assert len(open_alerts(rt)) == 1
    assert len(alert_mails(rt)) == 1

    set_poll(rt, last_success_at=utcnow(), failures=0)
    assert monitoring.check_health(rt) == []
    assert open_alerts(rt) == []
    mails = alert_mails(rt)
    assert len(mails) == 2 and "REZOLVAT poll_failing" in mails[1]

    # Healthy cycles send nothing more; a new outage is a new incident.
    monitoring.check_health(rt)
    assert len(alert_mails(rt)) == 2
    set_poll(rt, last_success_at=utcnow() - timedelta(hours=2), failures=100)
    monitoring.check_health(rt)
    assert len(alert_mails(rt)) == 3 and len(open_alerts(rt)) == 1


def test_short_poll_failure_is_not_an_incident(rt: Runtime) -> None:
    set_poll(rt, last_success_at=utcnow() - timedelta(minutes=3), failures=2)
    assert monitoring.check_health(rt) == []
    assert open_alerts(rt) == [] and alert_mails(rt) == []


def test_mailbox_that_never_worked_alerts_after_enough_failures(rt: Runtime) -> None:
    set_poll(rt, last_success_at=None, failures=5)  # 5 x 60 s: under 15 minutes
    monitoring.check_health(rt)
    assert open_alerts(rt) == []
    set_poll(rt, last_success_at=None, failures=20)  # 20 minutes of failures
    monitoring.check_health(rt)
    assert [a.kind for a in open_alerts(rt)] == ["poll_failing"]


# ------------------------------------------------------------------------------------------------ outbox
def test_undeliverable_mail_alerts_once_and_recovers(rt: Runtime) -> None:
    add_outbox(rt, state="failed", message_id="<a@x>")
    monitoring.check_health(rt)
    add_outbox(rt, state="failed", message_id="<b@x>")  # a second failure during the same incident
    monitoring.check_health(rt)
    alerts = open_alerts(rt)
    assert [a.kind for a in alerts] == ["outbox_undeliverable"]
    assert "550 mailbox unavailable" in alerts[0].message
    assert "someone@example.org" not in alerts[0].message  # no beneficiary address in ops mail
    assert len(alert_mails(rt)) == 1

    with transaction(rt.engine) as session:  # staff resent them
        for row in session.exec(select(OutboxMessage).where(OutboxMessage.kind == "receipt")).all():
            row.state = "sent"
    monitoring.check_health(rt)
    assert open_alerts(rt) == []
    assert "REZOLVAT outbox_undeliverable" in alert_mails(rt)[-1]


def test_failed_alert_mail_does_not_raise_another_alert(rt: Runtime) -> None:
    add_outbox(rt, state="failed", kind="alert")
    add_outbox(rt, state="pending", message_id="<p@x>")
    assert monitoring.check_health(rt) == []
    assert open_alerts(rt) == []


# ------------------------------------------------------------------------------------------------ trusted lists
RO = "https://tl.example/ro.xml"
EU = "https://tl.example/eu.xml"


def add_list(
    rt: Runtime,
    source: str = RO,
    *,
    loaded_hours_ago: float = 1,
    error: str | None = None,
    next_update_in: timedelta = timedelta(days=30),
    operator_certificate_expired: bool = False,
) -> None:
    now = utcnow()
    with transaction(rt.engine) as session:
        row = session.get(TrustListState, source) or TrustListState(source=source, office=rt.office, loaded_at=now)
        # Issued long ago, as national lists are: only the freshness of our copy and next-update matter.
        row.issued_at = now - timedelta(days=90)
        row.loaded_at = now - timedelta(hours=loaded_hours_ago)
        row.next_update = now + next_update_in
        row.signature_verified = error is None
        row.error = error
        row.operator_certificate_expired = operator_certificate_expired
        session.add(row)


def trust_status(rt: Runtime) -> dict[str, Any]:
    with transaction(rt.engine) as session:
        return status_view(session, rt)


def list_states(rt: Runtime) -> dict[str, str]:
    return {row["source"]: row["state"] for row in trust_status(rt)["trusted_lists"]}


def assert_one_incident_then_recovery(rt: Runtime, fix: Callable[[], None], kind: str) -> Alert:
    """The condition holds over several cycles: one incident, one e-mail; `fix()` closes it with a notice."""
    monitoring.check_health(rt)
    monitoring.check_health(rt)
    (alert,) = open_alerts(rt)
    assert (alert.kind, alert.key) == (kind, RO)
    assert alert_mails(rt) == [f"[intake CJ] ALERTĂ {kind}: {RO}"]
    fix()
    assert monitoring.check_health(rt) == []
    assert open_alerts(rt) == []
    assert alert_mails(rt)[1:] == [f"[intake CJ] REZOLVAT {kind}: {RO}"]
    monitoring.check_health(rt)
    assert len(alert_mails(rt)) == 2  # healthy cycles send nothing more
    return alert


def test_healthy_trusted_list_is_ok_and_raises_nothing(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, trust=TrustSettings(anchors=[tmp_path / "anchor.pem"]))
    add_list(rt, loaded_hours_ago=10)
    assert monitoring.check_health(rt) == []
    assert open_alerts(rt) == [] and alert_mails(rt) == []
    status = trust_status(rt)
    assert list_states(rt) == {RO: "ok"}
    assert status["trust"] == {"ok": True, "sources_configured": True, "problems": []}


def test_trusted_list_unavailable_alerts_once_and_recovers(rt: Runtime) -> None:
    add_list(rt, error="signature not valid: wrong operator certificate")
    assert list_states(rt) == {RO: "unavailable"}

    def reloaded() -> None:
        add_list(rt)

    alert = assert_one_incident_then_recovery(rt, reloaded, "trusted_list_unavailable")
    assert "wrong operator certificate" in alert.message
    # Ops must know what it does to citizens' signatures.
    assert "„indeterminate”" in alert.message and "trusted_list_unavailable" in alert.message
    assert list_states(rt) == {RO: "ok"}


def test_trusted_list_expired_past_next_update_plus_grace_alerts_once_and_recovers(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, trust=TrustSettings(next_update_grace_hours=6))
    add_list(rt, next_update_in=-timedelta(hours=5))  # past NextUpdate, within the grace
    assert monitoring.check_health(rt) == [] and list_states(rt) == {RO: "ok"}

    add_list(rt, next_update_in=-timedelta(hours=7))
    assert list_states(rt) == {RO: "expired"}

    def new_edition() -> None:
        add_list(rt, next_update_in=timedelta(days=180))

    alert = assert_one_incident_then_recovery(rt, new_edition, "trusted_list_expired")
    assert "6 ore" in alert.message  # the grace is named
    assert "„indeterminate”" in alert.message and "trusted_list_expired" in alert.message


def test_ts119612_list_whose_operator_certificate_expired_is_expired_even_before_next_update(rt: Runtime) -> None:
    # Its signature verifies only as of its issue date (intake/signatures/trustlists.py): nobody vouches for it now.
    add_list(rt, operator_certificate_expired=True, next_update_in=timedelta(days=30))
    assert list_states(rt) == {RO: "expired"}

    def new_edition() -> None:
        add_list(rt, next_update_in=timedelta(days=180))

    alert = assert_one_incident_then_recovery(rt, new_edition, "trusted_list_expired")
    assert "certificat al operatorului" in alert.message


def test_trusted_list_not_refreshed_for_longer_than_the_limit_is_stale_once_and_recovers(rt: Runtime) -> None:
    add_list(rt, loaded_hours_ago=47)
    assert monitoring.check_health(rt) == [] and list_states(rt) == {RO: "ok"}

    add_list(rt, loaded_hours_ago=72)
    assert list_states(rt) == {RO: "stale"}

    def refreshed() -> None:
        add_list(rt, loaded_hours_ago=0)

    alert = assert_one_incident_then_recovery(rt, refreshed, "trusted_list_stale")
    assert "72 ore" in alert.message and "48 ore" in alert.message


def test_each_trusted_list_condition_is_its_own_incident(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, trust=TrustSettings(anchors=[tmp_path / "anchor.pem"]))
    add_list(rt, RO, loaded_hours_ago=72, next_update_in=-timedelta(days=1))  # expired and stale
    add_list(rt, EU, error="unreachable and no cached copy")
    monitoring.check_health(rt)
    assert sorted((a.kind, a.key) for a in open_alerts(rt)) == [
        ("trusted_list_expired", RO),
        ("trusted_list_stale", RO),
        ("trusted_list_unavailable", EU),
    ]
    assert len(alert_mails(rt)) == 3
    # The state is the most serious condition; `problems` lists every one.
    assert list_states(rt) == {RO: "expired", EU: "unavailable"}
    trust = trust_status(rt)["trust"]
    assert trust["ok"] is False
    assert sorted((p["kind"], p["source"]) for p in trust["problems"]) == [
        ("trusted_list_expired", RO),
        ("trusted_list_stale", RO),
        ("trusted_list_unavailable", EU),
    ]

    add_list(rt, RO, loaded_hours_ago=0, next_update_in=-timedelta(days=1))  # refreshed, still expired
    monitoring.check_health(rt)
    assert sorted(a.kind for a in open_alerts(rt)) == ["trusted_list_expired", "trusted_list_unavailable"]
    assert alert_mails(rt)[3:] == [f"[intake CJ] REZOLVAT trusted_list_stale: {RO}"]


def test_no_trust_source_configured_is_not_ok(rt: Runtime) -> None:
    trust = trust_status(rt)["trust"]
    assert trust["ok"] is False and trust["sources_configured"] is False
    assert [p["kind"] for p in trust["problems"]] == ["no_trust_source"]
    assert "trust.lotl" in trust["problems"][0]["message"]


def test_configured_lists_not_loaded_yet_are_not_ok(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, trust=TrustSettings(lotl="https://ec.europa.eu/tools/lotl/eu-lotl.xml"))
    trust = trust_status(rt)["trust"]
    assert trust["sources_configured"] is True and trust["ok"] is False
    assert [p["kind"] for p in trust["problems"]] == ["trusted_lists_not_loaded"]


def test_list_removed_from_the_configuration_closes_its_incident(rt: Runtime) -> None:
    add_list(rt, error="signature not valid")
    monitoring.check_health(rt)
    assert [a.kind for a in open_alerts(rt)] == ["trusted_list_unavailable"]
    trust_state.record_trust_lists(rt)  # the configuration has no list any more: its row goes
    assert list_states(rt) == {}
    monitoring.check_health(rt)
    assert open_alerts(rt) == []
    assert alert_mails(rt)[-1] == f"[intake CJ] REZOLVAT trusted_list_unavailable: {RO}"


def test_alerts_are_only_logged_without_an_ops_address(tmp_path: Path) -> None:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'intake.db'}"),
        storage=StorageSettings(path=tmp_path / "store"),
    )
    rt = Runtime.from_settings(settings)
    add_outbox(rt, state="failed")
    monitoring.check_health(rt)
    assert [a.notified for a in open_alerts(rt)] == [False]
    assert alert_mails(rt) == []


# ------------------------------------------------------------------------------------------------ readiness
def test_readiness(rt: Runtime) -> None:
    now = utcnow()
    ready, body = monitoring.readiness(rt, started_at=now - timedelta(seconds=30), now=now)
    assert ready and body["status"] == "starting"
    ready, body = monitoring.readiness(rt, started_at=now - timedelta(minutes=5), now=now)
    assert not ready and "no successful poll" in body["reason"]

    set_poll(rt, last_success_at=now - timedelta(seconds=100), failures=0)
    ready, body = monitoring.readiness(rt, started_at=now - timedelta(hours=1), now=now)
    assert ready and body["status"] == "ok"

    set_poll(rt, last_success_at=now - timedelta(seconds=181), failures=3)  # 3 x 60 s is the limit
    ready, body = monitoring.readiness(rt, started_at=now - timedelta(hours=1), now=now)
    assert not ready and "last successful poll" in body["reason"]


# ------------------------------------------------------------------------------------------------ processing time
def test_processing_seconds_sum_stages_per_submission(rt: Runtime) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with transaction(rt.engine) as session:
        ids = []
        for index in range(3):
            submission = Submission(office=rt.office, sha256=f"{index:064d}", size=1, received_at=now, claimed_at=now)
            session.add(submission)
            session.flush()
            ids.append(submission.id)
        stages = {ids[0]: [100, 200], ids[1]: [1500, 500, 1000], ids[2]: [50]}
        for submission_id, durations in stages.items():
            for position, duration in enumerate(durations):
                session.add(
                    Event(
                        submission_id=submission_id,
                        at=now - timedelta(minutes=10),
                        action=f"stage:s{position}",
                        detail={"duration_ms": duration},
                    )
                )
        # Older than the window, and not a stage: neither counts.
        session.add(
            Event(submission_id=ids[2], at=now - timedelta(hours=3), action="stage:old", detail={"duration_ms": 9e5})
        )
        session.add(Event(submission_id=ids[2], at=now, action="replayed", detail={"duration_ms": 9e5}))

    with transaction(rt.engine) as session:
        values = sorted(monitoring.processing_seconds(session, rt.office, since=now - timedelta(hours=1)))
        summary = monitoring.processing_summary(session, rt.office, now, timedelta(hours=1))
    assert values == pytest.approx([0.05, 0.3, 3.0])
    assert summary["count"] == 3
    assert summary["median"] == pytest.approx(0.3)
    assert summary["p95"] == pytest.approx(3.0)


def test_percentile_nearest_rank() -> None:
    assert monitoring.percentile([], 0.95) is None
    assert monitoring.percentile([4.0], 0.95) == 4.0
    values = [float(n) for n in range(1, 101)]
    assert monitoring.percentile(values, 0.95) == 95.0
    assert monitoring.percentile(values, 0.5) == 50.0
