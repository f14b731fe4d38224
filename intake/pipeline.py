"""The stage table and the worker that walks each claimed submission through it.

Each stage (`intake.stages`) reads a snapshot of what it needs in a short read transaction, does its slow part
outside any transaction, and records its result in one short write transaction together with the move of the
submission's stage pointer, if the submission is still where the snapshot saw it: a worker that dies mid-stage
leaves the row where it was, and the stage simply runs again. The stages of a message run in a child process
with a time and memory budget (intake.sandbox), up to worker.processes children at a time (intake.workers): a
message past either budget is quarantined at once with the reason; a message whose stage fails or whose child
crashes is retried in the same cycle and quarantined after worker.max_attempts failures in a row. A death of the
daemon itself (kill, OOM, restart) counts against no message. Registration and booking run in the daemon, one
submission at a time in order of arrival (intake.sequencer), so numbers and slots follow arrival whatever order
the children finish in.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from intake import claims, outages, sandbox, sequencer, workers
from intake.db import read_transaction, transaction
from intake.models import TERMINAL_STATES, Event, Submission, SubmissionState
from intake.preload import preload
from intake.privacy import redact
from intake.runtime import Runtime
from intake.stages import StageModule, assess, book, parse, receipt, register, screen, validate, verify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    module: StageModule  # snapshot, prepare (outside any transaction), record (see intake.stages)


STAGES: tuple[Stage, ...] = (
    Stage("parse", "read headers, text and attachments from the stored raw e-mail", parse),
    Stage("screen", "recognise auto-replies, bounces, lists and loops; size limits; acknowledge", screen),
    Stage("validate", "check every attachment by content: only JPEG, PNG and PDF that fully decode", validate),
    Stage(
        "verify",
        "recognise each document; verify signatures; the law's qualified-signature rule; read the ID card's MRZ",
        verify,
    ),
    Stage("assess", "request type, consent, checklist of documents, legibility: what is missing or wrong", assess),
    Stage("register", "give the next registration number of the office and year", register),
    Stage(
        "book",
        "the visit the case calls for: clarification within 5 working days if anything is wrong; a complete case "
        "waits for a clerk's confirmation before its decision visit",
        book,
    ),
    Stage("receipt", "render and sign the recipisă, queue the reply", receipt),
)

STAGE_NAMES = ("claimed", *(stage.name for stage in STAGES))
# The stage that queues the acknowledgement: the cycle sends acknowledgements before running the rest.
ACKNOWLEDGE_AFTER = "screen"
ACTIVE_STATES = (SubmissionState.RECEIVED, SubmissionState.REGISTERED)
# The stages run one submission at a time in order of arrival, so that the registration number and the visit slot
# are first come, first served: short database writes on stored results, nothing parsed or decoded. The child of
# a submission that is first in line (every earlier one has its number and its visit, or left the line) runs
# them itself and goes on to the receipt: one fork fewer, and the usual case under IDLE. Otherwise the child stops
# before them and the parent runs them, in order (intake.sequencer). BEFORE_SERIAL: what a submission must have
# passed to be ready for them.
SERIAL_STAGES = ("register", "book")
BEFORE_SERIAL = STAGE_NAMES[STAGE_NAMES.index(SERIAL_STAGES[0]) - 1]
# A submission goes past these stages only once every earlier one of its office has passed them: screening counts
# the sender's earlier messages (limits.reply_cap_per_sender), which needs every earlier one parsed, whatever order
# children end in. A run that finds an earlier one still behind stops there, and the pipeline runs it on once the
# whole batch has passed (the usual case, one message or the first of a batch, goes on in the same child: one fork
# and one parse of the e-mail fewer).
BARRIERS = ("parse",)
# The end of a failure's traceback kept in its record (the innermost frames are the ones that explain it).
TRACEBACK_CHARS = 16_000


def pending_ids(rt: Runtime, states: tuple[SubmissionState, ...] = ACTIVE_STATES) -> list[int]:
    """Work in order of receipt, so registration numbers follow the order mail arrived in."""
    with read_transaction(rt.engine) as session:
        rows = session.exec(
            select(Submission.id)
            .where(Submission.office == rt.office, col(Submission.state).in_(states))
            .order_by(col(Submission.received_at), col(Submission.id))
        ).all()
    return [row for row in rows if row is not None]


def process_pending(
    rt: Runtime, through: str | None = None, spent: dict[int, float] | None = None, serial: bool = True
) -> int:
    """Run every pending submission through the stages (all of them, or up to and including `through`).

    Up to worker.processes submissions run at a time, each in its own sandboxed child. Registration and booking
    are the serial steps: every submission is first brought up to them in parallel, then the parent registers
    and books the ready ones itself, one by one in order of arrival (intake.sequencer), and the stages after
    them run in parallel again. So numbers and visit slots follow arrival, whatever order the children end in.

    `spent` carries each message's processing time from one call to the next within a cycle, so the time budget
    covers all of a message's stages, not each pass on its own. `serial` False: a standby of several hosts
    (intake.election) runs only the parallel stages; the leader registers and books."""
    pending = pending_ids(rt)
    if pending and rt.settings.worker.isolate:
        preload(rt)  # seconds the first time: only worth it when there is work to fork for
    spent = {} if spent is None else spent
    last = STAGE_NAMES.index(through) if through in STAGE_NAMES else len(STAGE_NAMES) - 1
    beyond = STAGE_NAMES.index(BEFORE_SERIAL) < last  # the run reaches the serial stages
    # Only the leader numbers and books (a standby's children stop before the serial stages).
    in_line = serial and beyond
    first = through if in_line else (BEFORE_SERIAL if beyond else through)
    held = _process_all(rt, pending, first, spent, barriers=True, in_line=in_line)
    # What stopped at a barrier goes on: every earlier submission has now passed it (or is settled).
    again = [submission_id for submission_id in pending if submission_id in held]
    _process_all(rt, again, first, spent, in_line=in_line)
    if not beyond:
        return len(pending)
    if serial:
        _process_serially(rt, through if through in SERIAL_STAGES else SERIAL_STAGES[-1], spent)
    if last > STAGE_NAMES.index(SERIAL_STAGES[-1]):
        # Only what has its number: a submission still in line is not run again before its turn.
        _process_all(rt, pending_ids(rt, states=(SubmissionState.REGISTERED,)), through, spent)
    return len(pending)


def _process_serially(rt: Runtime, through: str, spent: dict[int, float]) -> None:
    """The serial stages in the parent, in order of arrival: first what has its number but not yet the rest
    (a daemon killed in between), then the line for numbers (intake.sequencer)."""
    for submission_id in pending_ids(rt, states=(SubmissionState.REGISTERED,)):
        _process_all(rt, [submission_id], through, spent, in_daemon=True)
    for submission_id in sequencer.registrable(rt, ready_stage=BEFORE_SERIAL):
        _process_all(rt, [submission_id], through, spent, in_daemon=True)
        if sequencer.still_waiting(rt, submission_id):
            break  # still waiting for its number: those after it wait too (see sequencer)


def _process_all(
    rt: Runtime,
    submission_ids: list[int],
    through: str | None,
    spent: dict[int, float],
    in_daemon: bool = False,
    barriers: bool = False,
    in_line: bool = False,
) -> set[int]:
    """Run each submission until it has passed `through` (or every stage), is quarantined, or stops for a cause
    that is not its own; up to worker.processes children at a time. `in_daemon`: in this process, one at a time,
    for the serial steps (short database writes, not worth a fork).

    A failing stage is retried at once, from the stage that failed, until worker.max_attempts failures in a row
    quarantine the message: what a cycle decides, the same cycle settles. A parallel run reaches the serial stages
    only `in_line`, and runs them only when its submission is first in line; otherwise it stops before them, and
    the submission waits for its turn in `process_pending`. `barriers`: a submission is not run past a barrier
    (BARRIERS) while an earlier one is behind it; returns those held."""
    worker = rt.settings.worker
    isolated = worker.isolate and not in_daemon
    ran: dict[int, list[Stage]] = {}
    since: dict[int, int] = {}  # the submission's latest event before its current run
    runs: dict[int, int] = {}
    held: set[int] = set()

    def next_run(submission_id: int) -> workers.Work | None:
        stages_to_run = _remaining(rt, submission_id, through)
        if not in_daemon and not in_line:
            serial = [index for index, stage in enumerate(stages_to_run) if stage.name in SERIAL_STAGES]
            stages_to_run = stages_to_run[: serial[0]] if serial else stages_to_run
        # A stage paused by an outage (intake.outages): the message goes as far as the stage before it.
        stopped = [index for index, stage in enumerate(stages_to_run) if outages.paused(stage.name)]
        stages_to_run = stages_to_run[: stopped[0]] if stopped else stages_to_run
        if not stages_to_run:
            return None
        if barriers and _held_at_barrier(rt, submission_id, stages_to_run[0]):
            held.add(submission_id)
            return None
        if in_line and _waits_in_line(rt, submission_id, stages_to_run[0]):
            return None  # its number comes from the parent's serial pass, in order
        runs[submission_id] = runs.get(submission_id, 0) + 1
        # Every run either completes, counts a failure or stops; the bound only guards against a bug.
        if runs[submission_id] > worker.max_attempts + len(STAGES) + 1:
            log.error("submission %s: no progress after repeated runs; left for the next cycle", submission_id)
            return None
        ran[submission_id] = stages_to_run
        since[submission_id] = _latest_event_id(rt, submission_id)
        used = spent.get(submission_id, 0.0)

        def work() -> None:
            if isolated:
                _forget_inherited_connections(rt)
            _run_stages(rt, submission_id, stages_to_run, barriers, in_line)

        budget = sandbox.Budget(
            seconds=max(worker.message_timeout_seconds - used, 0.0), memory_mb=worker.message_memory_mb
        )
        return work, budget

    def settle(submission_id: int, result: sandbox.Result) -> bool:
        spent[submission_id] = spent.get(submission_id, 0.0) + result.seconds
        return _settle_run(rt, submission_id, ran[submission_id], result, since[submission_id])

    next_run, settle = claims.guarded(rt, next_run, settle)  # several hosts: never the same submission at once
    if isolated:
        workers.run_all(submission_ids, next_run, settle, processes=worker.processes)
    else:
        workers.run_here(submission_ids, next_run, settle)
    return held


def _settle_run(rt: Runtime, submission_id: int, ran: list[Stage], result: sandbox.Result, since: int) -> bool:
    """Record how a run ended (`since`: the submission's latest event before it); True if the submission should
    be run again now."""
    if result.ending == sandbox.Ending.DONE:
        deferred = _deferred_at(rt, submission_id, after=since)
        if deferred is not None:
            outages.note(*deferred)  # the run met an outage: this process pauses the stage for every message
        # Otherwise finished (nothing remains) or a failure recorded by the run itself (retry or quarantined).
        return True
    stage = _stage_in_progress(rt, submission_id, ran)
    worker = rt.settings.worker
    if result.ending in (sandbox.Ending.MEMORY, sandbox.Ending.TIMEOUT):
        if result.ending == sandbox.Ending.MEMORY:
            reason = f"exceeded the {worker.message_memory_mb} MB memory budget at stage {stage}"
        else:
            reason = f"took longer than {worker.message_timeout_seconds:g} s at stage {stage}"
        # The reason is for staff; how the child ended (MemoryError or our kill, its peak) is for ops.
        log.warning(
            "submission %s over budget: %s (%s; %.1f s, peak %.0f MB resident)",
            submission_id,
            reason,
            result.detail,
            result.seconds,
            result.peak_mb,
        )
        _quarantine_now(rt, submission_id, reason)
        return False
    if result.ending == sandbox.Ending.CRASHED:
        error = f"{stage}: the worker process died ({result.detail})"
        log.warning("submission %s failed: %s", submission_id, error)
        _count_failure(rt, submission_id, error, trace=None)
        return True
    # STOPPED: a stop signal or a kill from outside (OOM killer, operator). Not the message's doing: nothing is
    # counted, and the message waits for the next cycle.
    log.error(
        "submission %s: worker stopped from outside at stage %s (%s); not counted", submission_id, stage, result.detail
    )
    return False


def _run_stages(
    rt: Runtime, submission_id: int, stages_to_run: list[Stage], barriers: bool = False, in_line: bool = False
) -> None:
    """One run, in the child: each stage prepared outside any transaction and recorded in its own transaction
    with the move of the stage pointer, so a stage that did not commit simply runs again. A failure is recorded
    (and counted) here, with its traceback. `barriers`: stop after a stage of BARRIERS while an earlier
    submission has not passed it yet. `in_line`: stop before the serial stages unless first in line."""
    for stage in stages_to_run:
        if barriers and _held_at_barrier(rt, submission_id, stage):
            break
        if in_line and _waits_in_line(rt, submission_id, stage):
            break
        try:
            prepared = _prepare_stage(rt, submission_id, stage)
            outcome = _record_stage(rt, submission_id, stage, prepared) if prepared else Recorded.GONE
        except MemoryError:
            raise  # over the memory budget: the worker quarantines it at once, no retry can help
        except outages.ServiceOutage as exc:
            _record_deferral(rt, submission_id, stage.name, exc)
            return
        except Exception as exc:
            _record_failure(rt, submission_id, stage.name, exc)
            return
        if outcome != Recorded.DONE:
            return  # no longer ours to move on: finished, quarantined, replayed or moved by someone else
        if prepared and prepared.terminal:
            break
    # Only consecutive failed runs count towards quarantine.
    with _stage_transaction(rt) as session:
        session.get_one(Submission, submission_id).attempts = 0


def _held_at_barrier(rt: Runtime, submission_id: int, stage: Stage) -> bool:
    """Whether `stage` comes right after a barrier that an earlier active submission of the office (in order of
    arrival) has not passed yet."""
    barrier = STAGE_NAMES[STAGE_NAMES.index(stage.name) - 1]
    if barrier not in BARRIERS:
        return False
    behind = STAGE_NAMES[: STAGE_NAMES.index(barrier)]
    return _any_earlier(
        rt, submission_id, and_(col(Submission.state).in_(ACTIVE_STATES), col(Submission.stage).in_(behind))
    )


def _waits_in_line(rt: Runtime, submission_id: int, stage: Stage) -> bool:
    """Whether `stage` is the first serial stage and an earlier submission of the office still waits for its number
    or its visit (received, or registered but not yet booked): then this one must not take the next number or the
    earliest free slot. Read after every earlier record committed, so two children never both pass."""
    if stage.name != SERIAL_STAGES[0]:
        return False
    waiting = or_(
        Submission.state == SubmissionState.RECEIVED,
        and_(Submission.state == SubmissionState.REGISTERED, col(Submission.stage).in_(SERIAL_STAGES[:-1])),
    )
    return _any_earlier(rt, submission_id, waiting)


def _any_earlier(rt: Runtime, submission_id: int, condition: Any) -> bool:
    """Whether a submission of the same office that arrived before this one (received_at, then id) meets
    `condition`."""
    with read_transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        earlier = session.exec(
            select(Submission.id)
            .where(
                Submission.office == submission.office,
                condition,
                or_(
                    col(Submission.received_at) < submission.received_at,
                    and_(Submission.received_at == submission.received_at, col(Submission.id) < submission_id),
                ),
            )
            .limit(1)
        ).first()
    return earlier is not None


@dataclass
class Prepared:
    """A stage's result, with where the submission was when its snapshot was read."""

    state: SubmissionState
    stage: str
    result: Any
    started: float  # perf_counter at the snapshot: the stage's duration covers all three steps
    terminal: bool = False  # set by the record: the stage ended the submission's way through the pipeline


class Recorded(StrEnum):
    DONE = "done"
    CHANGED = "changed"  # the submission moved since the snapshot: the result was dropped
    GONE = "gone"  # no longer active (finished, ignored, quarantined)


def _prepare_stage(rt: Runtime, submission_id: int, stage: Stage) -> Prepared | None:
    """The snapshot in a read transaction, then the slow part outside any: the write lock stays free meanwhile."""
    started = time.perf_counter()
    with read_transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return None
        seen = Prepared(submission.state, submission.stage, None, started)
        snapshot = stage.module.snapshot(rt, session, submission)
    seen.result = stage.module.prepare(rt, snapshot)
    return seen


def _record_stage(rt: Runtime, submission_id: int, stage: Stage, prepared: Prepared) -> Recorded:
    """The short write: the stage's record, the stage pointer and its event, only if the submission is still in
    the state and at the stage its snapshot saw (another worker, a clerk's action or a replay may have moved it)."""
    with _stage_transaction(rt) as session:
        # FOR UPDATE: on PostgreSQL two workers' records of the same stage must not both pass the check (SQLite's
        # BEGIN IMMEDIATE already serialises them).
        submission = session.get_one(Submission, submission_id, with_for_update=True)
        if (submission.state, submission.stage) != (prepared.state, prepared.stage):
            log.info(
                "submission %s moved to %s/%s while %s was prepared; its result is dropped",
                submission_id,
                submission.state,
                submission.stage,
                stage.name,
            )
            return Recorded.CHANGED if submission.state in ACTIVE_STATES else Recorded.GONE
        noted = stage.module.record(rt, session, submission, prepared.result)
        submission.stage = stage.name
        duration_ms = round((time.perf_counter() - prepared.started) * 1000, 1)
        session.add(
            Event(
                submission_id=submission_id,
                at=rt.clock.now(),
                action=f"stage:{stage.name}",
                detail={**(noted or {}), "duration_ms": duration_ms},
            )
        )
        prepared.terminal = submission.state in TERMINAL_STATES
    return Recorded.DONE


@contextmanager
def _stage_transaction(rt: Runtime) -> Iterator[Session]:
    """A transaction of a worker whose wait for the database's write lock is not counted against the message's
    time budget: with several workers on SQLite, BEGIN IMMEDIATE waits while another one holds the lock."""
    with transaction(rt.engine) as session:
        with sandbox.excused():
            session.connection()  # BEGIN IMMEDIATE
        yield session


def _forget_inherited_connections(rt: Runtime) -> None:
    """In the child: never use (nor close) the daemon's pooled database connections, open its own."""
    _inherited_pools.append(rt.engine.pool)  # kept referenced: collecting them would close the daemon's handles
    rt.engine.dispose(close=False)


_inherited_pools: list[object] = []


def _remaining(rt: Runtime, submission_id: int, through: str | None) -> list[Stage]:
    with read_transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return []
        done_stage = submission.stage
    start = STAGE_NAMES.index(done_stage) if done_stage in STAGE_NAMES else 0
    end = STAGE_NAMES.index(through) if through in STAGE_NAMES else len(STAGES)
    return list(STAGES[start:end])


def _stage_in_progress(rt: Runtime, submission_id: int, ran: list[Stage]) -> str:
    """The stage a run died in: the first one of the run whose pointer move did not commit."""
    with read_transaction(rt.engine) as session:
        done_stage = session.get_one(Submission, submission_id).stage
    names = [stage.name for stage in ran]
    if done_stage in names:
        index = names.index(done_stage) + 1
        return names[index] if index < len(names) else f"after {done_stage}"
    return names[0]


def _record_failure(rt: Runtime, submission_id: int, stage: str, exc: Exception) -> None:
    """A failure the stage raised and we handled: one line in the log, the traceback in the record (and at
    DEBUG), never on the console as if the daemon had crashed."""
    error = redact(f"{stage}: {type(exc).__name__}: {exc}")[:1000]
    log.warning("submission %s failed: %s", submission_id, error)
    log.debug("submission %s: traceback of the failure at stage %s", submission_id, stage, exc_info=exc)
    trace = redact("".join(traceback.format_exception(exc)))
    _count_failure(rt, submission_id, error, trace=trace[-TRACEBACK_CHARS:])


def _record_deferral(rt: Runtime, submission_id: int, stage: str, exc: outages.ServiceOutage) -> None:
    """A service the stage needs is down (intake.outages): the message waits at this stage, nothing is counted
    against it. Its last event says why, for staff and for the parent that pauses the stage."""
    reason = redact(f"{type(exc).__name__}: {exc}")[:1000]
    log.warning("submission %s waits at stage %s: %s", submission_id, stage, reason)
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return
        submission.last_error = f"{stage}: {reason}"
        detail = {"stage": stage, "reason": reason}
        session.add(Event(submission_id=submission_id, at=rt.clock.now(), action=outages.DEFERRED, detail=detail))


def _latest_event_id(rt: Runtime, submission_id: int) -> int:
    with read_transaction(rt.engine) as session:
        latest = session.exec(select(func.max(Event.id)).where(Event.submission_id == submission_id)).one()
    return latest or 0


def _deferred_at(rt: Runtime, submission_id: int, after: int) -> tuple[str, str] | None:
    """The stage and reason if the run that wrote events after `after` ended on a deferral (it met an outage)."""
    with read_transaction(rt.engine) as session:
        latest = session.exec(
            select(Event.action, Event.detail)
            .where(Event.submission_id == submission_id, col(Event.id) > after)
            .order_by(col(Event.id).desc())
            .limit(1)
        ).first()
    if latest is None or latest[0] != outages.DEFERRED:
        return None
    detail = latest[1] or {}
    return str(detail.get("stage", "")), str(detail.get("reason", ""))


def _count_failure(rt: Runtime, submission_id: int, error: str, trace: str | None) -> None:
    limit = rt.settings.worker.max_attempts
    detail = {"error": error} if trace is None else {"error": error, "traceback": trace}
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return
        submission.attempts += 1
        submission.last_error = error
        session.add(Event(submission_id=submission_id, at=rt.clock.now(), action="error", detail=detail))
        if submission.attempts >= limit:
            _quarantine(session, submission, rt, f"failed {submission.attempts} times; last error: {error}", trace)


def _quarantine_now(rt: Runtime, submission_id: int, reason: str) -> None:
    """A budget exceeded: the same input would exceed it again, so there is no retry."""
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, submission_id)
        if submission.state not in ACTIVE_STATES:
            return
        submission.last_error = reason
        _quarantine(session, submission, rt, reason, None)


def _quarantine(session: Session, submission: Submission, rt: Runtime, reason: str, trace: str | None) -> None:
    submission.state = SubmissionState.QUARANTINED
    submission.quarantine_reason = reason
    detail = {"reason": reason} if trace is None else {"reason": reason, "traceback": trace}
    session.add(Event(submission_id=submission.id, at=rt.clock.now(), action="quarantined", detail=detail))
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
