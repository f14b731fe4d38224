"""Issue 9, points 5, 7 and 8 through the real pipeline (Dovecot → `intake poll --once` → SMTP sink): the consent
to the e-mail procedure that is in fact a refusal, ID-card photos judged as cards and by their content, and the
content (not the name) deciding an attachment's type. Every rule has its control in the same mailbox.

All the scenarios (each from its own sender) go into one mailbox and one `poll --once`, followed by one
`submissions --json`; the one case that needs a follow-up gets it in a second poll. Every test reads its own senders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import images, mailfactory
from tests.integration.conftest import KEY_PASSWORD, sent_during
from tests.integration.harness import intake_for
from tests.integration.receipts import Reply, pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST)  # a Monday morning
NOW = (T0 + timedelta(hours=1)).isoformat()
DOCUMENTS = "Bună ziua,\n\nVă trimit cererea și actele pentru indemnizația de șomaj.\n"


Messages = dict[str, Callable[[str], EmailMessage]]  # sender: the e-mail it sends
SCENARIOS: list[Callable[[], Messages]] = []


def _scenario(messages: Callable[[], Messages]) -> Callable[[], Messages]:
    """Register the e-mails of one test for the shared mailbox."""
    SCENARIOS.append(messages)
    return messages


@dataclass
class Outcome:
    submissions: dict[str, dict[str, Any]]  # sender: its submission after the first poll (registered ones)
    mail: list[Reply]  # what the first poll sent
    follow_up_rows: list[dict[str, Any]]  # the follow-up scenario's sender after the second poll, oldest first

    def receipts(self, sender: str) -> list[Reply]:
        return [r for r in self.mail if r.is_receipt and r.recipient == sender]


FOLLOW_UP_SENDER = "razgandit@example.ro"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, module_dovecot, module_smtp_sink, signing_key) -> Outcome:  # type: ignore[no-untyped-def]
    intake = intake_for(
        tmp_path_factory.mktemp("case-media") / "intake",
        dovecot=module_dovecot,
        smtp_sink=module_smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
    )
    messages: Messages = {}
    for scenario in SCENARIOS:
        for sender, message in scenario().items():
            assert sender not in messages, f"{sender} is used by two scenarios: each needs its own sender"
            messages[sender] = message
    # One message per sender, received a minute apart in the order given.
    for index, (sender, message) in enumerate(messages.items()):
        module_dovecot.append(message(sender).as_bytes(), internaldate=T0 + timedelta(minutes=index))
    assert T0 + timedelta(minutes=len(messages)) < datetime.fromisoformat(NOW), "all received before the poll"
    mail = replies(sent_during(module_smtp_sink, lambda: intake.poll(now=NOW)))
    submissions = {s["sender"]: s for s in intake.json("submissions") if s["number"]}

    # The citizen who refused changes their mind by replying to the recipisă (test_000_step4_the_latest_email...).
    receipts = [r for r in mail if r.is_receipt and r.recipient == FOLLOW_UP_SENDER]
    if len(receipts) == 1:  # otherwise no follow-up: the test says why
        (receipt,) = receipts
        follow_up = mailfactory.submission(
            sender=FOLLOW_UP_SENDER,
            subject=f"Re: {receipt.subject}",
            body=f"{mailfactory.CONSENT}\n\n> Nu sunt de acord cu procedura prin e-mail.\n",
            extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
        )
        module_dovecot.append(follow_up.as_bytes(), internaldate=T0 + timedelta(hours=2))
        intake.poll(now=(T0 + timedelta(hours=2, minutes=5)).isoformat())
    rows = sorted(
        (s for s in intake.json("submissions") if s["sender"] == FOLLOW_UP_SENDER), key=lambda s: s["number"] or 0
    )
    return Outcome(submissions, mail, rows)


def _findings(submission: dict[str, Any], code: str) -> list[str]:
    return [f["message"] for f in submission["findings"] if f["code"] == code]


def _with_body(body: str, attachments: list[tuple[str, bytes, str]] | None = None) -> Any:
    application = [("cerere.pdf", mailfactory.pdf_document(), "application/pdf")]
    return lambda sender: mailfactory.submission(sender=sender, body=body, attachments=attachments or application)


# --------------------------------------------------------------------------------------------------
# Point 5: consent (procedure 000 step 4)

REFUSALS = ("refuz.dupa@example.ro", "refuz.inainte@example.ro")
CONSENTS = ("acord@example.ro", "nimic.impotriva@example.ro")


@_scenario
def _refusal_and_consent() -> Messages:
    return {
        # The case: agreement to data processing, then the refusal.
        "refuz.dupa@example.ro": _with_body(
            DOCUMENTS + "Sunt de acord cu prelucrarea datelor cu caracter personal.\n"
            "Nu sunt de acord cu procedura prin e-mail.\n\nIon Popescu\n"
        ),
        # The other order, no diacritics, cedilla ş, broken over lines, and our own request quoted below.
        "refuz.inainte@example.ro": _with_body(
            "Nu sunt de\nacord cu derularea procedurii prin posta electronica. Sunt de acord cu "
            "prelucrarea datelor mele personale, conform GDPR. Mulţumesc.\n\n"
            "> Vă rugăm să răspundeți cu textul: „Sunt de acord cu derularea procedurii prin e-mail.”\n"
        ),
        # Controls: plain consent; a double negative that names the procedure.
        "acord@example.ro": _with_body(DOCUMENTS + mailfactory.CONSENT + "\n"),
        "nimic.impotriva@example.ro": _with_body(
            DOCUMENTS + "Nu am nimic împotrivă ca procedura să se desfășoare prin poșta electronică.\n"
        ),
    }


def test_000_step4_refusal_of_the_email_procedure_wins_over_consent_to_data_processing(outcome: Outcome) -> None:
    submissions = outcome.submissions

    for sender in REFUSALS:
        refused = submissions[sender]
        assert refused["consent"] is False and refused["flagged"] is True, sender
        (message,) = _findings(refused, "consent_missing")
        assert message.startswith("Ați precizat în mesaj că nu sunteți de acord cu derularea procedurii"), message
        assert "(ați scris: „Nu sunt de acord”)" in message and "la sediul AJOFM Cluj" in message
        assert refused["appointment"]["purpose"] == "clarification"
    for sender in CONSENTS:
        assert submissions[sender]["consent"] is True, sender
        assert not _findings(submissions[sender], "consent_missing"), sender

    # The citizen reads it: the refusal is on the recipisă sent to them.
    for sender in REFUSALS + CONSENTS:
        assert len(outcome.receipts(sender)) == 1, sender
    (receipt,) = outcome.receipts("refuz.dupa@example.ro")
    text = " ".join(pdf_text(receipt.pdf or b"").split())
    assert "nu sunteți de acord cu derularea procedurii" in text


@_scenario
def _data_processing_only() -> Messages:
    return {
        "doar.date@example.ro": _with_body(DOCUMENTS + "Îmi dau acordul pentru prelucrarea datelor personale.\n"),
        # Control: both named in one sentence.
        "ambele@example.ro": _with_body(
            DOCUMENTS + "Sunt de acord cu prelucrarea datelor personale și cu derularea procedurii prin e-mail.\n"
        ),
    }


def test_000_step4_consent_to_data_processing_alone_is_not_consent_to_the_email_procedure(outcome: Outcome) -> None:
    submissions = outcome.submissions
    data_only = submissions["doar.date@example.ro"]
    assert data_only["consent"] is False and data_only["flagged"] is True
    (message,) = _findings(data_only, "consent_missing")
    assert "privind prelucrarea datelor cu caracter personal, dar nu și acordul" in message
    assert submissions["ambele@example.ro"]["consent"] is True
    assert not _findings(submissions["ambele@example.ro"], "consent_missing")


@_scenario
def _refusal_then_consent() -> Messages:
    return {FOLLOW_UP_SENDER: _with_body(DOCUMENTS + "Nu sunt de acord cu procedura prin e-mail.\n")}


def test_000_step4_the_latest_email_of_the_case_decides_consent(outcome: Outcome) -> None:
    """A citizen who refused may change their mind by replying (and the reverse): the case follows the latest."""
    assert len(outcome.receipts(FOLLOW_UP_SENDER)) == 1  # the recipisă the citizen replies to
    first = outcome.submissions[FOLLOW_UP_SENDER]
    assert first["consent"] is False and _findings(first, "consent_missing")

    # The reply (second poll): the sender's consent, with the earlier refusal quoted below it.
    root, reply = outcome.follow_up_rows
    assert reply["case"] == root["registration_number"]  # contract.md: the case's first number
    assert root["consent"] is True  # the refusal quoted in the reply does not count: the sender's own text does
    assert not _findings(root, "consent_missing")


# --------------------------------------------------------------------------------------------------
# Point 7: legibility (procedure 000 step 7: documents that "nu sunt lizibile")


@_scenario
def _id_card_photos() -> Messages:
    photo = images.phone_photo((1600, 1000))
    good = [
        ("buletin.jpg", images.encode(images.phone_photo((1200, 800))), "image/jpeg"),  # the 1200 × 800
        ("CI Ion Popescu.jpg", images.encode(images.phone_photo((4000, 3000))), "image/jpeg"),
        ("IMG_20261122_181502.jpg", images.encode(photo), "image/jpeg"),  # kind unknown: its shape says card
    ]
    bad = [
        ("ci mic.jpg", images.encode(images.phone_photo((400, 250))), "image/jpeg"),
        ("ci neclar.jpg", images.encode(images.blurred(photo, 0.006)), "image/jpeg"),
        ("ci blit.jpg", images.encode(images.glared(photo, 0.15)), "image/jpeg"),
        ("ci taiat.jpg", images.encode(images.phone_photo((1600, 1000), offset=(0.3, 0.0))), "image/jpeg"),
        ("ci gol.png", images.encode(images.phone_photo((1600, 1000), printed=False), "PNG"), "image/png"),
    ]
    application = ("cerere.pdf", mailfactory.pdf_document(), "application/pdf")
    return {
        "poze.bune@example.ro": lambda s: mailfactory.submission(sender=s, attachments=[application, *good]),
        "poze.rele@example.ro": lambda s: mailfactory.submission(sender=s, attachments=[application, *bad]),
    }


def test_000_step7_an_ordinary_phone_photo_of_an_id_card_is_legible_a_bad_one_is_not(outcome: Outcome) -> None:
    submissions = outcome.submissions

    legible = submissions["poze.bune@example.ro"]
    documents = {d["filename"]: d for d in legible["documents"]}
    assert documents["buletin.jpg"]["kind"] == "id_document" and documents["buletin.jpg"]["accepted"]
    assert not _findings(legible, "illegible"), _findings(legible, "illegible")

    flagged = submissions["poze.rele@example.ro"]
    messages = _findings(flagged, "illegible")
    expected = {
        "ci mic.jpg": "rezoluție prea mică pentru a putea fi citit ca carte de identitate (85,6 × 54 mm)",
        "ci neclar.jpg": "este neclar",
        "ci blit.jpg": "zonă supraexpusă",
        "ci taiat.jpg": "pare tăiat: textul continuă dincolo de marginea din dreapta",
        "ci gol.png": "pagină goală",
    }
    for filename, phrase in expected.items():
        about = [m for m in messages if f"„{filename}”" in m]
        assert len(about) == 1 and phrase in about[0], (filename, messages)
    assert flagged["flagged"] is True and flagged["appointment"]["purpose"] == "clarification"


# --------------------------------------------------------------------------------------------------
# Point 8: the content decides the type (procedure 000 step 3: "JPEG, JPG, PNG sau PDF")


@_scenario
def _disguised_files() -> Messages:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("cerere.pdf", mailfactory.pdf_document())
    executable = b"MZ" + b"\x90" * 58 + (64).to_bytes(4, "little") + b"PE\x00\x00" + bytes(200)
    attachments = [
        ("cerere.jpg", mailfactory.pdf_document(pages=2), "image/jpeg"),  # a PDF named .jpg
        ("buletin.pdf", images.encode(images.phone_photo((1600, 1000))), "application/pdf"),  # and the reverse
        ("acte.pdf", archive.getvalue(), "application/pdf"),  # controls: a ZIP and an EXE in disguise
        ("poza.jpg", executable, "image/jpeg"),
    ]
    return {"nume.gresit@example.ro": lambda s: mailfactory.submission(sender=s, attachments=attachments)}


def test_000_step3_a_pdf_named_jpg_is_accepted_as_the_pdf_it_is_a_disguised_forbidden_file_is_not(
    outcome: Outcome,
) -> None:
    submission = outcome.submissions["nume.gresit@example.ro"]
    documents = {d["filename"]: d for d in submission["documents"]}

    pdf = documents["cerere.jpg"]
    assert (pdf["accepted"], pdf["detected_type"], pdf["content_type"], pdf["pages"]) == (
        True, "pdf", "application/pdf", 2
    )
    assert pdf["kind"] == "application"  # read as the PDF it is: its title says what it is
    assert pdf["notes"][0] == (
        "Numele fișierului „cerere.jpg” nu corespunde conținutului: extensia .jpg indică formatul JPEG, dar "
        "fișierul este un document PDF. A fost verificat și primit ca document PDF."
    )
    image = documents["buletin.pdf"]
    assert (image["accepted"], image["detected_type"], image["content_type"]) == (True, "jpeg", "image/jpeg")
    assert "fișierul este o imagine JPEG" in image["notes"][0]
    assert image["kind"] == "id_document"
    assert not [m for m in _findings(submission, "illegible") if "buletin.pdf" in m]  # judged as the card it is

    for filename, kind in (("acte.pdf", "zip"), ("poza.jpg", "exe")):
        rejected = documents[filename]
        assert rejected["accepted"] is False and rejected["detected_type"] == kind, rejected
        assert f"are de fapt formatul {kind.upper()}, deși extensia" in rejected["reason"]
    forbidden = _findings(submission, "forbidden_attachment")
    assert len(forbidden) == 2 and all("acte.pdf" in m or "poza.jpg" in m for m in forbidden)

    (receipt,) = outcome.receipts("nume.gresit@example.ro")
    text = " ".join(pdf_text(receipt.pdf or b"").split())
    assert "cerere.jpg" in text and "nu corespunde conținutului" in text
