"""Requests per client address to a public page reached by a signed link (the case status page): a sliding window
counted in this process's memory.

Not in the audit trail like failed logins (`intake.web.throttle`): a page view must not write to the database, or
anyone could fill it with GETs. One web process serves the site (`intake serve`, or the web thread of `intake run`),
so the count is the site's. The bar is high enough for a whole office or a mobile operator's shared address (many
citizens behind one address open their page a few times each); it stops a script walking through links, which
cannot find a genuine one anyway (HMAC-SHA-256), from loading the database with look-ups.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.requests import Request

from intake.web.client import client_address

MAX_REQUESTS = 60  # per address within WINDOW_SECONDS
WINDOW_SECONDS = 300.0
MAX_ADDRESSES = 10_000  # addresses remembered at once: a flood of spoofed sources cannot grow memory without bound
_CREATING = threading.Lock()


class RateLimiter:
    def __init__(
        self,
        limit: int = MAX_REQUESTS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.limit, self.window, self.clock, self.max_addresses = limit, window, clock, max_addresses
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def retry_after(self, address: str) -> int | None:
        """None: let the request through (and count it); else the seconds until the address may come back."""
        now = self.clock()
        with self._lock:
            times = self._seen.get(address)
            if times is None:
                if len(self._seen) >= self.max_addresses:
                    self._forget_idle(now)
                times = self._seen.setdefault(address, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return max(1, math.ceil(times[0] + self.window - now))
            times.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, times in self._seen.items() if not times or times[-1] <= now - self.window]:
            del self._seen[address]
        if len(self._seen) >= self.max_addresses:
            # Still full of active addresses: drop the oldest half rather than refuse newcomers.
            for address in sorted(self._seen, key=lambda a: self._seen[a][-1])[: len(self._seen) // 2]:
                del self._seen[address]


def limiter_of(request: Request, name: str) -> RateLimiter:
    """The app's limiter called `name` (one per app, so every test app starts with a clean count)."""
    state = request.app.state
    with _CREATING:
        limiters: dict[str, RateLimiter] = getattr(state, "rate_limiters", None) or {}
        state.rate_limiters = limiters
        return limiters.setdefault(name, RateLimiter())


def refused(request: Request, name: str) -> int | None:
    """Seconds to wait when the request's address is over the limit of the limiter `name`, else None."""
    address = client_address(request, getattr(request.app.state, "trusted_proxies", ()))
    return limiter_of(request, name).retry_after(address)
