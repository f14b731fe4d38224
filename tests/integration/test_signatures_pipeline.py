"""Issue 3 through the full pipeline: Dovecot → intake → recipisă, with a real test PKI, trusted list and
OCSP/CRL/TSA on 127.0.0.1. Every scenario must come out with its label, in the JSON and on the receipt."""

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

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))


def _intake_with_trust(tmp_path: Path, dovecot, smtp_sink, signing_key, trust: str) -> Intake:  # type: ignore[no-untyped-def]
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=trust,
    )


def _trusted_intake(tmp_path: Path, dovecot, smtp_sink, signing_key, test_pki) -> Intake:  # type: ignore[no-untyped-def]
    trust = f"""
[trust]
lists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]
revocation = "require"
"""
    return _intake_with_trust(tmp_path, dovecot, smtp_sink, signing_key, trust)


def _attachments(scenario) -> list[tuple[str, bytes, str]]:  # type: ignore[no-untyped-def]
    mime = {".pdf": "application/pdf", ".p7s": "application/pkcs7-signature", ".p7m": "application/pkcs7-mime"}
    files = [scenario.path] + ([scenario.detached_content] if scenario.detached_content else [])
    return [(path.name, path.read_bytes(), mime.get(path.suffix, "application/octet-stream")) for path in files]


def test_every_scenario_gets_its_label_through_the_pipeline(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _trusted_intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    senders = {}
    for index, (name, scenario) in enumerate(sorted(test_pki.scenarios.items())):
        sender = f"{name.replace('_', '.')}@example.ro"
        senders[sender] = scenario
        message = mailfactory.submission(sender=sender, subject=f"Cerere {name}", attachments=_attachments(scenario))
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))

    intake.poll()

    submissions = {s["sender"]: s for s in intake.json("submissions")}
    replies(smtp_sink.wait_for(2 * len(senders), timeout=60))
    wrong = []
    for sender, scenario in senders.items():
        submission = submissions[sender]
        (document,) = [d for d in submission["documents"] if d["filename"] == scenario.path.name]
        signature = document["signature"] or {"label": "none", "reasons": ["no_signature"]}
        missing = set(scenario.expected_reasons) - set(signature["reasons"])
        if signature["label"] != scenario.expected_label or missing:
            wrong.append(
                (scenario.name, scenario.expected_label, signature["label"], sorted(missing), signature["reasons"])
            )
            continue
    assert not wrong, "\n".join(map(str, wrong))

    # The law: the application must be QES; anything weaker is a finding that flags the submission.
    expected_codes = {
        "QES": None,
        "AdES-QC": "signature_not_qualified",
        "AdES": "signature_not_qualified",
        "invalid": "signature_invalid",
        "indeterminate": "signature_indeterminate",
        "none": "signature_missing",
    }
    for sender, scenario in senders.items():
        if scenario.name in ("declaration_qes",):
            continue  # a declaration alone is a job-seeker registration: a scan would do
        codes = {f["code"] for f in submissions[sender]["findings"]}
        expected = expected_codes[scenario.expected_label]
        signature_codes = {c for c in codes if c.startswith("signature_")}
        assert signature_codes == ({expected} if expected else set()), (scenario.name, codes)


def test_complete_benefit_request_has_no_signature_findings(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _trusted_intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    scenarios = test_pki.scenarios
    attachments = [
        ("cerere.pdf", scenarios["qes_bt"].path.read_bytes(), "application/pdf"),
        ("declaratie.pdf", scenarios["declaration_qes"].path.read_bytes(), "application/pdf"),
        ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg"),
    ]
    dovecot.append(mailfactory.submission(attachments=attachments).as_bytes(), internaldate=T0)
    intake.poll()
    (submission,) = intake.json("submissions")
    kinds = {d["filename"]: d["kind"] for d in submission["documents"]}
    assert kinds["cerere.pdf"] == "application" and kinds["declaratie.pdf"] == "declaration"
    labels = {d["filename"]: (d["signature"] or {}).get("label") for d in submission["documents"]}
    assert labels["cerere.pdf"] == labels["declaratie.pdf"] == "QES"
    codes = {f["code"] for f in submission["findings"]}
    assert not {c for c in codes if c.startswith("signature_") or c.endswith("_mismatch")}, codes
    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    text = pdf_text(receipt.pdf or b"").replace("\n", " ")
    assert "calificat" in text


def test_signer_must_be_the_applicant_on_the_form(tmp_path, dovecot, smtp_sink, signing_key, test_pki) -> None:  # type: ignore[no-untyped-def]
    intake = _trusted_intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    scenarios = test_pki.scenarios
    attachments = [
        ("cerere.pdf", scenarios["qes_bt"].path.read_bytes(), "application/pdf"),
        # A second application sealed by a company: its signer is not the applicant named on the form.
        ("declaratie.pdf", scenarios["eseal"].path.read_bytes(), "application/pdf"),
    ]
    dovecot.append(mailfactory.submission(attachments=attachments).as_bytes(), internaldate=T0)
    intake.poll()
    (submission,) = intake.json("submissions")
    codes = {f["code"] for f in submission["findings"]}
    assert {"identity_mismatch", "signature_not_qualified"} <= codes
    (mismatch,) = [f for f in submission["findings"] if f["code"] == "identity_mismatch"]
    assert "Exemplu Consult SRL" in mismatch["message"] and test_pki.applicant_name in mismatch["message"]


# ------------------------------------------------------------------------------------------------ issue 8
def test_en319102_case5_the_applicants_signature_decides_and_a_third_party_is_shown_to_staff(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    intake = _trusted_intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    scenarios = test_pki.scenarios
    for index, name in enumerate(("i8_applicant_then_third_party", "i8_third_party_then_applicant")):
        attachments = [
            ("cerere.pdf", scenarios[name].path.read_bytes(), "application/pdf"),
            ("declaratie.pdf", scenarios["declaration_qes"].path.read_bytes(), "application/pdf"),
        ]
        message = mailfactory.submission(sender=f"case5.{index}@example.ro", attachments=attachments)
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))
    intake.poll()
    for submission in intake.json("submissions"):
        (application,) = [d for d in submission["documents"] if d["filename"] == "cerere.pdf"]
        signature = application["signature"]
        # the applicant's own QES decides, whatever the order of the signatures in the file
        assert signature["label"] == "QES" and signature["signer"] == test_pki.applicant_name, signature
        assert len(signature["signatures"]) == 2 and signature["applicant_signature"] in (0, 1)
        codes = {f["code"] for f in submission["findings"]}
        # no false "not qualified" and no false name mismatch from the third party's signature
        assert not {c for c in codes if c.startswith("signature_")} and "identity_mismatch" not in codes, codes
        (third,) = [f for f in submission["findings"] if f["code"] == "third_party_signature"]
        assert third["staff_only"] is True and "Maria Ionescu" in third["message"]


def test_en319102_case3_broken_trusted_list_makes_signatures_indeterminate_and_alerts_ops(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    trust = (
        f'[trust]\nlists = [{{source = "{test_pki.trusted_list_tampered}", signer = "{test_pki.tl_operator_cert}"}}]\n'
    )
    intake = _intake_with_trust(tmp_path, dovecot, smtp_sink, signing_key, trust)
    attachments = [
        ("cerere.pdf", test_pki.scenarios["qes_bt"].path.read_bytes(), "application/pdf"),
        ("declaratie.pdf", test_pki.scenarios["declaration_qes"].path.read_bytes(), "application/pdf"),
    ]
    dovecot.append(mailfactory.submission(attachments=attachments).as_bytes(), internaldate=T0)
    intake.poll()
    (submission,) = intake.json("submissions")
    for document in submission["documents"]:
        signature = document["signature"]
        # the fault is ours, not the citizen's: never "invalid"
        assert signature["label"] == "indeterminate" and "trusted_list_unavailable" in signature["reasons"]
    codes = {f["code"] for f in submission["findings"]}
    assert "signature_indeterminate" in codes and "signature_invalid" not in codes
    status = intake.json("status")
    (listed,) = status["trusted_lists"]
    assert listed["error"] and listed["state"] == "unavailable" and status["trust"]["ok"] is False
    assert any(alert["kind"] == "trusted_list_unavailable" for alert in status["alerts"])


def test_en319102_case1_a_claimed_signing_time_never_raises_the_label(
    tmp_path, dovecot, smtp_sink, signing_key, test_pki
) -> None:  # type: ignore[no-untyped-def]
    # The CA was withdrawn from the trusted list 10 days ago; the application claims to be signed 30 days ago.
    # A claim is no proof of existence (EN 319 102-1 5.6.2.1): judged at the validation time, AdES. The same
    # signature time-stamped 30 days ago (control) is a QES.
    intake = _trusted_intake(tmp_path, dovecot, smtp_sink, signing_key, test_pki)
    senders = {
        "claimed@example.ro": "i8_claimed_time_withdrawn_ca",
        "stamped@example.ro": "i8_timestamped_withdrawn_ca",
    }
    for index, (sender, name) in enumerate(senders.items()):
        attachments = [
            ("cerere.pdf", test_pki.scenarios[name].path.read_bytes(), "application/pdf"),
            ("declaratie.pdf", test_pki.scenarios["declaration_qes"].path.read_bytes(), "application/pdf"),
        ]
        dovecot.append(
            mailfactory.submission(sender=sender, attachments=attachments).as_bytes(),
            internaldate=T0 + timedelta(minutes=index),
        )
    intake.poll()
    by_sender = {s["sender"]: s for s in intake.json("submissions")}
    claimed, stamped = by_sender["claimed@example.ro"], by_sender["stamped@example.ro"]
    (application,) = [d for d in claimed["documents"] if d["filename"] == "cerere.pdf"]
    assert application["signature"]["label"] == "AdES" and application["signature"]["time_source"] == "claimed"
    assert "ca_not_in_trusted_list_at_signing_time" in application["signature"]["reasons"]
    assert "signature_not_qualified" in {f["code"] for f in claimed["findings"]}
    (control,) = [d for d in stamped["documents"] if d["filename"] == "cerere.pdf"]
    assert control["signature"]["label"] == "QES" and control["signature"]["time_source"] == "timestamp"
    assert not {f["code"] for f in stamped["findings"]} & {"signature_not_qualified", "signature_indeterminate"}
