"""Outages of the services a stage relies on (the time-stamping authority, the signing token): not the message's
fault, so a message that meets one waits for the service instead of counting a failure towards quarantine.

A stage raises `ServiceOutage` (or a subclass) for such a failure. The pipeline records it on the message
(`deferred`, with the reason, no attempt counted) and pauses that stage for every message of this process for
`PAUSE_SECONDS`: with a time-stamping authority down, one message a minute tries it, not every message of a
backlog, each after a 10 s time-out. The messages wait at the stage before (registered and booked, the
recipisă not yet made) and go on in the first cycle after the pause in which the service answers. The pause lives
in the process that forks the workers, which learns of an outage when the worker's run ends (`note`).
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

PAUSE_SECONDS = 60.0
DEFERRED = "deferred"  # the Event action of a message that met an outage


class ServiceOutage(Exception):
    """A service the agency runs or relies on failed; retry the stage later, without counting it against the
    message."""


_lock = threading.Lock()
_paused_until: dict[str, float] = {}  # stage name -> time.monotonic() when one message may try it again


def note(stage: str, reason: str) -> None:
    """An outage met at `stage`: pause it for every message of this process."""
    with _lock:
        fresh = _paused_until.get(stage, 0.0) <= time.monotonic()
        _paused_until[stage] = time.monotonic() + PAUSE_SECONDS
    if fresh:
        log.error(
            "stage %s paused for %.0f s: a service it needs is down (%s); messages wait there, none is quarantined",
            stage,
            PAUSE_SECONDS,
            reason,
        )


def paused(stage: str) -> bool:
    with _lock:
        return _paused_until.get(stage, 0.0) > time.monotonic()


def clear() -> None:
    """Forget every pause (tests; a process that starts afresh has none)."""
    with _lock:
        _paused_until.clear()
