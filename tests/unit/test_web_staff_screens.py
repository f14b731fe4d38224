"""Issue 12 points 6-8 on the server side: `/` sends a person to where they work, the case page links every PDF
intake sent (inline, registry staff of the office only), dates are dd.mm.yyyy, and `/ziua` lists the clerk's day.
Same fixtures as test_web_cases.py (fixed clock: Tuesday 17 November 2026, 10:00 in Cluj)."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from fastapi.testclient import TestClient

from intake.db import transaction
from intake.models import Appointment, Submission
from intake.outbox import enqueue
from intake.runtime import Runtime
from intake.web import auth
from tests.unit import test_web_cases as web_cases
from tests.unit.test_web_cases import BROWSER, CLUJ, NOW, PASSWORD, login, make_app, receipt_mail

# The same fixtures as the case pages' tests (a fixed clock, a seeded queue, a logged-in clerk).
rt, client, seeded = web_cases.rt, web_cases.client, web_cases.seeded

RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # snake_case: finding codes, kinds, events, detail keys


def visible_text(html: str) -> str:
    """The page as read: without tags, attribute values, scripts and styles."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_root_sends_staff_to_their_page_and_strangers_to_the_login(rt: Runtime) -> None:
    anonymous = TestClient(make_app(rt), headers=BROWSER)
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/login"
    clerk = TestClient(make_app(rt), headers=BROWSER)
    login(clerk, "ana")
    assert clerk.get("/", follow_redirects=False).headers["location"] == "/cazuri"
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
    ops = TestClient(make_app(rt), headers=BROWSER)
    ops.post("/login", data={"name": "ion", "password": PASSWORD, "csrf_token": _csrf(ops)}, follow_redirects=False)
    assert ops.get("/", follow_redirects=False).headers["location"] == "/panou"


def _csrf(browser: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
    assert found is not None
    return found.group(1)


def test_the_case_page_links_the_receipt_pdf_shown_inline_to_staff_of_the_office(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["new"]
    with transaction(rt.engine) as session:
        outbox = enqueue(session, rt, session.get_one(Submission, case), kind="receipt", message=receipt_mail(case))
        session.flush()
        outbox_id = outbox.id
    page = client.get(f"/cazuri/{case}").text
    link = f"/cazuri/{case}/trimise/{outbox_id}/1"
    assert page.count(f'href="{link}"') == 2  # the button at the top and the row of the replies table
    assert "Recipisa trimisă (PDF)" in page and "recipisa.pdf" in page
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.content == b"%PDF-1.7 recipisa"
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith('inline; filename="recipisa.pdf"')
    assert pdf.headers["cache-control"] == "private, no-store"
    # Another case's address, a part that is not there, another office, no session: nothing.
    assert client.get(f"/cazuri/{seeded['old']}/trimise/{outbox_id}/1").status_code == 404
    assert client.get(f"/cazuri/{case}/trimise/{outbox_id}/2").status_code == 404
    assert client.get(f"/cazuri/{seeded['other']}/trimise/{outbox_id}/1").status_code == 404
    anonymous = TestClient(make_app(rt), headers=BROWSER).get(link, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


def test_the_case_page_reads_in_romanian(client: TestClient, seeded: dict[str, int]) -> None:
    text = visible_text(client.get(f"/cazuri/{seeded['old']}").text)
    assert "Act de identitate" in text and "Document lipsă" in text  # kind and finding in words
    assert "Semnătură invalidă" in text and "Documentul este semnat și de altă persoană" in text
    leaked = {code for code in RAW_CODE.findall(text)} - {"text_body"}
    assert not leaked, leaked
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d", text)


def test_a_date_typed_wrong_is_said_so(client: TestClient, seeded: dict[str, int]) -> None:
    page = client.get("/cazuri?de_la=31.02.2026&pana_la=13.11.2026").text
    assert "Data 31.02.2026 nu este validă" in page
    assert 'name="pana_la" value="13.11.2026"' in page  # shown back the way it is typed


def test_the_clerks_day_lists_waiting_cases_and_seats_today_and_tomorrow_at_desks(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    today = NOW.replace(hour=11, minute=0)
    visits = [
        (seeded["new"], today, False),
        (seeded["old"], today, False),
        (seeded["in_order"], today, True),  # booked into the extra capacity
        (seeded["quarantined"], today + timedelta(days=1, hours=-2), False),
        (seeded["resolved"], today + timedelta(days=2), False),  # the day after tomorrow: not on the sheet
    ]
    with transaction(rt.engine) as session:
        for index, (case, start, overflow) in enumerate(visits):
            session.add(
                Appointment(
                    office="CJ", submission_id=case, purpose="clarification", start=start.astimezone(UTC),
                    end=(start + timedelta(minutes=30)).astimezone(UTC), overflow=overflow, uid=f"u{index}",
                    created_at=NOW.astimezone(UTC), updated_at=NOW.astimezone(UTC),
                    reasons=["Aduceți cererea semnată."],
                )
            )  # fmt: skip
    page = client.get("/ziua")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Azi marți, 17 noiembrie 2026" in text and "Mâine miercuri, 18 noiembrie 2026" in text
    assert "Ghișeul 1" in text and "Ghișeul 2" in text and "Ghișeu suplimentar" in text
    assert "Programări Azi marți, 17 noiembrie 2026 (3)" in text
    assert "Programări Mâine miercuri, 18 noiembrie 2026 (1)" in text
    assert "09:00" in text and "11:00" in text and "Aduceți cererea semnată." in text
    assert "Cazuri cu constatări sau în carantină (3)" in text  # old, quarantined, new
    assert "Lipsește acordul pentru comunicarea electronică" in text
    assert 'href="/ziua" aria-current="page"' in page.text  # the nav link
    assert not RAW_CODE.findall(text)
    assert "19.11.2026" not in text  # the day after tomorrow is not on the sheet
    assert CLUJ  # the fixed clock's zone: the sheet's days are the office's days
