"""The `register` stage: the next registration number of the office and year (a short write, nothing to prepare).

It runs in the daemon, one submission at a time in order of arrival (`intake.sequencer`)."""

from __future__ import annotations

from sqlmodel import Session

from intake.clock import local
from intake.models import Submission, SubmissionState
from intake.registry import next_number
from intake.runtime import Runtime


def snapshot(rt: Runtime, session: Session, submission: Submission) -> None:
    return None


def prepare(rt: Runtime, snapshot: None) -> None:
    return None


def record(rt: Runtime, session: Session, submission: Submission, result: None) -> None:
    now = rt.clock.now()
    year = local(now, rt.settings.office.timezone).year
    submission.number = next_number(session, submission.office, year)
    submission.year = year
    submission.registered_at = now
    submission.state = SubmissionState.REGISTERED
