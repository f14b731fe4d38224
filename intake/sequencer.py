"""The line for registration numbers: who gets a number now, in order of arrival.

Workers finish their messages in any order; numbers must follow arrival (received_at, then id) and stay
gap-free. So the parent registers, one by one, the submissions of the office that wait for a number and are
ready for it, in arrival order, and stops at the first one that is not ready: the ones after it wait.

A submission leaves the line by getting its number, by being quarantined (failures and budgets are settled
within the cycle, so that is where a message that cannot get ready ends) or by turning out to be machine mail.
What is left not ready after a cycle's passes was stopped from outside (the OOM killer, an operator's kill):
nobody's fault, so it holds the line until the next cycle, where it usually gets ready and keeps its place.
It holds the line for at most worker.max_attempts cycles (counted as `registration_held` events on it): after
that the ones behind it get their numbers first, and it gets the next free one when it is ready, because one
message the machine cannot process must not stop every citizen's recipisă.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, func, select

from intake import claims
from intake.db import read_transaction, transaction
from intake.models import Event, Submission, SubmissionState
from intake.runtime import Runtime

log = logging.getLogger(__name__)

HELD = "registration_held"


def registrable(rt: Runtime, ready_stage: str) -> list[int]:
    """The submissions to register now, in order: the ready ones up to the first one that holds the line."""
    with transaction(rt.engine) as session:
        line = session.exec(
            select(Submission.id, Submission.stage)
            .where(Submission.office == rt.office, Submission.state == SubmissionState.RECEIVED)
            .order_by(col(Submission.received_at), col(Submission.id))
        ).all()
        ready: list[int] = []
        for index, (submission_id, stage) in enumerate(line):
            if stage == ready_stage:
                ready.append(submission_id)
                continue
            behind = sum(1 for _id, later in line[index + 1 :] if later == ready_stage)
            if not behind:
                break  # nobody behind it is ready: there is nothing to hold back
            if claims.enabled(rt) and claims.worked_on(
                session.get_one(Submission, submission_id), claims.database_now(session)
            ):
                break  # a process (maybe on another host) is running its stages: it is on its way, not stuck
            held = _times_held(session, submission_id)
            if held >= rt.settings.worker.max_attempts:
                log.warning(
                    "submission %s held the registration line for %s cycles; the %s ready after it go first",
                    submission_id,
                    held,
                    behind,
                )
                continue
            session.add(Event(submission_id=submission_id, at=rt.clock.now(), action=HELD, detail={"behind": behind}))
            log.warning(
                "submission %s is not ready for its number (stage %s); the %s ready after it wait for the next cycle",
                submission_id,
                stage,
                behind,
            )
            break
    return ready


def still_waiting(rt: Runtime, submission_id: int) -> bool:
    """True if the submission is still in the line after its turn (its registration neither committed nor ended
    in quarantine: the stop of a run that is not its fault)."""
    with read_transaction(rt.engine) as session:
        return session.get_one(Submission, submission_id).state == SubmissionState.RECEIVED


def _times_held(session: Session, submission_id: int) -> int:
    return session.exec(
        select(func.count()).where(Event.submission_id == submission_id, Event.action == HELD)
    ).one()
