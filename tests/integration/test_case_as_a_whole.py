"""Issue 9 point 1: the law judges the file (the case: the first e-mail and every follow-up), not one e-mail.

001 Art. 5(5): the application (Anexa 3) and the declaration (Anexa 1^1) of a benefit request carry an extended
electronic signature based on a qualified certificate, whichever e-mail brought them; a document sent later
replaces the earlier one of the same kind; the recipisă of a follow-up lists the case's documents (000 step 6).
Real Dovecot, the real `intake` command, the test PKI's signed files and trusted list.

The cases share one clock (first e-mail, then a follow-up two hours later), so they run together, each from its
own sender: one mailbox, one `poll --once` for the first e-mails and one for the follow-ups, one `submissions --json`
after each; every test reads its own case. The follow-ups' poll runs two workers, and one case gets two follow-ups at
once, the first of them slow (tests/integration/hostile_at.py, SLOW-VERIFY): the second is assessed before the first
has its number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD, sent_during
from tests.integration.harness import intake_for
from tests.integration.receipts import Reply, pdf_text, replies

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
RECEIVED = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)  # a Monday
SIGNATURE_CODES = {"signature_missing", "signature_invalid", "signature_not_qualified", "signature_indeterminate"}
Attachment = tuple[str, bytes, str]

# One sender per case.
SCANNED_LATER = "declaratie.scanata@example.ro"
QUALIFIED_LATER = "declaratie.calificata@example.ro"
REPLACED = "declaratie.inlocuita@example.ro"
TWO_AT_ONCE = "doua.raspunsuri@example.ro"  # the declaration in a slow follow-up, a second follow-up right after it


def _pdf(path: Path, name: str) -> Attachment:
    return (name, path.read_bytes(), "application/pdf")


def _cases(test_pki: Any) -> dict[str, tuple[list[Attachment], list[Attachment]]]:
    """sender: (attachments of the first e-mail, attachments of the follow-up)."""
    application = _pdf(test_pki.scenarios["qes_bt"].path, "cerere.pdf")
    scanned = test_pki.base / "documents" / "declaration.pdf"
    qualified = test_pki.scenarios["declaration_qes"].path
    return {
        SCANNED_LATER: ([application], [_pdf(scanned, "declaratie.pdf")]),
        QUALIFIED_LATER: ([application], [_pdf(qualified, "decl.pdf")]),
        REPLACED: ([application, _pdf(scanned, "declaratie-scanata.pdf")], [_pdf(qualified, "declaratie.pdf")]),
        TWO_AT_ONCE: ([application], [_pdf(qualified, "decl.pdf")]),
    }


@dataclass
class Case:
    """One case as the CLI shows it after the first e-mail and after the follow-up, and the receipts it got."""

    first: list[dict[str, Any]] = field(default_factory=list)  # `submissions --json` rows of the sender, oldest first
    then: list[dict[str, Any]] = field(default_factory=list)
    first_receipts: list[Reply] = field(default_factory=list)
    then_receipts: list[Reply] = field(default_factory=list)


def _rows(submissions: list[dict[str, Any]], sender: str) -> list[dict[str, Any]]:
    return sorted((s for s in submissions if s["sender"] == sender), key=lambda s: s["number"] or 0)


def _receipts_to(mail: list[Any], sender: str) -> list[Reply]:
    return [r for r in replies(mail) if r.is_receipt and r.recipient == sender]


@pytest.fixture(scope="module")
def cases(tmp_path_factory, module_dovecot, module_smtp_sink, signing_key, test_pki) -> dict[str, Case]:  # type: ignore[no-untyped-def]
    trust = f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    intake = intake_for(
        tmp_path_factory.mktemp("case-as-a-whole") / "intake",
        dovecot=module_dovecot,
        smtp_sink=module_smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=trust,
    )
    plan = _cases(test_pki)
    outcome = {sender: Case() for sender in plan}

    for index, (sender, (attachments, _later)) in enumerate(plan.items()):
        message = mailfactory.submission(sender=sender, attachments=attachments)
        module_dovecot.append(message.as_bytes(), internaldate=RECEIVED + timedelta(minutes=index))
    mail = sent_during(module_smtp_sink, lambda: intake.poll(now=(RECEIVED + timedelta(minutes=5)).isoformat()))
    submissions = intake.json("submissions")
    for sender, case in outcome.items():
        case.first, case.first_receipts = _rows(submissions, sender), _receipts_to(mail, sender)

    # Each follow-up answers its own case's recipisă (a case without exactly one gets none: its test says why).
    for index, (sender, (_attachments, later)) in enumerate(plan.items()):
        if len(outcome[sender].first_receipts) != 1:
            continue
        (receipt,) = outcome[sender].first_receipts
        follow_ups = [(later, "")] if sender != TWO_AT_ONCE else [(later, " SLOW-VERIFY"), ([], "")]
        for order, (attachments, marker) in enumerate(follow_ups):
            message = mailfactory.submission(
                sender=sender,
                subject=f"Re: {receipt.subject}{marker}",
                attachments=attachments,
                extra_headers={"In-Reply-To": str(receipt.message["Message-ID"])},
            )
            arrived = RECEIVED + timedelta(hours=2, minutes=index, seconds=order)
            module_dovecot.append(message.as_bytes(), internaldate=arrived)
    follow_up_time = (RECEIVED + timedelta(hours=2, minutes=10)).isoformat()
    mail = sent_during(
        module_smtp_sink,
        lambda: intake.hostile("poll", "--once", "--now", follow_up_time, INTAKE_WORKER__PROCESSES="2"),
    )
    submissions = intake.json("submissions")
    for sender, case in outcome.items():
        case.then, case.then_receipts = _rows(submissions, sender), _receipts_to(mail, sender)
    return outcome


def _case_findings(rows: list[dict[str, Any]]) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """Open findings of every e-mail of the case, by code."""
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for submission in rows:
        for finding in submission["findings"]:
            found.setdefault(finding["code"], []).append(finding)
    return found


def _only_receipt(receipts: list[Reply]) -> Reply:
    assert len(receipts) == 1, [r.subject for r in receipts]
    return receipts[0]


def test_001_art5_5_a_scanned_declaration_sent_later_breaks_the_qualified_signature_rule(
    cases: dict[str, Case],
) -> None:
    case = cases[SCANNED_LATER]
    _only_receipt(case.first_receipts)
    assert len(case.first) == 1
    assert not SIGNATURE_CODES & set(_case_findings(case.first))  # the application alone is correctly signed

    # The follow-up brings the declaration, only scanned (no electronic signature): the case breaks 001 Art. 5(5).
    second = _only_receipt(case.then_receipts)
    findings = _case_findings(case.then)
    assert "signature_missing" in findings, findings
    assert "declarația" in findings["signature_missing"][0]["message"]
    first, follow_up = case.then
    assert follow_up["case"] is not None and first["flagged"] is True
    assert first["appointment"]["purpose"] == "clarification"  # not a decision visit
    # the follow-up's recipisă lists the whole case and says what is wrong
    text = " ".join(pdf_text(second.pdf or b"").split())
    assert f"Documentele dosarului nr. {first['registration_number']}" in text
    assert "cerere.pdf" in text and "declaratie.pdf" in text
    assert "nu are semnătură electronică" in text


def test_001_art5_5_control_a_qualified_declaration_sent_later_completes_the_file(cases: dict[str, Case]) -> None:
    case = cases[QUALIFIED_LATER]
    _only_receipt(case.first_receipts)
    _only_receipt(case.then_receipts)
    assert len(case.then) == 2  # the first e-mail and its follow-up
    findings = _case_findings(case.then)
    assert not SIGNATURE_CODES & set(findings) and "signer_mismatch" not in findings, findings


def test_001_art5_5_a_later_document_replaces_the_earlier_one_of_the_same_kind(cases: dict[str, Case]) -> None:
    case = cases[REPLACED]
    _only_receipt(case.first_receipts)
    assert "signature_missing" in _case_findings(case.first)
    # The citizen sends the declaration again, signed with a QES: it replaces the scan, the finding is settled.
    second = _only_receipt(case.then_receipts)
    assert len(case.then) == 2
    assert not SIGNATURE_CODES & set(_case_findings(case.then))
    text = " ".join(pdf_text(second.pdf or b"").split())
    assert "declaratie-scanata.pdf" in text and "înlocuit de „declaratie.pdf”" in text


def test_001_art5_5_two_follow_ups_at_once_are_judged_with_each_other(cases: dict[str, Case]) -> None:
    """000 steps 6-8 / 001 Art. 5: the file is judged, whatever order the workers finish in. The second follow-up was
    assessed while the first (with the declaration) still waited for its number; at its own registration it is
    judged again with it, so the case ends as the one-follow-up control above does."""
    case = cases[TWO_AT_ONCE]
    _only_receipt(case.first_receipts)
    assert len(case.then) == 3 and len(case.then_receipts) == 2
    findings = _case_findings(case.then)
    assert not SIGNATURE_CODES & set(findings), findings
    assert not any("declarați" in f["message"] for f in findings.get("missing_document", [])), findings
    assert set(findings) == set(_case_findings(cases[QUALIFIED_LATER].then))
    # Each follow-up's recipisă lists the case's documents, the declaration the first one brought included.
    for receipt in case.then_receipts:
        text = " ".join(pdf_text(receipt.pdf or b"").split())
        assert "decl.pdf" in text and "cerere.pdf" in text
