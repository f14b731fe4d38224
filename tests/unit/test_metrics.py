"""The Prometheus exposition (intake/metrics.py): every figure read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from intake import metrics
from intake.clock import utcnow
from intake.db import transaction
from intake.models import Alert, Event, MailboxItem, OutboxMessage, PollState, Submission, TrustListState
from intake.runtime import Runtime
from intake.settings import ImapSettings, TrustSettings
from tests.unit import runtimes


def make_runtime(tmp_path: Path) -> Runtime:
    return runtimes.make_runtime(tmp_path, imap=ImapSettings(username="intake", host="mail.example"))


def scrape(rt: Runtime) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """family name → {(sample name, sorted labels): value}, parsed by prometheus_client's own parser."""
    text = metrics.exposition(metrics.make_registry(rt)).decode()
    result: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(text):
        samples = result.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return result


def value(families: dict, family: str, sample: str | None = None, **labels: str) -> float:  # type: ignore[type-arg]
    return families[family][(sample or family, tuple(sorted(labels.items())))]  # type: ignore[no-any-return]


def test_empty_database_exposes_every_metric(tmp_path: Path) -> None:
    families = scrape(make_runtime(tmp_path))
    for name in (
        "intake_messages_fetched",
        "intake_submissions",
        "intake_outbox_backlog",
        "intake_outbox_failed",
        "intake_poll_failures",
        "intake_last_successful_poll_timestamp_seconds",
        "intake_quarantined",
        "intake_trusted_list_age_seconds",
        "intake_trusted_lists",
        "intake_trust_ok",
        "intake_processing_seconds",
        "intake_open_alerts",
    ):
        assert name in families, name
    assert value(families, "intake_messages_fetched", "intake_messages_fetched_total") == 0
    # The configured mailbox shows 0 failures before the first poll rather than no series at all.
    assert value(families, "intake_poll_failures", mailbox="CJ", folder="INBOX") == 0
    assert value(families, "intake_processing_seconds", "intake_processing_seconds_count") == 0


def test_figures_follow_the_database(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path)
    now = utcnow()
    last_poll = now - timedelta(seconds=42)
    with transaction(rt.engine) as session:
        states = ["receipted", "receipted", "receipted", "quarantined", "registered"]
        # Seconds of processing per submission, split over two stages.
        durations = [0.05, 0.3, 1.2, 7.0, 100.0]
        for index, (state, seconds) in enumerate(zip(states, durations, strict=True)):
            submission = Submission(
                office=rt.office, sha256=f"{index:064d}", size=10, received_at=now, claimed_at=now, state=state
            )
            session.add(submission)
            session.flush()
            assert submission.id is not None
            session.add(
                MailboxItem(
                    office=rt.office, account="intake@mail.example", folder="INBOX", uidvalidity=1, uid=index + 1,
                    sha256=submission.sha256, submission_id=submission.id, claimed_at=now,
                )
            )  # fmt: skip
            for stage in ("parse", "register"):
                session.add(
                    Event(
                        submission_id=submission.id,
                        at=now,
                        action=f"stage:{stage}",
                        detail={"duration_ms": seconds * 1000 / 2},
                    )
                )
            session.add(Event(submission_id=submission.id, at=now, action="quarantined", detail={"reason": "x"}))
        # Another office in the same database is not counted.
        other = Submission(office="BH", sha256="f" * 64, size=1, received_at=now, claimed_at=now, state="receipted")
        session.add(other)
        for index, state in enumerate(["pending", "pending", "sent", "failed"]):
            session.add(
                OutboxMessage(
                    office=rt.office, kind="receipt", message_id=f"<{index}@x>", recipient="a@b.c", raw=b"x",
                    state=state, next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip
        session.add(
            PollState(
                account="intake@mail.example", folder="INBOX", office=rt.office, last_success_at=last_poll,
                consecutive_failures=3, last_error="timeout", last_error_at=now,
            )
        )  # fmt: skip
        session.add(Alert(office=rt.office, kind="poll_failing", key="m", message="x", opened_at=now))
        session.add(Alert(office=rt.office, kind="booking_overflow", key="s1", message="x", opened_at=now))
        session.add(Alert(office=rt.office, kind="booking_overflow", key="s2", message="x", opened_at=now))
        session.add(
            Alert(office=rt.office, kind="outbox_undeliverable", key="o", message="x", opened_at=now, resolved_at=now)
        )
        session.add(TrustListState(source="tl", office=rt.office, issued_at=now - timedelta(hours=5), loaded_at=now))

    families = scrape(rt)
    assert value(families, "intake_messages_fetched", "intake_messages_fetched_total") == 5
    assert value(families, "intake_submissions", state="receipted") == 3
    assert value(families, "intake_submissions", state="quarantined") == 1
    assert value(families, "intake_submissions", state="registered") == 1
    assert value(families, "intake_submissions", state="received") == 0
    assert value(families, "intake_quarantined") == 1
    assert value(families, "intake_outbox_backlog") == 2
    assert value(families, "intake_outbox_failed") == 1
    assert value(families, "intake_poll_failures", mailbox="CJ", folder="INBOX") == 3
    assert value(
        families, "intake_last_successful_poll_timestamp_seconds", mailbox="CJ", folder="INBOX"
    ) == pytest.approx(last_poll.timestamp())
    assert value(families, "intake_trusted_list_age_seconds") == pytest.approx(5 * 3600, abs=60)
    assert value(families, "intake_open_alerts", kind="booking_overflow") == 2
    assert value(families, "intake_open_alerts", kind="poll_failing") == 1
    assert value(families, "intake_open_alerts", kind="outbox_undeliverable") == 0

    def bucket(le: str) -> float:
        return value(families, "intake_processing_seconds", "intake_processing_seconds_bucket", le=le)

    assert bucket("0.1") == 1
    assert bucket("0.25") == 1
    assert bucket("0.5") == 2
    assert bucket("2.5") == 3
    assert bucket("5.0") == 3
    assert bucket("10.0") == 4
    assert bucket("60.0") == 4
    assert bucket("+Inf") == 5
    assert value(families, "intake_processing_seconds", "intake_processing_seconds_count") == 5
    assert value(families, "intake_processing_seconds", "intake_processing_seconds_sum") == pytest.approx(108.55)


def test_each_scrape_reads_the_database_again(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path)
    registry = metrics.make_registry(rt)
    assert b"intake_outbox_backlog 0.0" in metrics.exposition(registry)
    now = utcnow()
    with transaction(rt.engine) as session:
        session.add(
            OutboxMessage(
                office=rt.office, kind="receipt", message_id="<n@x>", recipient="a@b.c", raw=b"x",
                next_attempt_at=now, created_at=now,
            )
        )  # fmt: skip
    assert b"intake_outbox_backlog 1.0" in metrics.exposition(registry)


def test_trusted_lists_by_state(tmp_path: Path) -> None:
    anchored = TrustSettings(anchors=[tmp_path / "anchor.pem"])  # only configured: nothing is loaded at scrape time
    rt = runtimes.make_runtime(tmp_path, imap=ImapSettings(username="intake", host="mail.example"), trust=anchored)
    families = scrape(rt)
    for state in ("ok", "unavailable", "expired", "stale"):  # every state has a series, 0 included
        assert value(families, "intake_trusted_lists", state=state) == 0
    now = utcnow()
    with transaction(rt.engine) as session:
        month = timedelta(days=30)
        session.add(TrustListState(source="ok", office=rt.office, next_update=now + month, loaded_at=now))
        session.add(TrustListState(source="ok2", office=rt.office, next_update=now + month, loaded_at=now))
        session.add(TrustListState(source="bad", office=rt.office, loaded_at=now, error="signature not valid"))
        session.add(TrustListState(source="old", office=rt.office, next_update=now - month, loaded_at=now))
        session.add(
            TrustListState(source="stale", office=rt.office, next_update=now + month, loaded_at=now - 3 * month)
        )
    families = scrape(rt)
    assert value(families, "intake_trusted_lists", state="ok") == 2
    assert value(families, "intake_trusted_lists", state="unavailable") == 1
    assert value(families, "intake_trusted_lists", state="expired") == 1
    assert value(families, "intake_trusted_lists", state="stale") == 1
    assert value(families, "intake_trust_ok") == 0
    for kind in ("trusted_list_unavailable", "trusted_list_expired", "trusted_list_stale"):
        assert value(families, "intake_open_alerts", kind=kind) == 0


def test_trust_ok_needs_a_trust_source(tmp_path: Path) -> None:
    assert value(scrape(make_runtime(tmp_path)), "intake_trust_ok") == 0
    rt = runtimes.make_runtime(tmp_path / "anchored", trust=TrustSettings(anchors=[tmp_path / "anchor.pem"]))
    assert value(scrape(rt), "intake_trust_ok") == 1


def test_waiting_work_has_a_count_and_an_age(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path)
    families = scrape(rt)
    assert value(families, "intake_backlog") == 0
    assert value(families, "intake_backlog_oldest_age_seconds") == 0
    assert value(families, "intake_outbox_oldest_pending_age_seconds") == 0
    now = utcnow()
    with transaction(rt.engine) as session:
        for index, (state, minutes) in enumerate([("received", 40), ("registered", 10), ("receipted", 90)]):
            claimed = now - timedelta(minutes=minutes)
            session.add(
                Submission(
                    office=rt.office, sha256=f"{index:064d}", size=1, received_at=claimed, claimed_at=claimed,
                    state=state,
                )
            )  # fmt: skip
        for index, (state, minutes) in enumerate([("pending", 20), ("pending", 5), ("sent", 120)]):
            session.add(
                OutboxMessage(
                    office=rt.office, kind="receipt", message_id=f"<{index}@x>", recipient="a@b.c", raw=b"x",
                    state=state, next_attempt_at=now, created_at=now - timedelta(minutes=minutes),
                )
            )  # fmt: skip
    families = scrape(rt)
    assert value(families, "intake_backlog") == 2  # the receipted one is settled
    assert value(families, "intake_backlog_oldest_age_seconds") == pytest.approx(40 * 60, abs=30)
    assert value(families, "intake_outbox_oldest_pending_age_seconds") == pytest.approx(20 * 60, abs=30)
