"""Time: the real clock, or a fixed instant for replays and tests (`poll --once --now ...`).

The fixed instant drives domain decisions (registration date, deadlines, bookings). Technical timing
(claim times, outbox back-off, poll health) always uses the real clock, so a replay with a date in the
past or future cannot stall the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else utcnow()


def parse_instant(value: str, timezone: str) -> datetime:
    """ISO-8601; a value without an offset is read in the office time zone."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))
