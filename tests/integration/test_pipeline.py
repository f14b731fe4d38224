"""The whole flow against real servers: Dovecot → intake poll --once → aiosmtpd, receipts checked with pyhanko."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from sqlalchemy import create_engine, text

from intake.receipts import evidence
from tests import mailfactory, pdfa
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.receipts import check_signature, pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST)
MX = "mx.anofm.test"  # the authserv-id of the agency's own mail server in these tests


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, intake) -> str:  # type: ignore[no-untyped-def]
    """The database `intake` runs on: its default SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "postgres":
        intake.env["INTAKE_DATABASE__URL"] = request.getfixturevalue("postgres_url")
    return str(request.param)


def _signer_sha256(signing_key) -> str:  # type: ignore[no-untyped-def]
    _, certificate, _ = pkcs12.load_key_and_certificates(signing_key[0].read_bytes(), KEY_PASSWORD.encode())
    assert certificate is not None
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def test_submissions_are_registered_in_order_and_receipted(intake, dovecot, smtp_sink, signing_key, backend) -> None:  # type: ignore[no-untyped-def]
    senders = ["ana.pop@example.ro", "ion.popescu@example.ro", "vasile.muresan@example.com"]
    sent_mail = {sender: mailfactory.good_submission(sender=sender).as_bytes() for sender in senders}
    # The agency's MX vouches for the first sender only (RFC 8601, `imap.authserv_id`).
    intake.env["INTAKE_IMAP__AUTHSERV_ID"] = MX
    authenticated = senders[0]
    sent_mail[authenticated] = (
        f"Authentication-Results: {MX}; dmarc=pass header.from=example.ro\r\n".encode() + sent_mail[authenticated]
    )
    for index, sender in enumerate(senders):
        dovecot.append(sent_mail[sender], internaldate=T0 + timedelta(minutes=index))
    dovecot.append(mailfactory.auto_reply().as_bytes(), internaldate=T0 + timedelta(minutes=5))
    dovecot.append(mailfactory.bounce(), internaldate=T0 + timedelta(minutes=6))

    intake.poll()

    sent = replies(smtp_sink.wait_for(6))
    receipts = [reply for reply in sent if reply.is_receipt]
    acknowledgements = [reply for reply in sent if not reply.is_receipt]
    assert sorted(r.recipient for r in receipts) == sorted(senders)
    assert sorted(r.recipient for r in acknowledgements) == sorted(senders)
    assert all(r.recipient not in ("maria.ionescu@example.ro",) and "MAILER-DAEMON" not in r.recipient for r in sent)

    submissions = intake.json("submissions")
    registered = sorted((s for s in submissions if s["number"] is not None), key=lambda s: s["received_at"])
    assert [s["number"] for s in registered] == [1, 2, 3]
    assert [s["sender"] for s in registered] == senders
    assert {s["category"] for s in submissions if s["number"] is None} == {"auto_reply", "bounce"}
    assert all(s["state"] == "ignored" for s in submissions if s["number"] is None)

    expected_signer = _signer_sha256(signing_key)
    for reply in receipts:
        (submission,) = [s for s in registered if s["sender"] == reply.recipient]
        assert submission["registration_number"] in reply.subject
        assert reply.message["Auto-Submitted"] == "auto-replied"
        assert reply.message["In-Reply-To"] == submission["message_id"]
        assert submission["message_id"] in str(reply.message["References"])
        assert reply.message["Message-ID"] == submission["receipt"]["message_id"]
        assert submission["receipt"]["sent"] is True
        pdf = reply.pdf
        assert pdf is not None
        signature = check_signature(pdf, signing_key[1])
        assert signature.intact and signature.valid and signature.trusted
        assert signature.signer_sha256 == expected_signer
        text = pdf_text(pdf)
        assert submission["registration_number"] in text
        names = [document["filename"] for document in submission["documents"]]
        assert names == ["cerere indemnizație șomaj.pdf", "buletin.jpg", "diplomă.png"]
        assert all(document["accepted"] for document in submission["documents"])
        assert [d["pages"] for d in submission["documents"]] == [2, 1, 1]
        for document in submission["documents"]:
            assert document["sha256"][:16] in text.replace("\n", "")
        # Issue 13 §2: PDF/A-3b carrying the e-mail as the agency's server delivered it (IMAP ends lines in CRLF),
        # whole only to the authenticated sender; the others get its header section and hash (evidence.py).
        assert pdfa.problems(pdf) == []
        embedded = pdfa.embedded_files(pdf)
        record = json.loads(embedded[evidence.RECORD_NAME].data)
        assert record["registration_number"] == submission["registration_number"]
        if reply.recipient == authenticated:
            eml = embedded[evidence.EML_NAME].data
            assert eml.replace(b"\r\n", b"\n") == sent_mail[reply.recipient].replace(b"\r\n", b"\n")
            assert record["message"]["sha256"] == hashlib.sha256(eml).hexdigest()
        else:
            assert evidence.EML_NAME not in embedded
            headers = embedded[evidence.HEADERS_NAME].data
            assert b"Subject: " in headers and b"%PDF" not in headers

    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("Processed")) == 5

    # A second cycle finds nothing new: nothing registered, nothing sent.
    smtp_sink.clear()
    intake.poll()
    assert smtp_sink.messages == []
    assert len(intake.json("submissions")) == 5
    if backend == "postgres":  # it was PostgreSQL that intake used, not a stray SQLite file
        assert not (intake.workdir / "intake.db").exists()
        assert _registered_numbers(intake.env["INTAKE_DATABASE__URL"]) == [1, 2, 3]


def _registered_numbers(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT number FROM submission WHERE number IS NOT NULL ORDER BY number"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def test_same_bytes_twice_is_one_submission(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    raw = mailfactory.good_submission().as_bytes()
    dovecot.append(raw, internaldate=T0)
    dovecot.append(raw, internaldate=T0 + timedelta(seconds=30))
    intake.poll()
    submissions = intake.json("submissions")
    assert len(submissions) == 1 and submissions[0]["number"] == 1
    assert len([r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]) == 1
    assert len(dovecot.uids("Processed")) == 2


def test_reused_message_id_with_other_content_is_another_submission(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission(message_id="<same@example.ro>").as_bytes(), internaldate=T0)
    dovecot.append(
        mailfactory.submission(message_id="<same@example.ro>", subject="Alt mesaj").as_bytes(),
        internaldate=T0 + timedelta(minutes=1),
    )
    intake.poll()
    assert sorted(s["number"] for s in intake.json("submissions")) == [1, 2]


def test_year_boundary_restarts_numbering(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(
        mailfactory.good_submission().as_bytes(), internaldate=datetime(2026, 12, 31, 22, 0, tzinfo=BUCHAREST)
    )
    intake.poll(now="2026-12-31T22:05:00+02:00")
    dovecot.append(
        mailfactory.good_submission(sender="a@example.ro").as_bytes(),
        internaldate=datetime(2027, 1, 1, 0, 30, tzinfo=BUCHAREST),
    )
    dovecot.append(
        mailfactory.good_submission(sender="b@example.ro").as_bytes(),
        internaldate=datetime(2027, 1, 1, 0, 40, tzinfo=BUCHAREST),
    )
    intake.poll(now="2027-01-01T00:45:00+02:00")
    labels = sorted(s["registration_number"] for s in intake.json("submissions"))
    assert labels == ["1/01.01.2027", "1/31.12.2026", "2/01.01.2027"]
    shown = intake.json("show", "2/2027")
    assert shown["sender"] == "b@example.ro"


def test_show_and_status(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    intake.poll()
    shown = intake.json("show", "1")
    assert shown["received_at"] == "2026-11-23T09:00:00+02:00"
    assert shown["state"] == "receipted"
    status = intake.json("status")
    assert status["queues"] == {"receipted": 1}
    assert status["outbox"]["pending"] == 0 and status["outbox"]["sent"] == 2
    assert status["last_successful_poll"] is not None
    missing = intake.run("show", "99", "--json", check=False)
    assert missing.returncode == 1 and "99" in missing.stderr


def test_reply_cap_per_sender_stops_automatic_replies(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    for index in range(3):
        dovecot.append(
            mailfactory.good_submission(subject=f"Cerere {index}").as_bytes(),
            internaldate=T0 + timedelta(minutes=index),
        )
    # Two claims a cycle: `poll --once` runs a second cycle for the third message, and the cap still counts the
    # sender's messages of the cycle before.
    intake.poll(INTAKE_LIMITS__REPLY_CAP_PER_SENDER="2", INTAKE_IMAP__CLAIMS_PER_CYCLE="2")
    assert dovecot.uids("INBOX") == []
    submissions = intake.json("submissions")
    assert sorted(s["number"] for s in submissions) == [1, 2, 3]  # every one is still registered
    receipts = [reply for reply in replies(smtp_sink.wait_for(4)) if reply.is_receipt]
    assert len(receipts) == 2
    (capped,) = [s for s in submissions if s["receipt"]["state"] == "not_sent"]
    assert capped["number"] == 3


def test_oversized_message_is_registered_with_a_reason(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    intake.poll(INTAKE_LIMITS__MAX_MESSAGE_BYTES="2000", INTAKE_LIMITS__MAX_ATTACHMENTS="2")
    (submission,) = intake.json("submissions")
    assert submission["flagged"] is True
    codes = [finding["code"] for finding in submission["findings"]]
    assert codes.count("oversized") == 2  # the whole message, and the third attachment left out (issue 10, point 3)
    assert "peste limita" in submission["findings"][0]["message"]
    assert len(submission["documents"]) == 2  # past limits.max_attachments nothing is stored one by one
    assert any("cealaltă parte nu a fost înregistrată" in f["message"] for f in submission["findings"])
    (receipt,) = [reply for reply in replies(smtp_sink.wait_for(2)) if reply.is_receipt]
    assert "peste limita" in receipt.message.get_body(("plain",)).get_content()


def test_acknowledgement_can_be_switched_off(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    intake.poll(INTAKE_REPLIES__ACKNOWLEDGEMENT="false")
    sent = replies(smtp_sink.wait_for(1))
    time.sleep(0.3)
    assert len(smtp_sink.messages) == 1 and sent[0].is_receipt
