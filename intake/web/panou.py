"""The pictures of /panou: what the charts show, read from the database (read-only, in the caller's read
transaction) and drawn by `charts.py`.

Counts are bucketed in the office's time zone (an ops engineer reads "14:00" as Cluj time), from timestamps only:
no sender, subject or content is read here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlmodel import Session, col, func, select

from intake.appointments.case import booker_for, calendar_for
from intake.models import Appointment, AppointmentState, Event, Submission, SubmissionState
from intake.monitoring import percentile
from intake.runtime import Runtime
from intake.texts import labels
from intake.web.charts import Chart, Series, render

HOURS = 48
DAYS = 60
WORKING_DAYS = 10
PROCESSING_WINDOW = timedelta(hours=24)
PERCENTILES = ((0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99"))


@dataclass(frozen=True)
class Traffic:
    labels: tuple[str, ...]
    received: tuple[int, ...]
    registered: tuple[int, ...]
    quarantined: tuple[int, ...]


def _times(session: Session, column: Any, since: datetime, *where: Any) -> list[datetime]:
    return [moment for moment in session.exec(select(column).where(column >= since, *where)).all() if moment]


def traffic(session: Session, office: str, now: datetime, timezone: str, *, hourly: bool) -> Traffic:
    """Messages received, registered and quarantined per hour (last HOURS) or per day (last DAYS)."""
    zone = ZoneInfo(timezone)
    if hourly:
        # Hours counted in UTC (the office's offsets are whole hours), so the hour repeated when summer time ends
        # is two columns, not one column of two hours; labelled in local time.
        last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        buckets = [last - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
        labels = tuple(f"{b.astimezone(zone):%H}" for b in buckets)
    else:
        # Wall-clock arithmetic on an aware local midnight gives the local midnight of each earlier day.
        last = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        buckets = [(last - timedelta(days=DAYS - 1 - i)) for i in range(DAYS)]
        labels = tuple(f"{b:%d.%m}" for b in buckets)
    since = buckets[0]

    def key(moment: datetime) -> str:
        if hourly:
            return f"{moment.astimezone(UTC):%Y%m%d%H}"
        return f"{moment.astimezone(zone):%Y%m%d}"

    keys = [key(b) for b in buckets]

    def count(moments: Iterable[datetime]) -> tuple[int, ...]:
        counted = Counter(key(m) for m in moments)
        return tuple(counted.get(k, 0) for k in keys)

    mine = Submission.office == office
    received = _times(session, col(Submission.received_at), since, mine)
    registered = _times(session, col(Submission.registered_at), since, mine)
    # When a message went to quarantine is its "quarantined" event (the submission keeps no such column).
    quarantined = [
        at
        for at in session.exec(
            select(Event.at)
            .join(Submission, col(Submission.id) == col(Event.submission_id))
            .where(mine, Event.action == "quarantined", col(Event.at) >= since)
        ).all()
    ]
    return Traffic(labels, count(received), count(registered), count(quarantined))


def stage_percentiles(session: Session, office: str, since: datetime) -> dict[str, dict[str, float | None]]:
    """Per pipeline stage (and "total" per message), the percentiles of its duration in seconds."""
    rows = session.exec(
        select(Event.submission_id, Event.action, Event.detail)
        .join(Submission, col(Submission.id) == col(Event.submission_id))
        .where(Submission.office == office, col(Event.action).startswith("stage:"), col(Event.at) >= since)
    ).all()
    per_stage: dict[str, list[float]] = defaultdict(list)
    totals: dict[int, float] = defaultdict(float)
    for submission_id, action, detail in rows:
        duration = (detail or {}).get("duration_ms")
        if not isinstance(duration, int | float):
            continue
        per_stage[action.removeprefix("stage:")].append(duration / 1000)
        if submission_id is not None:
            totals[submission_id] += duration / 1000
    per_stage["total"] = list(totals.values())
    return {stage: {name: percentile(values, q) for q, name in PERCENTILES} for stage, values in per_stage.items()}


@dataclass(frozen=True)
class DayLoad:
    day: date
    booked: int
    capacity: int  # regular places (desks x slots), overflow not included
    in_legal_window: bool  # within the 5 working days a message received today must be seen in


def appointment_load(session: Session, rt: Runtime, now: datetime) -> list[DayLoad]:
    """Booked visits against regular capacity for the next WORKING_DAYS working days."""
    calendar, booker = calendar_for(rt), booker_for(rt)
    today = now.astimezone(calendar.tz).date()
    days = [calendar.add_working_days(today, n) for n in range(1, WORKING_DAYS + 1)]
    deadline = calendar.clarification_deadline(now)  # for a message received now
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=calendar.tz)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=calendar.tz)
    booked = Counter(
        moment.astimezone(calendar.tz).date()
        for moment in session.exec(
            select(Appointment.start).where(
                Appointment.office == rt.office,
                Appointment.state == AppointmentState.BOOKED,
                col(Appointment.start) >= start,
                col(Appointment.start) < end,
            )
        ).all()
    )
    loads = []
    for day in days:
        slots = sum(
            1 for _ in booker.slots(start=datetime.combine(day, datetime.min.time(), calendar.tz), last_day=day)
        )
        loads.append(DayLoad(day, booked.get(day, 0), slots * booker.capacity("clarification"), day <= deadline))
    return loads


def backlog(session: Session, office: str) -> dict[str, int]:
    """Messages waiting, by the last stage they completed."""
    rows = session.exec(
        select(Submission.stage, func.count())
        .where(
            Submission.office == office,
            col(Submission.state).in_((SubmissionState.RECEIVED, SubmissionState.REGISTERED)),
        )
        .group_by(Submission.stage)
    ).all()
    return {stage: int(count) for stage, count in rows}


def _weekday(day: date) -> str:
    return ("lu", "ma", "mi", "jo", "vi", "sâ", "du")[day.weekday()]


def charts(session: Session, rt: Runtime, outbox: dict[str, int]) -> dict[str, Markup]:
    """Every chart of /panou as inline SVG, by name (the template places them)."""
    now = rt.clock.now()
    timezone = rt.settings.office.timezone
    hourly = traffic(session, rt.office, now, timezone, hourly=True)
    daily = traffic(session, rt.office, now, timezone, hourly=False)
    stages = stage_percentiles(session, rt.office, now - PROCESSING_WINDOW)
    loads = appointment_load(session, rt, now)
    waiting = backlog(session, rt.office)

    def traffic_chart(data: Traffic, title: str, every: int, kind: str) -> Markup:
        return render(
            Chart(
                title=title,
                labels=data.labels,
                series=(
                    Series("primite", tuple(map(float, data.received))),
                    Series("înregistrate", tuple(map(float, data.registered))),
                    Series("în carantină", tuple(map(float, data.quarantined)), colour="#c0392b"),
                ),
                kind=kind,
                unit="mesaje",
                label_every=every,
            )
        )

    order = [stage for stage in ("total", *labels.STAGES_SHORT) if stage in stages] + sorted(
        set(stages) - {"total", *labels.STAGES_SHORT}
    )
    processing = (
        render(
            Chart(
                title="Timp de prelucrare pe etapă, ultimele 24 h (secunde)",
                labels=tuple("total mesaj" if s == "total" else labels.STAGES_SHORT.get(s, s) for s in order),
                series=tuple(Series(name, tuple(stages[s][name] or 0.0 for s in order)) for _, name in PERCENTILES),
                unit="s",
            )
        )
        if order
        else Markup("")
    )
    load = render(
        Chart(
            title=f"Programări pe zi față de capacitate, următoarele {WORKING_DAYS} zile lucrătoare",
            labels=tuple(f"{_weekday(d.day)} {d.day:%d.%m}" for d in loads),
            series=(Series("programări", tuple(float(d.booked) for d in loads)),),
            limits=tuple(float(d.capacity) for d in loads),
            limit_name="capacitate",
            highlight=frozenset(i for i, d in enumerate(loads) if d.in_legal_window),
            highlight_name="termenul legal (5 zile lucrătoare)",
            unit="programări",
        )
    )
    queue = render(
        Chart(
            title="Mesaje în așteptare, după ultima etapă încheiată",
            labels=tuple(labels.STAGES_SHORT.get(s, s) for s in waiting) or ("—",),
            series=(Series("în așteptare", tuple(float(v) for v in waiting.values()) or (0.0,)),),
            unit="mesaje",
        )
    )
    outbox_chart = render(
        Chart(
            title="E-mailuri de trimis (outbox), după stare",
            labels=("de trimis", "eșuate", "trimise"),
            series=(
                Series(
                    "e-mailuri",
                    (float(outbox.get("pending", 0)), float(outbox.get("failed", 0)), float(outbox.get("sent", 0))),
                ),
            ),
            unit="e-mailuri",
        )
    )
    return {
        "hourly": traffic_chart(hourly, f"Mesaje pe oră, ultimele {HOURS} de ore", 3, "line"),
        "daily": traffic_chart(daily, f"Mesaje pe zi, ultimele {DAYS} de zile", 5, "bar"),
        "processing": processing,
        "appointments": load,
        "backlog": queue,
        "outbox": outbox_chart,
    }
