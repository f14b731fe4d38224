"""Prometheus metrics, read from the database at scrape time.

The daemon, the web server and one-off commands are separate processes that restart independently; counters
kept in memory would be wrong in each of them. So a custom collector asks the database for every figure on
each scrape, and the web app exposes its own CollectorRegistry (not the global one, whose process/GC
metrics would describe only the web process).

Metrics (all for the runtime's office):
- intake_messages_fetched_total (counter): messages claimed from the mailbox (MailboxItem rows).
- intake_submissions{state} (gauge): submissions by state.
- intake_outbox_backlog (gauge): outgoing e-mails waiting (pending).
- intake_outbox_failed (gauge): outgoing e-mails that gave up (failed).
- intake_poll_failures{mailbox,folder} (gauge): consecutive failed polls of the configured mailbox (0 after a
  success). A running total of poll failures is not exposed: the database keeps only the consecutive count.
- intake_last_successful_poll_timestamp_seconds{mailbox,folder} (gauge): Unix time of the last good poll.
  `mailbox` is `imap.name` (default: the office code), never the IMAP login: /metrics needs no login.
- intake_quarantined (gauge): quarantined submissions.
- intake_trusted_list_age_seconds (gauge): age of the oldest trusted list in use (absent when none).
- intake_trusted_lists{state} (gauge): trusted lists by state (ok, unavailable, expired, stale: the rule of
  signatures/trust_state.list_health, as in `status` and the ops alerts).
- intake_trust_ok (gauge): 1 when a trust source is configured and every trusted list is ok (`status`: trust.ok).
- intake_processing_seconds (histogram): processing time per submission (sum of its pipeline stages).
- intake_open_alerts{kind} (gauge): open ops incidents.

With several offices (`[[offices]]`) every series carries an `office` label (the office code) as well, except the
trusted-list ones, which describe the deployment's one set of lists.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Float, case, cast
from sqlmodel import Session, col, func, select

from intake.alerts import open_alerts
from intake.clock import utcnow
from intake.db import read_transaction
from intake.models import (
    Event,
    MailboxItem,
    OutboxMessage,
    OutboxState,
    PollState,
    Submission,
    SubmissionState,
)
from intake.runtime import Runtime
from intake.signatures import trust_state
from intake.signatures.trust_state import trusted_list_age_seconds

# Seconds. Most submissions take well under a second per stage; signature checks with revocation
# lookups can take tens of seconds.
PROCESSING_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# Families about the deployment as a whole (the trusted lists are shared): reported once, without an office.
DEPLOYMENT_FAMILIES = frozenset({"intake_trusted_list_age_seconds", "intake_trusted_lists", "intake_trust_ok"})


class IntakeCollector(Collector):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def describe(self) -> list[Metric]:
        # Non-empty describe() would make register() call collect() (a database read) at start-up.
        return []

    def collect(self) -> Iterator[Metric]:
        offices = self.rt.offices
        with read_transaction(self.rt.engine) as session:
            per_office = [(office.office, list(_collect(session, office))) for office in offices]
        if len(per_office) == 1:  # one office: the series of a single-office deployment, unchanged
            yield from per_office[0][1]
            return
        yield from _labelled_by_office(per_office)


def _labelled_by_office(per_office: list[tuple[str, list[Metric]]]) -> Iterator[Metric]:
    """One family per metric name, each office's samples in it with an `office` label."""
    merged: dict[str, Metric] = {}
    for index, (code, families) in enumerate(per_office):
        for family in families:
            shared = family.name in DEPLOYMENT_FAMILIES
            if shared and index:
                continue
            target = merged.setdefault(family.name, Metric(family.name, family.documentation, family.type, family.unit))
            for sample in family.samples:
                labels = sample.labels if shared else {"office": code, **sample.labels}
                target.add_sample(sample.name, labels, sample.value, sample.timestamp, sample.exemplar)
    yield from merged.values()


def _collect(session: Session, rt: Runtime) -> Iterator[Metric]:
    office, settings = rt.office, rt.settings
    fetched = session.exec(select(func.count()).select_from(MailboxItem).where(MailboxItem.office == office)).one()
    family = CounterMetricFamily("intake_messages_fetched", "Messages claimed from the mailbox.")
    family.add_metric([], fetched)
    yield family

    by_state = dict(
        session.exec(
            select(Submission.state, func.count()).where(Submission.office == office).group_by(Submission.state)
        ).all()
    )
    gauge = GaugeMetricFamily("intake_submissions", "Submissions by state.", labels=["state"])
    for state in SubmissionState:
        gauge.add_metric([state.value], by_state.get(state.value, 0))
    yield gauge

    quarantined = GaugeMetricFamily("intake_quarantined", "Submissions in quarantine.")
    quarantined.add_metric([], by_state.get(SubmissionState.QUARANTINED.value, 0))
    yield quarantined

    outbox = dict(
        session.exec(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.office == office)
            .group_by(OutboxMessage.state)
        ).all()
    )
    backlog = GaugeMetricFamily("intake_outbox_backlog", "Outgoing e-mails waiting to be sent.")
    backlog.add_metric([], outbox.get(OutboxState.PENDING.value, 0))
    yield backlog
    failed = GaugeMetricFamily("intake_outbox_failed", "Outgoing e-mails that gave up after all attempts.")
    failed.add_metric([], outbox.get(OutboxState.FAILED.value, 0))
    yield failed

    imap = settings.imap
    # Rows of a mailbox configured before (another account) are history, and would have no name of their own.
    polls = session.exec(
        select(PollState).where(PollState.office == office, PollState.account == imap.account)
    ).all()
    mailbox = mailbox_label(rt)
    failures = GaugeMetricFamily(
        "intake_poll_failures",
        "Consecutive failed polls per mailbox (0 after a success).",
        labels=["mailbox", "folder"],
    )
    last_ok = GaugeMetricFamily(
        "intake_last_successful_poll_timestamp_seconds",
        "Unix time of the last successful poll per mailbox.",
        labels=["mailbox", "folder"],
    )
    if not polls:  # before the first poll: the configured mailbox shows 0 rather than no series at all
        failures.add_metric([mailbox, imap.folder], 0)
    for poll in polls:
        failures.add_metric([mailbox, poll.folder], poll.consecutive_failures)
        if poll.last_success_at is not None:
            last_ok.add_metric([mailbox, poll.folder], poll.last_success_at.timestamp())
    yield failures
    yield last_ok

    age = trusted_list_age_seconds(session, rt.trust_office)
    trust = GaugeMetricFamily("intake_trusted_list_age_seconds", "Age of the oldest trusted list in use.")
    if age is not None:
        trust.add_metric([], age)
    yield trust

    overview = trust_state.trust_overview(session, rt.trust_office, settings, utcnow())
    lists = GaugeMetricFamily("intake_trusted_lists", "Trusted lists by state.", labels=["state"])
    for state in trust_state.STATES:  # every state, 0 included, so an alert rule never meets a missing series
        lists.add_metric([state], sum(1 for _row, health in overview.lists if health.state == state))
    yield lists
    trust_ok = GaugeMetricFamily(
        "intake_trust_ok", "1 when a trust source is configured and every trusted list is ok, else 0."
    )
    trust_ok.add_metric([], 1 if overview.ok else 0)
    yield trust_ok

    yield _processing_histogram(session, office)

    alerts = GaugeMetricFamily("intake_open_alerts", "Open ops incidents by kind.", labels=["kind"])
    counts: dict[str, int] = {}
    for alert in open_alerts(session, office):
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    for kind in ("poll_failing", "outbox_undeliverable", "booking_overflow", *trust_state.ALERT_KINDS.values()):
        counts.setdefault(kind, 0)
    for kind, count in sorted(counts.items()):
        alerts.add_metric([kind], count)
    yield alerts


def mailbox_label(rt: Runtime) -> str:
    """The mailbox as the unauthenticated /metrics names it: its configured name, not its login."""
    return rt.settings.imap.name or rt.office


def _processing_histogram(session: Session, office: str) -> HistogramMetricFamily:
    """Cumulative buckets computed in the database: one row comes back, however many submissions there are."""
    duration = cast(col(Event.detail)["duration_ms"].as_float(), Float)
    per_submission = (
        select(Event.submission_id, (func.sum(duration) / 1000.0).label("seconds"))
        .join(Submission, col(Submission.id) == col(Event.submission_id))
        .where(Submission.office == office, col(Event.action).startswith("stage:"))
        .group_by(Event.submission_id)
        .subquery()
    )
    seconds = per_submission.c.seconds
    columns = [func.count(), func.coalesce(func.sum(seconds), 0.0)]
    columns += [func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0) for bound in PROCESSING_BUCKETS]
    row = session.exec(select(*columns).select_from(per_submission)).one()
    count, total, cumulative = int(row[0]), float(row[1]), [int(value) for value in row[2:]]
    buckets = [(_bound(bound), value) for bound, value in zip(PROCESSING_BUCKETS, cumulative, strict=True)]
    buckets.append(("+Inf", count))
    return HistogramMetricFamily(
        "intake_processing_seconds",
        "Processing time per submission (sum of its pipeline stages).",
        buckets=buckets,
        sum_value=total,
    )


def _bound(value: float) -> str:
    return repr(float(value))


def make_registry(rt: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntakeCollector(rt))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
