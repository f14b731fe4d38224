"""The jobs: one poll cycle (fetch, process, settle, send) and the daemon that schedules it.

One APScheduler per process. Push with IMAP IDLE runs in its own thread and only wakes the poll job;
polling at the configured interval stays on as the fallback, so a broken IDLE connection delays mail by
at most one interval.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler

from intake import election, outbox, pipeline
from intake.appointments.service import auto_confirm, send_reminders
from intake.mailbox import imap
from intake.monitoring import check_health
from intake.privacy import redact
from intake.runtime import Runtime
from intake.signatures.trust_state import record_trust_lists, refresh_trust_lists

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    fetched: imap.FetchReport = field(default_factory=imap.FetchReport)
    processed: int = 0
    moved: int = 0
    sent: outbox.SendReport = field(default_factory=outbox.SendReport)
    imap_error: str | None = None
    reminders: int = 0
    confirmed: int = 0  # complete cases confirmed automatically (appointments.decision_auto_confirm_days)
    leader: bool = True  # False: a standby's cycle, parallel stages only (intake.election)


def run_cycle(rt: Runtime, poller: election.Election | None = None) -> CycleReport:
    """Fetch new mail, process everything pending, move what is settled, send the outbox.

    Work already claimed is processed even when the mailbox is unreachable, and the outbox is sent even
    when processing failed: one broken part never holds up the others. With several processes (`poller`, see
    intake.election) only the leader does the mailbox, the serial stages and the outbox, and it confirms its
    lead before each of them; a standby only runs the parallel stages of pending work.
    """
    leads = (poller or election.AlwaysLeader()).leads
    report = CycleReport()
    if not leads():
        report.leader = False
        report.processed = pipeline.process_pending(rt, serial=False)
        return report
    if rt.office == rt.trust_office:  # the deployment's lists, recorded once per round of offices
        record_trust_lists(rt)
    # No IMAP connection is held while messages are processed: with budgets of 30 s a message, a batch can take
    # longer than a server keeps an idle session, and the settle after it must not be lost with that session.
    try:
        with imap.connect(rt.settings.imap) as client:
            imap.ensure_folders(client, rt.settings.imap)
            report.fetched = imap.fetch_new(rt, client)
    except imap.IMAP_ERRORS as exc:
        _mailbox_failed(rt, report, exc)
    report.processed = _process_and_send(rt, report, leads)
    if leads():
        _add(report.sent, outbox.send_due(rt))  # the receipts go out now, not after the mailbox's settle
    if report.imap_error is None and leads():
        try:
            with imap.connect(rt.settings.imap) as client:
                report.moved = imap.settle(rt, client)
            imap.record_poll(rt, error=None)
        except imap.IMAP_ERRORS as exc:
            _mailbox_failed(rt, report, exc)
    if not leads():
        return report
    report.reminders = send_reminders(rt)
    # After the batch: a case a follow-up just changed has its verification restarted, not confirmed.
    report.confirmed = auto_confirm(rt)
    check_health(rt)  # raises or resolves ops alerts; its e-mails go out with the send below
    _add(report.sent, outbox.send_due(rt))
    return report


Pollers = dict[str, election.Election]


def run_cycles(rt: Runtime, pollers: Pollers | None = None) -> dict[str, CycleReport]:
    """One cycle per office, one after the other, each with its own mailbox, sender and calendar (every office's
    cycle uses all the worker processes). An unreachable mailbox is in its office's report (`imap_error`) and the
    next office's cycle runs all the same."""
    return {office.office: run_cycle(office, (pollers or {}).get(office.office)) for office in rt.offices}


def drain(rt: Runtime, pollers: Pollers | None = None) -> dict[str, CycleReport]:
    """Cycles until no office has new mail left over (imap.claims_per_cycle): `poll --once` leaves nothing that
    was in the mailbox when it started. The reports add up."""
    totals = run_cycles(rt, pollers)
    offices = [office for office in rt.offices if totals[office.office].fetched.more]
    while offices:
        for office in offices:
            _add_cycle(totals[office.office], run_cycle(office, (pollers or {}).get(office.office)))
        offices = [office for office in offices if totals[office.office].fetched.more]
    return totals


def _add_cycle(total: CycleReport, more: CycleReport) -> None:
    fetched = total.fetched
    fetched.seen, fetched.claimed = more.fetched.seen, fetched.claimed + more.fetched.claimed
    fetched.already_known += more.fetched.already_known
    # No progress (every claim refused) must not loop for ever: the next poll takes them up.
    fetched.more = more.fetched.more and more.fetched.claimed > 0
    total.processed += more.processed
    total.moved += more.moved
    _add(total.sent, more.sent)
    total.imap_error = more.imap_error or total.imap_error
    total.reminders += more.reminders
    total.confirmed += more.confirmed
    total.leader = total.leader and more.leader


def _mailbox_failed(rt: Runtime, report: CycleReport, exc: BaseException) -> None:
    report.imap_error = redact(f"{type(exc).__name__}: {exc}")
    log.error("mailbox %s unreachable: %s", rt.settings.imap.account, report.imap_error)
    imap.record_poll(rt, error=report.imap_error)


def _process_and_send(rt: Runtime, report: CycleReport, leads: Callable[[], bool]) -> int:
    """Screen everything first and send the acknowledgements (procedure step 5) before the slower checks,
    registration and receipts of the whole batch.

    Each pass runs every message to an outcome (failures are retried within the pass), so the settle that
    follows moves everything this cycle decided, quarantined messages included."""
    spent: dict[int, float] = {}  # seconds per message: the time budget covers both passes
    pending = pipeline.process_pending(rt, through=pipeline.ACKNOWLEDGE_AFTER, spent=spent)
    if leads():
        _add(report.sent, outbox.send_due(rt))
    pipeline.process_pending(rt, spent=spent, serial=leads())
    return pending


def _add(total: outbox.SendReport, more: outbox.SendReport) -> None:
    total.sent += more.sent
    total.deferred += more.deferred
    total.failed += more.failed


class _Woken:
    """The offices whose mailbox has news, in the order they announced it; `every()` marks them all (the poll
    interval). Threads (IDLE, the scheduler's jobs) add; the thread that runs the cycles takes."""

    def __init__(self, offices: list[str]) -> None:
        self._offices = offices
        self._lock = threading.Lock()
        self._woken: dict[str, None] = {}  # an ordered set

    def add(self, office: str) -> None:
        with self._lock:
            self._woken.setdefault(office, None)

    def every(self) -> None:
        with self._lock:
            for office in self._offices:
                self._woken.setdefault(office, None)

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._woken)

    def take(self) -> list[str]:
        with self._lock:
            taken, self._woken = list(self._woken), {}
            return taken


class Daemon:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.scheduler = BlockingScheduler(timezone=rt.settings.office.timezone)
        self._cycle_lock = threading.Lock()
        self._woken = _Woken([office.office for office in rt.offices])
        self._stop = threading.Event()
        # One election per office's mailbox: on several hosts, each mailbox has one poller (and sender).
        self.pollers = election.for_offices(rt)

    def poll_job(self) -> None:
        """The poll interval: a cycle for every office."""
        self._woken.every()
        self._run_woken()

    def wake_job(self) -> None:
        """An IDLE announcement: a cycle for the offices whose mailbox announced mail, not for all of them (with
        many offices, one county's new mail does not wait for every other county's round trip)."""
        self._run_woken()

    def _run_woken(self) -> None:
        # The IDLE threads and the interval may all fire; one cycle at a time is enough. A wake that comes while a
        # cycle runs is kept, not dropped: mail that arrived during the cycle is fetched by one more cycle right
        # after it, not at the next poll interval.
        while self._woken and not self._stop.is_set():
            if not self._cycle_lock.acquire(blocking=False):
                return  # the running cycle sees the wake when it ends
            try:
                while self._woken and not self._stop.is_set():
                    woken = set(self._woken.take())
                    for rt in self.rt.offices:  # in configuration order
                        if rt.office in woken:
                            self._office_cycle(rt)
            finally:
                self._cycle_lock.release()
            # A wake between the last check and the release found the lock taken: the loop takes it up.

    def _office_cycle(self, rt: Runtime) -> None:
        try:
            report = run_cycle(rt, self.pollers[rt.office])
            if report.fetched.more:
                self._woken.add(rt.office)  # a backlog: the next bounded cycle right after this one
            if not report.leader:
                log.info("cycle %s (standby): processed %s", rt.office, report.processed)
                return
            log.info(
                "cycle %s: claimed %s, processed %s, moved %s, sent %s, deferred %s",
                rt.office,
                report.fetched.claimed,
                report.processed,
                report.moved,
                report.sent.sent,
                report.sent.deferred,
            )
        except Exception:
            log.exception("poll cycle of office %s failed", rt.office)

    def _each_led_office(self, work: Callable[[Runtime], object], failed: str) -> None:
        """`work` for every office whose mailbox this process leads (intake.election): on several hosts, one host
        per office sends, purges and time-stamps, never two. One office's failure does not stop the others."""
        for rt in self.rt.offices:
            try:
                if self.pollers[rt.office].leads():
                    work(rt)
            except Exception:
                log.exception("%s (office %s)", failed, rt.office)

    def outbox_job(self) -> None:
        # One sender per mailbox: two would send each reply twice.
        self._each_led_office(outbox.send_due, "outbox job failed")

    def _serve_web(self) -> None:
        from intake.web.app import serve

        serve(self.rt)

    def trust_job(self) -> None:
        try:
            refresh_trust_lists(self.rt)
        except Exception:
            log.exception("trusted-list refresh failed; the cached lists stay in use")

    def purge_job(self) -> None:
        """Once a day: erase what is past its retention (intake/purge.py); one host per office does it."""
        from intake.purge import purge

        self._each_led_office(purge, "purge failed; it runs again tomorrow")

    def archive_job(self) -> None:
        """Daily: keep the stored receipts verifiable (`intake archive refresh`), once per mailbox's leader so two
        hosts do not both time-stamp the same receipt."""
        from intake import archive

        def refresh(rt: Runtime) -> None:
            if rt.settings.signing.timestamp_url:
                report = archive.refresh(rt)
                log.info("archive refresh %s: %s refreshed, %s failed", rt.office, report.refreshed, report.failed)

        self._each_led_office(refresh, "archive refresh failed; receipts keep their evidence")

    def wake(self, office: str) -> None:
        """New mail in `office`'s mailbox: a cycle for it now (or right after the one running now)."""
        self._woken.add(office)  # seen by a cycle that is running now (_run_woken)
        if self.scheduler.running:
            # A one-off job on the scheduler's threads; one still waiting to start is replaced, not doubled. Two may
            # run: the second returns at once if the first holds the cycle, and the first then sees the wake.
            self.scheduler.add_job(
                self.wake_job, id="wake", replace_existing=True, misfire_grace_time=None, max_instances=2
            )

    def start(self) -> None:
        settings = self.rt.settings
        self.scheduler.add_job(
            self.poll_job,
            "interval",
            id="poll",
            seconds=settings.imap.poll_interval_seconds,
            next_run_time=datetime.now(),
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.outbox_job,
            "interval",
            id="outbox",
            seconds=settings.worker.outbox_interval_seconds,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.trust_job,
            "interval",
            id="trust-lists",
            hours=settings.trust.refresh_hours,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.purge_job,
            "cron",
            id="purge",
            hour=settings.retention.purge_hour,
            minute=17,  # off the hour, away from other nightly jobs of the host
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.archive_job, "cron", id="archive-refresh", hour=3, minute=40, max_instances=1, coalesce=True
        )
        if settings.web.enabled:
            threading.Thread(target=self._serve_web, name="web", daemon=True).start()
        for rt in self.rt.offices:  # one IDLE connection per office's mailbox; each wakes its own office's cycle
            if rt.settings.imap.idle:
                threading.Thread(target=self._idle_loop, args=(rt,), name=f"imap-idle-{rt.office}", daemon=True).start()
        try:
            self.scheduler.start()
        finally:
            self._stop.set()
            for poller in self.pollers.values():
                poller.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(SchedulerNotRunningError):
            self.scheduler.shutdown(wait=False)

    def _idle_loop(self, rt: Runtime) -> None:
        """Hold an IDLE connection; on any new message wake the poll job. Reconnect on every error
        (imapclient can raise `unterminated line` on split responses) with a capped back-off."""
        backoff = 1.0
        imap_settings = rt.settings.imap
        while not self._stop.is_set():
            if not self.pollers[rt.office].leading:  # a standby holds no IDLE session: the leader fetches
                self._stop.wait(1.0)  # the poll job elects; this only notices its answer
                continue
            try:
                with imap.connect(imap_settings) as client:
                    if not client.has_capability("IDLE"):
                        log.info("server has no IDLE: polling every %s s", imap_settings.poll_interval_seconds)
                        return
                    client.select_folder(imap_settings.folder, readonly=True)
                    backoff = 1.0
                    self._idle_session(client, self.pollers[rt.office], rt.office)
            except Exception as exc:  # every failure here is recoverable by reconnecting
                log.warning("IDLE connection lost (%s); reconnecting in %.0f s", type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 300.0)

    def _idle_session(self, client, poller: election.Election, office: str) -> None:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        client.idle()
        try:
            # RFC 2177: re-issue IDLE before 29 minutes so servers do not drop us.
            while not self._stop.is_set() and poller.leading and time.monotonic() - started < 25 * 60:
                responses = client.idle_check(timeout=30)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    self.wake(office)
        finally:
            client.idle_done()
