"""Issue 13 §1 through the pipeline (Dovecot → `intake poll --once` → `intake show --json`): the identity card's MRZ
is read by Tesseract in the verify stage and compared with the signed application (form and QES certificate of the
test PKI's applicant, Ioana Ștefănescu).

Four complete benefit files in one poll, differing only in the card: the applicant's own card (the control), a card
with another CNP, an expired card, and a card whose MRZ cannot be read. Then the citizen with the expired card
answers the recipisă with a valid one: the later card replaces the earlier, and its finding no longer stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import forms, images, mailfactory
from tests.idcards import Holder, Shot, photographed
from tests.integration.conftest import KEY_PASSWORD, sent_during
from tests.integration.harness import intake_for
from tests.integration.receipts import replies
from tests.pki.documents import APPLICANT

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))
OWN = Holder(surname="STEFANESCU", given="IOANA", birth=date(1990, 5, 23), sex="F", serial=345)
SHOT = Shot(angle=2.0, perspective=0.04, noise=8, quality=80)
CARDS = {
    "propriu@example.ro": photographed(OWN, SHOT),
    "alt.cnp@example.ro": photographed(Holder(**{**OWN.__dict__, "serial": 346, "cnp": ""}), SHOT),
    "expirat@example.ro": photographed(Holder(**{**OWN.__dict__, "expiry": date(2026, 11, 20)}), SHOT),
    "necitit@example.ro": mailfactory.jpeg_image(),  # a page of text: no MRZ
}
# The back of the card, sent beside the front: it has no MRZ, and needs none once the front was read.
VERSO = images.encode(images.phone_photo((1200, 800), printed=False))


@dataclass
class Shown:
    by_sender: dict[str, dict[str, Any]]
    renewed: dict[str, Any]  # the expired card's case after the citizen sent a valid card


@pytest.fixture(scope="module")
def shown(tmp_path_factory, module_dovecot_factory, module_smtp_sink_factory, signing_key, test_pki) -> Shown:  # type: ignore[no-untyped-def]
    assert OWN.cnp == APPLICANT.cnp, "the control card must carry the test PKI applicant's CNP"
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    dovecot, sink = module_dovecot_factory(), module_smtp_sink_factory()
    intake = intake_for(
        tmp_path_factory.mktemp("id-card") / "intake",
        dovecot=dovecot,
        smtp_sink=sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=trust,
    )
    application = forms.sign(forms.benefit_application(ticked=[forms.BOX_DE]), test_pki)
    declaration = test_pki.scenarios["declaration_qes"].path.read_bytes()
    for index, (sender, card) in enumerate(CARDS.items()):
        message = mailfactory.submission(
            sender=sender,
            subject="Cerere indemnizație de șomaj",
            attachments=[
                ("cerere.pdf", application, "application/pdf"),
                ("declaratie.pdf", declaration, "application/pdf"),
                ("buletin.jpg", card, "image/jpeg"),
                ("diploma.jpg", mailfactory.jpeg_image(color=(240, 240, 200)), "image/jpeg"),
                *([("buletin-verso.jpg", VERSO, "image/jpeg")] if sender == "propriu@example.ro" else []),
            ],
        )
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))
    sent = replies(sent_during(sink, intake.poll))
    listed = {s["sender"]: s for s in intake.json("submissions")}
    assert len(listed) == len(CARDS)
    # `show --json` for the case the clerk opens (one CLI run: each costs a second of start-up); the list has the
    # same shape for the others.
    listed["alt.cnp@example.ro"] = intake.json("show", listed["alt.cnp@example.ro"]["registration_number"])

    [receipt] = [reply for reply in sent if reply.is_receipt and reply.recipient == "expirat@example.ro"]
    renewal = mailfactory.submission(
        sender="expirat@example.ro",
        subject=f"Re: {receipt.subject}",
        body="Bună ziua, atașez actul de identitate nou. Sunt de acord cu derularea procedurii prin e-mail.",
        attachments=[("buletin-nou.jpg", CARDS["propriu@example.ro"], "image/jpeg")],
        extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
    )
    dovecot.append(renewal.as_bytes(), internaldate=T0 + timedelta(hours=2))
    intake.poll()
    renewed = intake.json("show", listed["expirat@example.ro"]["registration_number"])
    return Shown(listed, renewed)


def _findings(submission: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [finding for finding in submission["findings"] if finding["code"] == code]


CARD_CODES = ("identity_mismatch", "id_expired", "id_not_checked")


def test_issue13_the_applicants_own_card_raises_nothing_and_its_back_needs_no_mrz(shown: Shown) -> None:
    own = shown.by_sender["propriu@example.ro"]
    assert [f for f in own["findings"] if f["code"] in CARD_CODES] == [], own["findings"]
    assert {d["kind"] for d in own["documents"]} >= {"id_document", "application"}


def test_issue13_a_card_with_another_cnp_is_an_identity_mismatch_000_step7(shown: Shown) -> None:
    other = shown.by_sender["alt.cnp@example.ro"]
    messages = [f["message"] for f in _findings(other, "identity_mismatch")]
    assert any(m.startswith("CNP-ul din actul de identitate (2***********") for m in messages), other["findings"]
    assert all(not f["staff_only"] for f in _findings(other, "identity_mismatch")) and other["flagged"]
    assert APPLICANT.cnp not in str(other)  # masked wherever it is shown
    assert other["appointment"]["purpose"] == "clarification"


def test_issue13_a_card_expired_before_receipt_is_a_clarification_finding_001_art5_alin3_lit_a(shown: Shown) -> None:
    expired = shown.by_sender["expirat@example.ro"]
    [finding] = _findings(expired, "id_expired")
    assert finding["message"].startswith("Actul de identitate trimis a expirat la 20.11.2026")
    assert not finding["staff_only"] and expired["flagged"]
    assert not _findings(expired, "identity_mismatch")


def test_issue13_an_unreadable_card_is_only_a_staff_note(shown: Shown) -> None:
    unread = shown.by_sender["necitit@example.ro"]
    [finding] = _findings(unread, "id_not_checked")
    assert finding["staff_only"] and "nu a fost verificat automat" in finding["message"]
    assert not _findings(unread, "identity_mismatch") and not _findings(unread, "id_expired")


def test_issue13_a_valid_card_sent_later_replaces_the_expired_one(shown: Shown) -> None:
    renewed = shown.renewed
    assert not _findings(renewed, "id_expired"), renewed["findings"]
    assert renewed["flagged"] is False, renewed["findings"]  # nothing left for the citizen to clarify
    assert {d["filename"] for d in renewed["documents"]} >= {"buletin.jpg"}  # the case's first message
