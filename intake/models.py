"""The tables. Every record carries its office so one deployment can serve several county offices."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, LargeBinary, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Row ids and the foreign keys to them: 64-bit everywhere (a national deployment writes hundreds of millions of
# events, and web paths accept ids up to 2**63-1, `intake.web.paths`). PostgreSQL needs BIGINT (its INTEGER is
# 32-bit, and a bound parameter is cast to the column's type: a larger id in a URL was an error there, not "not
# found"); SQLite keeps INTEGER, because only "INTEGER PRIMARY KEY" is the 64-bit rowid that numbers new rows.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SubmissionState(StrEnum):
    RECEIVED = "received"  # claimed: raw bytes stored, waiting for the pipeline
    IGNORED = "ignored"  # auto-reply, bounce, mailing list, our own mail: stored, never answered
    REGISTERED = "registered"  # has a registration number
    RECEIPTED = "receipted"  # the signed recipisă is in the outbox
    QUARANTINED = "quarantined"  # could not be processed; staff see the reason and can replay it


TERMINAL_STATES = frozenset({SubmissionState.IGNORED, SubmissionState.RECEIPTED, SubmissionState.QUARANTINED})


class MailboxItem(SQLModel, table=True):
    """One message at one place in one IMAP mailbox: the claim record of guarantee 1."""

    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid", name="uq_mailbox_location"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    account: str
    folder: str
    uidvalidity: int
    uid: int
    sha256: str = Field(index=True)
    message_id: str | None = None
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    claimed_at: datetime = Field(sa_type=UtcDateTime)
    imap_done: bool = Field(default=False, index=True)  # moved to Processed/Quarantine after commit
    imap_target: str | None = None


class Submission(SQLModel, table=True):
    """One received e-mail (unique by content) and everything decided about it."""

    __table_args__ = (
        UniqueConstraint("office", "sha256", name="uq_submission_content"),
        UniqueConstraint("office", "year", "number", name="uq_registration_number"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    sha256: str
    size: int
    message_id: str | None = Field(default=None, index=True)
    received_at: datetime = Field(sa_type=UtcDateTime)  # IMAP INTERNALDATE (UTC stored, shown in the office time zone)
    claimed_at: datetime = Field(sa_type=UtcDateTime)
    state: str = Field(default=SubmissionState.RECEIVED, index=True)
    stage: str = "claimed"  # the last pipeline stage completed
    attempts: int = 0
    last_error: str | None = None
    quarantine_reason: str | None = None
    # Who runs its stages now, until when (host:pid and a lease in the database's time; intake.claims).
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)

    # From the parse and screening stages.
    sender: str | None = Field(default=None, index=True)
    sender_name: str | None = None
    subject: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    text_body: str | None = None
    has_html: bool = False
    defects: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    category: str | None = None
    reply_allowed: bool = False
    screening_reason: str | None = None

    # Registration.
    number: int | None = None
    year: int | None = None
    registered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)

    # Assessment (later stages fill these in).
    request_type: str | None = None
    consent: bool | None = None
    flagged: bool = False
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # a person closed the case
    resolved_by: str | None = None
    # A follow-up (a reply to our message) joins the case of the submission that started it.
    case_id: int | None = Field(default=None, foreign_key="submission.id", sa_type=RowId, index=True)
    # What the agency's mail server recorded about the From (`intake.mailbox.authentication`): pass | fail | none,
    # and the results it was judged on (for staff).
    authentication: str | None = None
    authentication_evidence: str | None = None
    # A message that names a case but cannot show it comes from the case's owner (`intake.followups`): a submission
    # of its own, shown to staff as "possibly related" to that case, with no effect on it.
    related_case_id: int | None = Field(default=None, foreign_key="submission.id", sa_type=RowId)
    # The sender as the per-sender reply cap counts it (`screening.cap_key`), and whether the cap stopped the reply.
    sender_key: str | None = Field(default=None, index=True)
    reply_capped: bool = False


class Document(SQLModel, table=True):
    """One attachment of a submission, its content check and (later) its signature verdict."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    position: int
    filename: str
    original_filename: str | None = None
    declared_type: str
    origin: str
    sha256: str = Field(index=True)  # indexed for `intake purge`: is a blob still needed by another case?
    size: int
    detected_type: str | None = None
    content_type: str | None = None
    pages: int | None = None
    accepted: bool | None = None
    code: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    kind: str = "other"
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Finding(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    code: str
    message: str  # Romanian, shown to the sender and to staff
    document_id: int | None = Field(default=None, foreign_key="document.id", sa_type=RowId)
    # Values behind the finding, for staff only (e.g. the two names or CNPs that differ); never logged.
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(sa_type=UtcDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cleared_by: str | None = None  # the clerk who closed it, or "intake" when a later e-mail settled it
    # Something only a clerk needs to confirm (e.g. a benefit category the form does not state): it never
    # flags the submission, never books a clarification and never reaches the citizen (contract.md).
    staff_only: bool = False


class SignatureCheck(SQLModel, table=True):
    """The evidence behind a document's signature verdict: what was decided, when, and on what basis."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    document_id: int = Field(foreign_key="document.id", sa_type=RowId, index=True)
    label: str
    verdict: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))  # the JSON summary
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))  # per signature
    report_xml: str | None = None  # ETSI TS 119 102-2 validation report, where the library produced one
    trusted_lists: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))  # source + sequence
    decided_at: datetime = Field(sa_type=UtcDateTime)


class TrustListState(SQLModel, table=True):
    """The trusted lists as last loaded by a worker, so `status` can show their age without fetching them."""

    source: str = Field(primary_key=True)
    office: str
    territory: str | None = None
    sequence_number: int | None = None
    issued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    next_update: datetime | None = Field(default=None, sa_type=UtcDateTime)
    loaded_at: datetime = Field(sa_type=UtcDateTime)
    signature_verified: bool = False
    from_cache: bool = False
    error: str | None = None
    # Its signature verifies only as of its issue date: the operator certificate has expired since.
    operator_certificate_expired: bool = False


class RegistryCounter(SQLModel, table=True):
    """The last registration number given per office and calendar year."""

    office: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last_number: int = 0


class Receipt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    pdf_sha256: str = Field(index=True)  # indexed for `intake purge` (see Document.sha256)
    created_at: datetime = Field(sa_type=UtcDateTime)
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id", sa_type=RowId)
    # Until when its newest version stays verifiable without a new time-stamp (`intake archive refresh`; None: not
    # computed yet).
    evidence_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the configured attempts: ops are alerted, staff can resend


class OutboxMessage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", sa_type=RowId, index=True)
    kind: str  # acknowledgement | receipt | alert
    message_id: str = Field(unique=True)
    recipient: str = Field(index=True)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default=OutboxState.PENDING, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PollState(SQLModel, table=True):
    """Per mailbox folder: where polling stands and how it went."""

    account: str = Field(primary_key=True)
    folder: str = Field(primary_key=True)
    office: str
    uidvalidity: int | None = None
    last_success_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = None
    last_error_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    consecutive_failures: int = 0


class Event(SQLModel, table=True):
    """The history of a submission: what intake (or a person) did and when."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", sa_type=RowId, index=True)
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = "intake"
    action: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class AppointmentState(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"  # by the beneficiary (link) or staff
    SUPERSEDED = "superseded"  # replaced by a later booking of the same case


class Appointment(SQLModel, table=True):
    """A visit to the office: clarification (within the legal deadline) or decision (identity + decision)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    purpose: str  # clarification | decision
    start: datetime = Field(sa_type=UtcDateTime, index=True)
    end: datetime = Field(sa_type=UtcDateTime)
    overflow: bool = False  # booked into the extra capacity to keep the deadline
    automatic: bool = False  # booked by the pipeline for an incoming e-mail: counts towards the hourly ceiling
    state: str = Field(default=AppointmentState.BOOKED, index=True)
    deadline: datetime | None = Field(default=None, sa_type=UtcDateTime)  # end of the last allowed day
    sequence: int = 0  # ICS SEQUENCE: raised on every change
    uid: str  # ICS UID, stable for the case
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))  # Romanian, what to bring/fix
    reminder_sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class VerificationState(StrEnum):
    PENDING = "pending"  # complete: waits for a clerk's cross-checks before the decision visit is booked
    CONFIRMED = "confirmed"  # a clerk (or the automatic confirmation) confirmed it: the step-8 visit is booked
    REOPENED = "reopened"  # a finding appeared since: the case is back to a clarification (step 7)


class CaseVerification(SQLModel, table=True):
    """Procedure 000 step 8 books the decision visit only for a file that is complete *and correct*; correctness
    includes staff's cross-checks (other institutions' databases). One row per case, on its first message."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, unique=True)
    state: str = Field(default=VerificationState.PENDING, index=True)
    # When the file last became complete or changed: the automatic confirmation counts working days from here.
    pending_since: datetime = Field(sa_type=UtcDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    decided_by: str | None = None  # the clerk who confirmed, or "intake" for the automatic confirmation


class Alert(SQLModel, table=True):
    """An incident for ops: raised once, notified once, closed with a recovery notice."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    kind: str  # poll_failing | outbox_undeliverable | booking_overflow | trusted_list_stale | ...
    key: str  # what the incident is about (mailbox, submission, ...): one open alert per kind+key
    message: str
    opened_at: datetime = Field(sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    notified: bool = False


class StaffUser(SQLModel, table=True):
    """A registry clerk, an ops engineer or an administrator of the web interface."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    name: str = Field(unique=True)
    role: str  # registry | ops | admin
    password_hash: str  # argon2
    active: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Carried in the signed session cookie; bumped by logout, a password change, deactivation and
    # reactivation, so every cookie issued before (a stolen one included) stops working at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AuditEvent(SQLModel, table=True):
    """Every action a person takes in the web interface: who, when, what, before and after."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    at: datetime = Field(sa_type=UtcDateTime, index=True)
    actor: str  # the staff user's name
    action: str  # resolve | add_finding | clear_finding | move_appointment | ... | login | login_failed
    submission_id: int | None = Field(default=None, foreign_key="submission.id", sa_type=RowId, index=True)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    note: str | None = None


class LegalHold(SQLModel, table=True):
    """A case kept whatever its retention (a dispute, a court case, an inspection): `intake purge` never touches it.
    One row per case, on its first message; clearing the hold deletes the row (the audit trail keeps both)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, unique=True)
    reason: str
    set_by: str
    set_at: datetime = Field(sa_type=UtcDateTime)


class PurgeRecord(SQLModel, table=True):
    """What `intake purge` erased of one message (`what`: raw_mail | attachments | evidence), so a purge is done
    once and a blob shared with a message not yet purged is kept (intake/purge.py)."""

    __table_args__ = (UniqueConstraint("submission_id", "what", name="uq_purge_what"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId, index=True)
    what: str
    purged_at: datetime = Field(sa_type=UtcDateTime)


class EvidenceVersion(SQLModel, table=True):
    """A later version of a stored receipt: the same signed PDF with a document time-stamp added by `intake archive
    refresh` (PAdES B-LTA). Evidence is never overwritten: every version stays in the store under its own SHA-256
    and the newest is the one with the highest `version` (the receipt row keeps the bytes that were sent)."""

    __table_args__ = (UniqueConstraint("receipt_id", "version", name="uq_evidence_version"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=RowId)
    office: str = Field(index=True)
    receipt_id: int = Field(foreign_key="receipt.id", sa_type=RowId, index=True)
    submission_id: int = Field(foreign_key="submission.id", sa_type=RowId)
    version: int  # 1 is the receipt as sent (not stored here); the first refresh makes 2
    sha256: str
    previous_sha256: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    # Until when this version can be verified without another time-stamp (the first certificate to expire).
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    actor: str = "intake"  # "intake" for the daemon's daily run, else who ran the command
