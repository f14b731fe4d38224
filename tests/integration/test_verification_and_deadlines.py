"""Issue 9 points 6, 9, 10 and the appointment side of point 1, through the real pipeline: Dovecot → the real
`intake` command (`poll --once --now`, `confirm`, `show --json`) → the SMTP sink; staff act through the web app on
the same database, as a clerk's browser would.

Procedure 000 (section a, steps 7-8, "Programarea prealabilă"): a clarification visit "nu mai târziu de 5 zile
lucrătoare de la primirea documentelor"; a decision visit once the file is complete *and* correct, correctness
including the clerk's cross-checks.

Dates: February 2027 has no public holiday. Sunday 7, Monday 8 ... Friday 12, Monday 15, Tuesday 16 February.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import Reply, pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
SUNDAY = datetime(2027, 2, 7, 11, 0, tzinfo=BUCHAREST)
MONDAY = datetime(2027, 2, 8, 10, 0, tzinfo=BUCHAREST)
NO_CONSENT = "Bună ziua,\n\nVă trimit documentele pentru dosar.\n\nIon Popescu\n"
REGISTRATION_SUBJECT = "Înregistrare ca persoană în căutarea unui loc de muncă"
PASSWORD = "parola-foarte-lunga"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- building blocks ---------------------------------------------------------------------------------------


def _intake(tmp_path: Path, dovecot, smtp_sink, signing_key, extra: str = "") -> Intake:  # type: ignore[no-untyped-def]
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=extra,
    )


def _registration_documents() -> list[tuple[str, bytes, str]]:
    """A complete job-seeker registration (001 Art. 1-2): every document may be a scan, no e-signature rule."""
    return [
        (
            "fisa-inregistrare.pdf",
            mailfactory.pdf_document("FIȘA DE ÎNREGISTRARE a persoanei în căutarea unui loc de muncă"),
            "application/pdf",
        ),
        ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
        ("cv-europass.pdf", mailfactory.pdf_document("CURRICULUM VITAE Europass"), "application/pdf"),
        (
            "declaratie.pdf",
            mailfactory.pdf_document("DECLARAȚIE pe propria răspundere privind restricțiile medicale"),
            "application/pdf",
        ),
    ]


def _complete_registration(**kwargs: Any) -> EmailMessage:
    return mailfactory.submission(subject=REGISTRATION_SUBJECT, attachments=_registration_documents(), **kwargs)


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(BUCHAREST)


def _at(when: datetime, **delta: float) -> str:
    return (when + timedelta(**delta)).isoformat()


def _start(intake: Intake, dovecot, message: EmailMessage, received: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    dovecot.append(message.as_bytes(), internaldate=received)
    intake.poll(now=_at(received, minutes=5))
    return intake.json("show", "1")


def _receipt(smtp_sink, count: int = 2) -> Reply:  # type: ignore[no-untyped-def]
    (receipt,) = [r for r in replies(smtp_sink.wait_for(count)) if r.is_receipt]
    return receipt


def _text(reply: Reply) -> str:
    return reply.message.get_body(("plain",)).get_content()


def _invite(reply: Reply) -> tuple[str, Any] | None:
    """(METHOD, VEVENT) of the calendar alternative of an e-mail, or None."""
    for part in reply.message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            return str(calendar["METHOD"]), calendar.walk("VEVENT")[0]
    return None


def _only(smtp_sink, kind_in_subject: str) -> Reply:  # type: ignore[no-untyped-def]
    found = [r for r in replies(smtp_sink.messages) if kind_in_subject in r.subject]
    assert len(found) == 1, [r.subject for r in replies(smtp_sink.messages)]
    return found[0]


class Staff:
    """A clerk's browser on the same database as the `intake` command, with the clock fixed at `now`."""

    def __init__(self, intake: Intake, now: datetime) -> None:
        from fastapi.testclient import TestClient
        from sqlmodel import select

        from intake.clock import Clock
        from intake.db import transaction
        from intake.models import StaffUser
        from intake.runtime import Runtime
        from intake.settings import load_settings
        from intake.web import auth
        from intake.web.app import create_app

        self.rt = Runtime.from_settings(load_settings(intake.workdir / "intake.toml"), Clock(now))
        with transaction(self.rt.engine) as session:
            if session.exec(select(StaffUser).where(StaffUser.name == "ana")).first() is None:
                auth.create_user(session, self.rt.office, "ana", "registry", PASSWORD)
        self.client = TestClient(create_app(self.rt), headers={"accept": "text/html"})
        page = self.client.get("/login")
        token = CSRF_FIELD.search(page.text)
        assert token is not None
        response = self.client.post(
            "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token.group(1)}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        found = CSRF_FIELD.search(self.client.get("/cazuri").text)
        assert found is not None
        self.csrf = found.group(1)

    def post(self, path: str, data: dict[str, str] | None = None) -> str:
        response = self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def add_finding(self, case_id: int, code: str, message: str) -> None:
        location = self.post(f"/cazuri/{case_id}/constatari", {"cod": code, "mesaj": message})
        assert location.endswith("ok=constatare_adaugata"), location


def _confirm(intake: Intake, now: datetime, number: str = "1") -> None:
    Staff(intake, now)  # makes the clerk's account
    result = intake.run("confirm", number, "--by", "ana", "--now", now.isoformat())
    assert "confirmed by ana" in result.stdout


# --- point 10: the deadline, counted strictly, and the notice --------------------------------------------------


def test_000_programare_5_working_days_counted_from_the_calendar_day_of_receipt_sunday_by_friday(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    dovecot.append(mailfactory.good_submission(body=NO_CONSENT).as_bytes(), internaldate=SUNDAY)
    # The control: the same message received on Monday counts to the next Monday.
    monday = mailfactory.good_submission(sender="maria@example.ro", body=NO_CONSENT)
    dovecot.append(monday.as_bytes(), internaldate=MONDAY)
    intake.poll(now=_at(MONDAY, minutes=5))
    sunday_case, monday_case = intake.json("show", "1"), intake.json("show", "2")
    assert _local(sunday_case["received_at"]) == SUNDAY
    assert sunday_case["appointment"]["purpose"] == "clarification"
    assert sunday_case["appointment"]["deadline"] == "2027-02-12"  # Mon 8, Tue 9, Wed 10, Thu 11, Fri 12
    assert _local(sunday_case["appointment"]["start"]).date() <= date(2027, 2, 12)
    assert monday_case["appointment"]["deadline"] == "2027-02-15"
    texts = [
        _text(r) for r in replies(smtp_sink.wait_for(4)) if r.is_receipt and r.recipient == "ion.popescu@example.ro"
    ]
    assert len(texts) == 1 and "cel târziu vineri, 12 februarie 2027" in texts[0]


def test_000_programare_a_message_after_closing_time_counts_from_its_own_day(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    late_evening = MONDAY.replace(hour=22, minute=30)  # the office closed at 16:00
    dovecot.append(mailfactory.good_submission(body=NO_CONSENT).as_bytes(), internaldate=late_evening)
    # The control: after midnight it is the next calendar day, and the count starts one day later.
    after_midnight = datetime(2027, 2, 9, 0, 30, tzinfo=BUCHAREST)
    other = mailfactory.good_submission(sender="maria@example.ro", body=NO_CONSENT)
    dovecot.append(other.as_bytes(), internaldate=after_midnight)
    intake.poll(now=_at(after_midnight, minutes=5))
    assert intake.json("show", "1")["appointment"]["deadline"] == "2027-02-15"  # as for the morning
    assert intake.json("show", "2")["appointment"]["deadline"] == "2027-02-16"


def test_000_programare_a_message_sent_at_night_is_not_booked_for_08_30_next_morning(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    night = MONDAY.replace(hour=23, minute=40)
    shown = _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), night)
    start = _local(shown["appointment"]["start"])
    assert start == datetime(2027, 2, 9, 12, 0, tzinfo=BUCHAREST)  # the next working day's afternoon
    text = _text(_receipt(smtp_sink))
    assert "marți, 9 februarie 2027, la ora 12:00 (ora României)" in text
    assert "Ora a fost aleasă automat" in text and "puteți alege altă oră liberă" in text
    assert re.search(r"https?://\S+/programare/\S+", text)


def test_000_programare_control_without_the_notice_the_next_morning_is_booked(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, '[appointments]\nnext_day_not_before = ""\n')
    shown = _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), MONDAY.replace(hour=23, minute=40))
    assert _local(shown["appointment"]["start"]) == datetime(2027, 2, 9, 8, 30, tzinfo=BUCHAREST)


def test_000_programare_when_notice_and_deadline_conflict_the_deadline_wins(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    # Ten days' notice cannot fit before the 5th working day: the visit is still booked within the deadline.
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, "[appointments]\nminimum_notice_hours = 240\n")
    shown = _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), MONDAY)
    appointment = shown["appointment"]
    assert appointment["deadline"] == "2027-02-15"
    assert date(2027, 2, 9) <= _local(appointment["start"]).date() <= date(2027, 2, 15)


def test_000_programare_control_a_notice_that_fits_is_kept(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, "[appointments]\nminimum_notice_hours = 48\n")
    shown = _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), MONDAY)
    start = _local(shown["appointment"]["start"])
    assert start >= MONDAY + timedelta(minutes=5, hours=48) and start.date() <= date(2027, 2, 15)


def test_000_programare_the_reschedule_link_never_offers_a_day_past_the_deadline(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), SUNDAY)
    link = re.search(r"https?://\S+/programare/([\w.~-]+)", _text(_receipt(smtp_sink)))
    assert link
    staff = Staff(intake, SUNDAY + timedelta(hours=1))
    page = staff.client.get(f"/programare/{link.group(1)}")
    assert page.status_code == 200
    offered = {datetime.fromisoformat(value).date() for value in re.findall(r'name="start" value="([^"]+)"', page.text)}
    assert offered and max(offered) == date(2027, 2, 12)  # the deadline day itself, and nothing after it
    past = datetime(2027, 2, 15, 9, 0, tzinfo=BUCHAREST).isoformat()  # a free slot, but past the deadline
    refused = staff.client.post(f"/programare/{link.group(1)}/muta", data={"start": past}, follow_redirects=False)
    assert refused.status_code == 409
    assert intake.json("show", "1")["appointment"]["sequence"] == 0  # unchanged


# --- point 9: decision visits only for a verified file -----------------------------------------------------------


def test_000_step8_a_complete_file_waits_for_the_clerk_who_confirms_it_and_books_the_visit(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    shown = _start(intake, dovecot, _complete_registration(), MONDAY)
    assert [f for f in shown["findings"] if not f["staff_only"]] == [], shown["findings"]
    assert shown["verification"] == "pending" and shown["appointment"] is None
    assert shown["case"] == shown["registration_number"]
    receipt = _receipt(smtp_sink)
    assert "se află acum în verificare" in _text(receipt) and _invite(receipt) is None
    assert "în verificare" in " ".join(pdf_text(receipt.pdf or b"").split())  # the recipisă says it too

    smtp_sink.clear()
    _confirm(intake, MONDAY + timedelta(days=1))  # Tuesday 10:00
    intake.poll(now=_at(MONDAY, days=1, minutes=5))
    shown = intake.json("show", "1")
    assert shown["verification"] == "confirmed"
    assert shown["appointment"]["purpose"] == "decision" and shown["appointment"]["deadline"] is None
    invitation = _only(smtp_sink, "Invitație")
    text = _text(invitation)
    assert "Am verificat dosarul cu numărul 1/08.02.2027: este complet și corect." in text
    method, event = _invite(invitation) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == _local(shown["appointment"]["start"])


def test_000_step8_control_a_file_with_a_finding_cannot_be_confirmed(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    shown = _start(intake, dovecot, mailfactory.good_submission(body=NO_CONSENT), MONDAY)
    assert shown["verification"] is None and shown["appointment"]["purpose"] == "clarification"
    Staff(intake, MONDAY)
    refused = intake.run("confirm", "1", "--by", "ana", "--now", _at(MONDAY, hours=1), check=False)
    assert refused.returncode == 1 and "constatari_deschise" in refused.stderr
    nobody = intake.run("confirm", "1", "--by", "nobody", check=False)
    assert nobody.returncode == 2 and "--by" in nobody.stderr  # an unknown clerk: a usage error naming the option
    assert intake.json("show", "1")["appointment"]["purpose"] == "clarification"


def test_000_step8_a_registration_ends_without_a_decision_so_no_text_promises_one(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    _start(intake, dovecot, _complete_registration(), MONDAY)
    receipt = _receipt(smtp_sink)
    pending = _text(receipt)
    assert "finalizarea cererii privind înregistrarea ca persoană în căutarea unui loc de muncă" in pending
    smtp_sink.clear()
    _confirm(intake, MONDAY + timedelta(days=1))
    intake.poll(now=_at(MONDAY, days=1, minutes=5))
    invitation = _only(smtp_sink, "Invitație")
    _method, event = _invite(invitation) or ("", None)
    for text in (pending, " ".join(pdf_text(receipt.pdf or b"").split()), _text(invitation), str(event["SUMMARY"])):
        assert "decizi" not in text.lower()
    assert "pentru verificarea identității și finalizarea cererii" in _text(invitation)


def test_000_step8_a_complete_file_is_confirmed_automatically_after_n_working_days_without_findings(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, "[appointments]\ndecision_auto_confirm_days = 2\n")
    _start(intake, dovecot, _complete_registration(), MONDAY)
    intake.poll(now=_at(MONDAY, days=1))  # Tuesday: one working day
    assert intake.json("show", "1")["verification"] == "pending"
    smtp_sink.clear()
    intake.poll(now=_at(MONDAY, days=2))  # Wednesday: two working days, nobody raised a finding
    shown = intake.json("show", "1")
    assert shown["verification"] == "confirmed" and shown["appointment"]["purpose"] == "decision"
    invitation = _only(smtp_sink, "Invitație")
    assert (_invite(invitation) or ("",))[0] == "REQUEST"


def test_000_step8_control_without_auto_confirmation_the_file_waits_for_a_clerk(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)  # decision_auto_confirm_days = 0: off
    _start(intake, dovecot, _complete_registration(), MONDAY)
    intake.poll(now=_at(MONDAY, days=30))
    shown = intake.json("show", "1")
    assert shown["verification"] == "pending" and shown["appointment"] is None


# --- point 6: a staff finding changes the citizen's case -----------------------------------------------------------


def test_000_step7_a_staff_finding_calls_the_citizen_to_clarification_within_the_deadline_and_says_why(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    shown = _start(intake, dovecot, _complete_registration(), MONDAY)
    smtp_sink.clear()
    reason = (
        "Datele din fișă diferă de cele din evidența persoanelor (DEPABD): vă rugăm să aduceți actul de identitate."
    )
    Staff(intake, MONDAY + timedelta(days=1)).add_finding(shown["id"], "identity_mismatch", reason)
    intake.poll(now=_at(MONDAY, days=1, minutes=5))
    shown = intake.json("show", "1")
    assert shown["verification"] is None and shown["flagged"] is True
    appointment = shown["appointment"]
    assert appointment["purpose"] == "clarification" and appointment["deadline"] == "2027-02-15"
    assert _local(appointment["start"]).date() <= date(2027, 2, 15)
    mail = _only(smtp_sink, "trebuie clarificat")
    assert reason in _text(mail)  # why
    method, event = _invite(mail) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0


def test_000_step7_control_a_staff_finding_replaces_the_decision_visit_with_a_higher_sequence(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    shown = _start(intake, dovecot, _complete_registration(), MONDAY)
    _confirm(intake, MONDAY + timedelta(days=1))
    intake.poll(now=_at(MONDAY, days=1, minutes=5))
    (_method, invitation) = _invite(_only(smtp_sink, "Invitație")) or ("", None)
    smtp_sink.clear()
    Staff(intake, MONDAY + timedelta(days=2)).add_finding(shown["id"], "identity_mismatch", "CNP-ul diferă.")
    intake.poll(now=_at(MONDAY, days=2, minutes=5))
    mail = _only(smtp_sink, "trebuie clarificat")
    method, event = _invite(mail) or ("", None)
    assert method == "REQUEST" and str(event["UID"]) == str(invitation["UID"]) and int(event["SEQUENCE"]) == 1
    assert "Programarea anterioară" in _text(mail) and "CNP-ul diferă." in _text(mail)
    assert intake.json("show", "1")["appointment"]["purpose"] == "clarification"


def test_000_step7_a_staff_finding_after_the_deadline_gets_the_earliest_slot_and_ops_are_told(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, '[alerts]\nops_address = "ops@example.ro"\n')
    shown = _start(intake, dovecot, _complete_registration(), MONDAY)
    smtp_sink.clear()
    tuesday_after = datetime(2027, 2, 16, 10, 0, tzinfo=BUCHAREST)  # the deadline was Monday 15 February
    Staff(intake, tuesday_after).add_finding(shown["id"], "identity_mismatch", "Adresa diferă de cea din evidență.")
    intake.poll(now=_at(tuesday_after, minutes=5))
    shown = intake.json("show", "1")
    assert _local(shown["appointment"]["start"]) == datetime(2027, 2, 17, 12, 0, tzinfo=BUCHAREST)  # the earliest
    assert "deadline_missed" in {f["code"] for f in shown["findings"] if f["staff_only"]}  # staff are told
    assert [r for r in replies(smtp_sink.messages) if r.recipient == "ops@example.ro"]  # ops are told
    assert "clarification_late" in {a["kind"] for a in intake.json("status")["alerts"]}
    assert "s-a încheiat luni, 15 februarie 2027" in _text(_only(smtp_sink, "trebuie clarificat"))


# --- point 1, the appointment side: follow-ups move the case between the steps -------------------------------------


def _follow_up(intake: Intake, dovecot, smtp_sink, receipt: Reply, when: datetime, **kwargs: Any) -> Reply:  # type: ignore[no-untyped-def]
    smtp_sink.clear()
    message = mailfactory.submission(
        subject=f"Re: {receipt.subject}", extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])}, **kwargs
    )
    dovecot.append(message.as_bytes(), internaldate=when)
    intake.poll(now=_at(when, minutes=5))
    return _receipt(smtp_sink)


def test_case_a_follow_up_that_settles_the_last_finding_cancels_the_clarification_visit(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    shown = _start(intake, dovecot, _complete_registration(body=NO_CONSENT), MONDAY)
    assert {f["code"] for f in shown["findings"]} >= {"consent_missing"}
    first = _receipt(smtp_sink)
    (_method, booked) = _invite(first) or ("", None)
    second = _follow_up(intake, dovecot, smtp_sink, first, MONDAY + timedelta(hours=2), body=mailfactory.CONSENT)
    method, event = _invite(second) or ("", None)
    assert method == "CANCEL" and str(event["UID"]) == str(booked["UID"]) and int(event["SEQUENCE"]) == 1
    text = _text(second)
    assert "pentru clarificarea dosarului, a fost anulată" in text and "se află acum în verificare" in text
    for number in ("1", "2"):
        shown = intake.json("show", number)
        assert shown["appointment"] is None and shown["verification"] == "pending"
        assert shown["case"] == "1/08.02.2027"


def test_case_a_follow_up_with_a_new_finding_turns_the_decision_visit_into_a_clarification(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    _start(intake, dovecot, _complete_registration(), MONDAY)
    first = _receipt(smtp_sink)
    _confirm(intake, MONDAY + timedelta(hours=1))
    intake.poll(now=_at(MONDAY, hours=1, minutes=5))
    (_method, decision) = _invite(_only(smtp_sink, "Invitație")) or ("", None)
    broken = [("acte.pdf", b"%PDF-1.7\n% truncated, nothing else", "application/pdf")]
    second = _follow_up(intake, dovecot, smtp_sink, first, MONDAY + timedelta(hours=3), attachments=broken)
    method, event = _invite(second) or ("", None)
    assert method == "REQUEST" and str(event["UID"]) == str(decision["UID"]) and int(event["SEQUENCE"]) == 1
    assert "Programarea anterioară" in _text(second) and "pentru clarificarea dosarului" in _text(second)
    shown = intake.json("show", "1")
    assert shown["appointment"]["purpose"] == "clarification" and shown["verification"] is None
    assert shown["appointment"]["deadline"] == "2027-02-15"  # counted from the case's first message


def test_case_control_a_follow_up_with_a_good_document_keeps_the_decision_visit(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    _start(intake, dovecot, _complete_registration(), MONDAY)
    first = _receipt(smtp_sink)
    _confirm(intake, MONDAY + timedelta(hours=1))
    intake.poll(now=_at(MONDAY, hours=1, minutes=5))
    extra = [("diploma-master.jpg", mailfactory.jpeg_image(color=(230, 240, 250)), "image/jpeg")]
    second = _follow_up(intake, dovecot, smtp_sink, first, MONDAY + timedelta(hours=3), attachments=extra)
    method, event = _invite(second) or ("", None)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0  # the same visit, unchanged
    shown = intake.json("show", "2")
    assert shown["appointment"]["purpose"] == "decision" and shown["verification"] == "confirmed"
    assert "documents_after_confirmation" in {f["code"] for f in shown["findings"] if f["staff_only"]}
