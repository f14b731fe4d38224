"""The registry's case pages (intake/web/cases.py, intake/web/case_actions.py): queue, case page, attachments and
every action, driven through TestClient as a logged-in browser, on a real SQLite database in tmp_path.

The clock is fixed (Tuesday 17 November 2026, 10:00 in Cluj) so waiting times and free appointment slots are
the same on every run.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, col, select

from intake.appointments import service
from intake.clock import Clock
from intake.db import transaction
from intake.models import (
    Appointment,
    AppointmentState,
    AuditEvent,
    Document,
    Event,
    Finding,
    OutboxMessage,
    Receipt,
    Submission,
    SubmissionState,
)
from intake.outbox import enqueue
from intake.receipts.compose import carries_token, make_message_id
from intake.records import add_finding
from intake.runtime import Runtime
from intake.web import auth, cases
from intake.web.app import create_app
from tests.unit import runtimes

PASSWORD = "parola-foarte-lunga"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CLUJ = ZoneInfo("Europe/Bucharest")
NOW = datetime(2026, 11, 17, 10, 0, tzinfo=CLUJ)
SCRIPT = "<script>alert(1)</script>"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- building blocks ---------------------------------------------------------------------------------------


def make_runtime(tmp_path: Path) -> Runtime:
    return runtimes.make_runtime(tmp_path, clock=Clock(fixed=NOW.astimezone(UTC)))


def make_app(rt: Runtime) -> FastAPI:
    return create_app(rt)  # the whole application: auth middleware, error pages and every router


def message_id_for(subject: str) -> str:
    return f"<{hashlib.sha256(subject.encode()).hexdigest()[:16]}@example.ro>"


def raw_mail(subject: str, *, sender: str = "ion.popescu@example.ro", html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Ion Popescu <{sender}>"
    message["To"] = "cluj@anofm.gov.ro"
    message["Subject"] = subject
    message["Date"] = "Mon, 16 Nov 2026 09:00:00 +0200"
    message["Message-ID"] = message_id_for(subject)
    message.set_content("Bună ziua,\nvă trimit cererea.\n")
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def add_submission(
    session: Session,
    rt: Runtime,
    *,
    received: datetime,
    subject: str = "Cerere indemnizație",
    sender: str = "ion.popescu@example.ro",
    sender_name: str = "Ion Popescu",
    number: int | None = None,
    state: str = SubmissionState.RECEIPTED,
    office: str = "CJ",
    html: str | None = None,
    findings: tuple[tuple[str, str], ...] = (),
    **extra: Any,
) -> Submission:
    raw = raw_mail(subject, sender=sender, html=html)
    sha256 = rt.store.put(raw)
    submission = Submission(
        office=office,
        sha256=sha256,
        size=len(raw),
        message_id=message_id_for(subject),
        received_at=received.astimezone(UTC),
        claimed_at=received.astimezone(UTC),
        state=state,
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        text_body="Bună ziua,\nvă trimit cererea.\n",
        has_html=html is not None,
        reply_allowed=True,
        number=number,
        year=received.year if number is not None else None,
        registered_at=received.astimezone(UTC) if number is not None else None,
        request_type="unemployment_benefit",
        flagged=bool(findings),
        **extra,
    )
    session.add(submission)
    session.flush()
    for code, message in findings:
        session.add(
            Finding(submission_id=submission.id or 0, code=code, message=message, created_at=received.astimezone(UTC))
        )
    session.flush()
    return submission


def png_bytes(size: tuple[int, int] = (1200, 800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def add_document(
    session: Session, rt: Runtime, submission: Submission, filename: str, data: bytes, **extra: Any
) -> Document:
    document = Document(
        submission_id=submission.id or 0,
        position=extra.pop("position", 0),
        filename=filename,
        declared_type=extra.pop("declared_type", "image/png"),
        origin="attachment",
        sha256=rt.store.put(data),
        size=len(data),
        **extra,
    )
    session.add(document)
    session.flush()
    return document


def login(client: TestClient, name: str) -> str:
    page = client.get("/login")
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    page = client.get("/cazuri")
    found = CSRF_FIELD.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def audits(rt: Runtime, action: str) -> list[AuditEvent]:
    with transaction(rt.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = make_runtime(tmp_path)
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
    return rt


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    client = TestClient(make_app(rt), headers=BROWSER)
    client.csrf = login(client, "ana")  # type: ignore[attr-defined]
    return client


@pytest.fixture
def seeded(rt: Runtime) -> dict[str, int]:
    """Three cases in the queue (two flagged, one quarantined), one resolved, one in order, one of another office."""
    with transaction(rt.engine) as session:
        old = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 12, 9, 0, tzinfo=CLUJ),
            number=10,
            subject=f"Cerere {SCRIPT}",
            html="<p>Salut</p><script>alert(2)</script><img src=x onerror=alert(3)>",
            findings=(("missing_document", "Lipsește actul de identitate."),),
        )
        image = add_document(
            session,
            rt,
            old,
            f"{SCRIPT}.png",
            png_bytes(),
            detected_type="png",
            content_type="image/png",
            accepted=True,
            kind="id_document",
            signature={
                "label": "invalid",
                "reasons": ["modified_after_signing", "third_party_signature"],
                "signer": "Ion Popescu",
                "signed_at": "2026-11-11T18:02:11+02:00",
                "summary": "Semnătură electronică invalidă.",
                "applicant_signature": 0,
                "signatures": [
                    {
                        "label": "invalid",
                        "signer": "Ion Popescu",
                        "time_source": "timestamp",
                        "timestamp_qualified": True,
                        "modifications": ["valoarea câmpului „nume” a fost modificată"],
                    },
                    {"label": "AdES", "signer": "Maria Ionescu", "time_source": "claimed"},
                ],
            },
        )
        pdf = add_document(
            session,
            rt,
            old,
            "cerere.pdf",
            b"%PDF-1.7 broken",
            position=1,
            declared_type="application/pdf",
            detected_type="pdf",
            content_type="application/pdf",
            accepted=False,
            code="corrupt_attachment",
            reason="Fișierul PDF este deteriorat.",
        )
        quarantined = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 13, 8, 0, tzinfo=CLUJ),
            subject="Mesaj stricat",
            sender="maria@example.ro",
            sender_name="Maria Ionescu",
            state=SubmissionState.QUARANTINED,
            quarantine_reason="parse: unexpected error",
        )
        new = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 16, 11, 0, tzinfo=CLUJ),
            number=12,
            subject="Dosar George",
            sender="george@example.ro",
            sender_name="George Enescu",
            consent=False,
            findings=(("consent_missing", "Lipsește acordul pentru comunicarea electronică."),),
        )
        resolved = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 10, 9, 0, tzinfo=CLUJ),
            number=5,
            subject="Dosar rezolvat",
            findings=(("signature_invalid", "Semnătura nu este validă."),),
            resolved_at=NOW.astimezone(UTC),
            resolved_by="ana",
        )
        in_order = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 14, 9, 0, tzinfo=CLUJ),
            number=11,
            subject="Dosar în regulă",
        )
        other = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 11, 9, 0, tzinfo=CLUJ),
            number=3,
            office="BH",
            subject="Dosar Bihor secret",
            findings=(("illegible", "Ilizibil."),),
        )
        return {
            "old": old.id or 0,
            "quarantined": quarantined.id or 0,
            "new": new.id or 0,
            "resolved": resolved.id or 0,
            "in_order": in_order.id or 0,
            "other": other.id or 0,
            "image": image.id or 0,
            "pdf": pdf.id or 0,
        }


def case_ids_in(page: str) -> list[int]:
    """The case links of the queue table, in order."""
    return [int(found) for found in re.findall(r'href="/cazuri/(\d+)" class="case-link"', page)]


def post(client: TestClient, path: str, data: dict[str, str] | None = None, *, csrf: bool = True):  # type: ignore[no-untyped-def]
    form = dict(data or {})
    if csrf:
        form["csrf_token"] = client.csrf  # type: ignore[attr-defined]
    return client.post(path, data=form, follow_redirects=False)


# --- the queue ---------------------------------------------------------------------------------------------


def test_queue_lists_flagged_and_quarantined_oldest_first_and_hides_the_rest(
    client: TestClient, seeded: dict[str, int]
) -> None:
    page = client.get("/cazuri")
    assert page.status_code == 200
    assert case_ids_in(page.text) == [seeded["old"], seeded["quarantined"], seeded["new"]]
    assert "3 cazuri" in page.text
    assert "10/12.11.2026" in page.text  # registration number as on the recipisă
    assert "12.11.2026 09:00" in page.text  # received, Cluj time
    assert "5 z 1 h" in page.text  # waited since 12.11 09:00 until the fixed now, 17.11 10:00
    assert "acordarea indemnizației de șomaj" in page.text
    assert "missing_document" in page.text and "Lipsește actul de identitate." in page.text
    assert "Maria Ionescu" in page.text and "carantină" in page.text
    assert "Dosar Bihor secret" not in page.text  # another office
    assert "Dosar rezolvat" not in page.text and "Dosar în regulă" not in page.text
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_queue_shows_the_appointment_of_the_case(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    with transaction(rt.engine) as session:
        service.book(rt, session, session.get_one(Submission, seeded["new"]))
        appointment = service.active_appointment(session, seeded["new"])
        assert appointment is not None
        start = appointment.start.astimezone(CLUJ)
    page = client.get("/cazuri").text
    assert f"{start:%d.%m.%Y %H:%M}" in page
    assert "clarificare" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stare=carantina", ["quarantined"]),
        ("stare=semnalate", ["old", "new"]),
        ("stare=rezolvate", ["resolved"]),
        ("cod=consent_missing", ["new"]),
        ("cod=missing_document&stare=deschise", ["old"]),
        ("de_la=2026-11-13&pana_la=2026-11-13", ["quarantined"]),
        ("de_la=2026-11-13", ["quarantined", "new"]),
        ("pana_la=2026-11-12", ["old"]),
        ("de_la=13.11.2026&pana_la=13.11.2026", ["quarantined"]),  # as typed in Romania (issue 12)
        ("de_la=13/11/2026", ["quarantined", "new"]),
        ("q=12", ["new"]),
        ("q=12/16.11.2026", ["new"]),
        ("q=12/2026", ["new"]),
        ("q=12/17.11.2026", []),
        ("q=10/31.02.2026", []),
        ("q=maria", ["quarantined"]),
        ("q=ionescu", ["quarantined"]),
        ("q=GEORGE@example", ["new"]),
        ("q=%25", []),  # a literal percent sign is text, not a wildcard
        ("stare=ceva&cod=ceva&de_la=ieri&pagina=x", ["old", "quarantined", "new"]),  # nonsense falls back
    ],
)
def test_queue_filters_and_search(client: TestClient, seeded: dict[str, int], query: str, expected: list[str]) -> None:
    page = client.get(f"/cazuri?{query}")
    assert page.status_code == 200
    assert case_ids_in(page.text) == [seeded[name] for name in expected]
    count = "1 caz" if len(expected) == 1 else f"{len(expected)} cazuri"
    assert count in page.text


def test_queue_pages_by_fifty(client: TestClient, rt: Runtime) -> None:
    with transaction(rt.engine) as session:
        for index in range(53):
            add_submission(
                session,
                rt,
                received=datetime(2026, 11, 2, 8, 0, tzinfo=CLUJ) + timedelta(minutes=index),
                number=100 + index,
                subject=f"Dosar {index}",
                findings=(("illegible", "Ilizibil."),),
            )
    first = client.get("/cazuri")
    assert "53 cazuri" in first.text and "pagina 1 din 2" in first.text
    assert len(case_ids_in(first.text)) == 50
    second = client.get("/cazuri?pagina=2")
    assert len(case_ids_in(second.text)) == 3
    assert not set(case_ids_in(first.text)) & set(case_ids_in(second.text))


# --- the case page -----------------------------------------------------------------------------------------


def test_case_page_shows_the_mail_escaped_and_never_renders_html(client: TestClient, seeded: dict[str, int]) -> None:
    page = client.get(f"/cazuri/{seeded['old']}")
    assert page.status_code == 200
    text = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # subject and file name, escaped
    assert "<script>" not in text  # nothing from the e-mail reaches the page as markup
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(3)&gt;" in text  # HTML body as its source
    assert "Ion Popescu &lt;ion.popescu@example.ro&gt;" in text
    assert "cluj@anofm.gov.ro" in text  # To, from the stored raw message
    assert "16.11.2026 09:00" in text and "Mon, 16 Nov" not in text  # Date header, in the office zone (issue 12)
    assert "vă trimit cererea." in text
    # What the citizen sees, one click away (issue 13 §4): the case's status page, opened outside the staff session.
    assert "Ce vede beneficiarul" in text and '/dosar/' in text and 'rel="noopener noreferrer"' in text
    # The attachments: facts, the check and the signature verdict with its reasons.
    assert "cerere.pdf" in text and "Fișierul PDF este deteriorat." in text and "respins" in text
    assert "Semnătură invalidă" in text and "Documentul a fost modificat după semnare" in text  # reasons in words
    assert "11.11.2026 18:02" in text
    # issue 8: how the time is known, what changed after signing, and who else signed (the applicant's decides)
    assert "dovedită prin marcă temporală" in text and "marcă temporală calificată" in text
    assert "valoarea câmpului „nume” a fost modificată" in text
    assert "Alte semnături" in text and "Maria Ionescu" in text
    assert f"/cazuri/{seeded['old']}/documente/{seeded['image']}/miniatura" in text
    assert f"/cazuri/{seeded['old']}/documente/{seeded['pdf']}/miniatura" not in text  # PDF: download only
    assert "Document lipsă" in text


def test_case_page_of_another_office_or_a_made_up_id_is_404(client: TestClient, seeded: dict[str, int]) -> None:
    for path in (
        f"/cazuri/{seeded['other']}",
        "/cazuri/999999",
        f"/cazuri/{seeded['quarantined']}/documente/{seeded['image']}",  # a document of another case
        f"/cazuri/{seeded['other']}/documente/{seeded['image']}",
        f"/cazuri/{seeded['old']}/documente/999999",
        f"/cazuri/{seeded['old']}/documente/{seeded['pdf']}/miniatura",  # rejected PDF: no thumbnail
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Dosar Bihor secret" not in response.text
    refused = post(client, f"/cazuri/{seeded['other']}/rezolva", {"nota": "nu e al nostru"})
    assert refused.status_code == 404
    assert not audits(client.app.state.rt, "resolve")  # type: ignore[attr-defined]


def test_attachment_download_headers(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    response = client.get(f"/cazuri/{seeded['old']}/documente/{seeded['image']}")
    assert response.status_code == 200
    assert response.content == png_bytes()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''_script_alert%281%29__script_.png" in disposition
    assert "<" not in disposition and "/" not in disposition


def test_download_name_is_sanitised() -> None:
    assert cases.download_name("../../etc/passwd") == "_.._etc_passwd"
    assert cases.download_name('a"b\r\nSet-Cookie: x.pdf') == "a_bSet-Cookie_ x.pdf"
    assert cases.download_name("  ") == "document"
    header = cases.content_disposition("adeverință angajator.pdf")
    assert "filename*=UTF-8''adeverin%C8%9B%C4%83%20angajator.pdf" in header
    assert header.isascii()


def test_thumbnail_is_a_small_png(client: TestClient, seeded: dict[str, int]) -> None:
    response = client.get(f"/cazuri/{seeded['old']}/documente/{seeded['image']}/miniatura")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
        assert max(image.size) == 320 and image.size == (320, 213)


# --- access ------------------------------------------------------------------------------------------------


def test_ops_user_is_refused_and_admin_passes(rt: Runtime, seeded: dict[str, int]) -> None:
    with transaction(rt.engine) as session:  # made here only: every account costs an argon2 hash
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
        auth.create_user(session, rt.office, "sefa", "admin", PASSWORD)
    ops = TestClient(make_app(rt), headers=BROWSER)
    login_token = CSRF_FIELD.search(ops.get("/login").text)
    assert login_token is not None
    ops.post("/login", data={"name": "ion", "password": PASSWORD, "csrf_token": login_token.group(1)})
    assert ops.get("/cazuri").status_code == 403
    assert ops.get(f"/cazuri/{seeded['old']}").status_code == 403
    assert ops.get(f"/cazuri/{seeded['old']}/documente/{seeded['image']}").status_code == 403
    admin = TestClient(make_app(rt), headers=BROWSER)
    login(admin, "sefa")
    assert admin.get(f"/cazuri/{seeded['old']}").status_code == 200


def test_without_a_session_nothing_is_served(rt: Runtime, seeded: dict[str, int]) -> None:
    anonymous = TestClient(make_app(rt), headers=BROWSER)
    response = anonymous.get(f"/cazuri/{seeded['old']}/documente/{seeded['image']}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert anonymous.get("/cazuri", follow_redirects=False).status_code == 303
    assert anonymous.post(f"/cazuri/{seeded['old']}/rezolva", data={"nota": "x"}).status_code in (401, 403)


def test_post_without_csrf_is_refused(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    response = post(client, f"/cazuri/{seeded['old']}/rezolva", {"nota": "fără token"}, csrf=False)
    assert response.status_code == 403
    wrong = client.post(
        f"/cazuri/{seeded['old']}/rezolva", data={"nota": "x", "csrf_token": "ghicit"}, follow_redirects=False
    )
    assert wrong.status_code == 403
    with transaction(rt.engine) as session:
        assert session.get_one(Submission, seeded["old"]).resolved_at is None
    assert not audits(rt, "resolve")


# --- actions -----------------------------------------------------------------------------------------------


def test_resolve_with_a_note_leaves_the_queue(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    empty = post(client, f"/cazuri/{seeded['old']}/rezolva", {"nota": "  "})
    assert empty.headers["location"] == f"/cazuri/{seeded['old']}?eroare=nota_lipsa"
    response = post(client, f"/cazuri/{seeded['old']}/rezolva", {"nota": "Actul a venit pe hârtie."})
    assert response.status_code == 303
    assert response.headers["location"] == f"/cazuri/{seeded['old']}?ok=rezolvat"
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, seeded["old"])
        assert submission.resolved_at is not None and submission.resolved_by == "ana"
    [entry] = audits(rt, "resolve")
    assert entry.actor == "ana" and entry.submission_id == seeded["old"]
    assert entry.note == "Actul a venit pe hârtie."
    assert entry.before["resolved_at"] is None and entry.after["resolved_by"] == "ana"
    assert seeded["old"] not in case_ids_in(client.get("/cazuri").text)
    assert seeded["old"] in case_ids_in(client.get("/cazuri?stare=rezolvate").text)
    page = client.get(response.headers["location"]).text
    assert "Cazul a fost marcat ca rezolvat" in page
    assert "Actul a venit pe hârtie." in page  # the history shows the audit event with its note
    again = post(client, f"/cazuri/{seeded['old']}/rezolva", {"nota": "din nou"})
    assert again.headers["location"].endswith("eroare=deja_rezolvat")
    assert len(audits(rt, "resolve")) == 1


def test_add_and_clear_a_finding(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    bad = post(client, f"/cazuri/{seeded['in_order']}/constatari", {"cod": "nu_exista", "mesaj": "x"})
    assert bad.headers["location"].endswith("eroare=cod_invalid")
    response = post(
        client,
        f"/cazuri/{seeded['in_order']}/constatari",
        {"cod": "signature_invalid", "mesaj": "Cererea nu este semnată calificat."},
    )
    assert response.headers["location"].endswith("ok=constatare_adaugata")
    with transaction(rt.engine) as session:
        [finding] = session.exec(select(Finding).where(Finding.submission_id == seeded["in_order"])).all()
        assert finding.code == "signature_invalid" and finding.cleared_at is None
        assert session.get_one(Submission, seeded["in_order"]).flagged
        finding_id = finding.id
    [added] = audits(rt, "add_finding")
    assert added.before["open_findings"] == [] and added.after["open_findings"] == ["signature_invalid"]
    assert seeded["in_order"] in case_ids_in(client.get("/cazuri").text)  # now it needs a person

    cleared = post(client, f"/cazuri/{seeded['in_order']}/constatari/{finding_id}/inchide")
    assert cleared.headers["location"].endswith("ok=constatare_inchisa")
    with transaction(rt.engine) as session:
        assert session.get_one(Finding, finding_id).cleared_at is not None
        assert not session.get_one(Submission, seeded["in_order"]).flagged
    [entry] = audits(rt, "clear_finding")
    assert entry.before["cleared_at"] is None and entry.after["cleared_at"] is not None
    assert seeded["in_order"] not in case_ids_in(client.get("/cazuri").text)
    page = client.get(f"/cazuri/{seeded['in_order']}").text
    assert "Constatări închise (1)" in page
    # A finding of another case cannot be cleared through this one.
    with transaction(rt.engine) as session:
        foreign = session.exec(select(Finding).where(Finding.submission_id == seeded["new"])).one()
    refused = post(client, f"/cazuri/{seeded['in_order']}/constatari/{foreign.id}/inchide")
    assert refused.headers["location"].endswith("eroare=constatare_inexistenta")


def outbox_kinds(rt: Runtime, submission_id: int) -> list[str]:
    with transaction(rt.engine) as session:
        return list(
            session.exec(
                select(OutboxMessage.kind)
                .where(OutboxMessage.submission_id == submission_id)
                .order_by(col(OutboxMessage.id))
            ).all()
        )


def last_mail(rt: Runtime, submission_id: int) -> EmailMessage:
    with transaction(rt.engine) as session:
        row = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.submission_id == submission_id)
            .order_by(col(OutboxMessage.id).desc())
        ).first()
        assert row is not None
        raw = row.raw
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def calendar_event(message: EmailMessage) -> tuple[str | None, Any]:
    """(METHOD, VEVENT) of the invite in an e-mail, or (None, None)."""
    from icalendar import Calendar

    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            return str(calendar["METHOD"]), calendar.walk("VEVENT")[0]
    return None, None


def calendar_method(message: EmailMessage) -> str | None:
    return calendar_event(message)[0]


def test_book_move_and_cancel_the_appointment(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    case = seeded["new"]
    booked = post(client, f"/cazuri/{case}/programare/rezerva")
    assert booked.headers["location"].endswith("ok=programat")
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "clarification"
        first_start = appointment.start
    [entry] = audits(rt, "book_appointment")
    assert entry.before == {} and entry.after["start"] == first_start.isoformat()
    assert outbox_kinds(rt, case) == ["appointment_clarification"]  # the beneficiary is told, and why
    twice = post(client, f"/cazuri/{case}/programare/rezerva")
    assert twice.headers["location"].endswith("eroare=programare_existenta")

    page = client.get(f"/cazuri/{case}").text
    options = re.findall(r'<option value="(2026-[^"]+)"', page)
    assert options, "the case page offers free slots"
    deadline = service.calendar_for(rt).clarification_deadline(datetime(2026, 11, 16, 11, 0, tzinfo=CLUJ))
    assert all(datetime.fromisoformat(value).date() <= deadline for value in options)  # within the legal window
    current = first_start.astimezone(CLUJ).isoformat()
    assert current not in options  # the slot it already has is not offered
    target = options[-1]
    moved = post(client, f"/cazuri/{case}/programare/muta", {"start": target})
    assert moved.headers["location"].endswith("ok=mutat")
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None
        assert appointment.start == datetime.fromisoformat(target)
    [move] = audits(rt, "move_appointment")
    assert move.before["start"] == first_start.isoformat()
    assert move.after["start"] == datetime.fromisoformat(target).astimezone(UTC).isoformat()
    assert outbox_kinds(rt, case)[-1] == "appointment_rescheduled"

    for bogus in ("2030-01-01T10:00:00+02:00", "mâine"):
        refused = post(client, f"/cazuri/{case}/programare/muta", {"start": bogus})
        assert "eroare=ora_" in refused.headers["location"]
    assert len(audits(rt, "move_appointment")) == 1

    cancelled = post(client, f"/cazuri/{case}/programare/anuleaza")
    assert cancelled.headers["location"].endswith("ok=anulat")
    with transaction(rt.engine) as session:
        assert service.active_appointment(session, case) is None
        states = session.exec(select(Appointment.state).where(Appointment.submission_id == case)).all()
        assert states == [AppointmentState.CANCELLED]
    [cancel] = audits(rt, "cancel_appointment")
    assert cancel.before["state"] == "booked" and cancel.after["state"] == "cancelled"
    assert outbox_kinds(rt, case)[-1] == "appointment_cancelled"
    none_left = post(client, f"/cazuri/{case}/programare/anuleaza")
    assert none_left.headers["location"].endswith("eroare=fara_programare")


def receipt_mail(submission_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "AJOFM Cluj <cluj@anofm.gov.ro>"
    message["To"] = "george@example.ro"
    message["Subject"] = "Recipisă 12/16.11.2026"
    message["Message-ID"] = f"<intake.cj.{submission_id}.receipt@anofm.gov.ro>"
    message.set_content("Recipisa este atașată.")
    message.add_attachment(b"%PDF-1.7 recipisa", maintype="application", subtype="pdf", filename="recipisa.pdf")
    return message


def test_resend_the_receipt_with_a_new_message_id(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    case = seeded["new"]
    missing = post(client, f"/cazuri/{case}/recipisa/retrimite")
    assert missing.headers["location"].endswith("eroare=fara_recipisa")
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, case)
        outbox = enqueue(session, rt, submission, kind="receipt", message=receipt_mail(case))
        session.flush()
        session.add(Receipt(submission_id=case, pdf_sha256="0" * 64, created_at=NOW, outbox_id=outbox.id))
    for attempt in (1, 2):
        response = post(client, f"/cazuri/{case}/recipisa/retrimite")
        assert response.headers["location"].endswith("ok=recipisa_retrimisa")
        with transaction(rt.engine) as session:
            resent = session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.submission_id == case, OutboxMessage.kind == "receipt_resend")
                .order_by(col(OutboxMessage.id).desc())
            ).first()
        assert resent is not None
        # Issue 10 point 12: unguessable (an HMAC token, not the case number), one per resend.
        expected_id = make_message_id(
            f"receipt-resend-{attempt}", "CJ", case, "cluj@anofm.gov.ro", secret=rt.link_secret
        )
        assert carries_token(expected_id) and f".{case}." not in expected_id
        assert resent.message_id == expected_id and resent.state == "pending"
        parsed = BytesParser(policy=policy.default).parsebytes(resent.raw)
        assert parsed["Message-ID"] == expected_id
        assert len(parsed.get_all("Message-ID") or []) == 1
        assert parsed["Subject"] == "Recipisă 12/16.11.2026" and parsed["To"] == "george@example.ro"
        [pdf] = [part for part in parsed.iter_attachments()]
        assert pdf.get_content() == b"%PDF-1.7 recipisa"
    entries = audits(rt, "resend_receipt")
    assert [entry.after["message_id"] for entry in entries] == [
        make_message_id(f"receipt-resend-{n}", "CJ", case, "cluj@anofm.gov.ro", secret=rt.link_secret) for n in (1, 2)
    ]
    assert all(entry.before["message_id"] == f"<intake.cj.{case}.receipt@anofm.gov.ro>" for entry in entries)


def test_reprocess_a_quarantined_message(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    not_quarantined = post(client, f"/cazuri/{seeded['old']}/reproceseaza")
    assert not_quarantined.headers["location"].endswith("eroare=nu_e_carantina")
    response = post(client, f"/cazuri/{seeded['quarantined']}/reproceseaza")
    assert response.headers["location"].endswith("ok=reprocesat")
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, seeded["quarantined"])
        assert submission.state == SubmissionState.RECEIVED and submission.quarantine_reason is None
        actions = session.exec(select(Event.action).where(Event.submission_id == seeded["quarantined"])).all()
        assert "replayed" in actions
    [entry] = audits(rt, "reprocess")
    assert entry.before["state"] == "quarantined" and entry.after["state"] == "received"
    assert seeded["quarantined"] not in case_ids_in(client.get("/cazuri").text)
    assert post(client, "/cazuri/999999/reproceseaza").status_code == 404


def test_mark_consent_received(client: TestClient, rt: Runtime, seeded: dict[str, int]) -> None:
    response = post(client, f"/cazuri/{seeded['new']}/consimtamant")
    assert response.headers["location"].endswith("ok=consimtamant")
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, seeded["new"])
        assert submission.consent is True and not submission.flagged
        [finding] = session.exec(select(Finding).where(Finding.submission_id == seeded["new"])).all()
        assert finding.code == "consent_missing" and finding.cleared_at is not None
    [entry] = audits(rt, "mark_consent")
    assert entry.before == {"consent": False, "flagged": True}
    assert entry.after["consent"] is True and entry.after["cleared_findings"] == [finding.id]
    assert seeded["new"] not in case_ids_in(client.get("/cazuri").text)
    again = post(client, f"/cazuri/{seeded['new']}/consimtamant")
    assert again.headers["location"].endswith("eroare=consimtamant_deja")


def test_consent_received_cancels_the_clarification_visit_and_sends_the_file_to_verification(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    """Issue 9 points 1 and 9: the last finding gone, the clarification visit is cancelled (updated invite with a
    higher SEQUENCE, METHOD:CANCEL) and the complete file waits for a clerk's confirmation, not for a decision
    visit booked at once."""
    case = seeded["new"]  # flagged only for missing consent
    post(client, f"/cazuri/{case}/programare/rezerva")
    with transaction(rt.engine) as session:
        booked = service.active_appointment(session, case)
        assert booked is not None and booked.purpose == "clarification"
        booked_id, sequence = booked.id, booked.sequence
    post(client, f"/cazuri/{case}/consimtamant")
    with transaction(rt.engine) as session:
        assert service.active_appointment(session, case) is None
        cancelled = session.get_one(Appointment, booked_id)
        assert cancelled.state == AppointmentState.CANCELLED and cancelled.sequence == sequence + 1
        assert service.verification_state(session, session.get_one(Submission, case)) == "pending"
    assert outbox_kinds(rt, case) == ["appointment_clarification", "appointment_verification"]
    mail = last_mail(rt, case)
    assert "este complet și se află acum în verificare" in mail.get_body(("plain",)).get_content()
    assert calendar_method(mail) == "CANCEL"


def test_contract_staff_only_finding_is_listed_for_staff_with_a_badge_and_can_be_confirmed(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    """A staff_only finding neither flags nor books a clarification, yet a clerk must see it and confirm it."""
    case = seeded["in_order"]
    message = "Formularul nu precizează categoria de beneficiar."
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, case)
        finding = add_finding(session, rt, submission, "benefit_category_unstated", message, staff_only=True)
        session.flush()
        finding_id = finding.id
        assert not submission.flagged
    queue = client.get("/cazuri").text
    assert case in case_ids_in(queue)  # in the queue although not flagged: a clerk has to confirm it
    assert case in case_ids_in(client.get("/cazuri?stare=semnalate").text)
    assert "doar pentru personal" in queue
    page = client.get(f"/cazuri/{case}").text
    assert "doar pentru personal" in page and message in page
    assert f"/cazuri/{case}/constatari/{finding_id}/inchide" in page and "Confirmă și închide" in page

    cleared = post(client, f"/cazuri/{case}/constatari/{finding_id}/inchide")
    assert cleared.headers["location"].endswith("ok=constatare_inchisa")
    with transaction(rt.engine) as session:
        assert session.get_one(Finding, finding_id).cleared_at is not None
        assert not session.get_one(Submission, case).flagged
    [entry] = audits(rt, "clear_finding")
    assert entry.actor == "ana" and entry.before["staff_only"] is True
    assert entry.before["flagged"] is False and entry.after["flagged"] is False
    assert outbox_kinds(rt, case) == []  # confirming it is nothing the citizen is told about
    assert case not in case_ids_in(client.get("/cazuri").text)
    assert "Constatări închise (1)" in client.get(f"/cazuri/{case}").text


# --- issue 9 points 6 and 9: the verification queue, the confirmation, staff findings ---------------------------


def make_complete(rt: Runtime, case: int) -> None:
    """What the pipeline's book stage does for a complete case: it waits for a clerk, no visit booked."""
    with transaction(rt.engine) as session:
        service.book(rt, session, session.get_one(Submission, case))


def test_000_step8_a_complete_case_waits_for_verification_and_one_confirmation_books_the_decision_visit(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["in_order"]
    make_complete(rt, case)
    with transaction(rt.engine) as session:
        assert service.active_appointment(session, case) is None  # no decision visit before the clerk's checks
        assert service.verification_state(session, session.get_one(Submission, case)) == "pending"
    assert case_ids_in(client.get("/cazuri?stare=de_verificat").text) == [case]
    queue = client.get("/cazuri").text
    assert case not in case_ids_in(queue)  # the default list stays the cases with something wrong
    assert "De verificat: 1 dosar complet" in queue
    page = client.get(f"/cazuri/{case}").text
    assert f"/cazuri/{case}/verificare/confirma" in page and "Confirmă dosarul" in page
    assert "Programează (primul loc liber)" not in page  # a pending case is confirmed, not booked
    assert post(client, f"/cazuri/{case}/programare/rezerva").headers["location"].endswith("eroare=de_verificat")

    confirmed = post(client, f"/cazuri/{case}/verificare/confirma")
    assert confirmed.headers["location"].endswith("ok=confirmat")
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "decision" and appointment.sequence == 0
        assert service.verification_state(session, session.get_one(Submission, case)) == "confirmed"
        start = appointment.start
    [entry] = audits(rt, "confirm_file")
    assert entry.actor == "ana" and entry.before["verification"] == "pending"
    assert entry.after["verification"] == "confirmed" and entry.after["start"] == start.astimezone(UTC).isoformat()
    assert outbox_kinds(rt, case) == ["appointment_invitation"]
    mail = last_mail(rt, case)
    text = mail.get_body(("plain",)).get_content()
    assert "este complet și corect" in text and "înmânarea deciziei" in text
    method, event = calendar_event(mail)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0 and event.decoded("DTSTART") == start
    assert case not in case_ids_in(client.get("/cazuri?stare=de_verificat").text)
    again = post(client, f"/cazuri/{case}/verificare/confirma")
    assert again.headers["location"].endswith("eroare=nu_e_de_verificat")
    assert len(audits(rt, "confirm_file")) == 1


def test_000_step8_control_a_case_with_a_citizen_finding_cannot_be_confirmed(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["new"]  # consent missing
    make_complete(rt, case)  # the book stage calls it to a clarification instead
    refused = post(client, f"/cazuri/{case}/verificare/confirma")
    assert refused.headers["location"].endswith("eroare=constatari_deschise")
    assert audits(rt, "confirm_file") == []
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "clarification"


def test_confirming_closes_the_staff_only_findings_it_settles(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["in_order"]
    with transaction(rt.engine) as session:
        finding = add_finding(
            session,
            rt,
            session.get_one(Submission, case),
            "benefit_category_unstated",
            "Categoria de beneficiar nu este precizată.",
            staff_only=True,
        )
        session.flush()
        finding_id = finding.id
    make_complete(rt, case)
    page = client.get(f"/cazuri/{case}").text
    assert "Confirmarea închide și constatările pentru personal" in page
    assert post(client, f"/cazuri/{case}/verificare/confirma").headers["location"].endswith("ok=confirmat")
    with transaction(rt.engine) as session:
        closed = session.get_one(Finding, finding_id)
        assert closed.cleared_at is not None and closed.cleared_by == "ana"
    [entry] = audits(rt, "confirm_file")
    assert entry.before["staff_findings"] == ["benefit_category_unstated"]


def test_000_step7_a_staff_finding_turns_the_decision_visit_into_a_clarification_with_the_reason(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["in_order"]  # received Saturday 14.11.2026: the 5th working day after it is Friday 20.11
    make_complete(rt, case)
    post(client, f"/cazuri/{case}/verificare/confirma")
    with transaction(rt.engine) as session:
        decision = service.active_appointment(session, case)
        assert decision is not None
        uid, decision_start = decision.uid, decision.start
    reason = "Datele de identitate diferă de cele din evidența persoanelor (DEPABD)."
    added = post(client, f"/cazuri/{case}/constatari", {"cod": "identity_mismatch", "mesaj": reason})
    assert added.headers["location"].endswith("ok=constatare_adaugata")
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "clarification"
        assert appointment.uid == uid and appointment.sequence == 1  # the same event, updated
        assert appointment.reasons == [reason]
        local_start = appointment.start.astimezone(CLUJ)
        assert datetime(2026, 11, 18, 12, 0, tzinfo=CLUJ) <= local_start  # notice: the next working afternoon
        assert local_start.date() <= datetime(2026, 11, 20).date()  # the legal deadline
        assert service.verification_state(session, session.get_one(Submission, case)) is None
    [entry] = audits(rt, "add_finding")
    assert entry.after["visit"] == "moved" and entry.after["appointment"]["purpose"] == "clarification"
    assert outbox_kinds(rt, case) == ["appointment_invitation", "appointment_clarification"]
    mail = last_mail(rt, case)
    text = mail.get_body(("plain",)).get_content()
    assert reason in text  # why
    assert "Programarea anterioară" in text and decision_start.astimezone(CLUJ).strftime("%H:%M") in text
    method, event = calendar_event(mail)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 1 and str(event["UID"]) == uid


def test_000_step7_control_a_staff_finding_on_a_pending_case_books_a_new_clarification(
    client: TestClient, rt: Runtime, seeded: dict[str, int]
) -> None:
    case = seeded["in_order"]
    make_complete(rt, case)
    post(client, f"/cazuri/{case}/constatari", {"cod": "identity_mismatch", "mesaj": "CNP-ul nu corespunde."})
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "clarification" and appointment.sequence == 0
    assert outbox_kinds(rt, case) == ["appointment_clarification"]
    method, event = calendar_event(last_mail(rt, case))
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0
    # Clearing it again: the clarification is cancelled and the file waits for verification once more.
    with transaction(rt.engine) as session:
        finding = session.exec(
            select(Finding).where(Finding.submission_id == case, col(Finding.cleared_at).is_(None))
        ).one()
    post(client, f"/cazuri/{case}/constatari/{finding.id}/inchide")
    assert outbox_kinds(rt, case)[-1] == "appointment_verification"
    method, event = calendar_event(last_mail(rt, case))
    assert method == "CANCEL" and int(event["SEQUENCE"]) == 1
    assert case in case_ids_in(client.get("/cazuri?stare=de_verificat").text)


def test_000_step7_a_staff_finding_after_the_deadline_books_the_earliest_slot_and_tells_ops_and_staff(
    client: TestClient, rt: Runtime
) -> None:
    with transaction(rt.engine) as session:
        # Received Monday 2.11.2026: the 5th working day after it, Monday 9.11, is past (now: Tuesday 17.11).
        late = add_submission(session, rt, received=datetime(2026, 11, 2, 9, 0, tzinfo=CLUJ), number=2)
        case = late.id or 0
    make_complete(rt, case)
    reason = "Perioada de cotizare diferă de cea din evidența ITM (REVISAL)."
    post(client, f"/cazuri/{case}/constatari", {"cod": "identity_mismatch", "mesaj": reason})
    with transaction(rt.engine) as session:
        appointment = service.active_appointment(session, case)
        assert appointment is not None and appointment.purpose == "clarification"
        # The earliest possible slot, the notice kept: Wednesday 18.11 from 12:00.
        assert appointment.start.astimezone(CLUJ) == datetime(2026, 11, 18, 12, 0, tzinfo=CLUJ)
        staff = session.exec(
            select(Finding).where(Finding.submission_id == case, Finding.code == "deadline_missed")
        ).one()
        assert staff.staff_only and "09.11.2026" in staff.message
        from intake.alerts import open_alerts

        assert [a.kind for a in open_alerts(session, rt.office)] == ["clarification_late"]
    text = last_mail(rt, case).get_body(("plain",)).get_content()
    assert reason in text and "s-a încheiat luni, 9 noiembrie 2026" in text
    # The link and the staff page never offer a later day than the one booked.
    page = client.get(f"/cazuri/{case}").text
    options = re.findall(r'<option value="(2026-[^"]+)"', page)
    assert options and all(datetime.fromisoformat(value).date() <= datetime(2026, 11, 18).date() for value in options)
