"""Alerts for ops: raised once per incident, mailed once, closed with a recovery notice.

An incident is a (kind, key) pair, e.g. ("booking_overflow", "submission 12") or ("poll_failing",
"intake@mail"). Raising an alert that is already open does nothing, so a condition seen on every cycle
sends one e-mail, not one per cycle.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlmodel import Session, col, select

from intake.models import Alert
from intake.outbox import enqueue
from intake.runtime import Runtime

log = logging.getLogger(__name__)


def raise_alert(session: Session, rt: Runtime, kind: str, key: str, message: str) -> Alert | None:
    """Open an incident unless one is open for (kind, key); queue one e-mail to ops. Returns the new alert."""
    if _open(session, rt, kind, key) is not None:
        return None
    alert = Alert(office=rt.office, kind=kind, key=key, message=message, opened_at=rt.clock.now())
    session.add(alert)
    log.error("ALERT %s (%s): %s", kind, key, message)
    alert.notified = _notify(session, rt, f"[intake {rt.office}] ALERTĂ {kind}: {key}", message)
    return alert


def resolve_alert(session: Session, rt: Runtime, kind: str, key: str, message: str) -> bool:
    """Close the open incident for (kind, key), if any, with a recovery notice."""
    alert = _open(session, rt, kind, key)
    if alert is None:
        return False
    alert.resolved_at = rt.clock.now()
    session.add(alert)
    log.warning("RECOVERED %s (%s): %s", kind, key, message)
    _notify(session, rt, f"[intake {rt.office}] REZOLVAT {kind}: {key}", message)
    return True


def open_alerts(session: Session, office: str) -> list[Alert]:
    return list(
        session.exec(
            select(Alert).where(Alert.office == office, col(Alert.resolved_at).is_(None)).order_by(col(Alert.id))
        ).all()
    )


def _open(session: Session, rt: Runtime, kind: str, key: str) -> Alert | None:
    return session.exec(
        select(Alert).where(
            Alert.office == rt.office, Alert.kind == kind, Alert.key == key, col(Alert.resolved_at).is_(None)
        )
    ).first()


def _notify(session: Session, rt: Runtime, subject: str, body: str) -> bool:
    address = rt.settings.alerts.ops_address
    if not address:
        return False
    smtp = rt.settings.smtp
    message = EmailMessage()
    message["From"] = smtp.from_address
    message["To"] = address
    message["Subject"] = subject
    message["Date"] = format_datetime(rt.clock.now())
    message["Message-ID"] = make_msgid(domain=smtp.from_address.rpartition("@")[2] or "intake.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    enqueue(session, rt, None, kind="alert", message=message)
    return True
