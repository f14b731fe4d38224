"""Ops pages and endpoints: the intake dashboard (/panou), the quarantine (/carantina), /metrics and /readyz.

/healthz (in app.py), /readyz and /metrics need no login: ops scrape them from the internal network (the web
server listens on web.host, 127.0.0.1 by default; put it behind the reverse proxy without exposing these
paths to the internet). They show counts and timings only, never personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from intake import pipeline
from intake.clock import local, utcnow
from intake.db import read_transaction, transaction
from intake.metrics import exposition, make_registry
from intake.models import OutboxMessage, OutboxState, Submission, SubmissionState
from intake.monitoring import processing_summary, readiness
from intake.registry import format_registration
from intake.runtime import Runtime
from intake.texts import labels
from intake.views import status_view
from intake.web import panou
from intake.web.app import templates
from intake.web.auth import CurrentUser, audit, office_runtime, require_roles, staff_context, verify_csrf

router = APIRouter()
OpsUser = Annotated[CurrentUser, Depends(require_roles("ops"))]

# When this module was loaded, i.e. when the web process started (readyz gives a fresh process two minutes
# to complete its first poll). The lead may set app.state.started_at instead.
PROCESS_STARTED = utcnow()
PROCESSING_WINDOW = timedelta(hours=1)

ALERT_KINDS = {
    "poll_failing": "citirea căsuței eșuează",
    "outbox_undeliverable": "e-mailuri netrimise",
    "booking_overflow": "programare peste capacitate",
    "booking_impossible": "programare imposibilă",
    "trusted_list_unavailable": "listă de încredere indisponibilă",
    "trusted_list_expired": "listă de încredere expirată",
    "trusted_list_stale": "listă de încredere nereîmprospătată",
}
# The states decided by signatures/trust_state.list_health, as the ops dashboard names them.
TRUST_STATES = {
    "ok": "în regulă",
    "unavailable": "indisponibilă",
    "expired": "expirată",
    "stale": "nereîmprospătată",
}


def _rt(request: Request) -> Runtime:
    return office_runtime(request)  # the logged-in user's office: nothing of another office is found


# ------------------------------------------------------------------------------------------------ unauthenticated
@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    # No login: scraped by ops tooling on the internal network.
    started = getattr(request.app.state, "started_at", None) or PROCESS_STARTED
    # Ready when every office's mailbox is: the first that is not decides the answer, naming its office.
    results = [(office.office, *readiness(office, started)) for office in request.app.state.rt.offices]
    code, ready, body = next((result for result in results if not result[1]), results[0])
    if len(results) > 1:
        body = {**body, "office": code}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    # No login: Prometheus scrapes this on the internal network; counts only, no personal data.
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        # The deployment's collector (every office), whoever's cookie came with the scrape.
        registry = request.app.state.metrics_registry = make_registry(request.app.state.rt)
    return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)


# ------------------------------------------------------------------------------------------------ dashboard
def _when(moment: datetime | str | None, timezone: str) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return local(moment, timezone).strftime("%d.%m.%Y %H:%M:%S")


def duration_ro(seconds: float | None) -> str:
    """A short Romanian duration: "45 s", "12 min", "3 h 5 min", "2 zile 4 h"."""
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} zile {hours} h" if hours else f"{days} zile"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return text.replace(".", ",") + " s"  # the Romanian decimal comma


def dashboard_data(session: Session, rt: Runtime) -> dict[str, Any]:
    timezone = rt.settings.office.timezone
    now = utcnow()
    status = status_view(session, rt)
    queues = status["queues"]
    oldest = session.exec(
        select(Submission)
        .where(Submission.office == rt.office, col(Submission.state).in_(pipeline.ACTIVE_STATES))
        .order_by(col(Submission.claimed_at), col(Submission.id))
    ).first()
    failed = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.office == rt.office, OutboxMessage.state == OutboxState.FAILED)
        .order_by(col(OutboxMessage.id).desc())
        .limit(20)
    ).all()
    # Stage events carry the domain clock (rt.clock), so the window is measured on it too.
    processing = processing_summary(session, rt.office, rt.clock.now(), PROCESSING_WINDOW)
    poll_limit = 3 * rt.settings.imap.poll_interval_seconds
    mailboxes = []
    for mailbox in status["mailboxes"]:
        last_ok = datetime.fromisoformat(mailbox["last_success_at"]) if mailbox["last_success_at"] else None
        age = (now - last_ok).total_seconds() if last_ok else None
        mailboxes.append(
            {
                "name": f"{mailbox['account']} / {mailbox['folder']}",
                "last_success": _when(last_ok, timezone),
                "last_success_age": duration_ro(age),
                "stale": age is None or age > poll_limit,
                "failures": mailbox["consecutive_failures"],
                "last_error": mailbox["last_error"],
                "last_error_at": _when(mailbox["last_error_at"], timezone),
            }
        )
    return {
        "states": [
            {"label": label, "state": state, "count": queues.get(state, 0)}
            for state, label in labels.SUBMISSION_STATES_COUNTED.items()
        ],
        "total": sum(queues.values()),
        "oldest_pending": (
            {
                "id": oldest.id,
                "number": format_registration(oldest.number, local(oldest.registered_at, timezone))
                if oldest.number is not None and oldest.registered_at is not None
                else None,
                "stage": oldest.stage,
                "claimed_at": _when(oldest.claimed_at, timezone),
                "age": duration_ro((now - oldest.claimed_at).total_seconds()),
            }
            if oldest
            else None
        ),
        "mailboxes": mailboxes,
        "outbox": {
            "pending": status["outbox"]["pending"],
            "failed": status["outbox"]["failed"],
            "sent": status["outbox"]["sent"],
            "oldest_pending_age": duration_ro(status["outbox"]["oldest_pending_age_seconds"]),
            "failures": [
                {
                    "id": message.id,
                    "kind": labels.REPLY_KINDS.get(message.kind, message.kind),
                    "submission_id": message.submission_id,
                    "attempts": message.attempts,
                    "last_error": message.last_error or "—",
                    "created_at": _when(message.created_at, timezone),
                }
                for message in failed
            ],
        },
        "quarantined": queues.get(SubmissionState.QUARANTINED.value, 0),
        "trusted_list_age": duration_ro(status["trusted_list_age_seconds"]),
        "trust": _trust_tile(status),
        "trusted_lists": [
            {
                "state": TRUST_STATES.get(row["state"], row["state"]),
                "problem": row["state"] != "ok",
                "source": row["source"],
                "territory": row["territory"] or "—",
                "sequence_number": row["sequence_number"],
                "issued_at": _when(row["issued_at"], timezone),
                "next_update": _when(row["next_update"], timezone),
                "loaded_at": _when(row["loaded_at"], timezone),
                "error": row["error"],
            }
            for row in status["trusted_lists"]
        ],
        "processing": {
            "count": processing["count"],
            "median": _seconds(processing["median"]),
            "p95": _seconds(processing["p95"]),
        },
        "alerts": [
            {
                "kind": ALERT_KINDS.get(alert["kind"], alert["kind"]),
                "key": alert["key"],
                "message": alert["message"],
                "opened_at": _when(alert["opened_at"], timezone),
            }
            for alert in status["alerts"]
        ],
        "generated_at": _when(now, timezone),
    }


def _trust_tile(status: dict[str, Any]) -> dict[str, Any]:
    """Red when anything is wrong with trust: without it every signature's verdict is undecided or untrusted."""
    trust = status["trust"]
    lists = status["trusted_lists"]
    failing = sum(1 for row in lists if row["state"] != "ok")
    if not trust["sources_configured"]:
        value = "neconfigurate"
    elif failing:
        value = f"{failing} din {len(lists)} cu probleme"
    elif not trust["ok"]:
        value = "neîncărcate"
    else:
        value = f"{len(lists)} în regulă" if lists else "doar ancore"
    # Per-list problems show in the table below; only the ones about trust as a whole are spelled out here.
    notes = [problem["message"] for problem in trust["problems"] if problem["source"] is None]
    return {"ok": trust["ok"], "value": value, "notes": notes}


@router.get("/panou")
def dashboard(request: Request, user: OpsUser) -> Response:
    rt = _rt(request)
    with read_transaction(rt.engine) as session:
        data = dashboard_data(session, rt)
        pictures = panou.charts(session, rt, data["outbox"])
    context = staff_context(request, user, d=data, charts=pictures)
    return templates.TemplateResponse(request, "staff/dashboard.html", context)


# ------------------------------------------------------------------------------------------------ quarantine
NOTICES = {
    "reprocesat": "Mesajul a fost repus în lucru: va fi prelucrat la următorul ciclu.",
    "deja": "Mesajul nu mai era în carantină (a fost deja repus în lucru).",
}


@router.get("/carantina")
def quarantine(request: Request, user: OpsUser, ok: str | None = None) -> Response:
    rt = _rt(request)
    timezone = rt.settings.office.timezone
    with read_transaction(rt.engine) as session:
        rows = session.exec(
            select(Submission)
            .where(Submission.office == rt.office, Submission.state == SubmissionState.QUARANTINED)
            .order_by(col(Submission.claimed_at), col(Submission.id))
        ).all()
        items = [
            {
                "id": row.id,
                "number": format_registration(row.number, local(row.registered_at, timezone))
                if row.number is not None and row.registered_at is not None
                else None,
                "received_at": _when(row.received_at, timezone),
                "sender": row.sender or "—",
                "subject": row.subject or "—",
                "stage": row.stage,
                "attempts": row.attempts,
                "reason": row.quarantine_reason or "—",
                "last_error": row.last_error or "—",
            }
            for row in rows
        ]
    context = staff_context(request, user, items=items, notice=NOTICES.get(ok or ""))
    return templates.TemplateResponse(request, "staff/quarantine.html", context)


@router.post("/carantina/{submission_id}/reproceseaza", dependencies=[Depends(verify_csrf)])
def reprocess(request: Request, submission_id: int, user: OpsUser) -> Response:
    rt = _rt(request)
    with transaction(rt.engine) as session:
        row = session.get(Submission, submission_id)
        if row is None or row.office != rt.office:
            raise StarletteHTTPException(404)
        before = {
            "state": row.state,
            "stage": row.stage,
            "quarantine_reason": row.quarantine_reason,
            "last_error": row.last_error,
        }
    # replay() opens its own transaction: ours is closed first (transactions never nest).
    try:
        pipeline.replay(rt, submission_id)
    except ValueError:
        return RedirectResponse("/carantina?ok=deja", status_code=303)
    with transaction(rt.engine) as session:
        after_state = session.get_one(Submission, submission_id).state
        audit(
            session, rt.office, user, "replay", submission_id=submission_id, before=before, after={"state": after_state}
        )
    return RedirectResponse("/carantina?ok=reprocesat", status_code=303)
