"""Acceptance test of the verifier against the test PKI: every scenario file (signed at test time by
`tests.pki.build`) gets its expected label and reasons from `verify_document`, with revocation checked online
(OCSP/CRL on 127.0.0.1) and trust from the synthetic trusted list, whose XAdES signature is verified."""

from __future__ import annotations

import pytest
from asn1crypto import pem

from intake.signatures.qualification import TrustStore
from intake.signatures.verify import VerificationPolicy, verify_document, verify_files
from tests.pki.build import TestPki

SCENARIOS = (
    "qes_bb",
    "qes_bt",
    "qes_blt",
    "declaration_qes",
    "adesqc_no_qscd",
    "ades_not_qualified",
    "expired_at_signing",
    "revoked_before_signing",
    "revoked_after_signing",
    "tampered",
    "page_added",
    "untrusted_root",
    "ca_not_in_tl_at_signing",
    "sha1",
    "eseal",
    "cades_detached_p7s",
    "cades_enveloping_p7m",
    "unsigned",
)


def _der(path) -> bytes:  # type: ignore[no-untyped-def]
    data = path.read_bytes()
    return pem.unarmor(data)[2] if pem.detect(data) else data


@pytest.fixture(scope="module")
def policy(test_pki: TestPki) -> VerificationPolicy:
    trust = TrustStore.from_parts(lists=[(str(test_pki.trusted_list), _der(test_pki.tl_operator_cert))])
    assert trust.trust_roots, f"the test trusted list was not used: {trust.lists}"
    return VerificationPolicy(trust=trust, revocation="require", allow_fetching=True)


def test_every_scenario_is_covered(test_pki: TestPki) -> None:
    assert set(SCENARIOS) <= set(test_pki.scenarios)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_label_and_reasons(test_pki: TestPki, policy: VerificationPolicy, name: str) -> None:
    scenario = test_pki.scenarios[name]
    detached = scenario.detached_content.read_bytes() if scenario.detached_content else None
    verdict = verify_document(scenario.path.name, scenario.path.read_bytes(), policy, detached_content=detached)
    assert verdict.label == scenario.expected_label, (
        f"{name}: {verdict.label} {verdict.reasons} ({scenario.description})"
    )
    missing = set(scenario.expected_reasons) - set(verdict.reasons)
    assert not missing, f"{name}: reasons {verdict.reasons} lack {sorted(missing)}"
    assert len(verdict.signatures) == scenario.signatures
    assert verdict.summary_ro
    if verdict.label == "QES":
        signature = verdict.signatures[0]
        assert signature.signer == test_pki.applicant_name
        assert signature.signer_identifier == f"PNORO-{test_pki.applicant_cnp}"
        assert signature.qualification is not None and signature.qualification.qualified
        assert verdict.signed_at is not None


def test_timestamped_qes_uses_the_timestamp(test_pki: TestPki, policy: VerificationPolicy) -> None:
    verdict = verify_document("a.pdf", test_pki.scenarios["qes_bt"].path.read_bytes(), policy)
    signature = verdict.signatures[0]
    assert signature.time_source == "timestamp" and "claimed_time_unproven" not in verdict.reasons
    assert signature.evidence["tl_sequence"] == test_pki.tl_sequence_number
    assert verdict.report_xml and "total-passed" in verdict.report_xml
    assert "(marcă temporală)" in verdict.summary_ro


def test_revoked_after_signing_keeps_the_timestamp_time(test_pki: TestPki, policy: VerificationPolicy) -> None:
    verdict = verify_document("a.pdf", test_pki.scenarios["revoked_after_signing"].path.read_bytes(), policy)
    assert test_pki.past_signing_time is not None and verdict.signed_at is not None
    assert abs((verdict.signed_at - test_pki.past_signing_time).total_seconds()) < 5


def test_enveloping_p7m_hands_back_the_pdf(test_pki: TestPki, policy: VerificationPolicy) -> None:
    scenario = test_pki.scenarios["cades_enveloping_p7m"]
    verdict = verify_document(scenario.path.name, scenario.path.read_bytes(), policy)
    assert verdict.enveloped_content == (test_pki.base / "documents" / "application.pdf").read_bytes()


def test_revocation_off_and_unreachable(test_pki: TestPki, policy: VerificationPolicy) -> None:
    data = test_pki.scenarios["qes_bt"].path.read_bytes()
    off = verify_document("a.pdf", data, VerificationPolicy(trust=policy.trust, revocation="off"))
    assert off.label == "QES" and "revocation_not_checked" in off.reasons
    offline = verify_document("a.pdf", data, VerificationPolicy(trust=policy.trust, allow_fetching=False))
    assert offline.label == "indeterminate" and "revocation_unreachable" in offline.reasons
    # B-LT carries its own revocation data: decidable offline
    blt = verify_document(
        "a.pdf",
        test_pki.scenarios["qes_blt"].path.read_bytes(),
        VerificationPolicy(trust=policy.trust, allow_fetching=False),
    )
    assert blt.label == "QES", blt.reasons


def test_verify_files_json_shape(test_pki: TestPki, policy: VerificationPolicy) -> None:
    p7s = test_pki.scenarios["cades_detached_p7s"].path
    pdf = test_pki.scenarios["qes_bt"].path
    results = verify_files([pdf, p7s], policy)
    assert [r["file"] for r in results] == [str(pdf), str(p7s)]
    assert results[0]["signature"]["label"] == "QES"
    assert set(results[0]["signatures"][0]) >= {
        "label",
        "signer",
        "signed_at",
        "coverage",
        "modified_after_signing",
        "reasons",
    }
    # the .p7s signs application.pdf, which does not sit beside it under the name "cades_detached_p7s"
    assert results[1]["signature"]["label"] == "indeterminate"
    assert "detached_content_missing" in results[1]["signature"]["reasons"]
