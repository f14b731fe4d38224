"""Up to worker.processes sandboxed children at once, sharing one batch of work.

Each item of the batch (a submission) goes through runs: a run is one child, and after it ends the caller
decides whether the item runs again at once (a retry) or is done for this pass. Items start in the order given
(arrival order), a retry goes to the front of the line so a failing message is settled soon, and one parent
thread forks, watches and reaps every child (intake.sandbox.watch): no thread forks, so no lock of another
thread can be caught held in a child (the watchdog thread only kills). Everything the caller does between runs
(`next_run`, `settle`) happens in the parent, one item at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from intake import sandbox

Key = TypeVar("Key")
Work = tuple[Callable[[], None], sandbox.Budget]
# What to run next for an item, or None when it is done for this pass.
NextRun = Callable[[Key], Work | None]
# How a run ended; True if the item should run again now.
Settle = Callable[[Key, sandbox.Result], bool]


def run_all(keys: Iterable[Key], next_run: NextRun[Key], settle: Settle[Key], processes: int) -> None:
    """Run every item to the end of its pass, with at most `processes` children alive at a time."""
    waiting: deque[Key] = deque(keys)
    running: dict[sandbox.Child, Key] = {}
    # next_run and settle use the database, and may wait for a lock a running child holds: meanwhile the
    # watchdog keeps every child within its budget.
    with sandbox.Watchdog() as watchdog:
        try:
            while waiting or running:
                while waiting and len(running) < processes:
                    key = waiting.popleft()
                    run = next_run(key)
                    if run is not None:
                        work, budget = run
                        running[sandbox.start(work, budget)] = key
                        watchdog.children = tuple(running)
                if not running:
                    continue
                for child, result in sandbox.watch(list(running)):
                    key = running.pop(child)
                    watchdog.children = tuple(running)
                    if settle(key, result):
                        waiting.appendleft(key)
        finally:
            for child in running:
                child.abandon()  # an error or interrupt in the parent: no child outlives the pass that started it


def run_here(keys: Iterable[Key], next_run: NextRun[Key], settle: Settle[Key]) -> None:
    """The same contract in this process, one run at a time, budgets not enforced (worker.isolate = false, and
    the short serial steps the parent does itself)."""
    for key in keys:
        while (run := next_run(key)) is not None:
            work, _budget = run
            if not settle(key, sandbox.run_here(work)):
                break
