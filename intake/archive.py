"""`intake archive refresh`: keep the signed receipts verifiable for as long as the file is kept.

A PAdES B-LTA receipt (ETSI EN 319 142-1 §6.3) proves itself while its newest time-stamp can be verified, i.e. until
the first certificate of that time-stamp's chain expires (or its algorithms weaken). Before then a new document
time-stamp over the whole file, with fresh revocation answers for the previous one, moves the horizon to the new
TSA certificate's expiry. Receipts signed B-B/B-T get their first document time-stamp the same way.

Evidence is never overwritten: the new bytes go to the store under their own SHA-256 and an `EvidenceVersion` row
points at them; the earlier bytes stay. Each refresh is recorded in the case history and in the audit log.

Reading every PDF daily would not scale to years of receipts: each receipt's horizon is computed once and kept
(`Receipt.evidence_expires_at`), and only those due are opened again.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from intake.db import transaction
from intake.models import AuditEvent, Event, EvidenceVersion, Receipt, Submission
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.settings import ConfigError

log = logging.getLogger(__name__)

LEARN_BATCH = 500


@dataclass
class Item:
    registration: str
    receipt_id: int
    version: int  # the version examined; a refresh makes version + 1
    sha256: str
    expires_at: str | None  # ISO-8601: when the examined version stops being verifiable without a refresh
    expiring: str  # the certificate that expires first
    new_sha256: str | None = None
    new_expires_at: str | None = None
    error: str | None = None


@dataclass
class RefreshReport:
    office: str
    dry_run: bool
    checked: int = 0
    due: list[Item] = field(default_factory=list)

    @property
    def refreshed(self) -> int:
        return sum(1 for item in self.due if item.new_sha256)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.due if item.error)

    def as_json(self) -> dict[str, object]:
        return {
            "office": self.office,
            "dry_run": self.dry_run,
            "checked": self.checked,
            "refreshed": self.refreshed,
            "failed": self.failed,
            "due": [asdict(item) for item in self.due],
        }


@dataclass(frozen=True)
class _Stored:
    receipt_id: int
    submission_id: int
    version: int
    sha256: str
    expires_at: datetime | None


def refresh(rt: Runtime, *, dry_run: bool = False, actor: str = "intake") -> RefreshReport:
    """Refresh the receipts of office `rt` whose evidence expires within `archive.refresh_before_days`."""
    from intake.receipts import ltv  # pyHanko: slow to import, and `show` only needs `newest_version`

    now = rt.clock.now()
    limit = now + timedelta(days=rt.settings.archive.refresh_before_days)
    report = RefreshReport(office=rt.office, dry_run=dry_run)
    _learn_horizons(rt)
    url = rt.settings.signing.timestamp_url
    for stored in _due(rt, limit, rt.settings.archive.refresh_per_run):
        report.checked += 1
        with Session(rt.engine) as session:
            submission = session.get(Submission, stored.submission_id)
            label = registration_label(submission, rt.settings.office.timezone) if submission else "?"
        item = Item(label, stored.receipt_id, stored.version, stored.sha256, _iso(stored.expires_at), "")
        report.due.append(item)
        try:
            pdf = rt.store.get(stored.sha256)
            item.expiring = ltv.horizon(pdf).what
        except Exception as exc:  # a receipt missing from the store is for ops to restore from backup
            item.error = f"stored receipt unreadable: {type(exc).__name__}: {exc}"
            log.error("evidence of receipt %s not refreshed: %s", label, item.error)
            continue
        if dry_run:
            continue
        if not url:
            raise ConfigError(
                "configuration error: signing.timestamp_url: not set (a refresh needs a time-stamping authority)",
                "signing.timestamp_url",
            )
        try:
            refreshed = ltv.add_document_timestamp(pdf, url)
        except Exception as exc:  # network, revocation, an already expired chain: the old version stays
            item.error = f"{type(exc).__name__}: {exc}"
            log.error("evidence of receipt %s not refreshed: %s", label, item.error)
            continue
        after = ltv.horizon(refreshed)
        item.new_sha256 = rt.store.put(refreshed)  # durable before the row that points at it
        item.new_expires_at = _iso(after.expires_at)
        if not _record(rt, stored, item, after.expires_at, actor):
            item.new_sha256, item.error = None, "refreshed meanwhile by another process"
    return report


def _due(rt: Runtime, limit: datetime, count: int) -> list[_Stored]:
    """The newest version of (at most `count`) receipts of the office whose horizon is before `limit`, soonest
    first."""
    with Session(rt.engine) as session:
        rows = session.exec(
            select(Receipt, Submission.office)
            .join(Submission, col(Submission.id) == col(Receipt.submission_id))
            .where(Submission.office == rt.office)
            .where(col(Receipt.evidence_expires_at).is_not(None))
            .where(col(Receipt.evidence_expires_at) <= limit)
            .order_by(col(Receipt.evidence_expires_at), col(Receipt.id))
            .limit(count)
        ).all()
        return [_newest(session, receipt) for receipt, _ in rows]


def _newest(session: Session, receipt: Receipt) -> _Stored:
    version = session.exec(
        select(EvidenceVersion)
        .where(EvidenceVersion.receipt_id == receipt.id)
        .order_by(col(EvidenceVersion.version).desc())
        .limit(1)
    ).first()
    if version is None:
        return _Stored(receipt.id or 0, receipt.submission_id, 1, receipt.pdf_sha256, receipt.evidence_expires_at)
    return _Stored(receipt.id or 0, receipt.submission_id, version.version, version.sha256, version.expires_at)


def _learn_horizons(rt: Runtime) -> None:
    """Compute once the horizon of receipts made since the last run (a receipt's bytes never change)."""
    from intake.receipts import ltv

    with Session(rt.engine) as session:
        fresh = session.exec(
            select(Receipt.id, Receipt.pdf_sha256)
            .join(Submission, col(Submission.id) == col(Receipt.submission_id))
            .where(Submission.office == rt.office, col(Receipt.evidence_expires_at).is_(None))
        ).all()
    for start in range(0, len(fresh), LEARN_BATCH):
        learnt = {}
        for receipt_id, sha256 in fresh[start : start + LEARN_BATCH]:
            try:
                expires_at = ltv.horizon(rt.store.get(sha256)).expires_at
            except Exception as exc:  # a missing or unreadable file is for ops' checks, not fixed here
                log.warning("receipt %s: evidence horizon unknown (%s: %s)", receipt_id, type(exc).__name__, exc)
                continue
            if expires_at is not None:
                learnt[receipt_id] = expires_at
        with transaction(rt.engine) as session:  # one commit per batch: the first run may meet years of receipts
            for receipt_id, expires_at in learnt.items():
                receipt = session.get(Receipt, receipt_id)
                if receipt is not None:
                    receipt.evidence_expires_at = expires_at


def _record(rt: Runtime, stored: _Stored, item: Item, expires_at: datetime | None, actor: str) -> bool:
    """The new version, the case history and the audit entry in one transaction; False when another process stored
    a newer version first (the unique version number refuses the second)."""
    now = rt.clock.now()
    with transaction(rt.engine) as session:
        newest = session.exec(
            select(func.max(EvidenceVersion.version)).where(EvidenceVersion.receipt_id == stored.receipt_id)
        ).one()
        if (newest or 1) != stored.version:
            return False
        session.add(
            EvidenceVersion(
                office=rt.office,
                receipt_id=stored.receipt_id,
                submission_id=stored.submission_id,
                version=stored.version + 1,
                sha256=item.new_sha256 or "",
                previous_sha256=stored.sha256,
                created_at=now,
                expires_at=expires_at,
                actor=actor,
            )
        )
        receipt = session.get(Receipt, stored.receipt_id)
        if receipt is not None:
            receipt.evidence_expires_at = expires_at
        detail = {
            "version": stored.version + 1,
            "previous": stored.sha256,
            "sha256": item.new_sha256,
            "expires_at": item.new_expires_at,
            "was": item.expires_at,
        }
        session.add(
            Event(submission_id=stored.submission_id, at=now, actor=actor, action="evidence_refreshed", detail=detail)
        )
        session.add(
            AuditEvent(
                office=rt.office,
                at=now,
                actor=actor,
                action="evidence_refreshed",
                submission_id=stored.submission_id,
                before={"sha256": stored.sha256, "expires_at": item.expires_at},
                after={"sha256": item.new_sha256, "expires_at": item.new_expires_at},
            )
        )
    return True


def newest_version(session: Session, receipt: Receipt) -> dict[str, object]:
    """The receipt's evidence today: its newest version (what to show or export), for `show --json`."""
    newest = _newest(session, receipt)
    return {"version": newest.version, "sha256": newest.sha256, "verifiable_until": _iso(newest.expires_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
