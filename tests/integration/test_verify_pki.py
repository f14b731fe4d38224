"""Acceptance test of the verifier against the test PKI: every scenario file (signed at test time by
`tests.pki.build`) gets its expected label and reasons from `verify_document`, with revocation checked online
(OCSP/CRL on 127.0.0.1) and trust from the synthetic trusted list, whose XAdES signature is verified.

Issue 8 (EN 319 102-1 / TS 119 615) adds, per scenario, where the signing time comes from, whether the time-stamp
is qualified and which signature is the applicant's; and, below, the trusted-list faults of cases 3 and 4."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import pem

from intake.signatures.trust_store import TrustStore
from intake.signatures.verify import VerificationPolicy, applicant_from_file, verify_document, verify_files
from tests.pki.build import TestPki


def _der(path) -> bytes:  # type: ignore[no-untyped-def]
    data = path.read_bytes()
    return pem.unarmor(data)[2] if pem.detect(data) else data


@pytest.fixture(scope="module")
def policy(test_pki: TestPki) -> VerificationPolicy:
    trust = TrustStore.from_parts(lists=[(str(test_pki.trusted_list), _der(test_pki.tl_operator_cert))])
    assert trust.trust_roots, f"the test trusted list was not used: {trust.lists}"
    return VerificationPolicy(trust=trust, revocation="require", allow_fetching=True)


def test_every_scenario_is_covered(test_pki: TestPki) -> None:
    # issue 3's scenarios and issue 8's (cases 1, 2, 5, 6, 7 and their controls)
    assert {"qes_bt", "tampered", "i8_claimed_time_withdrawn_ca", "i8_expired_cert_qtst_blt"} <= set(test_pki.scenarios)
    assert sum(name.startswith("i8_") for name in test_pki.scenarios) >= 17


def _verdict(test_pki: TestPki, policy: VerificationPolicy, name: str):  # type: ignore[no-untyped-def]
    scenario = test_pki.scenarios[name]
    detached = scenario.detached_content.read_bytes() if scenario.detached_content else None
    data = scenario.path.read_bytes()
    hint = applicant_from_file(detached if detached is not None else data)
    return scenario, verify_document(scenario.path.name, data, policy, detached_content=detached, applicant=hint)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # every scenario the PKI builds, read from its specs (the PKI itself is built once, by the session fixture)
    if "scenario_name" in metafunc.fixturenames:
        from tests.pki.build import SPECS
        from tests.pki.issue8 import ISSUE8_SPECS

        metafunc.parametrize("scenario_name", [spec.name for spec in (*SPECS, *ISSUE8_SPECS)])


def test_scenario_label_and_reasons(test_pki: TestPki, policy: VerificationPolicy, scenario_name: str) -> None:
    name = scenario_name
    scenario, verdict = _verdict(test_pki, policy, name)
    assert verdict.label == scenario.expected_label, (
        f"{name}: {verdict.label} {verdict.reasons} ({scenario.description})"
    )
    missing = set(scenario.expected_reasons) - set(verdict.reasons)
    assert not missing, f"{name}: reasons {verdict.reasons} lack {sorted(missing)}"
    assert len(verdict.signatures) == scenario.signatures
    assert verdict.summary_ro
    decisive = verdict.decisive
    if scenario.applicant_signature is not None:
        assert verdict.applicant_signature == scenario.applicant_signature, name
    if scenario.time_source is not None:
        assert decisive is not None and decisive.time_source == scenario.time_source, name
    if scenario.timestamp_qualified is not None:
        assert decisive is not None and decisive.timestamp_qualified is scenario.timestamp_qualified, name
    if "modified_after_signing" in scenario.expected_reasons:
        assert decisive is not None and decisive.modifications, f"{name}: what changed is not said"
    if verdict.label == "QES":
        signature = verdict.decisive
        assert signature is not None
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


# ------------------------------------------------------------------------------------------------ trusted-list faults
def _store(test_pki: TestPki, source: str, operator: Path | None = None, **kwargs) -> TrustStore:  # type: ignore[no-untyped-def]
    return TrustStore.from_parts(lists=[(source, _der(operator or test_pki.tl_operator_cert))], **kwargs)


def _qes_bt(test_pki: TestPki, trust: TrustStore):  # type: ignore[no-untyped-def]
    policy = VerificationPolicy(trust=trust, revocation="require", allow_fetching=True)
    return verify_document("cerere.pdf", test_pki.scenarios["qes_bt"].path.read_bytes(), policy)


@pytest.mark.parametrize("fault", ["tampered", "wrong_operator", "unreachable"])
def test_ts119615_broken_or_missing_trusted_list_is_our_fault_indeterminate_not_invalid(
    test_pki: TestPki, fault: str
) -> None:
    # Case 3: the list cannot be used, so the signer's CA may well be in it: never "invalid" (untrusted_chain).
    sources = {
        "tampered": (str(test_pki.trusted_list_tampered), None),
        "wrong_operator": (str(test_pki.trusted_list), test_pki.wrong_operator_cert),
        "unreachable": ("http://127.0.0.1:9/tl-ro.xml", None),
    }
    source, operator = sources[fault]
    trust = _store(test_pki, source, operator)
    assert trust.unavailable and trust.lists[0].error
    verdict = _qes_bt(test_pki, trust)
    assert verdict.label == "indeterminate", verdict.reasons
    assert "trusted_list_unavailable" in verdict.reasons and "untrusted_chain" not in verdict.reasons
    assert "lista de încredere" in verdict.summary_ro


def test_ts119615_control_a_good_list_gives_qes(test_pki: TestPki) -> None:
    verdict = _qes_bt(test_pki, _store(test_pki, str(test_pki.trusted_list)))
    assert verdict.label == "QES"
    assert verdict.decisive is not None and verdict.decisive.trusted_list == {
        "territory": "RO",
        "sequence": test_pki.tl_sequence_number,
    }


def test_ts119612_expired_trusted_list_is_indeterminate(test_pki: TestPki) -> None:
    # Case 4: correctly signed, but its NextUpdate passed 20 days ago: a stale list must not qualify anyone.
    trust = _store(test_pki, str(test_pki.trusted_list_expired))
    (info,) = trust.lists
    assert info.error is None and info.signature_verified
    verdict = _qes_bt(test_pki, trust)
    assert verdict.label == "indeterminate" and "trusted_list_expired" in verdict.reasons
    # control: the configured grace (trust.next_update_grace_hours) covers the 20 days
    lenient = _store(test_pki, str(test_pki.trusted_list_expired), grace=timedelta(days=21))
    assert _qes_bt(test_pki, lenient).label == "QES"
