"""Health of the intake daemon: the checks behind ops alerts, readiness and the dashboard's processing times.

`check_health(rt)` runs once per daemon cycle. Each rule opens an incident with `raise_alert` while its
condition holds (the alert module makes that idempotent: one e-mail per incident) and closes it with a
recovery notice via `resolve_alert` once the condition is gone.

Rules (kind, key):
- poll_failing, "<account>/<folder>": the mailbox has failed for longer than `alerts.poll_failure_minutes`.
- outbox_undeliverable, "outbox": at least one e-mail (other than alerts themselves) gave up (FAILED).
- trusted_list_unavailable, "<source>": the list could not be loaded or its signature did not verify; signatures
  that depend on it are indeterminate.
- trusted_list_expired, "<source>": the list is past its NextUpdate plus `trust.next_update_grace_hours`;
  signatures that depend on it are indeterminate.
- trusted_list_stale, "<source>": our copy was not refreshed for longer than `alerts.trusted_list_stale_hours`.
  (`signatures/trust_state.list_health` decides these three, for `status`, the dashboard and /metrics too.)
Booking overflows are raised by the booking code itself.

Poll and outbox times come from the real clock (see intake/clock.py: technical timing never follows a
fixed replay clock), so these checks compare with `utcnow()` as well.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from intake.alerts import open_alerts, raise_alert, resolve_alert
from intake.clock import utcnow
from intake.db import read_transaction, transaction
from intake.models import Event, OutboxMessage, OutboxState, PollState, Submission, TrustListState
from intake.runtime import Runtime
from intake.signatures import trust_state

log = logging.getLogger(__name__)

POLL_FAILING = "poll_failing"
OUTBOX_UNDELIVERABLE = "outbox_undeliverable"
TRUSTED_LIST_UNAVAILABLE = trust_state.ALERT_KINDS[trust_state.UNAVAILABLE]
TRUSTED_LIST_EXPIRED = trust_state.ALERT_KINDS[trust_state.EXPIRED]
TRUSTED_LIST_STALE = trust_state.ALERT_KINDS[trust_state.STALE]
OUTBOX_KEY = "outbox"


def check_health(rt: Runtime) -> list[str]:
    """Run every rule in one transaction of its own; returns one line per problem currently seen."""
    now = utcnow()
    with transaction(rt.engine) as session:
        problems = _check_polling(session, rt, now)
        problems += _check_outbox(session, rt)
        problems += _check_trusted_lists(session, rt, now)
    for problem in problems:
        log.warning("health: %s", problem)
    return problems


# ------------------------------------------------------------------------------------------------ polling
def poll_failing_for(poll: PollState, now: datetime, interval_seconds: int) -> timedelta | None:
    """How long this mailbox has been failing, or None when its last poll succeeded.

    Since the last success when there was one; a mailbox that never worked has failed for at least its
    consecutive failures times the poll interval (the first failure time is not kept)."""
    if poll.consecutive_failures <= 0:
        return None
    estimate = timedelta(seconds=poll.consecutive_failures * interval_seconds)
    if poll.last_success_at is not None:
        return max(now - poll.last_success_at, estimate)
    return estimate


def _check_polling(session: Session, rt: Runtime, now: datetime) -> list[str]:
    threshold = timedelta(minutes=rt.settings.alerts.poll_failure_minutes)
    interval = rt.settings.imap.poll_interval_seconds
    problems = []
    for poll in session.exec(select(PollState).where(PollState.office == rt.office)).all():
        key = f"{poll.account}/{poll.folder}"
        failing = poll_failing_for(poll, now, interval)
        if failing is not None and failing > threshold:
            minutes = int(failing.total_seconds() // 60)
            message = (
                f"Căsuța {key} nu poate fi citită de {minutes} minute ({poll.consecutive_failures} încercări "
                f"eșuate la rând). Ultima eroare: {poll.last_error or 'necunoscută'}."
            )
            raise_alert(session, rt, POLL_FAILING, key, message)
            problems.append(f"{POLL_FAILING} {key}: failing for {minutes} min")
        elif failing is None:
            resolve_alert(session, rt, POLL_FAILING, key, f"Căsuța {key} este citită din nou normal.")
    return problems


# ------------------------------------------------------------------------------------------------ outbox
def _check_outbox(session: Session, rt: Runtime) -> list[str]:
    # Alert e-mails are left out: when ops mail itself cannot be delivered, another alert e-mail about it
    # would only fail the same way (and could feed itself).
    failed = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.office == rt.office,
            OutboxMessage.state == OutboxState.FAILED,
            OutboxMessage.kind != "alert",
        )
        .order_by(col(OutboxMessage.id))
    ).all()
    if not failed:
        resolve_alert(session, rt, OUTBOX_UNDELIVERABLE, OUTBOX_KEY, "Nu mai există e-mailuri netrimise în outbox.")
        return []
    lines = [f"- nr. {m.id} ({m.kind}, dosar {m.submission_id or '—'}): {m.last_error or '—'}" for m in failed]
    more = f"\n… și încă {len(lines) - 10}." if len(lines) > 10 else ""
    message = (
        f"{len(failed)} e-mail(uri) nu au putut fi trimise după toate încercările; personalul le poate retrimite "
        "după remedierea cauzei.\n" + "\n".join(lines[:10]) + more
    )
    # One incident while any undeliverable mail exists (it closes when none is left), so an SMTP outage
    # gives one e-mail, not one per message.
    raise_alert(session, rt, OUTBOX_UNDELIVERABLE, OUTBOX_KEY, message)
    return [f"{OUTBOX_UNDELIVERABLE}: {len(failed)} failed"]


# ------------------------------------------------------------------------------------------------ trusted lists
def _check_trusted_lists(session: Session, rt: Runtime, now: datetime) -> list[str]:
    limits = trust_state.HealthLimits.from_settings(rt.settings)
    problems = []
    sources = set()
    if rt.office != rt.trust_office:  # the deployment's lists: checked, and alerted on, once (the first office)
        return problems
    for row in session.exec(select(TrustListState).where(TrustListState.office == rt.office)).all():
        sources.add(row.source)
        held = {problem.state: problem for problem in trust_state.list_health(row, now, limits).problems}
        # Each condition is its own incident: a list that expires while our copy is also stale gets both e-mails,
        # and each closes with its own recovery notice.
        for state, kind in trust_state.ALERT_KINDS.items():
            problem = held.get(state)
            if problem is not None:
                raise_alert(session, rt, kind, row.source, problem.message)
                problems.append(f"{kind} {row.source}")
            else:
                resolve_alert(session, rt, kind, row.source, trust_state.RECOVERY[state].format(source=row.source))
    # A list taken out of the configuration loses its row (record_trust_lists): close what was open about it.
    for alert in open_alerts(session, rt.office):
        if alert.kind in trust_state.ALERT_KINDS.values() and alert.key not in sources:
            resolve_alert(session, rt, alert.kind, alert.key, trust_state.REMOVED.format(source=alert.key))
    return problems


# ------------------------------------------------------------------------------------------------ readiness
def readiness(rt: Runtime, started_at: datetime, now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Ready when the database answers and the last successful poll is recent enough.

    Recent enough = younger than 3 poll intervals. Before any poll has succeeded, the process is given two
    minutes from start ("starting")."""
    now = now or utcnow()
    try:
        with read_transaction(rt.engine) as session:
            last = session.exec(select(func.max(PollState.last_success_at)).where(PollState.office == rt.office)).one()
    except Exception as exc:  # any driver error means "not ready"; the reason names the type only
        return False, {"status": "unavailable", "reason": f"database: {type(exc).__name__}"}
    if isinstance(last, str):  # an aggregate bypasses the column type on SQLite
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    limit = timedelta(seconds=3 * rt.settings.imap.poll_interval_seconds)
    if last is None:
        if now - started_at <= timedelta(minutes=2):
            return True, {"status": "starting"}
        return False, {"status": "unavailable", "reason": "no successful poll yet"}
    age = (now - last).total_seconds()
    if now - last > limit:
        return False, {
            "status": "unavailable",
            "reason": f"last successful poll {round(age)} s ago (limit {round(limit.total_seconds())} s)",
        }
    return True, {"status": "ok", "last_successful_poll_age_seconds": round(age, 1)}


# ------------------------------------------------------------------------------------------------ processing time
def processing_seconds(session: Session, office: str, since: datetime | None = None) -> list[float]:
    """Processing time per submission: the sum of its pipeline stage durations (Event detail.duration_ms).

    With `since`, only submissions whose stages ran since then (stages before `since` are not counted)."""
    query = (
        select(Event.submission_id, Event.detail)
        .join(Submission, col(Submission.id) == col(Event.submission_id))
        .where(Submission.office == office, col(Event.action).startswith("stage:"))
    )
    if since is not None:
        query = query.where(Event.at >= since)
    totals: dict[int, float] = defaultdict(float)
    for submission_id, detail in session.exec(query).all():
        duration = (detail or {}).get("duration_ms")
        if isinstance(duration, int | float) and submission_id is not None:
            totals[submission_id] += float(duration) / 1000
    return list(totals.values())


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p95 of few samples is the largest, never an interpolated value)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without float surprises for small counts
    return ordered[int(rank) - 1]


def processing_summary(session: Session, office: str, now: datetime, window: timedelta) -> dict[str, Any]:
    values = processing_seconds(session, office, since=now - window)
    return {
        "count": len(values),
        "median": statistics.median(values) if values else None,
        "p95": percentile(values, 0.95),
    }
