"""The charts of /panou: the read-only queries behind them (intake/web/panou.py) and the SVG they become
(intake/web/charts.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from intake.clock import Clock
from intake.db import read_transaction, transaction
from intake.models import Appointment, Event, Submission, SubmissionState
from intake.runtime import Runtime
from intake.web import auth, charts, panou
from intake.web.app import create_app
from tests.unit import runtimes
from tests.unit.test_web_ops import PASSWORD, login

# Tuesday 1 December 2026 (a public holiday in Romania), 10:30 in Cluj.
NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = runtimes.make_runtime(tmp_path, clock=Clock(NOW))
    with transaction(rt.engine) as session:
        for index, hours_ago in enumerate((0.2, 0.5, 1.2, 30, 24 * 20, 24 * 70)):
            received = NOW - timedelta(hours=hours_ago)
            submission = Submission(
                office=rt.office,
                sha256=f"{index:064d}",
                size=10,
                received_at=received,
                claimed_at=received,
                state=SubmissionState.RECEIPTED if index != 2 else SubmissionState.QUARANTINED,
                registered_at=received + timedelta(seconds=5) if index != 2 else None,
                stage="receipt",
            )
            session.add(submission)
            session.flush()
            for stage, ms in (("parse", 100 * (index + 1)), ("receipt", 1000)):
                session.add(
                    Event(submission_id=submission.id, at=received, action=f"stage:{stage}", detail={"duration_ms": ms})
                )
            if index == 2:
                session.add(Event(submission_id=submission.id, at=received, action="quarantined"))
        waiting = Submission(
            office=rt.office,
            sha256="f" * 64,
            size=1,
            received_at=NOW,
            claimed_at=NOW,
            state=SubmissionState.RECEIVED,
            stage="parse",
        )
        session.add(waiting)
        session.flush()
        # Two visits on Thursday 3 December, one cancelled (not counted).
        for state in ("booked", "booked", "cancelled"):
            start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
            session.add(
                Appointment(
                    office=rt.office,
                    submission_id=waiting.id or 0,
                    purpose="clarification",
                    start=start,
                    end=start + timedelta(minutes=15),
                    state=state,
                    uid="u",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
    return rt


def test_hourly_traffic_in_office_time(rt: Runtime) -> None:
    with read_transaction(rt.engine) as session:
        data = panou.traffic(session, rt.office, NOW, "Europe/Bucharest", hourly=True)
    assert len(data.labels) == panou.HOURS and data.labels[-1] == "10"  # 08:30 UTC is 10:30 in Cluj
    assert sum(data.received) == 5  # 0.2 h, 0.5 h, 1.2 h, 30 h ago and the waiting one; not 20 days ago
    assert data.received[-1] == 3 and data.received[-2] == 1
    assert sum(data.registered) == 3 + 0  # the quarantined one has no number; 30 h ago is inside 48 h
    assert sum(data.quarantined) == 1 and data.quarantined[-2] == 1


def test_daily_traffic_covers_sixty_days(rt: Runtime) -> None:
    with read_transaction(rt.engine) as session:
        data = panou.traffic(session, rt.office, NOW, "Europe/Bucharest", hourly=False)
    assert len(data.labels) == panou.DAYS and data.labels[-1] == "01.12"
    assert sum(data.received) == 6  # all but the one 70 days ago
    assert data.received[-21] == 1  # 20 days ago


def test_stage_percentiles(rt: Runtime) -> None:
    with read_transaction(rt.engine) as session:
        stats = panou.stage_percentiles(session, rt.office, NOW - timedelta(hours=24))
    assert stats["parse"]["p50"] == pytest.approx(0.2)  # 0.1, 0.2, 0.3 s: nearest rank
    assert stats["parse"]["p99"] == pytest.approx(0.3)
    assert stats["total"]["p95"] == pytest.approx(1.3)


def test_appointment_load_against_capacity(rt: Runtime) -> None:
    with read_transaction(rt.engine) as session:
        loads = panou.appointment_load(session, rt, NOW)
    assert len(loads) == panou.WORKING_DAYS
    assert loads[0].day == date(2026, 12, 2)  # 1 December is a holiday and today anyway
    assert [d.day for d in loads if d.booked] == [date(2026, 12, 3)] and loads[1].booked == 2
    assert all(d.capacity > 0 for d in loads)
    # The legal window: 5 working days after today.
    assert [d.in_legal_window for d in loads] == [True] * 5 + [False] * 5
    assert all(d.day.weekday() < 5 for d in loads)


def test_backlog_by_stage(rt: Runtime) -> None:
    with read_transaction(rt.engine) as session:
        assert panou.backlog(session, rt.office) == {"parse": 1}


def test_svg_is_well_formed_with_titles_and_axes() -> None:
    chart = charts.Chart(
        title="Programări pe zi",
        labels=("lu 07.12", "ma 08.12", "mi 09.12"),
        series=(charts.Series("programări", (3.0, 0.0, 12.0)),),
        limits=(10.0, 10.0, 10.0),
        limit_name="capacitate",
        highlight=frozenset({0, 1}),
        highlight_name="termenul legal",
        unit="programări",
    )
    root = ET.fromstring(str(charts.render(chart)))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Programări pe zi"  # type: ignore[union-attr]
    hovers = [t.text for t in root.iter(f"{SVG}title")]
    assert "mi 09.12: programări 12 programări" in hovers
    assert "lu 07.12: capacitate 10" in hovers
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"lu 07.12", "ma 08.12", "mi 09.12", "0", "5", "20", "capacitate", "termenul legal"} <= set(labels)
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("fill") == charts.HIGHLIGHT]) == 2 + 1  # + legend


def test_svg_escapes_text_and_checks_lengths() -> None:
    chart = charts.Chart(title="<b>&", labels=("a<",), series=(charts.Series("x", (1.0,)),), kind="line")
    assert "<b>" not in str(charts.render(chart))
    with pytest.raises(ValueError):
        charts.render(charts.Chart(title="t", labels=("a", "b"), series=(charts.Series("x", (1.0,)),)))


@pytest.mark.parametrize(
    ("value", "integer", "top"),
    [
        (0, True, 4),
        (1, True, 4),
        (3, True, 4),
        (5, True, 8),
        (12, True, 20),
        (21, True, 40),
        (99, True, 100),
        (0.4, False, 0.4),
        (1.9, False, 2),
        (0, False, 1),
        (2.3, False, 4),
    ],
)
def test_axis_top(value: float, integer: bool, top: float) -> None:
    assert charts.nice_ceiling(value, integer=integer) == pytest.approx(top)


def test_panou_page_shows_every_chart(rt: Runtime) -> None:
    client = login(create_app(rt), "ion")
    page = client.get("/panou")
    assert page.status_code == 200, page.text
    for figure in (
        "grafic-ore",
        "grafic-zile",
        "grafic-asteptare",
        "grafic-prelucrare",
        "grafic-outbox",
        "grafic-programari",
    ):
        assert f'id="{figure}"' in page.text
    assert page.text.count("<svg") == 6
    assert "Mesaje pe oră, ultimele 48 de ore" in page.text


def test_hour_repeated_when_summer_time_ends_is_two_columns(rt: Runtime) -> None:
    # 25 October 2026: at 04:00 summer time the clocks go back to 03:00 in Cluj.
    now = datetime(2026, 10, 25, 6, 30, tzinfo=UTC)
    with read_transaction(rt.engine) as session:
        data = panou.traffic(session, rt.office, now, "Europe/Bucharest", hourly=True)
    # 06:30 UTC is 08:30 in winter time; 00:00 and 01:00 UTC are both 03:00 in Cluj.
    assert data.labels[-8:] == ("02", "03", "03", "04", "05", "06", "07", "08")
    assert len(data.labels) == panou.HOURS
