"""intake.sandbox: how a child ended, told apart (the pipeline decides whose fault it was from this)."""

from __future__ import annotations

import faulthandler
import os
import signal
import time
from pathlib import Path

from intake import sandbox

BUDGET = sandbox.Budget(seconds=10, memory_mb=512)


def test_work_that_finishes_is_done() -> None:
    result = sandbox.run(lambda: None, BUDGET)
    assert result.ending == sandbox.Ending.DONE and result.seconds < 5


def test_allocating_past_the_budget_is_memory_and_fast() -> None:
    def hoard() -> None:
        chunks = []
        while True:
            chunks.append(bytearray(b"\x01" * (32 * 1024 * 1024)))

    inherited_mb = sandbox._memory_of("self")[1] / sandbox.MB
    result = sandbox.run(hoard, BUDGET)
    assert result.ending == sandbox.Ending.MEMORY and result.seconds < 10
    # The child's peak counts what it inherited from the process that forked it; the budget is on top of that.
    assert result.peak_mb <= inherited_mb + 512 + 64


def test_work_past_the_deadline_is_killed() -> None:
    result = sandbox.run(lambda: time.sleep(60), sandbox.Budget(seconds=0.5, memory_mb=512))
    assert result.ending == sandbox.Ending.TIMEOUT and result.seconds < 5


def test_a_crash_is_the_work_s_own() -> None:
    def segfault() -> None:
        faulthandler.disable()  # pytest's dump of the dying child would only be noise here
        os.kill(os.getpid(), signal.SIGSEGV)

    result = sandbox.run(segfault, BUDGET)
    assert result.ending == sandbox.Ending.CRASHED and result.detail == "signal SIGSEGV"


def test_an_escaping_exception_is_a_crash_with_exit_status() -> None:
    def fail() -> None:
        raise RuntimeError("database gone")

    result = sandbox.run(fail, BUDGET)
    assert result.ending == sandbox.Ending.CRASHED and result.detail == f"exit status {sandbox.EXIT_ERROR}"


def test_a_kill_from_outside_blames_nobody() -> None:
    # SIGTERM is ignored by the child (a service stop lets it finish); a SIGKILL we did not send is "stopped".
    result = sandbox.run(lambda: os.kill(os.getpid(), signal.SIGKILL), BUDGET)
    assert result.ending == sandbox.Ending.STOPPED
    finished = sandbox.run(lambda: os.kill(os.getpid(), signal.SIGTERM), BUDGET)
    assert finished.ending == sandbox.Ending.DONE


def test_the_child_dies_with_its_parent() -> None:
    """A middle process plays the daemon: it forks the worker child, then is SIGKILLed."""
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:  # the "daemon"
        os.close(read)

        def report_and_wait() -> None:
            os.write(write, f"{os.getpid()}\n".encode())
            time.sleep(60)

        sandbox.run(report_and_wait, sandbox.Budget(seconds=60, memory_mb=512))
        os._exit(0)
    os.close(write)
    child = int(os.read(read, 64).decode().strip())
    os.kill(middle, signal.SIGKILL)
    os.waitpid(middle, 0)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.01)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the worker child outlived its parent")


def test_excused_time_does_not_count_against_the_budget() -> None:
    # A worker waiting for a lock another worker holds (SQLite's write lock) is not over its time budget.
    def wait_then_work() -> None:
        with sandbox.excused():
            time.sleep(1.5)
        time.sleep(0.2)

    result = sandbox.run(wait_then_work, sandbox.Budget(seconds=1, memory_mb=512))
    assert result.ending == sandbox.Ending.DONE and result.seconds < 1


def test_children_run_side_by_side_each_within_its_own_budget() -> None:
    budget = sandbox.Budget(seconds=1, memory_mb=512)
    started = time.monotonic()
    children = [sandbox.start(lambda: time.sleep(0.5), budget) for _ in range(3)]
    children.append(sandbox.start(lambda: time.sleep(60), budget))
    results = {}
    while len(results) < len(children):
        for child, result in sandbox.watch([c for c in children if c not in results]):
            results[child] = result
    assert [results[c].ending for c in children] == [sandbox.Ending.DONE] * 3 + [sandbox.Ending.TIMEOUT]
    assert time.monotonic() - started < 3  # side by side: 3 x 0.5 s and a 1 s deadline, not one after another
