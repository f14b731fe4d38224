"""Issue 10, points 12-14: spoofed senders, through the real pipeline (Dovecot → intake poll --once → SMTP sink).

The From of an e-mail is not authenticated. The agency's MX writes what it found (SPF, DKIM, DMARC) into an
Authentication-Results header with its authserv-id (`imap.authserv_id`); intake believes only the topmost of those.
Each test builds the attack as an attacker would and asserts that it held.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from intake.receipts.compose import carries_token, make_message_id
from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import SECRET_KEY, Intake, intake_for
from tests.integration.receipts import Reply, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
MONDAY = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)
OURS = "mx.anofm.gov.ro"
VICTIM = "ion.popescu@victim.test"
NO_CONSENT = "Bună ziua,\n\nVă trimit documentele pentru dosar.\n\nIon Popescu\n"
ID_CARD = [("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg")]
DMARC_FAIL = f"{OURS}; spf=fail smtp.mailfrom=victim.test; dkim=none; dmarc=fail (p=REJECT) header.from=victim.test"


def _intake(tmp_path: Path, dovecot, smtp_sink, signing_key, **env: str) -> Intake:  # type: ignore[no-untyped-def]
    intake = intake_for(
        tmp_path / "intake", dovecot=dovecot, smtp_sink=smtp_sink, pkcs12=signing_key[0], password=KEY_PASSWORD
    )
    intake.env.update({"INTAKE_IMAP__AUTHSERV_ID": OURS, "INTAKE_ALERTS__OPS_ADDRESS": "ops@anofm.gov.ro", **env})
    return intake


def _raw(message: EmailMessage, *authentication_results: str) -> bytes:
    """The message as our MX hands it to Dovecot: its Authentication-Results (and Received) prepended on top, in
    the order given; whatever the sender wrote stays below."""
    trace = b"".join(f"Authentication-Results: {value}\n".encode() for value in authentication_results)
    if authentication_results:
        trace += f"Received: from sender.example by {OURS} with ESMTPS; Mon, 1 Feb 2027 10:00:00 +0200\n".encode()
    return trace + message.as_bytes()


def _deliver(dovecot, raw: bytes, at: datetime) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(raw, internaldate=at)


def _by_number(intake: Intake) -> dict[int, dict]:  # type: ignore[type-arg]
    return {s["number"]: s for s in intake.json("submissions") if s["number"] is not None}


def _codes(submission: dict) -> set[str]:  # type: ignore[type-arg]
    return {finding["code"] for finding in submission["findings"]}


def _start_victim_case(intake: Intake, dovecot, smtp_sink) -> tuple[dict, Reply]:  # type: ignore[no-untyped-def,type-arg]
    """The victim's genuine first message, with no consent: a clarification visit is booked."""
    first = mailfactory.submission(sender=VICTIM, body=NO_CONSENT, attachments=ID_CARD)
    _deliver(dovecot, _raw(first), MONDAY)
    intake.poll(now=(MONDAY + timedelta(minutes=5)).isoformat())
    (receipt,) = [r for r in replies(smtp_sink.messages) if r.is_receipt]
    (victim,) = intake.json("submissions")
    assert victim["appointment"]["purpose"] == "clarification" and "consent_missing" in _codes(victim)
    smtp_sink.clear()
    return victim, receipt


# --- point 12: joining another person's case ------------------------------------------------------------------


def test_spoofed_follow_ups_are_linked_for_staff_and_an_authenticated_one_joins(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    victim, receipt = _start_victim_case(intake, dovecot, smtp_sink)
    number = victim["registration_number"]

    # (a) From: the victim, consent, and the case named by its sequential number, or by the Message-ID intake used
    # to write (`<intake.cj.{id}.receipt@…>`); no Authentication-Results of ours ("none").
    by_subject = mailfactory.submission(sender=VICTIM, subject=f"Re: Recipisa nr. {number}", body=mailfactory.CONSENT)
    guessed = mailfactory.submission(
        sender=VICTIM.upper(),
        subject="Completare",
        body=mailfactory.CONSENT,
        extra_headers={"In-Reply-To": f"<intake.cj.{victim['id']}.receipt@anofm.gov.ro>"},
    )
    # (c) A forged header with our authserv-id saying "pass", below the real one our MX wrote ("fail").
    forged_below = mailfactory.submission(sender=VICTIM, subject=f"Re: Recipisa nr. {number}", body=mailfactory.CONSENT)
    forged_raw = _raw(forged_below, DMARC_FAIL).replace(
        b"\nFrom:",
        f"\nAuthentication-Results: {OURS}; dkim=pass header.d=victim.test; dmarc=pass header.from=victim.test"
        "\nFrom:".encode(),
        1,
    )
    for offset, raw in enumerate((_raw(by_subject), _raw(guessed), forged_raw)):
        _deliver(dovecot, raw, MONDAY + timedelta(hours=2, minutes=offset))
    intake.poll(now=(MONDAY + timedelta(hours=2, minutes=10)).isoformat())

    submissions = _by_number(intake)
    case = submissions[1]
    assert case["consent"] is not True and "consent_missing" in _codes(case), "the victim's case is unchanged"
    assert case["appointment"] == victim["appointment"], "the victim's visit did not move"
    for spoofed in (submissions[2], submissions[3], submissions[4]):
        assert spoofed["case"] == spoofed["registration_number"], "a submission of its own"
        assert spoofed["related_case"] == number
        related = [f for f in spoofed["findings"] if f["code"] == "possibly_related"]
        assert related and related[0]["staff_only"] and number in related[0]["message"]
    assert submissions[2]["authentication"] == submissions[3]["authentication"] == "none"
    assert submissions[4]["authentication"] == "fail", "the forged 'pass' below our real header is not believed"

    # (b) The same follow-up, DKIM-signed by the victim's domain as our MX recorded: it joins and changes the case.
    smtp_sink.clear()
    genuine = mailfactory.submission(sender=VICTIM, subject=f"Re: Recipisa nr. {number}", body=mailfactory.CONSENT)
    raw = _raw(genuine, f"{OURS}; spf=pass smtp.mailfrom=victim.test; dkim=pass (good) header.d=victim.test")
    _deliver(dovecot, raw, MONDAY + timedelta(hours=3))
    intake.poll(now=(MONDAY + timedelta(hours=3, minutes=5)).isoformat())
    submissions = _by_number(intake)
    assert submissions[5]["authentication"] == "pass" and submissions[5]["case"] == number
    assert submissions[1]["consent"] is True and "consent_missing" not in _codes(submissions[1])

    # (b') Without any authentication, quoting the unguessable Message-ID of our recipisă also joins.
    assert carries_token(str(receipt.message["Message-ID"]))


def test_quoting_our_receipt_message_id_joins_without_authentication(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    victim, receipt = _start_victim_case(intake, dovecot, smtp_sink)
    reply = mailfactory.submission(
        sender=VICTIM,
        subject=f"Re: {receipt.subject}",
        body=mailfactory.CONSENT,
        extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
    )
    _deliver(dovecot, _raw(reply), MONDAY + timedelta(hours=2))
    intake.poll(now=(MONDAY + timedelta(hours=2, minutes=5)).isoformat())
    submissions = _by_number(intake)
    assert submissions[2]["authentication"] == "none" and submissions[2]["case"] == victim["registration_number"]
    assert submissions[1]["consent"] is True


# --- point 13: the agency as a spam relay ----------------------------------------------------------------------


def test_dmarc_fail_is_registered_but_nothing_is_sent_and_staff_see_why(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    spam = mailfactory.submission(
        sender="someone@victim.test",
        subject="Oferta speciala http://spam.example",
        body=NO_CONSENT,
        attachments=[("click-aici.pdf", mailfactory.pdf_document(), "application/pdf")],
    )
    _deliver(dovecot, _raw(spam, DMARC_FAIL), MONDAY)
    intake.poll(now=(MONDAY + timedelta(minutes=5)).isoformat())

    assert smtp_sink.messages == [], "no acknowledgement, no recipisă, no invite, to anyone"
    (registered,) = intake.json("submissions")
    assert registered["number"] == 1 and registered["state"] == "receipted"
    assert registered["authentication"] == "fail"
    assert registered["appointment"] is None, "a forged sender books no visit"
    (why,) = [f for f in registered["findings"] if f["code"] == "sender_unauthenticated"]
    assert why["staff_only"] and why["message"].startswith("Expeditor neautentificat (DMARC eșuat)")
    assert "nu s-a trimis niciun răspuns" in why["message"]
    assert "authentication" in (registered["screening"] or "")


def test_the_reply_cap_counts_every_spelling_of_one_address(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(
        tmp_path,
        dovecot,
        smtp_sink,
        signing_key,
        INTAKE_LIMITS__REPLY_CAP_PER_SENDER="2",
        INTAKE_REPLIES__ACKNOWLEDGEMENT="false",
    )
    spellings = ["cap@victim.test", "CAP@victim.test", "cAp@Victim.TEST", "cap+1@victim.test"]
    for offset, sender in enumerate(spellings):
        message = mailfactory.submission(sender=sender, body=NO_CONSENT, attachments=ID_CARD)
        _deliver(dovecot, _raw(message), MONDAY + timedelta(minutes=offset))
    intake.poll(now=(MONDAY + timedelta(minutes=10)).isoformat())

    assert len([r for r in replies(smtp_sink.messages) if r.is_receipt]) == 2, "the cap holds across spellings"
    submissions = _by_number(intake)
    assert [bool(submissions[n]["appointment"]) for n in (1, 2, 3, 4)] == [True, True, False, False]
    for capped in (submissions[3], submissions[4]):
        assert "reply cap reached" in capped["screening"]
        assert any(f["code"] == "appointment_held" and f["staff_only"] for f in capped["findings"])


# --- point 14: appointment slots exhausted by forged mail --------------------------------------------------------


def test_forged_mail_books_nothing_and_the_hourly_ceiling_holds_the_rest(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, INTAKE_APPOINTMENTS__MAX_AUTOMATIC_PER_HOUR="2")
    at = MONDAY
    for n in range(6):  # a flood of forged mail: DMARC fails, nothing is booked (nor counted)
        forged = mailfactory.submission(sender=f"victim{n}@victim.test", body=NO_CONSENT, attachments=ID_CARD)
        _deliver(dovecot, _raw(forged, DMARC_FAIL), at + timedelta(minutes=n))
    for n in range(3):  # then unauthenticated ("none") mail, from three addresses: two book, the third waits
        unknown = mailfactory.submission(sender=f"citizen{n}@example.ro", body=NO_CONSENT, attachments=ID_CARD)
        _deliver(dovecot, _raw(unknown), at + timedelta(minutes=10 + n))
    intake.poll(now=(at + timedelta(minutes=20)).isoformat())

    submissions = _by_number(intake)
    assert all(submissions[n]["appointment"] is None for n in range(1, 7)), "forged senders book nothing"
    assert submissions[7]["appointment"] and submissions[8]["appointment"]
    held = submissions[9]
    assert held["appointment"] is None and held["authentication"] == "none"
    assert any(f["code"] == "appointment_held" and f["staff_only"] for f in held["findings"])
    alerts = intake.json("status")["alerts"]
    assert [a["kind"] for a in alerts] == ["booking_ceiling"]
    assert any(
        r.recipient == "ops@anofm.gov.ro" and "booking_ceiling" in r.subject for r in replies(smtp_sink.messages)
    )
    (told,) = [r for r in replies(smtp_sink.messages) if r.is_receipt and r.recipient == "citizen2@example.ro"]
    assert "vă va contacta" in told.message.get_body(("plain",)).get_content()

    # The genuine citizen an hour later is booked within the legal deadline; the incident closes.
    smtp_sink.clear()
    later = at + timedelta(hours=1, minutes=30)
    genuine = mailfactory.submission(sender="maria@example.ro", body=NO_CONSENT, attachments=ID_CARD)
    _deliver(dovecot, _raw(genuine), later)
    intake.poll(now=(later + timedelta(minutes=5)).isoformat())
    booked = _by_number(intake)[10]["appointment"]
    assert booked["purpose"] == "clarification"
    assert datetime.fromisoformat(booked["start"]).date().isoformat() <= booked["deadline"]
    assert intake.json("status")["alerts"] == []


# --- point 12: our Message-IDs ---------------------------------------------------------------------------------


def test_our_message_ids_are_unguessable_and_stable_across_a_crash(  # type: ignore[no-untyped-def]
    tmp_path, dovecot, smtp_sink, signing_key
) -> None:
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key)
    _deliver(dovecot, _raw(mailfactory.good_submission(sender=VICTIM)), MONDAY)
    intake.crash("before-receipt", "poll", "--once", "--now", (MONDAY + timedelta(minutes=5)).isoformat())
    intake.poll(now=(MONDAY + timedelta(minutes=6)).isoformat())

    (submission,) = intake.json("submissions")
    sent = {r.message["Message-ID"]: r for r in replies(smtp_sink.messages)}
    assert len(sent) == 2, "one acknowledgement and one recipisă, each sent once"
    secret = SECRET_KEY  # web.secret_key, which the harness sets (what `intake run` requires)
    for kind in ("ack", "receipt"):
        expected = make_message_id(kind, "CJ", submission["id"], "cluj@anofm.gov.ro", secret=secret)
        assert expected in sent, "derived from the submission under our secret: the same after the crash"
        assert carries_token(expected)
        assert f".{submission['id']}." not in expected and f".{submission['number']}." not in expected
        assert expected != make_message_id(kind, "CJ", submission["id"], "cluj@anofm.gov.ro", secret="guess")
