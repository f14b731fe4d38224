"""Run one piece of risky work in a forked child with a memory and a time budget, and say how it ended.

Why a child: a message that exhausts memory, hangs in a decoder or crashes the interpreter takes down only
its child, and the daemon can tell that death apart from its own. A SIGKILL, OOM kill or restart of the daemon
kills the child with it (PR_SET_PDEATHSIG) and leaves no record at all, so it counts against no message.

Why fork and not spawn: the child starts with everything the daemon already loaded (modules, trust store,
signing key, fonts) for the price of a fork. Only Linux is supported, like the rest of the deployment.

The budget is enforced twice: RLIMIT_AS makes allocations past it fail in the child (Python raises
MemoryError), and the parent watches the child's resident size and wall-clock time and kills it past either.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import mmap
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)

MB = 1024 * 1024
# How often the parent looks at the child's resident size; RLIMIT_AS catches what grows faster than this.
WATCH_SECONDS = 0.05
# Exit statuses of the child (sysexits-like values that no library uses for itself).
EXIT_DONE = 0
EXIT_MEMORY = 86
EXIT_ERROR = 70
# Signals that mean "stop", sent to the service (systemd, a terminal's Ctrl-C to the process group): not the
# message's doing. The child ignores them and finishes its message; if it dies of one anyway, nobody is blamed.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class Ending(StrEnum):
    DONE = "done"  # exit 0: the work ran to its end (a failure it handled and recorded included)
    MEMORY = "memory"  # MemoryError under the address-space limit, or resident size over the budget
    TIMEOUT = "timeout"  # still running at the deadline: killed
    CRASHED = "crashed"  # died of its own cause: a fatal signal or an unexpected exit status
    STOPPED = "stopped"  # stopped from outside: a stop signal, or a SIGKILL we did not send (OOM killer, operator)


@dataclass(frozen=True)
class Budget:
    seconds: float
    memory_mb: int


@dataclass(frozen=True)
class Result:
    ending: Ending
    detail: str  # how the child ended, for logs and records: "signal SIGSEGV", "exit status 70", ""
    seconds: float
    peak_mb: float  # the child's peak resident size (what it inherited included)


def run(work: Callable[[], None], budget: Budget) -> Result:
    """Run `work` in a forked child within `budget`; return how it ended. Call with no lock held that the
    child needs: the child has only the calling thread, and a lock another thread held at fork stays held."""
    child = start(work, budget)
    try:
        while True:
            for _child, result in watch([child]):
                return result
    finally:
        child.abandon()  # only if interrupted (KeyboardInterrupt, an error above): never leave it behind


def start(work: Callable[[], None], budget: Budget) -> Child:
    """Fork a child that runs `work` within `budget` and return at once; `watch` enforces the budget and tells
    how it ended. Several children may run at a time, each with its own budget."""
    virtual, resident = _memory_of("self")
    # The budget is what the message's own work may add on top of what the child inherits: counting the daemon's
    # size against it would make every message's allowance depend on how large the daemon happens to be (a
    # corpus mail that parses in 150 MB was once stopped because the daemon had grown to ~400 MB).
    headroom = budget.memory_mb * MB
    started = time.monotonic()
    clock = _SharedClock()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child never returns; coverage cannot see it)
        global _own_clock
        _own_clock = clock
        _child(work, virtual + headroom)
    return Child(pid, started=started, seconds=budget.seconds, resident_limit=resident + headroom, clock=clock)


@contextlib.contextmanager
def excused() -> Iterator[None]:
    """In a child: the time spent in this block does not count against its time budget. For waiting on what
    another child holds (SQLite's write lock while several workers run): that wait is not the message's doing,
    and a message must not be quarantined for the time another one kept the lock. Elsewhere: no effect."""
    clock = _own_clock
    if clock is None:
        yield
        return
    clock.waiting_since(time.monotonic())
    try:
        yield
    finally:
        clock.waited(time.monotonic())


class _SharedClock:
    """Two numbers the child writes and the parent reads (an anonymous shared mapping made before the fork): the
    seconds excused so far, and since when it is waiting now (0: not waiting). CLOCK_MONOTONIC is the same
    clock in both processes."""

    _FORMAT = "dd"

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, struct.calcsize(self._FORMAT))

    def waiting_since(self, now: float) -> None:
        excused, _since = self._read()
        self._write(excused, now)

    def waited(self, now: float) -> None:
        excused, since = self._read()
        # The total first, then the end of the wait: a parent reading in between excuses too much for an
        # instant rather than too little.
        self._write(excused + max(now - since, 0.0), since)
        self._write(excused + max(now - since, 0.0), 0.0)

    def excused(self, now: float) -> float:
        excused, since = self._read()
        return excused + (max(now - since, 0.0) if since else 0.0)

    def close(self) -> None:
        self._map.close()

    def _read(self) -> tuple[float, float]:
        return struct.unpack_from(self._FORMAT, self._map, 0)  # type: ignore[return-value]

    def _write(self, excused: float, since: float) -> None:
        struct.pack_into(self._FORMAT, self._map, 0, excused, since)


_own_clock: _SharedClock | None = None  # in a child: the clock its parent reads


def run_here(work: Callable[[], None]) -> Result:
    """The same contract without a child (worker.isolate = false, for debugging): only MemoryError is caught,
    time and a crash of the interpreter are not contained."""
    started = time.monotonic()
    try:
        work()
    except MemoryError:
        return Result(Ending.MEMORY, "MemoryError", time.monotonic() - started, _peak_mb_self())
    return Result(Ending.DONE, "", time.monotonic() - started, _peak_mb_self())


# ----------------------------------------------------------------------------------------------- child


def _child(work: Callable[[], None], address_space: int) -> None:
    code = EXIT_ERROR
    try:
        parent = os.getppid()
        _die_with(parent)
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        _limit_memory(address_space)
        # The collector of the child must not walk (and so copy-on-write) the objects it inherited.
        gc.freeze()
        work()
        code = EXIT_DONE
    except MemoryError:
        code = EXIT_MEMORY
    except BaseException:  # anything else escaping the work: the parent records "exit status 70"
        with contextlib.suppress(BaseException):
            log.exception("isolated work failed")
    finally:
        with contextlib.suppress(BaseException):
            _flush()
        # No atexit handlers, no finalizers: they belong to the daemon (its database connections, its files).
        os._exit(code)


def _die_with(parent: int) -> None:
    """Ask the kernel to SIGKILL us when the daemon dies, then make sure it has not died already."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(EXIT_ERROR)


def _limit_memory(address_space: int) -> None:
    """The limit starts from the address space the child inherited, not from zero: the daemon's mapped but
    untouched memory (thread stacks, malloc arenas, libraries) is in it without being resident."""
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashed child must not write the message to a core file
    # If memory runs out on the machine, the kernel should pick the child, not the daemon.
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
        handle.write("500")


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------- parent


class Child:
    """A running child, as its parent sees it: its budget, and the means to wait for its end."""

    def __init__(self, pid: int, *, started: float, seconds: float, resident_limit: int, clock: _SharedClock) -> None:
        self.pid = pid
        self.started = started
        self.seconds = seconds
        self.clock = clock
        self.resident_limit = resident_limit
        self.killed: Ending | None = None  # set when we kill it over its budget
        self.result: Result | None = None  # set once reaped
        # A Watchdog thread may enforce the budget while the parent's thread reaps: never kill a reaped pid.
        self._lock = threading.Lock()
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def exited(self) -> bool:
        """Without waiting and without reaping it."""
        return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def enforce(self, now: float) -> None:
        """Kill it if it is past its deadline or its resident size is over its budget."""
        with self._lock:
            if self.result is not None or self.killed is not None:
                return
            if self.remaining(now) <= 0:
                self.killed = Ending.TIMEOUT
            elif _resident(self.pid) > self.resident_limit:
                self.killed = Ending.MEMORY
            else:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def remaining(self, now: float) -> float:
        """Of its time budget: wall-clock time since it started counts, time it spent `excused` does not."""
        if self.result is not None:
            return 0.0
        return self.seconds - (now - self.started - self.clock.excused(now))

    def reap(self) -> Result:
        with self._lock:
            _, status, usage = os.wait4(self.pid, 0)
            self._close()
            return self._settle(status, usage)

    def _settle(self, status: int, usage: resource.struct_rusage) -> Result:
        now = time.monotonic()
        seconds = now - self.started - self.clock.excused(now)  # what counts against the message's budget
        self.clock.close()
        peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
        killed = self.killed
        if killed is not None and not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            killed = None  # it ended by itself in the instant before our kill: its own status tells how
        self.result = _ending(status, killed, seconds, peak_mb)
        return self.result

    def abandon(self) -> None:
        """Kill and reap it unless it has been reaped already (the parent is giving up: an error, an interrupt)."""
        with self._lock:
            if self.result is not None:
                return
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.wait4(self.pid, 0)
            self._close()
            self.clock.close()
            self.result = Result(Ending.STOPPED, "abandoned by the daemon", time.monotonic() - self.started, 0.0)

    def _close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def watch(children: Sequence[Child], timeout: float = WATCH_SECONDS) -> list[tuple[Child, Result]]:
    """Wait up to `timeout` (less if a budget ends sooner) for any child to end, enforce every child's budget,
    then reap and return the children that ended, with how. One parent thread supervises all its children."""
    now = time.monotonic()
    wait = max(min([timeout, *(child.remaining(now) for child in children)]), 0.0)
    _wait_for_any(children, wait)
    finished = []
    now = time.monotonic()
    for child in children:
        if not child.exited():
            child.enforce(now)
        if child.killed is not None or child.exited():
            finished.append((child, child.reap()))  # after our SIGKILL, wait4 returns at once
    return finished


class Watchdog:
    """Enforce the budgets of the running children from a thread of its own while the parent's thread is busy
    elsewhere: with SQLite, the parent's next transaction waits for the write lock, and a child stuck past its
    deadline inside a stage holds that lock; only a kill from another thread ends the wait. The thread only
    kills (under each child's lock); forking and reaping stay with the parent's thread."""

    def __init__(self) -> None:
        self.children: tuple[Child, ...] = ()  # replaced, never mutated: the thread reads a consistent snapshot
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            now = time.monotonic()
            for child in self.children:
                child.enforce(now)


def _wait_for_any(children: Sequence[Child], timeout: float) -> None:
    """A wait-with-timeout for the first exit: pidfds where the kernel has them, polling otherwise."""
    pidfds = [child.pidfd for child in children if child.pidfd is not None]
    if len(pidfds) == len(children):
        select.select(pidfds, [], [], timeout)
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end and not any(child.exited() for child in children):
        time.sleep(0.005)


def _ending(status: int, killed: Ending | None, seconds: float, peak_mb: float) -> Result:
    if killed is not None:
        return Result(killed, f"killed by the daemon over the {killed} budget", seconds, peak_mb)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == EXIT_DONE:
            return Result(Ending.DONE, "", seconds, peak_mb)
        if code == EXIT_MEMORY:
            return Result(Ending.MEMORY, "MemoryError", seconds, peak_mb)
        return Result(Ending.CRASHED, f"exit status {code}", seconds, peak_mb)
    signum = os.WTERMSIG(status)
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = str(signum)
    if signum in STOP_SIGNALS or signum == signal.SIGKILL:
        return Result(Ending.STOPPED, f"signal {name}", seconds, peak_mb)
    return Result(Ending.CRASHED, f"signal {name}", seconds, peak_mb)


def _memory_of(pid: str | int) -> tuple[int, int]:
    """(address space, resident size) in bytes, from /proc/PID/statm; (0, 0) if the process is gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            size, resident, *_ = handle.read().split()
    except (OSError, ValueError):
        return 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(resident) * page


def _resident(pid: int) -> int:
    return _memory_of(pid)[1]


def _peak_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
