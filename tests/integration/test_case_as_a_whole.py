"""Issue 9 point 1: the law judges the file (the case: the first e-mail and every follow-up), not one e-mail.

001 Art. 5(5): the application (Anexa 3) and the declaration (Anexa 1^1) of a benefit request carry an extended
electronic signature based on a qualified certificate, whichever e-mail brought them; a document sent later
replaces the earlier one of the same kind; the recipisă of a follow-up lists the case's documents (000 step 6).
Real Dovecot, the real `intake` command, the test PKI's signed files and trusted list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
RECEIVED = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)  # a Monday
SIGNATURE_CODES = {"signature_missing", "signature_invalid", "signature_not_qualified", "signature_indeterminate"}


def _intake(tmp_path: Path, dovecot, smtp_sink, signing_key, test_pki) -> Intake:  # type: ignore[no-untyped-def]
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=trust,
    )


def _pdf(path: Path, name: str) -> tuple[str, bytes, str]:
    return (name, path.read_bytes(), "application/pdf")


def _start_case(intake: Intake, dovecot, smtp_sink, attachments: list[tuple[str, bytes, str]]):  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.submission(attachments=attachments).as_bytes(), internaldate=RECEIVED)
    intake.poll(now=(RECEIVED + timedelta(minutes=5)).isoformat())
    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    smtp_sink.clear()
    return receipt


def _follow_up(intake: Intake, dovecot, smtp_sink, receipt, attachments: list[tuple[str, bytes, str]]):  # type: ignore[no-untyped-def]
    message = mailfactory.submission(
        subject=f"Re: {receipt.subject}",
        attachments=attachments,
        extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
    )
    dovecot.append(message.as_bytes(), internaldate=RECEIVED + timedelta(hours=2))
    intake.poll(now=(RECEIVED + timedelta(hours=2, minutes=5)).isoformat())
    (second,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    return second


def _case_findings(intake: Intake) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """Open findings of every e-mail of the (single) case, by code."""
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for submission in intake.json("submissions"):
        for finding in intake.json("show", str(submission["number"]))["findings"]:
            found.setdefault(finding["code"], []).append(finding)
    return found


def test_001_art5_5_a_scanned_declaration_sent_later_breaks_the_qualified_signature_rule(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    receipt = _start_case(intake, dovecot, smtp_sink, [_pdf(test_pki.scenarios["qes_bt"].path, "cerere.pdf")])
    assert not SIGNATURE_CODES & set(_case_findings(intake))  # the application alone is correctly signed

    # The follow-up brings the declaration, only scanned (no electronic signature): the case breaks 001 Art. 5(5).
    scanned = test_pki.base / "documents" / "declaration.pdf"
    second = _follow_up(intake, dovecot, smtp_sink, receipt, [_pdf(scanned, "declaratie.pdf")])
    findings = _case_findings(intake)
    assert "signature_missing" in findings, findings
    assert "declarația" in findings["signature_missing"][0]["message"]
    submissions = {s["number"]: s for s in intake.json("submissions")}
    assert submissions[2]["case"] is not None and submissions[1]["flagged"] is True
    assert submissions[1]["appointment"]["purpose"] == "clarification"  # not a decision visit
    # the follow-up's recipisă lists the whole case and says what is wrong
    text = " ".join(pdf_text(second.pdf or b"").split())
    assert "Documentele dosarului nr. 1/" in text and "cerere.pdf" in text and "declaratie.pdf" in text
    assert "nu are semnătură electronică" in text


def test_001_art5_5_control_a_qualified_declaration_sent_later_completes_the_file(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    receipt = _start_case(intake, dovecot, smtp_sink, [_pdf(test_pki.scenarios["qes_bt"].path, "cerere.pdf")])
    _follow_up(intake, dovecot, smtp_sink, receipt, [_pdf(test_pki.scenarios["declaration_qes"].path, "decl.pdf")])
    findings = _case_findings(intake)
    assert not SIGNATURE_CODES & set(findings) and "signer_mismatch" not in findings, findings


def test_001_art5_5_a_later_document_replaces_the_earlier_one_of_the_same_kind(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    scanned = test_pki.base / "documents" / "declaration.pdf"
    receipt = _start_case(
        intake,
        dovecot,
        smtp_sink,
        [_pdf(test_pki.scenarios["qes_bt"].path, "cerere.pdf"), _pdf(scanned, "declaratie-scanata.pdf")],
    )
    assert "signature_missing" in _case_findings(intake)
    # The citizen sends the declaration again, signed with a QES: it replaces the scan, the finding is settled.
    second = _follow_up(
        intake, dovecot, smtp_sink, receipt, [_pdf(test_pki.scenarios["declaration_qes"].path, "declaratie.pdf")]
    )
    assert not SIGNATURE_CODES & set(_case_findings(intake))
    text = " ".join(pdf_text(second.pdf or b"").split())
    assert "declaratie-scanata.pdf" in text and "înlocuit de „declaratie.pdf”" in text
