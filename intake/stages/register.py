"""The `register` stage: the next registration number of the office and year (a short write, nothing to prepare).

It runs one submission at a time in order of arrival (`intake.sequencer`): by a submission's turn every earlier
message of its case has its number, so a follow-up assessed before one of them is judged again here, with it."""

from __future__ import annotations

from sqlmodel import Session

from intake.clock import local
from intake.models import Submission, SubmissionState
from intake.registry import next_number
from intake.runtime import Runtime
from intake.stages import assess


def snapshot(rt: Runtime, session: Session, submission: Submission) -> None:
    return None


def prepare(rt: Runtime, snapshot: None) -> None:
    return None


def record(rt: Runtime, session: Session, submission: Submission, result: None) -> None:
    assess.judge_again_if_case_grew(rt, session, submission)
    now = rt.clock.now()
    year = local(now, rt.settings.office.timezone).year
    submission.number = next_number(session, submission.office, year)
    submission.year = year
    submission.registered_at = now
    submission.state = SubmissionState.REGISTERED
