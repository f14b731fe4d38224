"""How long a case's personal data is kept, and the legal holds that keep it longer (GDPR Art. 5(1)(e)).

Every period of `[retention]` counts from one moment: the case's **last activity**, the latest of the received
times of its messages, the events of its history and the end of its visits. A follow-up, a clerk's action or a
visit years later therefore restarts the count for the whole case, the way an archived file is kept from its
closing. Archival practice (outside the procedure's sources) often counts from 1 January of the year after the
file was closed; counting from the day ends up to a year earlier, so a nomenclator period of N years is set here
as N years plus one.

Machine mail that never became a case (state `ignored`: auto-replies, bounces, mailing lists) is kept
`retention.ignored_mail_days`, whatever the other periods. A case under a legal hold is never purged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from intake.models import Appointment, Event, LegalHold, Submission, SubmissionState
from intake.settings import RetentionSettings

# What `intake purge` erases, each after its own period (`[retention]`).
RAW_MAIL, ATTACHMENTS, EVIDENCE = "raw_mail", "attachments", "evidence"
KINDS = (RAW_MAIL, ATTACHMENTS, EVIDENCE)


@dataclass(frozen=True)
class CaseClock:
    """One case: its first message and the moment its retention counts from."""

    root_id: int
    office: str
    last_activity: datetime
    ignored: bool  # machine mail only, never a case
    messages: tuple[int, ...] = ()  # the ids of its messages, the first one included


def period_days(retention: RetentionSettings, what: str, *, ignored: bool) -> int:
    if ignored:
        return retention.ignored_mail_days
    return {
        RAW_MAIL: retention.raw_mail_days,
        ATTACHMENTS: retention.attachments_days,
        EVIDENCE: retention.evidence_days,
    }[what]


def ends_at(retention: RetentionSettings, what: str, last_activity: datetime, *, ignored: bool = False) -> datetime:
    """The moment `what` of a case is past its retention: `period_days` after the last activity."""
    return last_activity + timedelta(days=period_days(retention, what, ignored=ignored))


def due(retention: RetentionSettings, clock: CaseClock, now: datetime) -> list[str]:
    """What of the case is past its retention at `now` (held cases are left out by the caller)."""
    return [what for what in KINDS if now >= ends_at(retention, what, clock.last_activity, ignored=clock.ignored)]


def case_expires_at(session: Session, retention: RetentionSettings, submission: Submission) -> datetime | None:
    """When the last personal data of the case `submission` belongs to is erased: the end of the longest of its
    periods. None while a legal hold keeps the case. For whatever must "expire with the case" (status links)."""
    root_id = submission.case_id or submission.id
    if root_id is None or held(session, root_id):
        return None
    (clock,) = case_clocks(session, [root_id]) or [None]
    if clock is None:
        return None
    return max(ends_at(retention, what, clock.last_activity, ignored=clock.ignored) for what in KINDS)


def case_clocks(session: Session, root_ids: Iterable[int] | None = None, office: str | None = None) -> list[CaseClock]:
    """The retention clock of every case (or of the cases `root_ids`, or of one office's), oldest case first."""
    roots = set(root_ids) if root_ids is not None else None
    where = []
    if office is not None:
        where.append(Submission.office == office)
    if roots is not None:
        where.append(col(Submission.id).in_(roots) | col(Submission.case_id).in_(roots))
    rows = session.exec(
        select(Submission.id, Submission.case_id, Submission.office, Submission.received_at, Submission.state).where(
            *where
        )
    ).all()
    # One grouped query per table, joined to the same submissions (no list of ids: SQLite caps bound parameters).
    latest_event = _latest(session, Event.submission_id, Event.at, where)
    latest_visit = _latest(session, Appointment.submission_id, Appointment.end, where)
    last: dict[int, datetime] = {}
    office_of: dict[int, str] = {}
    all_ignored: dict[int, bool] = {}
    members: dict[int, list[int]] = {}
    for submission_id, case_id, row_office, received_at, state in rows:
        root = case_id or submission_id
        moments = [received_at, latest_event.get(submission_id), latest_visit.get(submission_id), last.get(root)]
        last[root] = max(moment for moment in moments if moment is not None)
        office_of.setdefault(root, row_office)
        all_ignored[root] = all_ignored.get(root, True) and state == SubmissionState.IGNORED
        members.setdefault(root, []).append(submission_id)
    return [
        CaseClock(root, office_of[root], last[root], all_ignored[root], tuple(sorted(members[root])))
        for root in sorted(last)
    ]


def _latest(session: Session, key, moment, where: list) -> dict[int, datetime]:  # type: ignore[no-untyped-def,type-arg]
    query = select(key, func.max(moment)).join(Submission, col(Submission.id) == key).where(*where).group_by(key)
    return {submission_id: _aware(value) for submission_id, value in session.exec(query).all() if value is not None}


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type: SQLite gives back the stored text's naive datetime (stored as UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ legal holds


def held(session: Session, root_id: int) -> LegalHold | None:
    return session.exec(select(LegalHold).where(LegalHold.submission_id == root_id)).first()


def held_cases(session: Session, office: str | None = None) -> set[int]:
    query = select(LegalHold.submission_id)
    if office is not None:
        query = query.where(LegalHold.office == office)
    return set(session.exec(query).all())


class HoldError(ValueError):
    """A refused hold change: `key` names why (the case page words it in Romanian)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def set_hold(session: Session, root: Submission, reason: str, by: str, now: datetime) -> LegalHold:
    """Keep the case whatever its retention. A reason is required: GDPR Art. 5(1)(e) allows keeping data longer
    only for a purpose, such as a legal claim (Art. 17(3)(e)), and the next reader must know which."""
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError("retinere_fara_motiv")
    if root.id is None or held(session, root.id) is not None:
        raise HoldError("retinere_deja")
    hold = LegalHold(office=root.office, submission_id=root.id, reason=reason[:500], set_by=by[:128], set_at=now)
    session.add(hold)
    return hold


def clear_hold(session: Session, root: Submission) -> LegalHold:
    hold = held(session, root.id or 0)
    if hold is None:
        raise HoldError("retinere_lipsa")
    session.delete(hold)
    return hold
