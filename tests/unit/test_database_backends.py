"""What SQLite and PostgreSQL store differently, made the same by intake: one test, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from intake.db import make_engine, read_transaction, transaction
from intake.models import Event, Submission
from intake.web.paths import MAX_ID

BUCHAREST_WINTER = timezone(timedelta(hours=2))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'b.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _submission(**fields: object) -> Submission:
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST_WINTER)
    values: dict[str, object] = {
        "office": "CJ",
        "sha256": "a" * 64,
        "size": 1,
        "received_at": moment,
        "claimed_at": moment,
    }
    return Submission(**(values | fields))


def test_aware_datetimes_come_back_in_utc_json_and_text_intact(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(_submission(subject="Cerere indemnizație șomaj", references=["<a@x>", "<ă@ș>"], flagged=True))
    with transaction(engine) as session:
        stored = session.exec(select(Submission)).one()
    assert stored.received_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC) and stored.received_at.tzinfo is UTC
    assert stored.subject == "Cerere indemnizație șomaj"
    assert stored.references == ["<a@x>", "<ă@ș>"]
    assert stored.flagged is True and stored.has_html is False


def test_text_with_nul_from_a_broken_message_can_be_stored(engine: Engine) -> None:
    """PostgreSQL text cannot hold NUL: it becomes U+FFFD there (SQLite keeps it) instead of failing the commit,
    which would leave the submission impossible to register or even quarantine."""
    with transaction(engine) as session:
        session.add(_submission(text_body="Bună ziua\x00 atașez", sender_name="Ana\x00"))
    with transaction(engine) as session:
        stored = session.exec(select(Submission)).one()
    assert stored.text_body in ("Bună ziua\x00 atașez", "Bună ziua\ufffd atașez")
    assert stored.sender_name in ("Ana\x00", "Ana\ufffd")


def test_the_largest_id_a_url_may_carry_is_simply_absent(engine: Engine) -> None:
    """Ids are 64-bit on both (PostgreSQL BIGINT): looking one up past 2**31 finds nothing, it is no error."""
    with transaction(engine) as session:
        assert session.get(Submission, MAX_ID) is None
        assert session.exec(select(Event).where(Event.submission_id == MAX_ID)).first() is None


def test_json_values_are_filtered_in_the_database(engine: Engine) -> None:
    """`intake.metrics` sums a number kept inside Event.detail: a JSON path both databases must evaluate."""
    from intake.metrics import _processing_histogram

    with transaction(engine) as session:
        submission = _submission()
        session.add(submission)
        session.flush()
        at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        for stage, milliseconds in (("parse", 120), ("receipt", 380)):
            session.add(
                Event(submission_id=submission.id, at=at, action=f"stage:{stage}", detail={"duration_ms": milliseconds})
            )
    with transaction(engine) as session:
        histogram = _processing_histogram(session, "CJ")
    samples = {(sample.name, sample.labels.get("le")): sample.value for sample in histogram.samples}
    assert samples[("intake_processing_seconds_count", None)] == 1
    assert samples[("intake_processing_seconds_sum", None)] == pytest.approx(0.5)


def test_a_read_transaction_proceeds_while_another_connection_holds_the_write_lock(engine: Engine) -> None:
    """Pages, `status` and metrics never wait behind a worker's write (SQLite: deferred BEGIN under WAL;
    PostgreSQL: READ ONLY, no row locks)."""
    with transaction(engine) as session:
        session.add(_submission(subject="înainte"))
    writer = engine.connect()
    try:
        writer.begin()  # SQLite: BEGIN IMMEDIATE, the write lock, held until the end of this test
        writer.exec_driver_sql("UPDATE submission SET subject = 'în lucru'")
        # A read that needed the lock would fail after SQLite's busy timeout ("database is locked").
        with read_transaction(engine) as session:
            stored = session.exec(select(Submission)).one()
        assert stored.subject == "înainte"  # the committed snapshot, not the writer's uncommitted change
    finally:
        writer.rollback()
        writer.close()


def test_a_read_transaction_refuses_to_write(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="read transaction"), read_transaction(engine) as session:
        session.add(_submission())
    with read_transaction(engine) as session:
        assert session.exec(select(Submission)).all() == []
