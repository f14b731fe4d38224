"""The test PKI is what it claims to be: files, trusted list, OCSP/CRL/TSA, and pyHanko's own view of the signatures.

These tests check the fixtures, not intake: they use pyHanko and `cryptography` directly, so a bug in the verifier
cannot hide a broken fixture (and the other way round).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import pytest
from asn1crypto import algos, cms, pem, tsp, x509
from cryptography import x509 as c_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.qualified_asn1 import get_qc_statements
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import async_validate_detached_cms, async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.qualified.eutl_parse import trust_list_to_registry
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from tests.pki.build import TestPki
from tests.pki.documents import cnp_checksum

T = TypeVar("T")

EXPECTED_LABELS = {
    "qes_bb": "QES",
    "qes_bt": "QES",
    "qes_blt": "QES",
    "declaration_qes": "QES",
    "adesqc_no_qscd": "AdES-QC",
    "ades_not_qualified": "AdES",
    "expired_at_signing": "invalid",
    "revoked_before_signing": "invalid",
    "revoked_after_signing": "QES",
    "tampered": "invalid",
    "page_added": "indeterminate",
    "untrusted_root": "invalid",
    "ca_not_in_tl_at_signing": "AdES",
    "sha1": "invalid",
    "eseal": "AdES",
    "cades_detached_p7s": "QES",
    "cades_enveloping_p7m": "QES",
    "unsigned": "none",
}


def _cert(path: Any) -> x509.Certificate:
    return x509.Certificate.load(pem.unarmor(path.read_bytes())[2])


def _c_cert(path: Any) -> c_x509.Certificate:
    return c_x509.load_pem_x509_certificate(path.read_bytes())


def _roots(test_pki: TestPki) -> list[x509.Certificate]:
    """What a verifier loading our trusted list would trust: the CA/QC services' certificates."""
    return [_cert(test_pki.ca_certs["qualified-ca"]), _cert(test_pki.ca_certs["late-ca"])]


def _with_context(test_pki: TestPki, use: Callable[[ValidationContext], Awaitable[T]], **context_kwargs: Any) -> T:
    """Run `use` with a fetching ValidationContext whose aiohttp session is closed afterwards."""

    async def run() -> T:
        async with aiohttp.ClientSession() as session:
            context = ValidationContext(
                trust_roots=_roots(test_pki),
                allow_fetching=True,
                fetcher_backend=AIOHttpFetcherBackend(session),
                **context_kwargs,
            )
            return await use(context)

    return asyncio.run(run())


def _pdf_status(test_pki: TestPki, name: str, **context_kwargs: Any) -> PdfSignatureStatus:
    with test_pki.scenarios[name].path.open("rb") as fh:
        (signature,) = PdfFileReader(fh, strict=False).embedded_signatures
        return _with_context(test_pki, lambda ctx: async_validate_pdf_signature(signature, ctx), **context_kwargs)


def _signed_data(data: bytes) -> cms.SignedData:
    content_info = cms.ContentInfo.load(data)
    assert content_info["content_type"].native == "signed_data"
    return content_info["content"]


# --------------------------------------------------------------------------------------- files and certificates
def test_every_scenario_exists_with_expected_label(test_pki: TestPki) -> None:
    assert {n: s.expected_label for n, s in test_pki.scenarios.items()} == EXPECTED_LABELS
    for scenario in test_pki.scenarios.values():
        assert scenario.path.is_file() and scenario.path.stat().st_size > 0, scenario.name
        assert scenario.path.is_relative_to(test_pki.base)


def test_pdfs_have_the_expected_number_of_signatures(test_pki: TestPki) -> None:
    for scenario in test_pki.scenarios.values():
        if scenario.path.suffix != ".pdf":
            continue
        with scenario.path.open("rb") as fh:
            reader = PdfFileReader(fh, strict=False)
            assert len(reader.embedded_signatures) == scenario.signatures, scenario.name
    assert test_pki.scenarios["unsigned"].signatures == 0


def test_cades_files_are_cades_bes_over_the_application(test_pki: TestPki) -> None:
    application = test_pki.scenarios["cades_detached_p7s"].detached_content
    assert application is not None and application.read_bytes().startswith(b"%PDF-")
    detached = _signed_data(test_pki.scenarios["cades_detached_p7s"].path.read_bytes())
    enveloping = _signed_data(test_pki.scenarios["cades_enveloping_p7m"].path.read_bytes())
    assert detached["encap_content_info"]["content"].native is None
    assert enveloping["encap_content_info"]["content"].native == application.read_bytes()
    for signed_data in (detached, enveloping):
        (signer_info,) = signed_data["signer_infos"]
        assert find_unique_cms_attribute(signer_info["signed_attrs"], "signing_certificate_v2")
    (enveloping_signer,) = enveloping["signer_infos"]
    assert find_unique_cms_attribute(enveloping_signer["unsigned_attrs"], "signature_time_stamp_token")


def test_applicant_certificate_carries_identity_and_qc_statements(test_pki: TestPki) -> None:
    cnp = test_pki.applicant_cnp
    assert len(cnp) == 13 and cnp_checksum(cnp[:12]) == cnp[12]
    qes = _cert(test_pki.certificates["qes"])
    subject = qes.subject.native
    assert subject["serial_number"] == f"PNORO-{cnp}"
    assert f"{subject['given_name']} {subject['surname']}" == test_pki.applicant_name == subject["common_name"]

    def statements(role: str) -> dict[str, Any]:
        return {
            s["statement_id"]: s["statement_info"]
            for s in get_qc_statements(_cert(test_pki.certificates[role])).native or ()
        }

    assert statements("qes") == {"qc_compliance": None, "qc_sscd": None, "qc_type": ["qct_esign"]}
    assert statements("no_qscd") == {"qc_compliance": None, "qc_type": ["qct_esign"]}
    assert statements("eseal") == {"qc_compliance": None, "qc_sscd": None, "qc_type": ["qct_eseal"]}
    assert statements("not_qualified") == {}


def test_every_certificate_points_at_the_loopback_services(test_pki: TestPki) -> None:
    for role, path in test_pki.certificates.items():
        cert = _c_cert(path)
        aia = cert.extensions.get_extension_for_class(c_x509.AuthorityInformationAccess).value
        crl_dp = cert.extensions.get_extension_for_class(c_x509.CRLDistributionPoints).value
        urls = [d.access_location.value for d in aia] + [n.value for dp in crl_dp for n in dp.full_name or ()]
        assert urls and all(u.startswith(test_pki.services_url + "/") for u in urls), role


# --------------------------------------------------------------------------------------- trusted list
def test_trusted_list_parses_and_lists_the_cas(test_pki: TestPki) -> None:
    registry, errors = trust_list_to_registry(
        test_pki.trusted_list.read_text(encoding="utf-8"), [_cert(test_pki.tl_operator_cert)]
    )
    assert errors == []
    listed = {a.certificate.dump() for a in registry.known_certificate_authorities if isinstance(a, AuthorityWithCert)}
    assert {c.dump() for c in _roots(test_pki)} == listed
    assert _cert(test_pki.ca_certs["untrusted-root"]).dump() not in listed
    tsas = {a.certificate.dump() for a in registry.known_timestamp_authorities if isinstance(a, AuthorityWithCert)}
    assert tsas == {_cert(test_pki.certificates["tsa"]).dump()}

    # the late CA is granted only after the past signing time; the qualified CA since before any issuance
    late = AuthorityWithCert(_cert(test_pki.ca_certs["late-ca"]))
    qca = AuthorityWithCert(_cert(test_pki.ca_certs["qualified-ca"]))
    assert test_pki.past_signing_time is not None
    assert list(registry.applicable_service_definitions(late, test_pki.past_signing_time)) == []
    assert list(registry.applicable_service_definitions(late, test_pki.built_at))
    earliest_issuance = min(_c_cert(p).not_valid_before_utc for p in test_pki.certificates.values())
    assert list(registry.applicable_service_definitions(qca, earliest_issuance))
    assert f"<tsl:TSLSequenceNumber>{test_pki.tl_sequence_number}<" in test_pki.trusted_list.read_text("utf-8")


def test_trusted_list_signature_fails_with_another_certificate(test_pki: TestPki) -> None:
    xml = test_pki.trusted_list.read_text(encoding="utf-8")
    with pytest.raises(SignatureValidationError):
        trust_list_to_registry(xml, [_cert(test_pki.ca_certs["qualified-ca"])])


def test_trusted_list_signature_fails_when_the_list_is_altered(test_pki: TestPki) -> None:
    xml = test_pki.trusted_list.read_text(encoding="utf-8")
    altered = xml.replace(
        f"<tsl:TSLSequenceNumber>{test_pki.tl_sequence_number}<",
        f"<tsl:TSLSequenceNumber>{test_pki.tl_sequence_number + 1}<",
    )
    assert altered != xml
    with pytest.raises(SignatureValidationError):
        trust_list_to_registry(altered, [_cert(test_pki.tl_operator_cert)])


# --------------------------------------------------------------------------------------- services
def _post(url: str, body: bytes, content_type: str) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
        return response.read()


def _ocsp(test_pki: TestPki, role: str) -> ocsp.OCSPResponse:
    cert, issuer = _c_cert(test_pki.certificates[role]), _c_cert(test_pki.ca_certs["qualified-ca"])
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    (url,) = [
        d.access_location.value
        for d in cert.extensions.get_extension_for_class(c_x509.AuthorityInformationAccess).value
        if d.access_method == c_x509.oid.AuthorityInformationAccessOID.OCSP
    ]
    raw = _post(url, request.public_bytes(Encoding.DER), "application/ocsp-request")
    response = ocsp.load_der_ocsp_response(raw)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.serial_number == cert.serial_number
    return response


def test_ocsp_answers_good_and_revoked_as_designed(test_pki: TestPki) -> None:
    assert _ocsp(test_pki, "qes").certificate_status == ocsp.OCSPCertStatus.GOOD
    assert _ocsp(test_pki, "no_qscd").certificate_status == ocsp.OCSPCertStatus.GOOD
    assert test_pki.past_signing_time is not None
    before = _ocsp(test_pki, "revoked_before")
    after = _ocsp(test_pki, "revoked_after")
    assert before.certificate_status == after.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert before.revocation_time_utc is not None and after.revocation_time_utc is not None
    # revoked_before: before the signature (made at build time); revoked_after: after the past signing time
    assert before.revocation_time_utc < test_pki.built_at
    assert test_pki.past_signing_time < after.revocation_time_utc < test_pki.built_at


def test_crl_lists_exactly_the_revoked_certificates(test_pki: TestPki) -> None:
    cert = _c_cert(test_pki.certificates["qes"])
    (dp,) = cert.extensions.get_extension_for_class(c_x509.CRLDistributionPoints).value
    with urllib.request.urlopen(dp.full_name[0].value, timeout=10) as response:
        crl = c_x509.load_der_x509_crl(response.read())
    assert crl.is_signature_valid(_c_cert(test_pki.ca_certs["qualified-ca"]).public_key())
    revoked = {r.serial_number for r in crl}
    expected = {_c_cert(test_pki.certificates[r]).serial_number for r in ("revoked_before", "revoked_after")}
    assert revoked == expected


def test_tsa_answers(test_pki: TestPki) -> None:
    imprint = tsp.MessageImprint(
        {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": b"\x01" * 32}
    )
    request = tsp.TimeStampReq({"version": 1, "message_imprint": imprint, "nonce": 4242, "cert_req": True})
    raw = _post(test_pki.tsa_url, request.dump(), "application/timestamp-query")
    response = tsp.TimeStampResp.load(raw)
    assert response["status"]["status"].native == "granted"
    tst_info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst_info["message_imprint"]["hashed_message"].native == b"\x01" * 32
    assert tst_info["nonce"].native == 4242
    assert isinstance(tst_info["gen_time"].native, datetime)


# --------------------------------------------------------------------------------------- pyHanko's view
def test_qes_bt_is_intact_valid_trusted_and_time_stamped(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "qes_bt")
    assert status.intact and status.valid and status.trusted and not status.revoked
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert status.signing_cert.subject.native["serial_number"] == f"PNORO-{test_pki.applicant_cnp}"


def test_qes_bb_has_no_time_stamp(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "qes_bb")
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is None


def test_qes_blt_embeds_revocation_info(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "qes_blt")
    assert status.intact and status.valid and status.trusted
    assert status.modification_level == ModificationLevel.LTA_UPDATES
    with test_pki.scenarios["qes_blt"].path.open("rb") as fh:
        dss = PdfFileReader(fh, strict=False).root["/DSS"]
        assert "/OCSPs" in dss or "/CRLs" in dss


def test_tampered_is_not_intact(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "tampered")
    assert not status.intact


def test_page_added_is_an_illegal_modification(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "page_added")
    assert status.intact and status.valid
    assert status.modification_level == ModificationLevel.OTHER


def test_revoked_before_signing_is_revoked(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "revoked_before_signing")
    assert status.intact and status.revoked and not status.trusted


def test_revoked_after_signing_was_good_at_the_time_stamp(test_pki: TestPki) -> None:
    now_status = _pdf_status(test_pki, "revoked_after_signing")
    assert now_status.intact and now_status.revoked  # today: revoked ...
    assert now_status.timestamp_validity is not None and now_status.timestamp_validity.trusted
    ts_time = now_status.timestamp_validity.timestamp
    assert ts_time == test_pki.past_signing_time
    revoked_at = _ocsp(test_pki, "revoked_after").revocation_time_utc
    assert revoked_at is not None and ts_time < revoked_at  # ... but only after the time-stamp
    then = _pdf_status(test_pki, "revoked_after_signing", moment=ts_time, retroactive_revinfo=True)
    assert then.intact and then.trusted and not then.revoked


def test_expired_at_signing_expired_before_its_time_stamp(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "expired_at_signing")
    assert status.intact and not status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert status.signing_cert.not_valid_after < status.timestamp_validity.timestamp


def test_untrusted_root_does_not_chain_to_a_trusted_ca(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "untrusted_root")
    assert status.intact and status.valid and not status.trusted


def test_sha1_uses_a_sha1_digest_and_is_rejected(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "sha1")
    assert status.md_algorithm == "sha1"
    assert not status.trusted


def test_ca_not_in_tl_at_signing_chains_but_was_signed_before_the_listing(test_pki: TestPki) -> None:
    status = _pdf_status(test_pki, "ca_not_in_tl_at_signing")
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.timestamp == test_pki.past_signing_time
    issuer = status.validation_path.first if status.validation_path else None
    assert issuer is not None and issuer.dump() == _cert(test_pki.ca_certs["late-ca"]).dump()


def test_not_qualified_and_eseal_signatures_are_valid(test_pki: TestPki) -> None:
    for name in ("ades_not_qualified", "adesqc_no_qscd", "eseal", "declaration_qes"):
        status = _pdf_status(test_pki, name)
        assert status.intact and status.valid and status.trusted, name


def test_cades_detached_and_enveloping_validate(test_pki: TestPki) -> None:
    detached = test_pki.scenarios["cades_detached_p7s"]
    assert detached.detached_content is not None
    content = detached.detached_content.read_bytes()
    p7s = _signed_data(detached.path.read_bytes())
    status = _with_context(
        test_pki, lambda ctx: async_validate_detached_cms(content, p7s, signer_validation_context=ctx)
    )
    assert status.intact and status.valid and status.trusted

    # pyHanko validates time-stamps only on detached CMS: detach the enveloped PDF from a copy (the signed
    # attributes carry the content's digest, so the signature still covers it).
    p7m = _signed_data(test_pki.scenarios["cades_enveloping_p7m"].path.read_bytes())
    assert p7m["encap_content_info"]["content"].native == content
    detached_copy = cms.SignedData.load(p7m.untag().dump())
    detached_copy["encap_content_info"] = cms.ContentInfo({"content_type": "data"})
    status = _with_context(
        test_pki, lambda ctx: async_validate_detached_cms(content, detached_copy, signer_validation_context=ctx)
    )
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
