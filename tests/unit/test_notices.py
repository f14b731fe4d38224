"""What the beneficiary reads about the appointment: Romanian dates and times in office time, and the
update e-mails (reminder, change, cancellation) with the calendar invite attached twice."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from intake.appointments.ics import build_invite
from intake.appointments.notices import (
    AppointmentNotice,
    Previous,
    appointment_paragraph,
    attach_invite,
    build_appointment_update,
    day_in_words,
    invite_data,
    no_slot_paragraph,
    pending_paragraph,
)
from intake.receipts.compose import Correspondent

BUCHAREST = ZoneInfo("Europe/Bucharest")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
REGISTRATION = "12/23.11.2026"
URL = "https://programari.ajofm-cluj.ro/programare/AbC-123_x"
WHO = Correspondent(
    from_address="registratura@ajofm-cluj.ro",
    from_name="Registratura AJOFM Cluj",
    to_address="ion.popescu@example.com",
    timezone="Europe/Bucharest",
)
REASONS = (
    "Lipsește adeverința de venit (formularul tipizat).",
    "Copia actului de identitate nu este lizibilă (buletin.jpg).",
)


def notice(**changes: object) -> AppointmentNotice:
    base = AppointmentNotice(
        purpose="clarification",
        start=datetime(2026, 11, 26, 10, 0, tzinfo=BUCHAREST),
        end=datetime(2026, 11, 26, 10, 15, tzinfo=BUCHAREST),
        office_name="AJOFM Cluj",
        office_address="str. Călărașilor nr. 1, Cluj-Napoca",
        timezone="Europe/Bucharest",
        reasons=REASONS,
        deadline=date(2026, 11, 27),
        manage_url=URL,
        manage_until=datetime(2026, 11, 26, 8, 0, tzinfo=BUCHAREST),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- dates in words -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 11, 26), "joi, 26 noiembrie 2026"),
        (date(2026, 11, 30), "luni, 30 noiembrie 2026"),
        (date(2026, 12, 1), "marți, 1 decembrie 2026"),
        (date(2027, 1, 6), "miercuri, 6 ianuarie 2027"),
        (date(2027, 2, 26), "vineri, 26 februarie 2027"),
        (date(2027, 5, 1), "sâmbătă, 1 mai 2027"),
        (date(2027, 5, 2), "duminică, 2 mai 2027"),
        (date(2027, 3, 15), "luni, 15 martie 2027"),
        (date(2027, 4, 13), "marți, 13 aprilie 2027"),
        (date(2027, 6, 21), "luni, 21 iunie 2027"),
        (date(2027, 7, 9), "vineri, 9 iulie 2027"),
        (date(2027, 8, 16), "luni, 16 august 2027"),
        (date(2027, 9, 1), "miercuri, 1 septembrie 2027"),
        (date(2027, 10, 14), "joi, 14 octombrie 2027"),
    ],
)
def test_day_in_words(day: date, words: str) -> None:
    assert day_in_words(day) == words


# --- the paragraph ----------------------------------------------------------------------------------------------


def test_clarification_paragraph_in_full() -> None:
    assert appointment_paragraph(notice()) == (
        "Vă rugăm să vă prezentați la AJOFM Cluj, str. Călărașilor nr. 1, Cluj-Napoca, în data de "
        "joi, 26 noiembrie 2026, la ora 10:00 (ora României), pentru clarificarea dosarului.\n"
        "\n"
        "Motivul programării (ce trebuie lămurit sau completat):\n"
        "  - Lipsește adeverința de venit (formularul tipizat).\n"
        "  - Copia actului de identitate nu este lizibilă (buletin.jpg).\n"
        "\n"
        "Aduceți actul de identitate în original și documentele menționate mai sus, completate sau corectate, "
        "în original.\n"
        "\n"
        "Conform procedurii de comunicare electronică a AJOFM Cluj (programarea prealabilă), clarificarea are loc "
        "cel târziu în 5 zile lucrătoare de la primirea documentelor în format electronic, adică cel târziu vineri, "
        "27 noiembrie 2026.\n"
        "\n"
        "Ora a fost aleasă automat, la primul loc liber. Dacă nu vă convine sau nu puteți ajunge, puteți alege altă "
        "oră liberă sau anula programarea aici:\n"
        f"{URL}\n"
        "Linkul este valabil până joi, 26 noiembrie 2026, la ora 08:00 (ora României).\n"
        "Noua programare trebuie să fie cel târziu vineri, 27 noiembrie 2026, pentru respectarea termenului legal."
    )


@pytest.mark.parametrize(
    ("start", "shown"),
    [
        (datetime(2026, 7, 9, 7, 0, tzinfo=UTC), "joi, 9 iulie 2026, la ora 10:00 (ora României)"),  # EEST +03:00
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "joi, 26 noiembrie 2026, la ora 10:00 (ora României)"),  # EET +02:00
        (datetime(2027, 3, 29, 6, 30, tzinfo=UTC), "luni, 29 martie 2027, la ora 09:30 (ora României)"),  # after switch
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), "vineri, 1 ianuarie 2027, la ora 00:30 (ora României)"),
    ],
)
def test_times_are_shown_in_bucharest_whatever_zone_they_come_in(start: datetime, shown: str) -> None:
    text = appointment_paragraph(notice(start=start, end=start + timedelta(minutes=15)))
    assert f"în data de {shown}, pentru" in text


def test_decision_paragraph() -> None:
    text = appointment_paragraph(notice(purpose="decision", reasons=(), deadline=None))

    assert text.startswith("Vă rugăm să vă prezentați la AJOFM Cluj, str. Călărașilor nr. 1, Cluj-Napoca, ")
    assert (
        "la ora 10:00 (ora României), pentru verificarea identității și înmânarea deciziei privind soluționarea "
        in text
    )
    assert "Aduceți actul de identitate în original; decizia vă va fi înmânată personal." in text
    assert "5 zile lucrătoare" not in text
    assert "Motivul programării" not in text
    assert "Noua programare trebuie să fie cel târziu" not in text
    assert URL in text


def test_clarification_without_link() -> None:
    text = appointment_paragraph(notice(manage_url=None, manage_until=None))

    assert "http" not in text
    assert "Linkul" not in text
    assert text.endswith("adică cel târziu vineri, 27 noiembrie 2026.")


def test_link_without_known_expiry() -> None:
    text = appointment_paragraph(notice(manage_until=None))
    assert f"anula programarea aici:\n{URL}\nNoua programare" in text


def test_link_stands_alone_on_its_line() -> None:
    lines = appointment_paragraph(notice()).splitlines()
    assert URL in lines


def test_overflow_is_said_plainly() -> None:
    text = appointment_paragraph(notice(overflow=True))
    assert "interval suplimentar" in text
    assert "termenul legal" in text
    assert "interval suplimentar" not in appointment_paragraph(notice())


def test_no_romanian_letter_is_written_with_a_cedilla() -> None:
    # ș and ț take the comma below (U+0219, U+021B); the cedilla forms are a different, wrong letter.
    text = appointment_paragraph(notice()) + no_slot_paragraph(date(2026, 11, 27), "AJOFM Cluj")
    assert not set("şţŞŢ") & set(text)
    assert {"ș", "ț", "ă", "â", "î"} <= set(text)


def test_no_slot_paragraph() -> None:
    assert no_slot_paragraph(date(2026, 11, 27), "AJOFM Cluj") == (
        "Nu am putut stabili automat o programare în termenul legal (cel târziu vineri, 27 noiembrie 2026). "
        "Un funcționar al AJOFM Cluj vă va contacta în cel mai scurt timp, prin e-mail sau telefonic, pentru a stabili "
        "împreună ziua și ora la care să vă prezentați."
    )
    assert no_slot_paragraph(None, "AJOFM Cluj").startswith(
        "Nu am putut stabili automat o programare. Un funcționar al"
    )


def test_refuses_naive_times_and_unknown_purpose() -> None:
    with pytest.raises(ValueError):
        appointment_paragraph(notice(start=datetime(2026, 11, 26, 10), end=datetime(2026, 11, 26, 10, 15)))
    with pytest.raises(ValueError):
        appointment_paragraph(notice(purpose="interview"))


# --- the update e-mails -----------------------------------------------------------------------------------------


def invite(sequence: int = 1, method: str = "REQUEST", the_notice: AppointmentNotice | None = None) -> bytes:
    data = invite_data(
        the_notice or notice(), WHO, uid="appointment-7@ajofm-cluj.ro", sequence=sequence, registration=REGISTRATION
    )
    return build_invite(data, method=method, stamp=NOW)


def update(kind: str, **kwargs: object) -> EmailMessage:
    method = "CANCEL" if kind in ("cancelled", "verification") else "REQUEST"
    arguments: dict[str, object] = {
        "notice": notice(),
        "invite": invite(method=method),
        "kind": kind,
        "registration": REGISTRATION,
        "message_id": f"<intake.cj.7.{kind}@ajofm-cluj.ro>",
        "now": NOW,
        "in_reply_to": "<intake.cj.7.receipt@ajofm-cluj.ro>",
        "references": ("<original@example.com>", "<intake.cj.7.receipt@ajofm-cluj.ro>"),
    }
    arguments.update(kwargs)
    built = build_appointment_update(WHO, **arguments)  # type: ignore[arg-type]
    # Read back what would go on the wire, as a mail client would.
    return email.message_from_bytes(built.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_reminder_subject_and_headers() -> None:
    message = update("reminder")

    assert message["Subject"] == "Reamintire programare – nr. 12/23.11.2026"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Message-ID"] == "<intake.cj.7.reminder@ajofm-cluj.ro>"
    assert message["In-Reply-To"] == "<intake.cj.7.receipt@ajofm-cluj.ro>"
    assert message["References"] == "<original@example.com> <intake.cj.7.receipt@ajofm-cluj.ro>"
    assert message["To"] == "ion.popescu@example.com"
    assert message["Date"].datetime == NOW


def test_subjects_of_change_and_cancellation() -> None:
    assert update("rescheduled")["Subject"] == "Programare modificată – nr. 12/23.11.2026"
    assert update("cancelled")["Subject"] == "Programare anulată – nr. 12/23.11.2026"


def test_structure_text_html_calendar_and_attachment() -> None:
    message = update("reminder")

    assert parts(message) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    calendar_part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    attachment = next(part for part in message.walk() if part.get_content_type() == "application/ics")
    assert attachment.get_filename() == "programare.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert calendar_part.get_payload(decode=True) == attachment.get_payload(decode=True) == invite()


def test_diacritics_survive_in_text_html_and_invite() -> None:
    message = update("reminder")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    calendar_part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    event = Calendar.from_ical(calendar_part.get_payload(decode=True)).walk("VEVENT")[0]

    assert "Vă reamintim programarea dumneavoastră la AJOFM Cluj, pentru dosarul cu numărul 12/23.11.2026." in text
    assert "în data de joi, 26 noiembrie 2026, la ora 10:00 (ora României)" in text
    assert "Lipsește adeverința de venit" in text
    assert "Lipsește adeverința de venit" in html
    assert "Călărașilor" in str(event["LOCATION"])
    assert "clarificarea dosarului nr. 12/23.11.2026" in str(event["SUMMARY"])


def test_html_is_escaped() -> None:
    hostile = notice(reasons=("Fișierul <script>alert(1)</script>&.pdf nu poate fi citit.",))
    message = update("reminder", notice=hostile, invite=invite(the_notice=hostile))
    html = message.get_body(("html",)).get_content()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;.pdf" in html


def test_rescheduled_carries_the_new_time_and_a_higher_sequence() -> None:
    moved = notice(
        start=datetime(2026, 11, 27, 9, 30, tzinfo=BUCHAREST), end=datetime(2026, 11, 27, 9, 45, tzinfo=BUCHAREST)
    )
    message = update("rescheduled", notice=moved, invite=invite(sequence=2, the_notice=moved))
    text = message.get_body(("plain",)).get_content()
    calendar_part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    event = Calendar.from_ical(calendar_part.get_payload(decode=True)).walk("VEVENT")[0]

    assert "a fost modificată. Noua programare:" in text
    assert "în data de vineri, 27 noiembrie 2026, la ora 09:30 (ora României)" in text
    assert "înlocuiește invitația trimisă anterior" in text
    assert event["SEQUENCE"] == 2
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)


def test_cancelled_names_the_old_time_and_carries_a_cancel() -> None:
    message = update("cancelled", invite=invite(sequence=2, method="CANCEL"))
    text = message.get_body(("plain",)).get_content()
    calendar_part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")

    assert calendar_part.get_param("method") == "CANCEL"
    assert (
        "Programarea dumneavoastră din joi, 26 noiembrie 2026, la ora 10:00 (ora României), la AJOFM Cluj, "
        "pentru dosarul cu numărul 12/23.11.2026, a fost anulată." in text
    )
    assert "Vă rugăm să vă prezentați" not in text
    assert URL not in text


def test_invite_method_must_match_the_kind() -> None:
    with pytest.raises(ValueError):
        update("cancelled", invite=invite(method="REQUEST"))
    with pytest.raises(ValueError):
        update("reminder", invite=invite(method="CANCEL"))
    with pytest.raises(ValueError):
        update("postponed")


def test_threading_without_in_reply_to_uses_the_last_reference() -> None:
    message = update("reminder", in_reply_to=None, references=("<a@x>", "<b@x>"))
    assert message["In-Reply-To"] == "<b@x>"
    assert message["References"] == "<a@x> <b@x>"


def test_unthreaded_update() -> None:
    message = update("reminder", in_reply_to=None, references=())
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_attach_invite_to_a_receipt_like_message() -> None:
    # The recipisă reply: text + HTML alternative, then the PDF; the invite joins the alternative.
    message = EmailMessage()
    message.set_content("Recipisă nr. 12/23.11.2026")
    message.add_alternative("<p>Recipisă</p>", subtype="html")
    message.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="recipisa-12-2026.pdf")
    attach_invite(message, invite(), "REQUEST")

    assert parts(message) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/pdf",
        "application/ics",
    ]


def test_attach_invite_to_plain_text_message() -> None:
    message = EmailMessage()
    message.set_content("Bună ziua")
    attach_invite(message, invite(), "REQUEST")
    assert parts(message) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/calendar",
        "application/ics",
    ]


def test_invite_texts_follow_the_notice() -> None:
    data = invite_data(
        notice(purpose="decision", reasons=(), deadline=None), WHO, uid="u", sequence=0, registration=REGISTRATION
    )

    assert data.summary == (
        "Programare la AJOFM Cluj: verificarea identității și înmânarea deciziei (dosarul nr. 12/23.11.2026)"
    )
    assert data.location == "AJOFM Cluj, str. Călărașilor nr. 1, Cluj-Napoca"
    assert data.organizer_email == "registratura@ajofm-cluj.ro"
    assert data.attendee_email == "ion.popescu@example.com"
    assert data.alarm_text == "Mâine: programare la AJOFM Cluj, la ora 10:00 (ora României)."
    assert data.description == appointment_paragraph(notice(purpose="decision", reasons=(), deadline=None))


# --- who comes, and what for (issue 9 point 9) -------------------------------------------------------------------


def decision_notice(**changes: object) -> AppointmentNotice:
    return notice(purpose="decision", reasons=(), deadline=None, **changes)


def test_a_request_that_ends_without_a_decision_promises_none() -> None:
    named = appointment_paragraph(
        decision_notice(decision=False, request_name="înregistrarea ca persoană în căutarea unui loc de muncă")
    )
    assert (
        "pentru verificarea identității și finalizarea cererii privind înregistrarea ca persoană în căutarea unui "
        "loc de muncă." in named
    )
    assert "Aduceți actul de identitate în original." in named
    assert "decizi" not in named
    assert "decizi" not in appointment_paragraph(decision_notice(decision=False))
    data = invite_data(decision_notice(decision=False), WHO, uid="u", sequence=0, registration=REGISTRATION)
    assert "decizi" not in str(data.summary) + data.description
    # Control: a benefit request ends with its decision, handed over at the visit.
    assert "înmânarea deciziei" in appointment_paragraph(decision_notice())


def test_an_employer_is_addressed_through_its_representative_or_proxy() -> None:
    text = appointment_paragraph(decision_notice(applicant="legal_person"))
    assert text.startswith(
        "Vă rugăm ca reprezentantul legal al angajatorului sau un împuternicit al acestuia să se prezinte la AJOFM "
        "Cluj, str. Călărașilor nr. 1, Cluj-Napoca, în data de joi, 26 noiembrie 2026, la ora 10:00 (ora României), "
        "pentru verificarea identității și a calității de reprezentant și înmânarea deciziei"
    )
    assert "împuternicirea" in text and "Decizia se înmânează reprezentantului legal sau împuternicitului." in text
    assert "vă va fi înmânată" not in text and "Vă rugăm să vă prezentați" not in text
    clarification = appointment_paragraph(notice(applicant="legal_person"))
    assert "reprezentantul legal al angajatorului" in clarification and "vă va fi înmânată" not in clarification
    # Control: a natural person comes in person and is handed the decision.
    assert "decizia vă va fi înmânată personal" in appointment_paragraph(decision_notice())


def test_pending_paragraph_says_the_file_is_verified_and_the_invitation_follows() -> None:
    text = pending_paragraph("AJOFM Cluj", applicant="natural_person", decision=True, request_name=None)
    assert text.startswith("Dosarul este complet și se află acum în verificare")
    assert "bazele de date ale altor instituții la care AJOFM Cluj are acces" in text
    assert "veți primi prin e-mail invitația de a vă prezenta la sediul nostru" in text
    assert "verificarea identității și înmânarea deciziei" in text
    registration = pending_paragraph(
        "AJOFM Cluj", applicant="natural_person", decision=False, request_name="înregistrarea ca șomer"
    )
    assert "decizi" not in registration and "finalizarea cererii privind înregistrarea ca șomer" in registration
    employer = pending_paragraph("AJOFM Cluj", applicant="legal_person", decision=True, request_name=None)
    assert "invitația pentru reprezentantul legal al angajatorului sau un împuternicit al acestuia" in employer
    assert not set("şţŞŢ") & set(text + registration + employer)


def test_a_late_clarification_says_the_deadline_passed_and_keeps_the_link_to_its_own_day() -> None:
    late = appointment_paragraph(
        notice(
            start=datetime(2026, 12, 2, 12, 0, tzinfo=BUCHAREST),
            end=datetime(2026, 12, 2, 12, 15, tzinfo=BUCHAREST),
        )
    )
    assert (
        "Termenul de 5 zile lucrătoare de la primirea documentelor în format electronic s-a încheiat vineri, "
        "27 noiembrie 2026; v-am programat la primul loc liber." in late
    )
    assert "Noua programare poate fi cel târziu miercuri, 2 decembrie 2026." in late
    assert "adică cel târziu" not in late
    # Control: on time, the legal basis and its last day.
    assert "adică cel târziu vineri, 27 noiembrie 2026." in appointment_paragraph(notice())


# --- the e-mails of the verification step -------------------------------------------------------------------------


def body_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def method_of(message: EmailMessage) -> str | None:
    part = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
    return None if part is None else part.get_param("method")


def test_invitation_after_the_clerk_confirmed() -> None:
    the_notice = decision_notice()
    message = update("invitation", notice=the_notice, invite=invite(sequence=0, the_notice=the_notice))
    assert message["Subject"] == "Invitație la sediul AJOFM Cluj – dosarul nr. 12/23.11.2026"
    text = body_of(message)
    assert "Am verificat dosarul cu numărul 12/23.11.2026: este complet și corect." in text
    assert "joi, 26 noiembrie 2026, la ora 10:00 (ora României)" in text
    assert "poate fi adăugată în calendarul dumneavoastră" in text
    assert "Ora a fost aleasă automat" in text and URL in text  # another slot can be chosen with the link
    assert method_of(message) == "REQUEST"


def test_clarification_replacing_the_decision_visit_says_which_and_why() -> None:
    previous = Previous("decision", datetime(2026, 11, 30, 9, 0, tzinfo=BUCHAREST))
    message = update("clarification", invite=invite(sequence=3), previous=previous)
    text = body_of(message)
    assert message["Subject"] == "Dosarul nr. 12/23.11.2026 trebuie clarificat – programare"
    assert (
        "Programarea anterioară, din luni, 30 noiembrie 2026, la ora 09:00 (ora României), pentru verificarea "
        "identității, a fost înlocuită de programarea de mai jos." in text
    )
    assert "Motivul programării" in text and REASONS[0] in text  # why: the findings
    assert "înlocuiește invitația trimisă anterior" in text
    assert method_of(message) == "REQUEST"


def test_verification_cancels_the_clarification_visit() -> None:
    previous = Previous("clarification", datetime(2026, 11, 26, 10, 0, tzinfo=BUCHAREST))
    pending = pending_paragraph("AJOFM Cluj", applicant="natural_person", decision=True, request_name=None)
    message = update(
        "verification", notice=None, invite=invite(sequence=2, method="CANCEL"), previous=previous, pending=pending
    )
    text = body_of(message)
    assert message["Subject"] == "Dosarul nr. 12/23.11.2026 este complet și se află în verificare"
    assert (
        "Programarea din joi, 26 noiembrie 2026, la ora 10:00 (ora României), pentru clarificarea dosarului, "
        "a fost anulată" in text
    )
    assert pending in text and "elimină programarea din calendarul dumneavoastră" in text
    assert method_of(message) == "CANCEL"
    # Without a visit to cancel, no invite at all.
    bare = update("verification", notice=None, invite=None, pending=pending)
    assert method_of(bare) is None and "anulată" not in body_of(bare)
    with pytest.raises(ValueError):
        update("verification", notice=None, invite=invite(method="REQUEST"), pending=pending)


def test_clarification_without_a_slot_says_why_and_that_we_will_call() -> None:
    message = update(
        "clarification",
        notice=None,
        invite=None,
        reasons=("Datele diferă de cele din evidența ANAF.",),
        pending=no_slot_paragraph(date(2026, 11, 27), "AJOFM Cluj"),
    )
    text = body_of(message)
    assert "Datele diferă de cele din evidența ANAF." in text and "vă va contacta" in text
    assert method_of(message) is None
