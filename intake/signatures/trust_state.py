"""Keep what the worker knows about its trusted lists in the database, and judge their health from it.

`record_trust_lists` (daemon start, every cycle, after the daily refresh) writes one TrustListState row per list,
so `status`, the dashboard and /metrics can show the lists without loading or fetching them. `list_health` is the
one place that decides a list's state — ok, unavailable, expired or stale — for the ops alerts (monitoring.py),
`intake status`, the dashboard and /metrics alike, so they can never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import TrustListState
from intake.runtime import Runtime
from intake.settings import Settings, TrustSettings

log = logging.getLogger(__name__)

OK, UNAVAILABLE, EXPIRED, STALE = "ok", "unavailable", "expired", "stale"
STATES = (OK, UNAVAILABLE, EXPIRED, STALE)

# One ops alert kind per condition (keyed by the list's source), so each incident is mailed and closed on its own.
ALERT_KINDS: dict[str, str] = {
    UNAVAILABLE: "trusted_list_unavailable",
    EXPIRED: "trusted_list_expired",
    STALE: "trusted_list_stale",
}
RECOVERY: dict[str, str] = {
    UNAVAILABLE: "Lista de încredere {source} se încarcă din nou, cu semnătura verificată; semnăturile primite de acum "
    "sunt evaluate normal.",
    EXPIRED: "Lista de încredere {source} nu mai este expirată; semnăturile primite de acum sunt evaluate normal.",
    STALE: "Copia noastră a listei de încredere {source} a fost reîmprospătată.",
}
REMOVED = "Lista de încredere {source} nu mai este folosită (a fost scoasă din configurare)."
NO_SOURCE = "no_trust_source"
NOT_LOADED = "trusted_lists_not_loaded"


@dataclass(frozen=True)
class ListProblem:
    state: str  # unavailable | expired | stale
    message: str  # Romanian, for ops: the alert e-mail, `status` and the dashboard

    @property
    def alert_kind(self) -> str:
        return ALERT_KINDS[self.state]


@dataclass(frozen=True)
class ListHealth:
    source: str
    problems: tuple[ListProblem, ...]  # every condition the list meets, most serious first

    @property
    def state(self) -> str:
        return self.problems[0].state if self.problems else OK


@dataclass(frozen=True)
class HealthLimits:
    grace: timedelta  # trust.next_update_grace_hours: how long past NextUpdate a list still counts as current
    stale: timedelta  # alerts.trusted_list_stale_hours: how long our copy may go without a refresh

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthLimits:
        return cls(
            grace=timedelta(hours=settings.trust.next_update_grace_hours),
            stale=timedelta(hours=settings.alerts.trusted_list_stale_hours),
        )


def list_health(row: TrustListState, now: datetime, limits: HealthLimits) -> ListHealth:
    """The conditions a recorded list meets at `now`, most serious first (its state is the first one)."""
    problems = []
    if row.error:
        # Not loaded, or its XML signature did not verify with the operator certificate: the verifier uses nothing
        # from it, so a signer whose CA it would list cannot be judged.
        copy = " (copia din cache)" if row.from_cache else ""
        problems.append(
            ListProblem(
                UNAVAILABLE,
                f"Lista de încredere {row.source}{copy} nu poate fi folosită: {row.error}. Semnăturile care depind "
                "de ea primesc verdictul „indeterminate” (motiv: trusted_list_unavailable) și trebuie verificate de "
                "personal până când lista se încarcă din nou, cu semnătura verificată.",
            )
        )
    elif row.operator_certificate_expired:
        problems.append(
            ListProblem(
                EXPIRED,
                f"Lista de încredere {row.source} este semnată cu un certificat al operatorului care a expirat între "
                "timp: nu mai garantează nimeni pentru ea. Semnăturile care depind de ea primesc verdictul "
                "„indeterminate” (motiv: trusted_list_expired) până când se încarcă o ediție nouă, semnată cu un "
                "certificat valabil (configurați-l în trust.lists[].signer).",
            )
        )
    elif row.next_update is not None and row.next_update + limits.grace < now:
        # Only for a list that loaded: the dates of one that did not verify are nobody's word.
        grace_hours = int(limits.grace.total_seconds() // 3600)
        grace = f" plus toleranța de {grace_hours} ore (trust.next_update_grace_hours)" if grace_hours else ""
        problems.append(
            ListProblem(
                EXPIRED,
                f"Lista de încredere {row.source} a expirat: data următoarei actualizări "
                f"({row.next_update:%d.%m.%Y %H:%M} UTC){grace} a trecut fără o ediție nouă. Semnăturile care "
                "depind de ea primesc verdictul „indeterminate” (motiv: trusted_list_expired) până când se încarcă "
                "o ediție nouă.",
            )
        )
    # National lists are reissued every few months, so age since issue says nothing here; what matters is that our
    # copy is refreshed (loaded) regularly, which the daily job does.
    if row.loaded_at is not None and now - row.loaded_at > limits.stale:
        hours = int((now - row.loaded_at).total_seconds() // 3600)
        limit = int(limits.stale.total_seconds() // 3600)
        problems.append(
            ListProblem(
                STALE,
                f"Copia noastră a listei de încredere {row.source} nu a mai fost reîmprospătată de {hours} ore "
                f"(limita este {limit} ore): reîmprospătarea zilnică a listelor nu mai rulează.",
            )
        )
    return ListHealth(row.source, tuple(problems))


def trust_sources_configured(trust: TrustSettings) -> bool:
    """Any source of trust at all. Without one, no signature can ever be qualified: every citizen's would be
    judged untrusted, so `run` and `poll` refuse to start."""
    return bool(trust.lists or trust.lotl.strip() or trust.anchors)


@dataclass(frozen=True)
class TrustOverview:
    sources_configured: bool
    lists: list[tuple[TrustListState, ListHealth]]
    problems: list[dict[str, Any]]  # JSON-ready: {"kind", "source", "state", "message"}

    @property
    def ok(self) -> bool:
        return not self.problems


def trust_overview(session: Session, office: str, settings: Settings, now: datetime) -> TrustOverview:
    """Every recorded list with its health, and what is wrong with trust as a whole (`status`, dashboard)."""
    limits = HealthLimits.from_settings(settings)
    rows = session.exec(
        select(TrustListState).where(TrustListState.office == office).order_by(col(TrustListState.source))
    ).all()
    lists = [(row, list_health(row, now, limits)) for row in rows]
    problems: list[dict[str, Any]] = []
    configured = trust_sources_configured(settings.trust)
    if not configured:
        problems.append(
            {
                "kind": NO_SOURCE,
                "source": None,
                "state": None,
                "message": "Nicio sursă de încredere configurată (trust.lotl, trust.lists, trust.anchors): nicio "
                "semnătură nu poate fi recunoscută drept calificată.",
            }
        )
    elif (settings.trust.lists or settings.trust.lotl.strip()) and not rows:
        problems.append(
            {
                "kind": NOT_LOADED,
                "source": None,
                "state": None,
                "message": "Listele de încredere configurate nu au fost încă încărcate (daemonul nu a pornit).",
            }
        )
    for _row, health in lists:
        problems += [
            {"kind": p.alert_kind, "source": health.source, "state": p.state, "message": p.message}
            for p in health.problems
        ]
    return TrustOverview(configured, lists, problems)


def record_trust_lists(rt: Runtime) -> None:
    lists = rt.trust_store.lists
    with transaction(rt.engine) as session:
        for info in lists:
            row = session.get(TrustListState, info.source) or TrustListState(
                source=info.source, office=rt.trust_office, loaded_at=info.loaded_at
            )
            row.territory = info.territory
            row.sequence_number = info.sequence_number
            row.issued_at = info.issued_at
            row.next_update = info.next_update
            row.loaded_at = info.loaded_at
            row.signature_verified = info.signature_verified
            row.from_cache = info.from_cache
            row.error = info.error
            row.operator_certificate_expired = info.operator_certificate_expired
            session.add(row)
            if info.error:
                log.warning("trusted list %s: %s", info.source, info.error)
        # A list taken out of the configuration (or dropped from the LOTL) is no longer used: its row would only go
        # stale and keep an ops alert open for ever.
        session.exec(
            delete(TrustListState).where(
                col(TrustListState.office) == rt.trust_office,
                col(TrustListState.source).not_in([info.source for info in lists]),
            )
        )


def refresh_trust_lists(rt: Runtime) -> None:
    """The daily job: fetch URL lists and the LOTL again (the cached copy stays in use when offline)."""
    rt.trust_store.refresh()
    record_trust_lists(rt)


def trusted_list_age_seconds(session: Session, office: str) -> float | None:
    """Age of the oldest list in use (since it was issued), or None when no list is configured."""
    rows = session.exec(select(TrustListState).where(TrustListState.office == office)).all()
    issued = [row.issued_at for row in rows if row.issued_at and not row.error]
    return round((utcnow() - min(issued)).total_seconds(), 1) if issued else None
