"""A registry clerk's day in a real browser: log in, open the queue, open the case whose application has a bad
signature, move its appointment, resolve it, log out. Every step leaves a screenshot in test-artifacts/e2e/."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BUCHAREST, TAMPERED_SENDER, Site

pytestmark = pytest.mark.e2e


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def log_in(page: Any, site: Site, password: str | None = None) -> None:
    page.get_by_label("Utilizator").fill(site.clerk)
    page.get_by_label("Parolă").fill(password or site.password)
    page.get_by_role("button", name="Intră în cont").click()


def test_clerk_moves_the_appointment_of_a_badly_signed_case_and_resolves_it(
    page: Any, site: Site, artifacts: Path
) -> None:
    # 1. Without a session the queue sends the browser to the login form, which remembers where it was going.
    page.goto(site.url("/cazuri"))
    assert re.search(r"/login\?next=%2Fcazuri$", page.url), page.url
    assert page.get_by_role("heading", name="Autentificare").is_visible()
    shot(page, artifacts, "01-login")

    # 2. Logged in: the queue, with the flagged case and its findings.
    log_in(page, site)
    page.wait_for_url(re.compile(r"/cazuri$"))
    assert page.locator(".user-name").inner_text() == site.clerk
    row = page.locator("table.queue tbody tr", has_text=TAMPERED_SENDER)
    assert row.count() == 1
    assert "Semnătură invalidă" in row.inner_text()  # finding labels, never codes (issue 12)
    assert "Lipsește acordul pentru comunicarea electronică" in row.inner_text()
    shot(page, artifacts, "02-queue")

    # 3. The case page: the application's signature verdict and its reason.
    row.locator("a.case-link").click()
    page.wait_for_url(re.compile(rf"/cazuri/{site.flagged_id}$"))
    application = page.locator("article.document", has_text="cerere.pdf")
    verdict = application.locator(".signature")
    assert verdict.is_visible()
    assert "Semnătură invalidă" in verdict.inner_text()
    assert "Documentul a fost modificat după semnare" in verdict.inner_text()  # the reason `tampered`, in words
    shot(page, artifacts, "03-case")

    # 4. Move the appointment to another free slot.
    appointment = page.locator("#programare p.appointment")
    before = appointment.inner_text()
    options = page.locator('#programare select[name="start"] option')
    assert options.count() >= 1, "no other free slot offered"
    target = options.nth(options.count() - 1).get_attribute("value")
    assert target
    page.locator('#programare select[name="start"]').select_option(target)
    page.get_by_role("button", name="Mută programarea").click()
    page.wait_for_url(re.compile(rf"/cazuri/{site.flagged_id}(\?.*)?(#.*)?$"))
    assert "Programarea a fost mutată" in page.locator("p.ok").inner_text()
    moved_to = datetime.fromisoformat(target).astimezone(BUCHAREST)
    after = page.locator("#programare p.appointment").inner_text()
    assert after != before
    assert moved_to.strftime("%d.%m.%Y, ora %H:%M") in after
    shot(page, artifacts, "04-appointment-moved")
    (flagged,) = [s for s in site.intake.json("submissions") if s["id"] == site.flagged_id]
    assert datetime.fromisoformat(flagged["appointment"]["start"]) == moved_to

    # 5. Resolve with a note: the case says so and the history shows who did it.
    note = "Beneficiarul aduce cererea semnată la programare."
    page.get_by_label("Notă de rezolvare").fill(note)
    page.get_by_role("button", name="Rezolvă cazul").click()
    page.wait_for_url(re.compile(rf"/cazuri/{site.flagged_id}(\?.*)?(#.*)?$"))
    assert page.locator("h1 .badge-resolved").is_visible()
    assert "Cazul a fost marcat ca rezolvat" in page.locator("p.ok").inner_text()
    history = page.locator("#istoric").inner_text()
    assert site.clerk in history and note in history
    shot(page, artifacts, "05-resolved")

    # The audit trail has both actions, by this clerk, on this case.
    with sqlite3.connect(site.intake.workdir / "intake.db") as db:
        actions = db.execute(
            "SELECT action FROM auditevent WHERE actor = ? AND submission_id = ?", (site.clerk, site.flagged_id)
        ).fetchall()
    assert len(actions) >= 2, actions

    # 6. Log out: the queue is closed again.
    page.get_by_role("button", name="Ieșire").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(site.url("/cazuri"))
    assert "/login" in page.url
    shot(page, artifacts, "06-logged-out")


def test_wrong_password_is_refused_in_romanian(page: Any, site: Site, artifacts: Path) -> None:
    page.goto(site.url("/login"))
    log_in(page, site, password="nu-este-parola")
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "Nume de utilizator sau parolă greșită."
    assert page.get_by_label("Utilizator").input_value() == site.clerk
    shot(page, artifacts, "10-wrong-password")


def test_registry_clerk_cannot_open_the_user_admin(page: Any, site: Site, artifacts: Path) -> None:
    page.goto(site.url("/login"))
    log_in(page, site)
    page.wait_for_url(re.compile(r"/cazuri$"))
    assert page.get_by_role("link", name="Utilizatori").count() == 0  # not in the menu either
    response = page.goto(site.url("/admin/utilizatori"))
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Acces interzis").is_visible()
    shot(page, artifacts, "11-forbidden")


def test_ops_engineer_sees_the_charts_of_the_dashboard(page: Any, site: Site, artifacts: Path) -> None:
    from tests.e2e.conftest import _add_user

    _add_user(site.intake, site.intake.workdir / "intake.toml", "operator", "ops", "parola-operator-2026")
    page.goto(site.url("/login"))
    page.get_by_label("Utilizator").fill("operator")
    page.get_by_label("Parolă").fill("parola-operator-2026")
    page.get_by_role("button", name="Intră în cont").click()
    page.wait_for_url(re.compile(r"/panou$"))
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    # Each chart is an image with a Romanian accessible name, drawn at a readable size.
    for name in ("Mesaje pe oră, ultimele 48 de ore", "Mesaje pe zi, ultimele 60 de zile",
                 "Programări pe zi față de capacitate, următoarele 10 zile lucrătoare"):
        chart = page.get_by_role("img", name=name)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, box
    shot(page, artifacts, "20-ops-dashboard-charts")
    page.locator("#grafic-programari").screenshot(path=str(artifacts / "21-ops-appointment-load.png"))
    # The two messages of the site were received minutes ago: today's bar of the daily chart counts them.
    assert page.locator("#grafic-zile svg title", has_text=": primite 2 mesaje").count() == 1
    # The flagged case's clarification visit is on the appointment chart, inside the legal window.
    booked = page.locator("#grafic-programari svg title", has_text=re.compile(r": programări [1-9]"))
    assert booked.count() >= 1


# --- issue 12: the staff screens in plain Romanian, on a tablet and a phone, and the clerk's printed day ----------

# Codes that must never reach a clerk's eyes: snake_case tokens (findings, kinds, events, detail keys), the
# pipeline's "stage:" events and an RFC 5322 date.
RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\bstage:|\bsent:")
# Single-word codes (states, purposes, visit changes) the snake_case pattern cannot see; "invalid" is Romanian too.
ENGLISH_WORDS = {"booked", "moved", "received", "registered", "receipted", "quarantined", "pending", "sent", "failed",
                 "none", "clarification", "decision", "confirmed", "reopened", "indeterminate"}  # fmt: skip
RFC5322_DATE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4}")


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_staff_screens_read_in_romanian_fit_a_tablet_and_a_phone_and_the_day_prints(
    page: Any, site: Site, artifacts: Path
) -> None:
    # `/` without a session: the login; with one: the queue.
    page.goto(site.url("/"))
    page.wait_for_url(re.compile(r"/login$"))
    log_in(page, site)
    page.goto(site.url("/"))
    page.wait_for_url(re.compile(r"/cazuri$"))

    # The case page of a case the real pipeline processed: words and dd.mm.yyyy, no codes, no RFC 5322 date.
    page.goto(site.url(f"/cazuri/{site.flagged_id}"))
    text = page.locator("main").inner_text()
    assert not RAW_CODE.findall(text), RAW_CODE.findall(text)
    assert not RFC5322_DATE.search(text)
    english = [line for line in text.splitlines() if ENGLISH_WORDS & set(re.findall(r"\b[a-z]+\b", line))]
    assert not english, english
    assert re.search(r"\b\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}\b", page.locator("dl.case-summary").inner_text())
    assert "lipsește data trimiterii (Date)" in page.locator("#email").inner_text()  # the parser's note, in words
    assert "Etapă încheiată: verificarea atașamentelor" in page.locator("#istoric").inner_text()
    shot(page, artifacts, "20-case-in-romanian")

    # The recipisă that was sent, as a PDF shown inline, for this logged-in clerk only.
    receipt = page.get_by_role("link", name="Recipisa trimisă (PDF)")
    href = receipt.get_attribute("href")
    assert href and page.locator(f'#raspunsuri a[href="{href}"]').count() == 1
    shown = page.request.get(site.url(href))
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline;") and shown.body().startswith(b"%PDF")
    stranger = page.context.browser.new_context()
    try:
        refused = stranger.request.get(site.url(href), max_redirects=0)
        assert refused.status == 401 and not refused.body().startswith(b"%PDF")  # no session: no document
    finally:
        stranger.close()

    # The queue with a date typed the Romanian way, on a tablet at the counter and on a phone: cards, no sideways
    # page scroll.
    today = datetime.now(BUCHAREST).strftime("%d.%m.%Y")
    page.goto(site.url("/cazuri?stare=deschise"))
    page.get_by_label("Primit de la").fill(today)
    page.get_by_role("button", name="Filtrează").click()
    page.wait_for_url(re.compile(r"[?&]de_la=" + re.escape(today)))
    assert page.get_by_label("Primit de la").input_value() == today
    assert page.locator("table.queue tbody tr a.case-link").count() >= 1
    for width, height in ((768, 1024), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert no_sideways_scroll(page), f"the queue scrolls sideways at {width} px"
        assert page.locator("table.queue thead").is_hidden()  # the table became cards
        shot(page, artifacts, f"21-queue-{width}px")
    page.goto(site.url(f"/cazuri/{site.flagged_id}"))
    assert no_sideways_scroll(page), "the case page scrolls sideways at 390 px"

    # The clerk's day, from the menu; printed: no menu, fits the width of A4.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name="De verificat", exact=True).click()
    page.wait_for_url(re.compile(r"/ziua$"))
    assert page.get_by_role("heading", name=re.compile(r"^Programări Azi ")).is_visible()
    assert page.get_by_role("heading", name=re.compile(r"^Programări Mâine ")).is_visible()
    assert not RAW_CODE.findall(page.locator("main").inner_text())
    shot(page, artifacts, "22-day")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 700, "height": 990})  # A4 less the 12 mm margins, at 96 dpi
    assert page.locator("header.staff-header").is_hidden()
    assert no_sideways_scroll(page), "the printed day is wider than A4"
    shot(page, artifacts, "23-day-print")
    page.pdf(path=str(artifacts / "23-day-print.pdf"), format="A4", print_background=False)


def test_citizen_follows_the_case_on_a_phone_from_the_link_in_the_recipisa(
    browser: Any, site: Site, artifacts: Path
) -> None:
    """Issue 13 §4: the link of the recipisă the pipeline sent, opened at 390 px: the case, no CNP, no sideways
    scroll, and the way on to the reschedule page."""
    from email import policy
    from email.parser import BytesParser

    with sqlite3.connect(site.intake.workdir / "intake.db") as db:
        (raw,) = db.execute(
            "SELECT raw FROM outboxmessage WHERE submission_id = ? AND kind = 'receipt'", (site.flagged_id,)
        ).fetchone()
    reply = BytesParser(policy=policy.default).parsebytes(raw)
    link = re.search(r"https://intake\.test(/dosar/[\w-]+)", reply.get_body(("plain",)).get_content())
    assert link, "the recipisă e-mail has no status link"

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ro-RO", is_mobile=True)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        response = page.goto(site.url(link.group(1)))
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text().startswith(f"Dosarul nr. {site.flagged_number}/")
        assert page.locator("p.standing").is_visible()
        assert page.locator("#de-clarificat li").count() >= 2  # the bad signature and the missing consent
        application = page.locator("#documente article", has_text="cerere.pdf")
        assert "semnătură invalidă" in application.inner_text()
        assert page.locator("#documente article", has_text="buletin.jpg").count() == 1
        assert page.locator("#mesaje li", has_text="Mesaj primit de la dumneavoastră").count() == 1
        assert page.locator("#mesaje li", has_text="Răspuns trimis: recipisă").count() == 1
        assert re.search(r"(?<!\d)[1-9]\d{12}(?!\d)", page.content()) is None, "a CNP on the citizen's page"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        shot(page, artifacts, "20-status-phone")

        page.get_by_role("link", name="Alegeți altă oră sau anulați programarea").click()
        page.wait_for_url(re.compile(r"/programare/[\w-]+$"))
        assert page.get_by_role("heading", name="Programarea dumneavoastră").is_visible()
        shot(page, artifacts, "21-status-phone-reschedule")

        tampered = link.group(1)[:-2] + ("AA" if not link.group(1).endswith("AA") else "BB")
        assert page.goto(site.url(tampered)).status == 404  # type: ignore[union-attr]
    finally:
        context.close()
