"""The stage table and the worker that walks each claimed submission through it.

Each stage is a function from what is stored to what it stores, run in one transaction together with
the move of the submission's stage pointer: a worker that dies mid-stage leaves the row where it was,
and the stage simply runs again. A submission that keeps failing (exceptions or crashes) is quarantined
with the stage and the error, never looped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from intake import stages
from intake.appointments.service import book
from intake.assessment import assess
from intake.db import transaction
from intake.models import TERMINAL_STATES, Event, Submission, SubmissionState
from intake.privacy import redact
from intake.runtime import Runtime
from intake.signatures.stage import verify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    run: Callable[[Runtime, Session, Submission], None]


STAGES: tuple[Stage, ...] = (
    Stage("parse", "read headers, text and attachments from the stored raw e-mail", stages.parse),
    Stage("screen", "recognise auto-replies, bounces, lists and loops; size limits; acknowledge", stages.screen),
    Stage("validate", "check every attachment by content: only JPEG, PNG and PDF that fully decode", stages.validate),
    Stage("verify", "recognise each document; verify signatures; the law's qualified-signature rule", verify),
    Stage("assess", "request type, consent, checklist of documents, legibility: what is missing or wrong", assess),
    Stage("register", "give the next registration number of the office and year", stages.register),
    Stage(
        "book",
        "the visit the case calls for: clarification within 5 working days if anything is wrong; a complete case "
        "waits for a clerk's confirmation before its decision visit",
        book,
    ),
    Stage("receipt", "render and sign the recipisă, queue the reply", stages.receipt),
)

STAGE_NAMES = ("claimed", *(stage.name for stage in STAGES))
# The stage that queues the acknowledgement: the cycle sends acknowledgements before running the rest.
ACKNOWLEDGE_AFTER = "screen"
ACTIVE_STATES = (SubmissionState.RECEIVED, SubmissionState.REGISTERED)


def pending_ids(rt: Runtime) -> list[int]:
    """Work in order of receipt, so registration numbers follow the order mail arrived in."""
    with transaction(rt.engine) as session:
        rows = session.exec(
            select(Submission.id)
            .where(Submission.office == rt.office, col(Submission.state).in_(ACTIVE_STATES))
            .order_by(col(Submission.received_at), col(Submission.id))
        ).all()
    return [row for row in rows if row is not None]


def process_pending(rt: Runtime, through: str | None = None) -> int:
    """Run every pending submission through the stages (all of them, or up to and including `through`)."""
    done = 0
    for submission_id in pending_ids(rt):
        process(rt, submission_id, through)
        done += 1
    return done


def process(rt: Runtime, submission_id: int, through: str | None = None) -> None:
    stages_to_run = _remaining(rt, submission_id, through)
    if not stages_to_run or not _begin_attempt(rt, submission_id):
        return
    for stage in stages_to_run:
        started = time.perf_counter()
        try:
            with transaction(rt.engine) as session:
                submission = session.get_one(Submission, submission_id)
                stage.run(rt, session, submission)
                submission.stage = stage.name
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                session.add(
                    Event(
                        submission_id=submission_id,
                        at=rt.clock.now(),
                        action=f"stage:{stage.name}",
                        detail={"duration_ms": duration_ms},
                    )
                )
                terminal = submission.state in TERMINAL_STATES
        except Exception as exc:
            _record_failure(rt, submission_id, stage.name, exc)
            return
        if terminal:
            break
    # Only consecutive failed or killed runs count towards quarantine.
    with transaction(rt.engine) as session:
        session.get_one(Submission, submission_id).attempts = 0


def _remaining(rt: Runtime, submission_id: int, through: str | None) -> list[Stage]:
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return []
        done_stage = submission.stage
    start = STAGE_NAMES.index(done_stage) if done_stage in STAGE_NAMES else 0
    end = STAGE_NAMES.index(through) if through in STAGE_NAMES else len(STAGES)
    return list(STAGES[start:end])


def _begin_attempt(rt: Runtime, submission_id: int) -> bool:
    """Count the attempt before working, so a message that kills the process is also counted."""
    limit = rt.settings.worker.max_attempts
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return False
        if submission.attempts >= limit:
            _quarantine(
                session,
                submission,
                rt,
                f"stopped after {submission.attempts} attempts at stage after '{submission.stage}'"
                f" (last error: {submission.last_error or 'the worker died'})",
            )
            return False
        submission.attempts += 1
    return True


def _record_failure(rt: Runtime, submission_id: int, stage: str, exc: Exception) -> None:
    error = redact(f"{stage}: {type(exc).__name__}: {exc}")[:1000]
    log.warning("submission %s failed at stage %s: %s", submission_id, stage, error, exc_info=exc)
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        submission.last_error = error
        session.add(Event(submission_id=submission_id, at=rt.clock.now(), action="error", detail={"error": error}))
        if submission.attempts >= rt.settings.worker.max_attempts:
            _quarantine(session, submission, rt, f"failed {submission.attempts} times; last error: {error}")


def _quarantine(session: Session, submission: Submission, rt: Runtime, reason: str) -> None:
    submission.state = SubmissionState.QUARANTINED
    submission.quarantine_reason = reason
    session.add(Event(submission_id=submission.id, at=rt.clock.now(), action="quarantined", detail={"reason": reason}))
    log.error("submission %s quarantined: %s", submission.id, reason)


def replay(rt: Runtime, submission_id: int) -> None:
    """Send a quarantined submission through the pipeline again (after a fix), from where it stopped."""
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state != SubmissionState.QUARANTINED:
            raise ValueError(f"submission {submission_id} is not quarantined")
        submission.state = SubmissionState.REGISTERED if submission.number is not None else SubmissionState.RECEIVED
        submission.attempts = 0
        submission.quarantine_reason = None
        session.add(Event(submission_id=submission_id, at=rt.clock.now(), action="replayed"))
