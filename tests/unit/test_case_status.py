"""Issue 13 §4, "where is my file?": the signed case link (intake/case_link.py), the status page /dosar/<token>
(intake/case_status.py, intake/web/status.py) and the link in every reply, on a real SQLite database through
TestClient. The clock is fixed (Tuesday 17 November 2026, 10:00 in Cluj)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from intake.appointments import service
from intake.appointments.text import pending_text
from intake.appointments.tokens import make_token
from intake.case_link import case_end, find_case, make_case_token, read_case_token, status_url
from intake.clock import Clock
from intake.db import transaction
from intake.models import CaseVerification, Event, Finding, OutboxMessage, OutboxState, PurgeRecord, Submission
from intake.receipts import compose
from intake.runtime import Runtime
from intake.signatures.labels import LABELS
from intake.texts import labels
from intake.web.app import create_app
from intake.web.rate_limit import RateLimiter
from tests.unit import runtimes
from tests.unit.test_web_cases import BROWSER, CLUJ, NOW, add_document, add_submission, png_bytes

CNP = "1960101125804"  # the applicant's, on the forms and in a finding: never on the page
OTHER_CNP = "2850505123459"
RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=CLUJ)
STAFF_ONLY_TEXT = "Categoria solicitantului nu reiese din cerere: de confirmat de funcționar."
CITIZEN_TEXT = f"CNP-ul din cerere ({CNP}) diferă de cel din actul de identitate ({OTHER_CNP})."


def runtime(tmp_path: Path, now: datetime = NOW) -> Runtime:
    return runtimes.make_runtime(tmp_path, clock=Clock(fixed=now.astimezone(UTC)))


def at(rt: Runtime, now: datetime) -> Runtime:
    """The same deployment with the clock moved (what `--now` does for a command)."""
    return Runtime.from_settings(rt.settings, clock=Clock(fixed=now.astimezone(UTC)))


def seed_case(session: Session, rt: Runtime) -> Submission:
    """A case with findings (one staff-only), documents in every state, a visit booked by the real service and
    its e-mail in the outbox, and a clerk's name on a closed finding."""
    root = add_submission(
        session,
        rt,
        received=RECEIVED,
        number=12,
        subject=f"Cerere indemnizație {CNP}",
        findings=(("identity_mismatch", CITIZEN_TEXT), ("consent_missing", "Lipsește acordul pentru comunicare.")),
    )
    signature = {"label": "QES", "signer": "Ion Popescu", "reasons": [], "summary": f"Semnat de Ion Popescu {CNP}"}
    add_document(
        session,
        rt,
        root,
        "cerere.pdf",
        b"%PDF-1.7 cerere",
        position=0,
        declared_type="application/pdf",
        detected_type="pdf",
        content_type="application/pdf",
        accepted=True,
        kind="application",
        signature=signature,
    )
    add_document(
        session,
        rt,
        root,
        f"buletin_{CNP}.png",
        png_bytes((40, 30)),
        position=1,
        detected_type="png",
        content_type="image/png",
        accepted=True,
        kind="id_document",
    )
    add_document(
        session,
        rt,
        root,
        "cv.docx",
        b"PK\x03\x04 docx",
        position=2,
        detected_type="docx",
        accepted=False,
        code="forbidden_attachment",
        reason="Format nepermis (Word .docx).",
    )
    session.add(
        Finding(
            submission_id=root.id or 0,
            code="benefit_category_unknown",
            message=STAFF_ONLY_TEXT,
            staff_only=True,
            created_at=RECEIVED.astimezone(UTC),
        )
    )
    session.add(
        Finding(
            submission_id=root.id or 0,
            code="illegible",
            message="Scanare ilizibilă (închisă).",
            created_at=RECEIVED.astimezone(UTC),
            cleared_at=NOW.astimezone(UTC),
            cleared_by="grefiera.ana",
        )
    )
    session.add(
        OutboxMessage(
            office="CJ",
            submission_id=root.id,
            kind="acknowledgement",
            message_id="<a@x>",
            recipient="ion.popescu@example.ro",
            raw=b"x",
            state=OutboxState.SENT,
            next_attempt_at=RECEIVED,
            created_at=RECEIVED,
            sent_at=RECEIVED + timedelta(minutes=1),
        )
    )
    session.flush()
    assert service.book_by_staff(rt, session, root) is not None  # a clarification visit and its e-mail
    return root


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return runtime(tmp_path)


@pytest.fixture
def case(rt: Runtime) -> tuple[int, str]:
    with transaction(rt.engine) as session:
        root = seed_case(session, rt)
        return root.id or 0, make_case_token(root, rt.link_secret)


def client(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt), headers=BROWSER)


def flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")


# --- the token ---------------------------------------------------------------------------------------------


def test_token_names_the_case_and_only_a_genuine_one_opens_it(rt: Runtime, case: tuple[int, str]) -> None:
    case_id, token = case
    with transaction(rt.engine) as session:
        other = add_submission(
            session, rt, received=RECEIVED, number=13, subject="Alt dosar", sender="maria@example.ro"
        )
        other_token = make_case_token(other, rt.link_secret)
        assert find_case(session, token, rt.link_secret).id == case_id  # type: ignore[union-attr]
        assert find_case(session, other_token, rt.link_secret) is other  # another case's token: that case only
        assert read_case_token(token, rt.link_secret)[0] == case_id
        for index in (1, 8, 9, 16, 17, 40):  # the id, the fingerprint, the MAC
            assert find_case(session, flip(token, index), rt.link_secret) is None
        assert find_case(session, token, "un alt secret, la fel de lung ca primul") is None
        # The appointment link's signer, but another purpose: neither kind of token opens the other's page.
        appointment_token = make_token(case_id, 0, NOW + timedelta(days=1), rt.link_secret)
        assert find_case(session, appointment_token, rt.link_secret) is None


def test_a_follow_up_carries_its_cases_link_never_its_own(rt: Runtime, case: tuple[int, str]) -> None:
    case_id, token = case
    with transaction(rt.engine) as session:
        follow_up = add_submission(
            session, rt, received=RECEIVED + timedelta(hours=3), number=14, subject="Re: Cerere", case_id=case_id
        )
        assert status_url(rt, session, follow_up) == f"http://127.0.0.1:8080/dosar/{token}"
        with pytest.raises(ValueError):
            make_case_token(follow_up, rt.link_secret)


def test_a_reused_row_id_does_not_open_an_erased_case(rt: Runtime, case: tuple[int, str]) -> None:
    # SQLite hands the id of a deleted last row to the next one: the link is bound to the case's content too.
    case_id, token = case
    with transaction(rt.engine) as session:
        session.get_one(Submission, case_id).sha256 = "0" * 64  # another message now holds that id
    with transaction(rt.engine) as session:
        assert find_case(session, token, rt.link_secret) is None


def test_wrong_tampered_and_unknown_links_get_one_neutral_404(rt: Runtime, case: tuple[int, str]) -> None:
    _, token = case
    web = client(rt)
    unknown = Submission(id=999, office="CJ", sha256="f" * 64, size=1, received_at=NOW, claimed_at=NOW)
    unknown_token = make_case_token(unknown, rt.link_secret)  # genuine signature, no such case
    pages = [
        web.get(f"/dosar/{value}")
        for value in (flip(token, 3), flip(token, 30), token[:-1], "nimic", unknown_token, "A" * 66, token + "A")
    ]
    assert {page.status_code for page in pages} == {404}
    assert len({page.text for page in pages}) == 1
    assert "Linkul nu este valid" in pages[0].text and "12/" not in pages[0].text


# --- expiry: with the case --------------------------------------------------------------------------------------


def test_link_expires_status_link_days_after_the_cases_last_activity(rt: Runtime, case: tuple[int, str]) -> None:
    case_id, token = case
    with transaction(rt.engine) as session:
        end = case_end(rt, session, session.get_one(Submission, case_id))
        visit = service.active_appointment(session, case_id)
        assert visit is not None
    # The last activity is the end of the booked visit (later than every message and event).
    assert end == visit.end + timedelta(days=90)
    assert client(at(rt, end - timedelta(seconds=1))).get(f"/dosar/{token}").status_code == 200
    expired = client(at(rt, end)).get(f"/dosar/{token}")
    assert expired.status_code == 410 and "nu mai este valabil" in expired.text
    # A message on the case later on keeps the link alive (the case is not over).
    with transaction(rt.engine) as session:
        session.add(Event(submission_id=case_id, at=end - timedelta(days=1), action="finding"))
    assert client(at(rt, end)).get(f"/dosar/{token}").status_code == 200


def test_a_purged_case_link_ends_at_the_purge_even_though_the_purge_writes_history(
    rt: Runtime, case: tuple[int, str]
) -> None:
    """GDPR Art. 5(1)(e): what the retention rules erased is not shown again; the purge's own events on the case
    must not count as activity that revives the link."""
    case_id, token = case
    purged_at = NOW + timedelta(days=10)
    with transaction(rt.engine) as session:
        session.add(PurgeRecord(office="CJ", submission_id=case_id, what="attachments", purged_at=purged_at))
        session.add(Event(submission_id=case_id, at=purged_at, action="purge"))
        assert case_end(rt, session, session.get_one(Submission, case_id)) == purged_at
    assert client(at(rt, purged_at)).get(f"/dosar/{token}").status_code == 410


# --- the page -----------------------------------------------------------------------------------------------


def test_page_shows_documents_findings_visit_and_history_without_cnp_or_staff_matters(
    rt: Runtime, case: tuple[int, str]
) -> None:
    _, token = case
    web = client(rt)
    page = web.get(f"/dosar/{token}")
    assert page.status_code == 200
    html = page.text
    assert "Dosarul nr. 12/16.11.2026" in html
    assert "Sunt câteva lucruri de clarificat" in html  # the standing, in words
    # Documents and their state, the signature verdict in the citizen's words.
    assert "cerere.pdf" in html and labels.SIGNATURE_LABELS_CITIZEN["QES"] in html
    assert "neacceptat (format nepermis)" in html and "Format nepermis (Word .docx)." in html
    assert "Act de identitate" in html
    # What must be clarified: citizen findings only, CNPs masked; no staff-only finding, no closed one.
    assert "Lipsește acordul pentru comunicare." in html and "diferă de cel din actul de identitate" in html
    assert STAFF_ONLY_TEXT not in html and "Scanare ilizibilă" not in html
    assert re.search(r"(?<!\d)[1-9]\d{12}(?!\d)", html) is None, "a CNP on the citizen's page"
    # No staff names, no signer, no sender's address or subject (content), nothing of another case.
    for secret in ("grefiera.ana", "Ion Popescu", "ion.popescu@example.ro", "Cerere indemnizație"):
        assert secret not in html
    # The visit and its working reschedule/cancel link (the appointment link, not a second mechanism).
    assert "Programarea" in html and "(ora României)" in html
    manage = re.search(r'href="(/programare/[\w-]+)"', html)
    assert manage, html
    assert "Alegeți altă oră" in web.get(manage.group(1)).text
    # History: received and replied, dd.mm.yyyy HH:MM in Cluj time, no content.
    assert "16.11.2026 09:00" in html and "Mesaj primit de la dumneavoastră, înregistrat cu nr. 12/16.11.2026" in html
    assert "16.11.2026 09:01" in html and "Răspuns trimis: confirmare de primire" in html
    assert "invitație la clarificare" in html  # the visit's e-mail, still in the outbox
    # A personal page: never cached, never indexed, its address never sent to another site.
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"] and page.headers["referrer-policy"] == "no-referrer"


def test_page_of_a_case_with_a_follow_up(rt: Runtime, case: tuple[int, str]) -> None:
    case_id, token = case
    with transaction(rt.engine) as session:
        follow_up = add_submission(
            session,
            rt,
            received=datetime(2026, 11, 17, 8, 30, tzinfo=CLUJ),
            number=15,
            subject="Re: Cerere",
            case_id=case_id,
        )
        add_document(
            session,
            rt,
            follow_up,
            "cerere-noua.pdf",
            b"%PDF-1.7 noua",
            declared_type="application/pdf",
            detected_type="pdf",
            content_type="application/pdf",
            accepted=True,
            kind="application",
            signature={"label": "indeterminate", "reasons": ["revocation_unreachable"]},
        )
        session.add(
            OutboxMessage(
                office="CJ",
                submission_id=follow_up.id,
                kind="receipt",
                message_id="<r@x>",
                recipient="ion.popescu@example.ro",
                raw=b"x",
                state=OutboxState.SENT,
                next_attempt_at=NOW,
                created_at=NOW,
                sent_at=NOW.astimezone(UTC),
            )
        )
    html = client(rt).get(f"/dosar/{token}").text
    assert "Dosarul nr. 12/16.11.2026" in html  # the case's number, not the follow-up's
    assert "Mesaj primit de la dumneavoastră, înregistrat cu nr. 15/17.11.2026" in html
    assert "17.11.2026 08:30" in html and "Răspuns trimis: recipisă" in html
    assert "cerere-noua.pdf, trimis ulterior" in html  # the earlier application was replaced
    assert labels.SIGNATURE_LABELS_CITIZEN["indeterminate"] in html
    assert html.index("16.11.2026 09:00") < html.index("17.11.2026 08:30")  # oldest first


def test_page_is_rate_limited_per_address(rt: Runtime, case: tuple[int, str]) -> None:
    _, token = case
    web = client(rt)
    codes = [web.get(f"/dosar/{token if n % 2 else 'gresit'}").status_code for n in range(61)]
    assert codes[:60].count(429) == 0 and codes[60] == 429
    refused = web.get(f"/dosar/{token}")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_the_appointment_page_is_rate_limited_too(rt: Runtime) -> None:
    web = client(rt)
    codes = [web.get("/programare/gresit").status_code for _ in range(61)]
    assert set(codes[:60]) == {404} and codes[60] == 429
    assert int(web.get("/programare/gresit").headers["retry-after"]) >= 1


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=2, window=10.0, clock=lambda: now[0], max_addresses=2)
    assert limiter.retry_after("a") is None and limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 10
    assert limiter.retry_after("b") is None  # another address is not affected
    now[0] = 10.5
    assert limiter.retry_after("a") is None  # the window moved on
    limiter.retry_after("c")  # a third address: the table forgets idle ones instead of growing
    assert len(limiter._seen) <= 2


# --- the link in every reply ----------------------------------------------------------------------------------


def plain_and_html(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    return (plain.get_content() if plain else ""), (html.get_content() if html else "")


def test_every_reply_kind_carries_the_link(rt: Runtime, case: tuple[int, str]) -> None:
    case_id, token = case
    url = f"http://127.0.0.1:8080/dosar/{token}"
    who = compose.Correspondent("cluj@anofm.gov.ro", "AJOFM Cluj", "ion@example.ro", "Europe/Bucharest", status_url=url)
    original = compose.Original("<m@example.ro>", (), "Cerere", RECEIVED)
    acknowledgement = compose.build_acknowledgement(who, original, message_id="<ack@x>", now=NOW)
    assert url in acknowledgement.get_content()
    receipt = compose.build_receipt_reply(
        who,
        original,
        office_name="AJOFM",
        registration="12/16.11.2026",
        documents=[],
        findings=[],
        pdf=b"%PDF",
        pdf_filename="r.pdf",
        message_id="<r@x>",
        now=NOW,
    )
    text, html = plain_and_html(receipt)
    assert url in text and f'<a href="{url}">' in html
    # The visit's e-mail the service queued (appointments.service._send) carries the same link.
    with transaction(rt.engine) as session:
        (raw,) = session.exec(
            select(OutboxMessage.raw).where(
                OutboxMessage.submission_id == case_id, OutboxMessage.kind == "appointment_clarification"
            )
        ).all()
    assert f"/dosar/{token}".encode() in raw.replace(b"=\n", b"")
    # A reply that names no case (none) says nothing about a page.
    bare = compose.build_acknowledgement(
        compose.Correspondent("cluj@anofm.gov.ro", "AJOFM Cluj", "ion@example.ro", "Europe/Bucharest"),
        original,
        message_id="<ack2@x>",
        now=NOW,
    )
    assert "/dosar/" not in bare.get_content()


def test_every_signature_label_has_citizen_words() -> None:
    assert set(LABELS) <= set(labels.SIGNATURE_LABELS_CITIZEN)


def test_the_recipisa_pdf_carries_the_link_as_a_clickable_line() -> None:
    import io

    from pypdf import PdfReader

    from intake.receipts.render import render_receipt
    from tests.unit.test_receipt_render import pages_text, receipt, squeeze

    url = "https://programari.ajofm-cluj.ro/dosar/AQAAAAAAAAABaymrYr24OWX4geBbVzig95dRYDP59dFIGXJVtZwhFIoSKP2r5tAS_w"
    pdf = render_receipt(receipt(status_url=url))
    assert url in squeeze("".join(pages_text(pdf)))
    reader = PdfReader(io.BytesIO(pdf))
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots") or []
        if annotation.get_object().get("/Subtype") == "/Link"
    ]
    assert url in links
    assert "/dosar/" not in squeeze("".join(pages_text(render_receipt(receipt()))))


def test_page_before_registration_and_while_the_complete_file_is_verified(rt: Runtime) -> None:
    # The acknowledgement carries the link before the message has a number: the page must already work.
    with transaction(rt.engine) as session:
        fresh = add_submission(session, rt, received=RECEIVED, state="received", subject="Cerere")
        token = make_case_token(fresh, rt.link_secret)
    web = client(rt)
    html = web.get(f"/dosar/{token}").text
    assert "Dosarul dumneavoastră" in html and labels.CASE_STANDINGS["processing"] in html
    assert "Mesaj primit de la dumneavoastră</li>" in html.replace("\n", "")
    # Registered, complete, waiting for a clerk (procedure 000 step 8): no visit yet, and the page says why.
    with transaction(rt.engine) as session:
        row = session.get_one(Submission, fresh.id)
        row.number, row.year, row.registered_at = 20, 2026, RECEIVED.astimezone(UTC)
        session.add(CaseVerification(office="CJ", submission_id=row.id or 0, pending_since=RECEIVED))
        waiting = pending_text(rt, row)  # the recipisă's words for the same step
    html = web.get(f"/dosar/{token}").text
    assert labels.CASE_STANDINGS["verification"] in html and "Nu lipsește nimic" in html
    assert waiting.split("\n")[0][:60] in html
