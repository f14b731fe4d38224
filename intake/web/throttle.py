"""Failed-login throttling, counted in the audit trail (the database), so the limits hold across restarts and
across the processes of `intake run` and `intake serve`.

Three rules, none of which lets a stranger lock a clerk out of her own desk:
- one name from one address: MAX_FAILURES_PER_NAME failures within FAILURE_WINDOW refuse that name from that
  address for LOCKOUT. The same name from any other address is not affected;
- one address, whatever the names: MAX_FAILURES_PER_ADDRESS failures refuse the address (one guesser trying
  many names; the bar is higher because a whole office may sit behind one NAT address);
- one name from everywhere: NAME_UNDER_ATTACK failures within FAILURE_WINDOW, from all addresses together,
  mean a guess spread over many addresses. From then on, addresses that have themselves failed for the name
  get one attempt per NAME_SLOT between them all; an address that has not failed for the name is never
  slowed, so the right password typed at the clerk's desk still logs in at once.
What remains possible is one guess per fresh address per name: the price of never refusing a clean address.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, or_, select

from intake.models import AuditEvent

FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5  # per name from one address
MAX_FAILURES_PER_ADDRESS = 20
NAME_UNDER_ATTACK = 10
NAME_SLOT = timedelta(minutes=1)

# Why an attempt was refused: the audit trail keeps the rule, the login page says when to try again.
NAME_FROM_ADDRESS = "name_address"
ADDRESS = "address"
NAME_SLOT_TAKEN = "name_slot"


@dataclass(frozen=True)
class Verdict:
    refused: str | None = None  # None: the password is checked
    slot: bool = False  # the attempt uses the name's slot; a failure is recorded with "slot": true
    retry_after: timedelta = LOCKOUT

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def bursts(times: list[datetime], limit: int, now: datetime) -> bool:
    """`limit` failures within FAILURE_WINDOW, the last of them less than LOCKOUT ago."""
    times = sorted(times)
    for index in range(limit - 1, len(times)):
        if times[index] >= now - LOCKOUT and times[index] - times[index - limit + 1] <= FAILURE_WINDOW:
            return True
    return False


def _ip():  # type: ignore[no-untyped-def]
    return col(AuditEvent.after)["ip"].as_string()


def judge(session: Session, office: str | Sequence[str], name: str, address: str, now: datetime) -> Verdict:
    """`office`: the office, or every office of the deployment (one login page serves them all)."""
    offices = [office] if isinstance(office, str) else list(office)
    since = now - FAILURE_WINDOW - LOCKOUT
    failures = session.exec(
        select(AuditEvent.actor, AuditEvent.at, AuditEvent.after).where(
            col(AuditEvent.office).in_(offices), AuditEvent.action == "login_failed", col(AuditEvent.at) >= since,
            or_(AuditEvent.actor == name, _ip() == address),
        )
    ).all()
    # A successful login from this address starts the count of its failures for the name afresh; one from
    # elsewhere does not (or every login of the clerk would hand a guesser a fresh allowance).
    last_login = session.exec(
        select(func.max(AuditEvent.at)).where(
            col(AuditEvent.office).in_(offices), AuditEvent.action == "login", AuditEvent.actor == name,
            _ip() == address,
        )
    ).one()
    last_login = _aware(last_login)
    ours = [(actor, _aware(at), after or {}) for actor, at, after in failures]
    by_pair = [at for actor, at, after in ours
               if actor == name and after.get("ip") == address and (last_login is None or at > last_login)]
    by_address = [at for _actor, at, after in ours if after.get("ip") == address]
    if bursts(by_pair, MAX_FAILURES_PER_NAME, now):
        return Verdict(NAME_FROM_ADDRESS)
    if bursts(by_address, MAX_FAILURES_PER_ADDRESS, now):
        return Verdict(ADDRESS)

    recent = now - FAILURE_WINDOW
    by_name = [at for actor, at, _after in ours if actor == name and at >= recent]
    clean = not any(at >= recent for at in by_pair)
    if len(by_name) < NAME_UNDER_ATTACK or clean:
        return Verdict()
    last_slot = max((at for actor, at, after in ours if actor == name and after.get("slot")), default=None)
    if last_slot is not None and now - last_slot < NAME_SLOT:
        return Verdict(NAME_SLOT_TAKEN, retry_after=NAME_SLOT - (now - last_slot))
    return Verdict(slot=True)


def failure_record(address: str, verdict: Verdict) -> dict[str, object]:
    """The `after` of a login_failed audit event."""
    return {"ip": address, "slot": True} if verdict.slot else {"ip": address}


def _aware(moment: datetime | str | None) -> datetime | None:
    # An aggregate (max) bypasses the column type on SQLite and comes back as text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
