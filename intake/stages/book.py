"""The `book` stage: the visit the case calls for (a short write on stored results, nothing to prepare).

Clarification within 5 working days if anything is wrong; a complete case waits for a clerk's confirmation
before its decision visit. The booking rules are the appointments' own (`intake.appointments.service.book`),
shared with the staff's actions; it runs in the daemon in order of arrival, so slots are first come, first
served."""

from __future__ import annotations

from sqlmodel import Session

from intake.appointments import service
from intake.models import Submission
from intake.runtime import Runtime


def snapshot(rt: Runtime, session: Session, submission: Submission) -> None:
    return None


def prepare(rt: Runtime, snapshot: None) -> None:
    return None


def record(rt: Runtime, session: Session, submission: Submission, result: None) -> None:
    service.book(rt, session, submission)
