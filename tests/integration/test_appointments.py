"""Issue 4 through the real pipeline (Dovecot → intake poll --once --now → SMTP sink): findings, the legal
5-working-day deadline around Romanian holidays, capacity and overflow, follow-ups, reminders and links."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
NO_CONSENT = "Bună ziua,\n\nVă trimit documentele pentru dosar.\n\nIon Popescu\n"

# Receipt (Bucharest time) → the last day a clarification appointment may fall on, worked out by hand from
# the calendar: the 5th working day after the calendar day of receipt, whatever the hour (issue 9 point 10).
# Holidays 30 Nov, 1 Dec, 25-26 Dec, 1-2 Jan, 6-7 Jan, Orthodox Good Friday 30 Apr 2027 and Easter Monday
# 3 May 2027, Pentecost Monday 21 Jun 2027.
HAND_TABLE = {
    "monday morning": (datetime(2026, 11, 23, 10, 0), date(2026, 12, 2)),  # 24, 25, 26, 27, (30 Nov, 1 Dec), 2
    "friday before st andrew": (datetime(2026, 11, 27, 10, 0), date(2026, 12, 8)),
    "friday evening": (datetime(2026, 11, 27, 19, 0), date(2026, 12, 8)),  # after closing: the same count
    "saturday": (datetime(2026, 11, 28, 11, 0), date(2026, 12, 8)),
    "before christmas": (datetime(2026, 12, 18, 10, 0), date(2026, 12, 28)),
    "new year": (datetime(2026, 12, 30, 10, 0), date(2027, 1, 11)),
    "orthodox easter": (datetime(2027, 4, 29, 10, 0), date(2027, 5, 10)),
    "pentecost": (datetime(2027, 6, 18, 10, 0), date(2027, 6, 28)),
}


def _intake(tmp_path: Path, dovecot, smtp_sink, signing_key, extra: str = "") -> Intake:  # type: ignore[no-untyped-def]
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=extra,
    )


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(BUCHAREST)


def _invite(reply) -> Calendar:  # type: ignore[no-untyped-def]
    for part in reply.message.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar part")


@pytest.mark.parametrize("case", sorted(HAND_TABLE))
def test_clarification_is_booked_within_five_working_days(tmp_path, dovecot, smtp_sink, signing_key, case) -> None:  # type: ignore[no-untyped-def]
    received, last_day = HAND_TABLE[case]
    received = received.replace(tzinfo=BUCHAREST)
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    dovecot.append(mailfactory.good_submission(body=NO_CONSENT).as_bytes(), internaldate=received)
    intake.poll(now=(received + timedelta(minutes=5)).isoformat())
    (submission,) = intake.json("submissions")
    assert {f["code"] for f in submission["findings"]} >= {"consent_missing"}
    appointment = submission["appointment"]
    assert appointment["purpose"] == "clarification"
    assert appointment["deadline"] == last_day.isoformat()
    start = _local(appointment["start"])
    assert received.date() < start.date() <= last_day
    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    event = next(component for component in _invite(receipt).walk() if component.name == "VEVENT")
    assert event["DTSTART"].dt == start
    assert str(event["DTSTART"].params.get("TZID")) == "Europe/Bucharest"


def test_bridge_day_moves_the_deadline(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, '[appointments]\nextra_closed_days = ["2027-01-08"]\n')
    received = datetime(2026, 12, 30, 10, 0, tzinfo=BUCHAREST)
    dovecot.append(mailfactory.good_submission(body=NO_CONSENT).as_bytes(), internaldate=received)
    intake.poll(now=(received + timedelta(minutes=5)).isoformat())
    (submission,) = intake.json("submissions")
    assert submission["appointment"]["deadline"] == "2027-01-12"


def test_000_step8_a_complete_file_waits_for_verification_not_a_decision_visit(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    """A complete and correctly signed benefit file is not booked for the decision visit at once: correctness
    includes the clerk's cross-checks (procedure 000 step 8), so it waits in the "de verificat" queue and the
    recipisă says the invitation will follow (the confirmation itself: test_verification_and_deadlines.py)."""
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, trust)
    scenarios = test_pki.scenarios
    attachments = [
        ("cerere.pdf", scenarios["qes_bt"].path.read_bytes(), "application/pdf"),
        ("declaratie.pdf", scenarios["declaration_qes"].path.read_bytes(), "application/pdf"),
        ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg"),
        ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
        (
            "adeverinta-angajator.pdf",
            mailfactory.pdf_document(
                "ADEVERINȚĂ\nAngajatorul certifică, conform art. 18 din Normele metodologice (anexa nr. 26), că "
                "Ion Popescu a fost angajat cu contract individual de muncă; stagiu de cotizare: 8 ani"
            ),
            "application/pdf",
        ),
    ]
    received = datetime.now(BUCHAREST).replace(microsecond=0)
    dovecot.append(mailfactory.submission(attachments=attachments).as_bytes(), internaldate=received)
    intake.poll()
    (submission,) = intake.json("submissions")
    assert submission["request_type"] == "unemployment_benefit"
    assert submission["consent"] is True
    assert [f for f in submission["findings"] if not f["staff_only"]] == [], submission["findings"]
    assert submission["flagged"] is False
    assert submission["verification"] == "pending"
    assert submission["appointment"] is None
    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    body = receipt.message.get_body(("plain",)).get_content()
    assert "se află acum în verificare" in body and "veți primi prin e-mail invitația" in body
    # A benefit request ends with its decision: the text names it (the control of the registration, which does not).
    assert "înmânarea deciziei privind soluționarea cererii" in body
    assert not any(part.get_content_type() == "text/calendar" for part in receipt.message.walk())


def test_more_flagged_submissions_than_slots_never_passes_the_deadline(
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:  # type: ignore[no-untyped-def]
    # One slot a day, one desk and one overflow desk: 5 working days hold 5 regular + 5 overflow bookings.
    hours = "\n".join(f'{day} = ["09:00-09:15"]' for day in ("monday", "tuesday", "wednesday", "thursday", "friday"))
    extra = (
        f"[appointments]\ndesks = 1\nclarification_reserved_desks = 0\noverflow_desks = 1\n"
        f'[appointments.hours]\n{hours}\n[alerts]\nops_address = "ops@example.ro"\n'
    )
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, extra)
    received = datetime(2027, 2, 1, 8, 0, tzinfo=BUCHAREST)  # Monday before opening; no holidays that fortnight
    for index in range(12):
        message = mailfactory.good_submission(sender=f"p{index}@example.ro", body=NO_CONSENT)
        dovecot.append(message.as_bytes(), internaldate=received + timedelta(minutes=index))
    intake.poll(now=(received + timedelta(hours=1)).isoformat())
    submissions = intake.json("submissions")
    booked = [s for s in submissions if s["appointment"]]
    assert len(booked) == 10
    assert sum(1 for s in booked if s["appointment"]["overflow"]) == 5
    for s in booked:
        assert _local(s["appointment"]["start"]).date() <= date(2027, 2, 8)
    unbooked = [s for s in submissions if not s["appointment"]]
    assert len(unbooked) == 2
    assert all("appointment_unavailable" in {f["code"] for f in s["findings"]} for s in unbooked)
    alerts = [r for r in replies(smtp_sink.messages) if r.recipient == "ops@example.ro"]
    assert alerts, "ops must be alerted"
    status = intake.json("status")
    assert status["alerts"]


def test_follow_up_with_consent_completes_the_case(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    received = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)
    first = mailfactory.submission(
        subject="Înregistrare ca persoană în căutarea unui loc de muncă",
        body=NO_CONSENT,
        attachments=[("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg")],
    )
    dovecot.append(first.as_bytes(), internaldate=received)
    intake.poll(now=(received + timedelta(minutes=5)).isoformat())
    first_replies = replies(smtp_sink.wait_for(2))
    (receipt,) = [r for r in first_replies if r.is_receipt]
    (acknowledgement,) = [r for r in first_replies if not r.is_receipt]
    assert "/dosar/" in acknowledgement.message.get_body(("plain",)).get_content()
    (case,) = intake.json("submissions")
    assert case["appointment"]["purpose"] == "clarification"

    follow_up = mailfactory.submission(
        subject=f"Re: {receipt.subject}",
        body=f"{mailfactory.CONSENT}\n\n> mesajul anterior",
        extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
    )
    smtp_sink.clear()
    dovecot.append(follow_up.as_bytes(), internaldate=received + timedelta(hours=2))
    intake.poll(now=(received + timedelta(hours=2, minutes=5)).isoformat())
    submissions = {s["number"]: s for s in intake.json("submissions")}
    assert submissions[2]["case"] == submissions[1]["case"] == submissions[1]["registration_number"]
    root = submissions[1]
    assert root["consent"] is True
    assert "consent_missing" not in {f["code"] for f in root["findings"]}
    second = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    assert len(second) == 1 and "2/" in second[0].subject

    # Issue 13 §4: every reply of the case carries the one link to its status page, in the text and the HTML part,
    # and the link works on the real database (the follow-up's too: it names the case, not the message).
    link = _status_link(receipt)
    assert _status_link(second[0]) == link
    # `show --json` gives staff and scripts the same link, for the first message and for its follow-up.
    assert submissions[1]["status_url"] == submissions[2]["status_url"] == f"https://intake.test{link}"
    page = _status_page(intake, link, received + timedelta(hours=3))
    assert page.status_code == 200
    assert "Dosarul nr. 1/01.02.2027" in page.text and "înregistrat cu nr. 2/01.02.2027" in page.text
    assert "Răspuns trimis: recipisă" in page.text and "Răspuns trimis: confirmare de primire" in page.text
    assert "acordul dumneavoastră privind derularea" not in page.text  # the consent came with the follow-up
    assert "Ce mai este de clarificat" in page.text and "@example" not in page.text  # no address on the page
    assert _status_page(intake, link, received + timedelta(days=400)).status_code == 410  # ended with the case


def _status_link(reply) -> str:  # type: ignore[no-untyped-def]
    import re

    plain = reply.message.get_body(("plain",)).get_content()
    html = reply.message.get_body(("html",)).get_content()
    found = re.search(r"https://intake\.test(/dosar/[\w-]+)", plain)
    assert found, plain
    assert f'<a href="https://intake.test{found.group(1)}">' in html
    return found.group(1)


def _status_page(intake: Intake, path: str, now: datetime):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from intake.clock import Clock
    from intake.runtime import Runtime
    from intake.settings import load_settings
    from intake.web.app import create_app

    rt = Runtime.from_settings(load_settings(intake.workdir / "intake.toml"), Clock(now))
    return TestClient(create_app(rt)).get(path)


def test_link_reschedules_reminds_and_cancels(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    import re

    from fastapi.testclient import TestClient

    from intake.appointments.tokens import make_token
    from intake.clock import Clock
    from intake.runtime import Runtime
    from intake.settings import load_settings
    from intake.web.app import create_app

    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    received = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)  # Monday
    dovecot.append(mailfactory.good_submission(body=NO_CONSENT).as_bytes(), internaldate=received)
    intake.poll(now=(received + timedelta(minutes=5)).isoformat())
    (submission,) = intake.json("submissions")
    # The next working day, from its afternoon (minimum notice): never 08:30 the morning after.
    assert _local(submission["appointment"]["start"]) == datetime(2027, 2, 2, 12, 0, tzinfo=BUCHAREST)
    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    body = receipt.message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/programare/([\w.~-]+)", body)
    assert link, body
    token = link.group(1)

    settings = load_settings(intake.workdir / "intake.toml")
    rt = Runtime.from_settings(settings, Clock(received + timedelta(hours=1)))
    web = TestClient(create_app(rt))
    page = web.get(f"/programare/{token}")
    assert page.status_code == 200 and "Alegeți altă oră" in page.text
    assert web.get(f"/programare/{token[:-3]}abc").status_code == 404  # tampered
    expired = make_token(1, 0, received - timedelta(days=1), rt.link_secret)
    assert web.get(f"/programare/{expired}").status_code == 410

    thursday = datetime(2027, 2, 4, 10, 0, tzinfo=BUCHAREST)
    assert thursday.isoformat() in page.text
    moved = web.post(f"/programare/{token}/muta", data={"start": thursday.isoformat()}, follow_redirects=False)
    assert moved.status_code == 303
    assert web.get(f"/programare/{token}").status_code == 410  # the old link died with the old time
    new_token = moved.headers["location"].split("/programare/")[1].split("?")[0]

    smtp_sink.clear()
    intake.poll(now=datetime(2027, 2, 3, 15, 0, tzinfo=BUCHAREST).isoformat())  # Wednesday, the day before
    sent = replies(smtp_sink.wait_for(2))
    subjects = sorted(r.subject for r in sent)
    assert any("Reamintire" in s for s in subjects), subjects
    update = next(r for r in sent if "Reamintire" not in r.subject)
    assert _status_link(update) == _status_link(next(r for r in sent if "Reamintire" in r.subject))  # issue 13 §4
    event = next(c for c in _invite(update).walk() if c.name == "VEVENT")
    assert int(event["SEQUENCE"]) == 1 and event["DTSTART"].dt == thursday
    (shown,) = intake.json("submissions")
    assert _local(shown["appointment"]["start"]) == thursday and shown["appointment"]["reminder_sent"]

    smtp_sink.clear()
    intake.poll(now=datetime(2027, 2, 3, 15, 30, tzinfo=BUCHAREST).isoformat())
    assert smtp_sink.messages == []  # the reminder goes once

    cancelled = web.post(f"/programare/{new_token}/anuleaza")
    assert cancelled.status_code == 200
    intake.poll(now=datetime(2027, 2, 3, 16, 0, tzinfo=BUCHAREST).isoformat())
    (notice,) = replies(smtp_sink.wait_for(1))
    assert _invite(notice)["METHOD"] == "CANCEL"
    assert intake.json("submissions")[0]["appointment"] is None
