"""IMAP IDLE wakes the poll job; a wake that comes while a cycle runs must not be lost (issue 11, section 5:
p95 from arrival to recipisă within seconds under IDLE, not at the next poll interval)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from intake.runtime import Runtime
from intake.scheduler import Daemon
from tests.unit import runtimes


def _daemon(tmp_path: Path, **sections: Any) -> tuple[Daemon, list[str]]:
    rt: Runtime = runtimes.make_runtime(tmp_path, **sections)
    daemon = Daemon(rt)
    cycles: list[str] = []
    return daemon, cycles


def test_a_wake_during_a_cycle_runs_one_more_cycle_right_after_it(tmp_path: Path) -> None:
    daemon, cycles = _daemon(tmp_path)

    def cycle(rt: Runtime) -> None:
        cycles.append(rt.office)
        if len(cycles) == 1:
            daemon.wake(rt.office)  # new mail announced while the first cycle works

    daemon._office_cycle = cycle  # type: ignore[method-assign]
    daemon.poll_job()
    assert len(cycles) == 2


def test_a_wake_while_another_thread_runs_the_cycle_is_taken_up_by_that_thread(tmp_path: Path) -> None:
    daemon, cycles = _daemon(tmp_path)
    inside, release = threading.Event(), threading.Event()

    def cycle(rt: Runtime) -> None:
        cycles.append(rt.office)
        if len(cycles) == 1:
            inside.set()
            assert release.wait(10)

    daemon._office_cycle = cycle  # type: ignore[method-assign]
    first = threading.Thread(target=daemon.poll_job)
    first.start()
    assert inside.wait(10)
    daemon.wake(daemon.rt.office)  # the IDLE thread's wake (its job: the cycle is busy, so it returns at once)...
    daemon.wake_job()
    release.set()
    first.join(10)
    assert len(cycles) == 2  # ...and the busy thread runs one more cycle for it


def test_no_wake_no_second_cycle(tmp_path: Path) -> None:
    daemon, cycles = _daemon(tmp_path)
    daemon._office_cycle = lambda rt: cycles.append(rt.office)  # type: ignore[method-assign]
    daemon.poll_job()
    assert len(cycles) == 1


def test_a_cycle_that_left_mail_in_the_mailbox_is_followed_by_another_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """imap.claims_per_cycle: after an outage the backlog is worked through in bounded cycles, back to back."""
    from intake import scheduler
    from intake.mailbox.imap import FetchReport

    daemon, _cycles = _daemon(tmp_path)
    left = [True, True, False]  # two cycles leave mail behind, the third drains the mailbox
    ran: list[bool] = []

    def cycle(rt: Runtime, poller: object = None) -> scheduler.CycleReport:
        more = left[len(ran)]
        ran.append(more)
        return scheduler.CycleReport(fetched=FetchReport(claimed=200 if more else 5, more=more))

    monkeypatch.setattr(scheduler, "run_cycle", cycle)
    daemon.poll_job()
    assert ran == [True, True, False]


OFFICES = [
    {
        "code": code,
        "name": f"AJOFM {code}",
        "name_genitive": f"AJOFM {code}",
        "short_name": f"AJOFM {code}",
        "address": "România",
        "imap": {"username": code.lower()},
        "smtp": {"from_address": f"{code.lower()}@x.ro"},
    }
    for code in ("CJ", "BH", "SJ")
]


def test_an_idle_wake_runs_the_cycle_of_its_own_office_only(tmp_path: Path) -> None:
    """With several offices (issue 11 section 4) one county's new mail does not wait for every other county's cycle;
    the poll interval still runs them all, in configuration order."""
    daemon, cycles = _daemon(tmp_path, offices=OFFICES)
    daemon._office_cycle = lambda rt: cycles.append(rt.office)  # type: ignore[method-assign]
    daemon.wake("SJ")
    daemon.wake_job()
    assert cycles == ["SJ"]
    cycles.clear()
    daemon.poll_job()
    assert cycles == ["CJ", "BH", "SJ"]


def test_a_backlog_in_one_office_runs_only_that_office_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from intake import scheduler
    from intake.mailbox.imap import FetchReport

    daemon, _cycles = _daemon(tmp_path, offices=OFFICES)
    ran: list[str] = []

    def cycle(rt: Runtime, poller: object = None) -> scheduler.CycleReport:
        ran.append(rt.office)
        more = rt.office == "BH" and ran.count("BH") < 3  # Bihor's mailbox needs three bounded cycles
        return scheduler.CycleReport(fetched=FetchReport(claimed=200 if more else 5, more=more))

    monkeypatch.setattr(scheduler, "run_cycle", cycle)
    daemon.poll_job()
    assert ran == ["CJ", "BH", "SJ", "BH", "BH"]
