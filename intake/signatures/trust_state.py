"""Keep what the worker knows about its trusted lists in the database, so `status` and the dashboard can show
their age without loading or fetching them."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import TrustListState
from intake.runtime import Runtime

log = logging.getLogger(__name__)


def record_trust_lists(rt: Runtime) -> None:
    lists = rt.trust_store.lists
    with transaction(rt.engine) as session:
        for info in lists:
            row = session.get(TrustListState, info.source) or TrustListState(
                source=info.source, office=rt.office, loaded_at=info.loaded_at
            )
            row.territory = info.territory
            row.sequence_number = info.sequence_number
            row.issued_at = info.issued_at
            row.next_update = info.next_update
            row.loaded_at = info.loaded_at
            row.signature_verified = info.signature_verified
            row.from_cache = info.from_cache
            row.error = info.error
            session.add(row)
            if info.error:
                log.warning("trusted list %s: %s", info.source, info.error)


def refresh_trust_lists(rt: Runtime) -> None:
    """The daily job: fetch URL lists and the LOTL again (the cached copy stays in use when offline)."""
    rt.trust_store.refresh()
    record_trust_lists(rt)


def trusted_list_age_seconds(session: Session, office: str) -> float | None:
    """Age of the oldest list in use (since it was issued), or None when no list is configured."""
    rows = session.exec(select(TrustListState).where(TrustListState.office == office)).all()
    issued = [row.issued_at for row in rows if row.issued_at and not row.error]
    return round((utcnow() - min(issued)).total_seconds(), 1) if issued else None
