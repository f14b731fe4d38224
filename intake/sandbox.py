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
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)

MB = 1024 * 1024
# How often the parent looks at the child's resident size; RLIMIT_AS catches what grows faster than this.
WATCH_SECONDS = 0.05
# A child never gets less address space than this on top of what it inherited, even when the daemon's own
# resident size already eats most of the budget: the work would otherwise fail at its first allocation.
MIN_HEADROOM = 64 * MB
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
    virtual, resident = _memory_of("self")
    # What the child may add on top of what it inherits: the rest of the budget, or at least MIN_HEADROOM when
    # the daemon itself has grown close to the budget (every message would otherwise fail at once).
    headroom = max(budget.memory_mb * MB - resident, MIN_HEADROOM)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child never returns; coverage cannot see it)
        _child(work, virtual + headroom)
    return _watch(pid, budget.seconds, resident + headroom, started)


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


def _watch(pid: int, seconds: float, resident_limit: int, started: float) -> Result:
    deadline = started + seconds
    killed: Ending | None = None
    status, usage = 0, None
    try:
        with _exit_notice(pid) as exited:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    killed = Ending.TIMEOUT
                    break
                if exited(min(remaining, WATCH_SECONDS)):
                    break
                if _resident(pid) > resident_limit:
                    killed = Ending.MEMORY
                    break
        if killed is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
    finally:
        if usage is None:  # interrupted (KeyboardInterrupt, an error above): never leave the child behind
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.wait4(pid, 0)
    seconds = time.monotonic() - started
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    if killed is not None and not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        killed = None  # it ended by itself in the instant before our kill: its own status tells how
    return _ending(status, killed, seconds, peak_mb)


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


@contextlib.contextmanager
def _exit_notice(pid: int) -> Iterator[Callable[[float], bool]]:
    """A wait-with-timeout for the child's exit: a pidfd where the kernel has them, polling otherwise."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):

        def poll(timeout: float) -> bool:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
                time.sleep(0.005)
            return False

        yield poll
        return
    try:
        yield lambda timeout: bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


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
