"""The citizen's link to the status page of a case: `<appointments.public_base_url>/dosar/<token>` (issue 13 §4).

The token names the case (its first message), never one e-mail of it nor a person, and is signed by the machinery
of the appointment links (`intake.appointments.tokens.seal`) under a purpose label of its own, so neither kind of
link can be passed off as the other. It holds the case's row id and a fingerprint of the case's first message
(office and content hash): SQLite may hand a deleted row's id to a new row, and the link of an erased case must
never open the next person's.

The token carries no expiry of its own: it lives as long as the case (`case_end`), `appointments.status_link_days`
after the case's last activity (a message received, anything recorded on it, the end of its visit). Every reply of
a case carries the same link, so the one in the first recipisă works exactly as long as the one in the latest
e-mail. A case erased or purged is simply not found.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, or_, select

from intake.appointments.case import case_root
from intake.appointments.tokens import TokenInvalid, seal, unseal
from intake.models import Appointment, AppointmentState, Event, PurgeRecord, Submission
from intake.runtime import Runtime

PURPOSE = b"intake/case-status-link/v1"
_VERSION = 1
_PAYLOAD = struct.Struct(">BQ8s")  # version, id of the case's first message, fingerprint of that message
PATH = "/dosar/"


def fingerprint(root: Submission) -> bytes:
    return hashlib.sha256(f"case\0{root.office}\0{root.sha256}".encode()).digest()[:8]


def make_case_token(root: Submission, secret: str) -> str:
    if root.id is None or root.case_id is not None:
        raise ValueError("a status link names the first message of a case")
    return seal(_PAYLOAD.pack(_VERSION, root.id, fingerprint(root)), secret, PURPOSE)


def read_case_token(token: str, secret: str) -> tuple[int, bytes]:
    """(case id, fingerprint) of a genuine token; TokenInvalid otherwise."""
    version, case_id, print_ = _PAYLOAD.unpack(unseal(token, secret, PURPOSE, _PAYLOAD.size))
    if version != _VERSION:
        raise TokenInvalid(f"unknown token version {version}")
    return case_id, print_


def status_url(rt: Runtime, session: Session, submission: Submission) -> str:
    """The link of the case `submission` belongs to (a follow-up's is its case's)."""
    token = make_case_token(case_root(session, submission), rt.link_secret)
    return f"{rt.settings.appointments.public_base_url.rstrip('/')}{PATH}{token}"


def find_case(session: Session, token: str, secret: str) -> Submission | None:
    """The case a link names, or None: malformed, forged, another secret's, or a case that no longer exists
    (the caller shows one neutral page for all of them)."""
    try:
        case_id, print_ = read_case_token(token, secret)
    except TokenInvalid:
        return None
    root = session.get(Submission, case_id)
    if root is None or root.case_id is not None or not hmac.compare_digest(fingerprint(root), print_):
        return None
    return root


def last_activity(session: Session, root: Submission) -> datetime:
    """The latest of: a message of the case received, an event recorded on one, the end of its booked visit."""
    ids = select(Submission.id).where(or_(Submission.id == root.id, Submission.case_id == root.id))
    moments = [
        root.received_at,
        session.exec(select(func.max(Submission.received_at)).where(Submission.case_id == root.id)).one(),
        session.exec(select(func.max(Event.at)).where(col(Event.submission_id).in_(ids))).one(),
        session.exec(
            select(func.max(Appointment.end)).where(
                Appointment.submission_id == root.id, Appointment.state == AppointmentState.BOOKED
            )
        ).one(),
        root.resolved_at,
    ]
    return max(moment for moment in moments if moment is not None)


def case_end(rt: Runtime, session: Session, root: Submission) -> datetime:
    """When the case, and with it its status link, ends: `status_link_days` after its last activity, or when
    `intake purge` first erased anything of it, whichever is earlier (the purge's own history entries are no
    activity that could bring an erased case's page back)."""
    end = last_activity(session, root) + timedelta(days=rt.settings.appointments.status_link_days)
    ids = select(Submission.id).where(or_(Submission.id == root.id, Submission.case_id == root.id))
    purged = session.exec(select(func.min(PurgeRecord.purged_at)).where(col(PurgeRecord.submission_id).in_(ids))).one()
    return min(end, purged) if purged is not None else end
