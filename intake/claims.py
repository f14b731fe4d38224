"""Claims on pending work, so that processes on several hosts share it and never run the same stage of the same
submission at the same time (PostgreSQL).

Before a run, a process takes the submission's row with `SELECT ... FOR UPDATE SKIP LOCKED` and writes a lease
on it (claimed_by = host:pid, claimed_until); a row locked by someone else, or under another live lease, is
skipped, and the process goes on with the next one. The lease covers one run (a run never outlives its time
budget: the sandbox kills it) plus a margin, and is renewed by every run and dropped when the submission is done
for the pass. A lease of a dead process expires and the submission is taken over; on the same host a dead
owner is recognised at once (its children die with it, PR_SET_PDEATHSIG, so nothing of it still runs).

The lease times are the database's clock, so hosts need not agree on theirs. SQLite is one host and serialises
every transaction: there the claims are not used (`guarded` changes nothing).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from intake import sandbox, workers
from intake.db import transaction
from intake.models import Submission
from intake.runtime import Runtime

log = logging.getLogger(__name__)

# Added to the message time budget: the time between taking a claim and starting the child, and after it ends.
LEASE_MARGIN_SECONDS = 15.0


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enabled(rt: Runtime) -> bool:
    return rt.engine.url.get_backend_name() == "postgresql"


def lease_seconds(rt: Runtime) -> float:
    return rt.settings.worker.message_timeout_seconds + LEASE_MARGIN_SECONDS


def take(rt: Runtime, submission_id: int) -> bool:
    """Claim the submission for one run (or renew our claim); False if another live process holds it."""
    me = owner()
    with transaction(rt.engine) as session:
        submission = session.exec(
            select(Submission).where(Submission.id == submission_id).with_for_update(skip_locked=True)
        ).first()
        if submission is None:
            return False  # its row is locked right now: another process is claiming it or recording a stage
        now = database_now(session)
        if held_by_other(submission, now, me):
            return False
        if submission.claimed_by not in (None, me):
            log.info("submission %s: claim of %s expired, taken over", submission_id, submission.claimed_by)
        submission.claimed_by = me
        submission.claimed_until = now + timedelta(seconds=lease_seconds(rt))
    return True


def release(rt: Runtime, submission_id: int) -> None:
    me = owner()
    with transaction(rt.engine) as session:
        submission = session.get(Submission, submission_id)
        if submission is not None and submission.claimed_by == me:
            # claimed_until stays: until it passes, the registration line knows the submission is being worked on
            # (between the passes of a cycle it is free for a moment), see `worked_on`.
            submission.claimed_by = None


def held_by_other(submission: Submission, now: datetime, me: str | None = None) -> bool:
    """True while another live process holds a lease on the submission."""
    me = owner() if me is None else me
    holder = submission.claimed_by
    if holder is None or holder == me or submission.claimed_until is None or submission.claimed_until <= now:
        return False
    return not _dead_here(holder)


def worked_on(submission: Submission, now: datetime) -> bool:
    """True if some process claimed the submission within its lease: one not ready for its number yet is on its
    way, not stuck, so it does not count as holding the registration line (intake.sequencer)."""
    return submission.claimed_until is not None and submission.claimed_until > now


def database_now(session: Session) -> datetime:
    return session.exec(select(func.now())).one()  # type: ignore[call-overload]


def guarded(
    rt: Runtime, next_run: workers.NextRun[int], settle: workers.Settle[int]
) -> tuple[workers.NextRun[int], workers.Settle[int]]:
    """The worker's callbacks with claims around them: a run starts only under our lease, and the lease goes
    when the submission is done for the pass."""
    if not enabled(rt):
        return next_run, settle

    def claimed_next_run(submission_id: int) -> workers.Work | None:
        if not take(rt, submission_id):
            return None  # another process works on it: it is not ours this pass
        run = next_run(submission_id)
        if run is None:
            release(rt, submission_id)
        return run

    def claimed_settle(submission_id: int, result: sandbox.Result) -> bool:
        again = settle(submission_id, result)
        if not again:
            release(rt, submission_id)
        return again

    return claimed_next_run, claimed_settle


def _dead_here(holder: str) -> bool:
    """A holder on this host whose process is gone: its lease need not be waited out."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another account's
    return False
