"""The stage's three steps (intake.stages): snapshot in a read transaction, prepare outside any transaction,
record only if the submission is still where the snapshot saw it. Real SQLite, real store, real stages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import col, select

from intake import db, pipeline
from intake.db import transaction
from intake.models import Document, Event, Submission, SubmissionState
from intake.runtime import Runtime
from intake.settings import WorkerSettings
from tests import mailfactory
from tests.unit import runtimes

STAGE = {stage.name: stage for stage in pipeline.STAGES}


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = runtimes.make_runtime(tmp_path)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "intake.db"


def received(rt: Runtime, minute: int = 0) -> int:
    """A claimed message, as the poller leaves it: raw bytes in the store, a RECEIVED row."""
    raw = mailfactory.good_submission(subject=f"Cerere {minute}").as_bytes()
    now = datetime(2026, 11, 23, 9, minute, tzinfo=UTC)
    with transaction(rt.engine) as session:
        submission = Submission(
            office=rt.office,
            sha256=rt.store.put(raw),
            size=len(raw),
            received_at=now,
            claimed_at=now,
            state=SubmissionState.RECEIVED,
        )
        session.add(submission)
        session.flush()
        assert submission.id is not None
        return submission.id


def run(rt: Runtime, submission_id: int, *names: str) -> None:
    pipeline._run_stages(rt, submission_id, [STAGE[name] for name in names])


def stage_events(rt: Runtime, submission_id: int) -> list[str]:
    with transaction(rt.engine) as session:
        events = session.exec(select(Event).where(Event.submission_id == submission_id).order_by(col(Event.id))).all()
    return [event.action for event in events if event.action.startswith("stage:")]


def test_prepare_runs_with_no_transaction_open_and_the_write_lock_free(rt: Runtime, db_path: Path) -> None:
    submission_id = received(rt)
    seen: list[str] = []

    def prepare_while_checking(real: Any) -> Any:
        def prepare(runtime: Runtime, snapshot: Any) -> Any:
            assert not getattr(db._open, "depth", 0), "prepare ran inside a transaction"
            other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails at once ("database is locked") if anyone holds the lock
                other.execute("ROLLBACK")
            finally:
                other.close()
            seen.append("free")
            return real(runtime, snapshot)

        return prepare

    stages = [
        pipeline.Stage(
            stage.name,
            stage.description,
            SimpleNamespace(
                snapshot=stage.module.snapshot,
                prepare=prepare_while_checking(stage.module.prepare),
                record=stage.module.record,
            ),
        )
        for stage in pipeline.STAGES[:3]
    ]
    pipeline._run_stages(rt, submission_id, stages)
    assert seen == ["free", "free", "free"]
    assert stage_events(rt, submission_id) == ["stage:parse", "stage:screen", "stage:validate"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"stage": "validate"}, id="another worker recorded it first"),
        pytest.param({"state": SubmissionState.QUARANTINED}, id="quarantined meanwhile"),
    ],
)
def test_record_after_the_submission_moved_is_a_no_op(rt: Runtime, change: dict[str, Any]) -> None:
    submission_id = received(rt)
    run(rt, submission_id, "parse", "screen")
    prepared = pipeline._prepare_stage(rt, submission_id, STAGE["validate"])
    assert prepared is not None
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        for field, value in change.items():
            setattr(submission, field, value)

    outcome = pipeline._record_stage(rt, submission_id, STAGE["validate"], prepared)

    expected = pipeline.Recorded.CHANGED if "stage" in change else pipeline.Recorded.GONE
    assert outcome == expected
    with transaction(rt.engine) as session:
        documents = session.exec(select(Document).where(Document.submission_id == submission_id)).all()
    assert documents and all(document.detected_type is None for document in documents)  # nothing written
    assert stage_events(rt, submission_id) == ["stage:parse", "stage:screen"]


def test_a_prepare_whose_record_never_committed_runs_again_with_the_same_result(rt: Runtime) -> None:
    """A crash between prepare and record: the result was derived from stored bytes only, so the next run
    prepares the same thing, and the stage is recorded once."""
    submission_id = received(rt)
    run(rt, submission_id, "parse", "screen", "validate")
    lost = pipeline._prepare_stage(rt, submission_id, STAGE["verify"])  # the worker dies before its record
    assert lost is not None

    again = pipeline._prepare_stage(rt, submission_id, STAGE["verify"])
    assert again is not None
    assert _verified(again.result) == _verified(lost.result)
    assert pipeline._record_stage(rt, submission_id, STAGE["verify"], again) == pipeline.Recorded.DONE
    # The lost result arriving late (a worker that was only slow) is dropped: the stage is recorded once.
    assert pipeline._record_stage(rt, submission_id, STAGE["verify"], lost) == pipeline.Recorded.CHANGED
    assert stage_events(rt, submission_id).count("stage:verify") == 1
    with transaction(rt.engine) as session:
        kinds = [d.kind for d in session.exec(select(Document).where(Document.submission_id == submission_id))]
    assert kinds == [item.document.kind for item in again.result]


def _verified(items: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (item.document.id, item.document.kind, item.document.signature, item.applicant, item.verdict is None)
        for item in items
    ]


def test_parse_prepared_twice_stores_the_same_attachments(rt: Runtime) -> None:
    submission_id = received(rt)
    first = pipeline._prepare_stage(rt, submission_id, STAGE["parse"])
    second = pipeline._prepare_stage(rt, submission_id, STAGE["parse"])
    assert first is not None and second is not None
    assert first.result.attachment_hashes == second.result.attachment_hashes
    assert len(first.result.attachment_hashes) == 3


def stage_of(rt: Runtime, submission_id: int) -> str:
    with transaction(rt.engine) as session:
        return session.get_one(Submission, submission_id).stage


def test_a_run_goes_past_the_parse_barrier_only_once_every_earlier_message_is_parsed(rt: Runtime) -> None:
    """Screening counts the sender's earlier messages (the reply cap): a later message is not screened while an
    earlier one is unparsed, and goes on in the same run when none is (one child, one parse of the e-mail)."""
    earlier, later = received(rt, minute=0), received(rt, minute=1)
    pipeline._run_stages(rt, later, [STAGE["parse"], STAGE["screen"]], barriers=True)
    assert stage_of(rt, later) == "parse"  # held: the earlier one is not parsed yet

    pipeline._run_stages(rt, earlier, [STAGE["parse"], STAGE["screen"]], barriers=True)
    assert stage_of(rt, earlier) == "screen"  # nothing before it: parsed and screened in one run
    pipeline._run_stages(rt, later, [STAGE["screen"]], barriers=True)
    assert stage_of(rt, later) == "screen"


def test_what_the_barrier_held_is_screened_in_the_same_pass(tmp_path: Path) -> None:
    # One worker: the later message's run ends before the earlier one's starts, as when its child is quicker.
    rt = runtimes.make_runtime(tmp_path, worker=WorkerSettings(processes=1))
    earlier, later = received(rt, minute=0), received(rt, minute=1)
    # Offered out of order (as when the earlier one's child is still parsing): the later one is held.
    held = pipeline._process_all(rt, [later, earlier], "screen", {}, barriers=True)
    assert held == {later}
    assert (stage_of(rt, earlier), stage_of(rt, later)) == ("screen", "parse")

    pipeline.process_pending(rt, through="screen")
    assert stage_of(rt, later) == "screen"
    assert stage_events(rt, later) == ["stage:parse", "stage:screen"]


def test_the_child_of_the_first_in_line_numbers_and_books_itself_and_the_others_wait_their_turn(
    rt: Runtime,
) -> None:
    """Registration numbers and visit slots follow arrival (issue 11, section 2): a run takes the next number only
    when every earlier submission has its number and its visit; otherwise it stops before `register`."""
    up_to_book = [stage for stage in pipeline.STAGES if stage.name != "receipt"]
    earlier, later = received(rt, minute=0), received(rt, minute=1)
    pipeline._run_stages(rt, earlier, up_to_book[:5])  # the earlier one is assessed, not yet numbered
    pipeline._run_stages(rt, later, up_to_book, in_line=True)
    assert stage_of(rt, later) == "assess"  # ready, but not first in line: no number

    pipeline._run_stages(rt, earlier, up_to_book[5:], in_line=True)  # first in line: numbered and booked
    pipeline._run_stages(rt, later, up_to_book[5:], in_line=True)
    with transaction(rt.engine) as session:
        numbers = [session.get_one(Submission, submission_id).number for submission_id in (earlier, later)]
    assert numbers == [1, 2]
    assert (stage_of(rt, earlier), stage_of(rt, later)) == ("book", "book")
