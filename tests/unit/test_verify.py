"""Unit tests of the signature verifier: label rules, robustness, Romanian summaries.

Signed PDFs are made here, at test time, with pyHanko and certificates from `tests.pki.certs` (keys generated now;
nothing stored). Trust comes from an anchor (anchor mode: qualification from the certificate's QCStatements) and
revocation is not fetched: no network.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import pdf_embedded
from pyhanko_certvalidator.registry import SimpleCertificateStore

from intake.signatures import report
from intake.signatures.qualification import Qualification
from intake.signatures.trust_store import TrustStore
from intake.signatures.verify import (
    ApplicantHint,
    DocumentVerdict,
    VerificationPolicy,
    label_for,
    verify_document,
    verify_files,
)
from tests.pki.certs import (
    ESEAL_PROFILE,
    NO_QSCD_PROFILE,
    QES_PROFILE,
    CertificateAuthority,
    Issued,
    ca_name,
    issue,
    make_root_ca,
    organisation_name,
    person_name,
)
from tests.pki.documents import application_pdf

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
NO_SERVICES = "http://127.0.0.1:9"  # AIA/CRL URLs nobody answers; nothing is fetched in these tests


@dataclass
class Material:
    ca: CertificateAuthority
    signers: dict[str, Issued]
    pdf: bytes


@pytest.fixture(scope="module")
def material() -> Material:
    ca = make_root_ca(
        "unit-ca", ca_name("Unit Test Qualified CA", "Unit SRL"), NOW - 900 * DAY, NOW + 900 * DAY, NO_SERVICES
    )
    person = person_name("Ion", "Popescu", "1960523123456")
    issued, until = NOW - 30 * DAY, NOW + 300 * DAY
    return Material(
        ca=ca,
        signers={
            "qes": issue(ca, "qes", person, issued, until, qc=QES_PROFILE),
            "no_qscd": issue(ca, "no_qscd", person, issued, until, qc=NO_QSCD_PROFILE),
            "plain": issue(ca, "plain", person_name("Maria", "Ionescu", None), issued, until),
            "eseal": issue(ca, "eseal", organisation_name("Firma SRL", "VATRO-123"), issued, until, qc=ESEAL_PROFILE),
            "expired": issue(ca, "expired", person, NOW - 400 * DAY, NOW - 10 * DAY, qc=QES_PROFILE),
        },
        pdf=application_pdf(),
    )


def _policy(material: Material, revocation: str = "off") -> VerificationPolicy:
    trust = TrustStore.from_parts(anchors=[material.ca.asn1])
    return VerificationPolicy(trust=trust, revocation=revocation, allow_fetching=False)  # type: ignore[arg-type]


def _sign(
    material: Material,
    role: str,
    pdf: bytes | None = None,
    *,
    field: str = "Semnatura1",
    subfilter: fields.SigSeedSubFilter = fields.SigSeedSubFilter.PADES,
) -> bytes:
    who = material.signers[role]
    signer = signers.SimpleSigner(
        signing_cert=who.asn1,
        signing_key=who.key_info,
        cert_registry=SimpleCertificateStore.from_certs([material.ca.asn1]),
    )
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=subfilter)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf if pdf is not None else material.pdf), strict=False)
    out = asyncio.run(signers.async_sign_pdf(writer, meta, signer=signer))
    return out.getvalue()


def _assert_never_qes(verdict: DocumentVerdict) -> None:
    assert verdict.label != "QES"
    assert all(s.label != "QES" for s in verdict.signatures)
    assert verdict.reasons, "every verdict carries at least one reason"


# ------------------------------------------------------------------------------------------------ label rules
def _q(qualified: bool = True, qscd: bool | None = True, qc_type: str | None = "esign") -> Qualification:
    return Qualification(
        qualified=qualified,
        qscd=qscd,
        qc_type=qc_type,
        source="trusted_list",
        service_name="CA",
        tl_sequence=7,
        at_signing=qualified,
        at_issuance=qualified,
        reasons=(),
    )


def test_label_rules_follow_the_contract() -> None:
    assert label_for((), _q())[0] == "QES"
    assert label_for((), _q(qc_type=None))[0] == "QES"
    assert label_for((), _q(qscd=None)) == ("AdES-QC", ("no_qscd",))
    assert label_for((), _q(qscd=False))[0] == "AdES-QC"
    assert label_for((), _q(qc_type="eseal")) == ("AdES", ("qc_type_eseal",))
    assert label_for((), _q(qc_type="web")) == ("AdES", ("qc_type_web",))
    assert label_for((), _q(qualified=False)) == ("AdES", ("not_qualified",))
    assert label_for((), None)[0] == "AdES"
    # broken beats everything; "could not decide" beats qualification
    assert label_for(("tampered", "library_error"), _q())[0] == "invalid"
    assert label_for(("revocation_unreachable",), _q())[0] == "indeterminate"
    assert label_for(("library_error",), _q())[0] == "indeterminate"
    assert label_for(("revoked_after_signing",), _q())[0] == "QES"  # informational


# ------------------------------------------------------------------------------------------------ real signatures
def test_qualified_certificate_on_qscd_is_qes(material: Material) -> None:
    verdict = verify_document("cerere.pdf", _sign(material, "qes"), _policy(material))
    assert verdict.label == "QES", verdict.reasons
    assert "claimed_time_unproven" in verdict.reasons and "revocation_not_checked" in verdict.reasons
    signature = verdict.signatures[0]
    assert signature.signer == "Ion Popescu"
    assert signature.signer_identifier == "PNORO-1960523123456"
    assert signature.as_json()["signer_identifier"] == "PNORO-1***********6"  # the CNP never leaves unmasked
    assert signature.coverage == "entire_file" and signature.modified_after_signing is False
    assert signature.time_source == "claimed"
    assert verdict.report_xml and "total-passed" in verdict.report_xml
    assert verdict.summary_ro.startswith("Semnătură electronică calificată validă; semnatar Ion Popescu; semnată la ")


def test_qualified_without_qscd_is_ades_qc(material: Material) -> None:
    verdict = verify_document("cerere.pdf", _sign(material, "no_qscd"), _policy(material))
    assert verdict.label == "AdES-QC" and "no_qscd" in verdict.reasons


def test_not_qualified_and_eseal_are_ades(material: Material) -> None:
    plain = verify_document("cerere.pdf", _sign(material, "plain"), _policy(material))
    assert plain.label == "AdES" and "not_qualified" in plain.reasons
    assert plain.summary_ro.startswith("Semnătură electronică avansată, dar certificatul nu este calificat")
    seal = verify_document("cerere.pdf", _sign(material, "eseal"), _policy(material))
    assert seal.label == "AdES" and "qc_type_eseal" in seal.reasons


def test_en319102_expired_certificate_without_proof_of_time_is_indeterminate_not_invalid(material: Material) -> None:
    # EN 319 102-1: EXPIRED needs a proof of existence after notAfter; a B-B signature has only the signer's claim,
    # so a certificate expired at the validation time leaves it OUT_OF_BOUNDS_NO_POE (indeterminate).
    verdict = verify_document("cerere.pdf", _sign(material, "expired"), _policy(material))
    assert verdict.label == "indeterminate", verdict.reasons
    assert {"certificate_expired_time_unproven", "claimed_time_after_certificate_expiry"} <= set(verdict.reasons)
    assert "expired_at_signing_time" not in verdict.reasons
    assert verdict.summary_ro.startswith("Semnătura nu a putut fi verificată complet (certificatul a expirat")


def test_revocation_required_but_unavailable_is_indeterminate(material: Material) -> None:
    verdict = verify_document("cerere.pdf", _sign(material, "qes"), _policy(material, revocation="require"))
    assert verdict.label == "indeterminate" and "revocation_unreachable" in verdict.reasons
    assert "starea de revocare a certificatului nu a putut fi obținută" in verdict.summary_ro


def test_tampered_signed_range_is_invalid(material: Material) -> None:
    signed = _sign(material, "qes")
    at = signed.index(b"/Producer") if b"/Producer" in signed else 200
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    verdict = verify_document("cerere.pdf", tampered, _policy(material))
    _assert_never_qes(verdict)
    assert verdict.label in ("invalid", "indeterminate")


def test_en319102_document_takes_the_applicants_signature_not_the_weakest(material: Material) -> None:
    twice = _sign(material, "plain", _sign(material, "qes"), field="Semnatura2")
    verdict = verify_document("cerere.pdf", twice, _policy(material))
    assert [s.label for s in verdict.signatures] == ["QES", "AdES"]
    # no hint: the earliest signature (over the form as filled in) decides; the other one is reported beside it
    assert verdict.label == "QES" and verdict.signer == "Ion Popescu" and verdict.applicant_signature == 0
    assert "third_party_signature" in verdict.reasons
    assert verdict.signatures[0].coverage == "entire_revision" and verdict.signatures[0].modified_after_signing is False
    assert "2 semnături" in verdict.summary_ro and "o altă persoană" in verdict.summary_ro
    # the form names Maria Ionescu: her signature decides (and it is not qualified)
    hinted = verify_document("cerere.pdf", twice, _policy(material), applicant=ApplicantHint("Maria Ionescu"))
    assert hinted.label == "AdES" and hinted.signer == "Maria Ionescu" and hinted.applicant_signature == 1
    # the CNP in the certificate (PNORO-<CNP>) wins over a name
    by_cnp = verify_document("cerere.pdf", twice, _policy(material), applicant=ApplicantHint("X Y", "1960523123456"))
    assert by_cnp.applicant_signature == 0 and by_cnp.label == "QES"


def test_unsupported_subfilter_is_found_and_reported(material: Material) -> None:
    signed = _sign(material, "qes", subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED)
    patched = signed.replace(b"/adbe.pkcs7.detached", b"/adbe.pkcs7.sha1    ")  # same length: offsets stay valid
    verdict = verify_document("cerere.pdf", patched, _policy(material))
    assert verdict.label == "indeterminate"
    assert verdict.signatures[0].reasons == ("unsupported_subfilter",)
    assert verdict.signatures[0].signer == "Ion Popescu"


def test_unsigned_pdf_has_no_signature(material: Material) -> None:
    verdict = verify_document("cerere.pdf", material.pdf, _policy(material))
    assert verdict.label == "none" and verdict.reasons == ("no_signature",) and verdict.signatures == ()
    assert verdict.summary_ro == "Documentul nu are semnătură electronică."


# ------------------------------------------------------------------------------------------------ robustness
@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 10, b"garbage bytes, not a PDF at all" * 20, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<"],
    ids=["empty", "zeros", "text", "pdf-header-only"],
)
def test_garbage_never_crashes_and_is_never_qes(material: Material, data: bytes) -> None:
    verdict = verify_document("cerere.pdf", data, _policy(material))
    assert verdict.label in ("indeterminate", "none")
    _assert_never_qes(verdict)


def test_truncated_signed_pdf(material: Material) -> None:
    signed = _sign(material, "qes")
    for cut in (len(signed) // 3, len(signed) // 2, len(signed) - 40):
        verdict = verify_document("cerere.pdf", signed[:cut], _policy(material))
        _assert_never_qes(verdict)


def test_broken_signature_dictionary(material: Material) -> None:
    signed = _sign(material, "qes")
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    broken_contents = signed[:start] + b"0" * (end - start) + signed[end:]  # the CMS blob zeroed out
    broken_range = signed.replace(b"/ByteRange [", b"/ByteRange [9999999 ", 1)
    for data in (broken_contents, broken_range):
        verdict = verify_document("cerere.pdf", data, _policy(material))
        _assert_never_qes(verdict)
        assert verdict.label in ("invalid", "indeterminate")


def test_library_exception_becomes_indeterminate_library_error(
    material: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("/Boom")

    monkeypatch.setattr(pdf_embedded, "async_validate_pdf_signature", explode)
    verdict = verify_document("cerere.pdf", _sign(material, "qes"), _policy(material))
    assert verdict.label == "indeterminate" and "library_error" in verdict.reasons
    assert verdict.signatures[0].evidence["library_error"]["type"] == "KeyError"
    _assert_never_qes(verdict)


def test_exception_in_qualification_is_never_qes(material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> Qualification:
        raise NotImplementedError("several QcTypes")

    policy = _policy(material)
    monkeypatch.setattr(policy.trust, "assess", explode)
    verdict = verify_document("cerere.pdf", _sign(material, "qes"), policy)
    assert verdict.label == "indeterminate" and "library_error" in verdict.reasons


def test_exception_anywhere_in_the_verifier_is_caught(material: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    from intake.signatures import verify

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(verify, "_verify", explode)
    verdict = verify_document("cerere.pdf", _sign(material, "qes"), _policy(material))
    assert verdict.label == "indeterminate" and "library_error" in verdict.reasons


def test_cms_garbage_is_indeterminate(material: Material) -> None:
    for data in (b"", b"\x30\x03\x02\x01\x01", b"not base64 !!"):
        verdict = verify_document("cerere.pdf.p7m", data, _policy(material))
        assert verdict.label == "indeterminate" and "library_error" in verdict.reasons


def test_cades_detached_and_enveloping(material: Material, tmp_path: Path) -> None:
    who = material.signers["qes"]
    signer = signers.SimpleSigner(
        signing_cert=who.asn1,
        signing_key=who.key_info,
        cert_registry=SimpleCertificateStore.from_certs([material.ca.asn1]),
    )

    def sign(detached: bool) -> bytes:
        info = asyncio.run(signer.async_sign_general_data(material.pdf, "sha256", detached=detached, use_cades=True))
        return info.dump()

    policy = _policy(material)
    enveloping = verify_document("cerere.pdf.p7m", sign(detached=False), policy)
    assert enveloping.label == "QES" and enveloping.enveloped_content == material.pdf
    p7s = sign(detached=True)
    missing = verify_document("cerere.pdf.p7s", p7s, policy)
    assert missing.label == "indeterminate" and "detached_content_missing" in missing.reasons
    (tmp_path / "cerere.pdf").write_bytes(material.pdf)
    (tmp_path / "cerere.pdf.p7s").write_bytes(p7s)
    results = verify_files([tmp_path / "cerere.pdf.p7s", tmp_path / "cerere.pdf"], policy)
    assert results[0]["signature"]["label"] == "QES"
    assert results[0]["signatures"][0]["coverage"] == "entire_file"
    assert results[1]["signature"]["label"] == "none" and results[1]["signatures"] == []
    wrong = verify_document("cerere.pdf.p7s", p7s, policy, detached_content=material.pdf + b"x")
    assert wrong.label == "invalid" and "tampered" in wrong.reasons


# ------------------------------------------------------------------------------------------------ wording
def test_romanian_summary_uses_bucharest_time_and_diacritics() -> None:
    when = datetime(2026, 11, 21, 16, 2, 11, tzinfo=UTC)  # 18:02 in Bucharest (EET, UTC+2)
    assert report.format_time_ro(when) == "21.11.2026, ora 18:02"
    text = report._sentence("QES", (), "Ion Popescu", when, "timestamp")
    assert (
        text == "Semnătură electronică calificată validă; semnatar Ion Popescu; semnată la 21.11.2026, ora 18:02 "
        "(marcă temporală)."
    )
    assert report._sentence("invalid", ("tampered",), None, None, None) == (
        "Semnătură electronică invalidă: documentul a fost modificat după semnare."
    )
    assert report._sentence("indeterminate", ("revocation_unreachable",), None, None, None) == (
        "Semnătura nu a putut fi verificată complet (starea de revocare a certificatului nu a putut fi obținută); "
        "documentul va fi verificat de un funcționar."
    )
    assert "ş" not in text and "ţ" not in text  # comma-below only
