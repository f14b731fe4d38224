"""The test PKI is what it claims to be: files, trusted list, OCSP/CRL/TSA, and pyHanko's own view of the signatures.

These tests check the fixtures, not intake: they use pyHanko and `cryptography` directly, so a bug in the verifier
cannot hide a broken fixture (and the other way round).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any, TypeVar

import aiohttp
import pytest
from asn1crypto import algos, cms, core, pem, tsp, x509
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509 as c_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.qualified_asn1 import get_qc_statements
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import NonexistentAttributeError, find_unique_cms_attribute
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_detached_cms,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.qualified.eutl_parse import trust_list_to_registry
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pypdf import PdfReader

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

# Issue 8: name -> (label, reasons, signatures, time_source, timestamp_qualified, applicant_signature).
# Written out again (not imported from tests.pki.issue8) so that an edit of the builder's table shows up here.
EXPECTED_I8: dict[str, tuple[str, tuple[str, ...], int, str | None, bool | None, int | None]] = {
    "i8_claimed_time_withdrawn_ca": (
        "AdES",
        ("claimed_time_unproven", "ca_not_in_trusted_list_at_signing_time"),
        1,
        "claimed",
        None,
        None,
    ),
    "i8_timestamped_withdrawn_ca": ("QES", (), 1, "timestamp", True, None),
    "i8_qtst_independent_bt": ("QES", (), 1, "timestamp", True, None),
    "i8_expired_cert_qtst_blt": ("QES", (), 1, "timestamp", True, None),
    "i8_expired_cert_unlisted_tsa_blt": (
        "indeterminate",
        ("timestamp_untrusted", "certificate_expired_time_unproven"),
        1,
        None,
        None,
        None,
    ),
    "i8_unlisted_tsa_bt": ("QES", ("timestamp_untrusted",), 1, "claimed", None, None),
    "i8_applicant_then_third_party": ("QES", ("third_party_signature",), 2, None, None, 0),
    "i8_third_party_then_applicant": ("QES", ("third_party_signature",), 2, None, None, 1),
    "i8_claimed_after_expiry": ("indeterminate", ("claimed_time_after_certificate_expiry",), 1, None, None, None),
    "i8_claimed_before_issuance": ("indeterminate", ("claimed_time_before_certificate_issuance",), 1, None, None, None),
    "i8_claimed_within_validity": ("QES", ("claimed_time_unproven",), 1, "claimed", None, None),
    "i8_field_value_replaced": ("indeterminate", ("modified_after_signing",), 1, None, None, None),
    "i8_form_then_second_signature": ("QES", (), 2, None, None, 0),
    "i8_visible_signature_over_text": ("indeterminate", ("modified_after_signing",), 2, None, None, 0),
    "i8_annotation_over_text": ("indeterminate", ("modified_after_signing",), 1, None, None, None),
    "i8_dss_revocation_removed": ("indeterminate", ("modified_after_signing",), 1, None, None, None),
    "i8_lta_control": ("QES", (), 1, None, None, None),
}


def _cert(path: Any) -> x509.Certificate:
    return x509.Certificate.load(pem.unarmor(path.read_bytes())[2])


def _c_cert(path: Any) -> c_x509.Certificate:
    return c_x509.load_pem_x509_certificate(path.read_bytes())


def _roots(test_pki: TestPki) -> list[x509.Certificate]:
    """What a verifier loading our trusted list would trust: the CA/QC services' certificates (the withdrawn CA
    too: it was granted until 10 days ago)."""
    return [_cert(test_pki.ca_certs[slug]) for slug in ("qualified-ca", "late-ca", "withdrawn-ca")]


def _with_context(
    test_pki: TestPki,
    use: Callable[[ValidationContext], Awaitable[T]],
    extra_roots: Sequence[x509.Certificate] = (),
    **context_kwargs: Any,
) -> T:
    """Run `use` with a fetching ValidationContext whose aiohttp session is closed afterwards."""

    async def run() -> T:
        async with aiohttp.ClientSession() as session:
            context = ValidationContext(
                trust_roots=[*_roots(test_pki), *extra_roots],
                allow_fetching=True,
                fetcher_backend=AIOHttpFetcherBackend(session),
                **context_kwargs,
            )
            return await use(context)

    return asyncio.run(run())


def _pdf_status(
    test_pki: TestPki, name: str, extra_roots: Sequence[x509.Certificate] = (), **context_kwargs: Any
) -> PdfSignatureStatus:
    with test_pki.scenarios[name].path.open("rb") as fh:
        (signature,) = PdfFileReader(fh, strict=False).embedded_signatures
        return _with_context(
            test_pki, lambda ctx: async_validate_pdf_signature(signature, ctx), extra_roots, **context_kwargs
        )


def _signed_data(data: bytes) -> cms.SignedData:
    content_info = cms.ContentInfo.load(data)
    assert content_info["content_type"].native == "signed_data"
    return content_info["content"]


# --------------------------------------------------------------------------------------- files and certificates
def test_every_scenario_exists_with_expected_label(test_pki: TestPki) -> None:
    expected_i8 = {name: row[0] for name, row in EXPECTED_I8.items()}
    assert {n: s.expected_label for n, s in test_pki.scenarios.items()} == EXPECTED_LABELS | expected_i8
    for scenario in test_pki.scenarios.values():
        assert scenario.path.is_file() and scenario.path.stat().st_size > 0, scenario.name
        assert scenario.path.is_relative_to(test_pki.base)


def test_pdfs_have_the_expected_number_of_signatures(test_pki: TestPki) -> None:
    for scenario in test_pki.scenarios.values():
        if scenario.path.suffix != ".pdf":
            continue
        with scenario.path.open("rb") as fh:
            reader = PdfFileReader(fh, strict=False)
            # document time-stamps (PAdES B-LTA) are not signatures
            assert len(reader.embedded_regular_signatures) == scenario.signatures, scenario.name
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
    assert tsas == {_cert(test_pki.certificates[role]).dump() for role in ("tsa", "independent_tsa")}

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


# --------------------------------------------------------------------------------------- issue 8
# Existing scenarios keep their issue-3 expectations; the issue-8 fields are left unset on them.
EXPECTED_REASONS = {
    "qes_bb": ("claimed_time_unproven",),
    "adesqc_no_qscd": ("no_qscd",),
    "ades_not_qualified": ("not_qualified",),
    "expired_at_signing": ("expired_at_signing_time",),
    "revoked_before_signing": ("revoked_before_signing",),
    "revoked_after_signing": ("revoked_after_signing",),
    "tampered": ("tampered",),
    "page_added": ("modified_after_signing",),
    "untrusted_root": ("untrusted_chain",),
    "ca_not_in_tl_at_signing": ("ca_not_in_trusted_list_at_signing_time",),
    "sha1": ("weak_algorithm",),
    "eseal": ("qc_type_eseal",),
    "cades_detached_p7s": ("claimed_time_unproven",),
    "unsigned": ("no_signature",),
}
TSL = {"t": "http://uri.etsi.org/02231/v2#"}
STATUS_URI = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/"
FIELD_NAMES = ["Semnatura1", "Semnatura2"]


def _reader(test_pki: TestPki, name: str) -> PdfFileReader:
    return PdfFileReader(BytesIO(test_pki.scenarios[name].path.read_bytes()), strict=False)


def _only_signature(test_pki: TestPki, name: str) -> EmbeddedPdfSignature:
    (signature,) = _reader(test_pki, name).embedded_regular_signatures
    return signature


def _timestamp_token(signature: EmbeddedPdfSignature) -> cms.SignedData | None:
    unsigned = signature.signer_info["unsigned_attrs"]
    if isinstance(unsigned, core.Void):
        return None
    try:
        return find_unique_cms_attribute(unsigned, "signature_time_stamp_token")["content"]
    except NonexistentAttributeError:
        return None


def _gen_time(token: cms.SignedData) -> datetime:
    return token["encap_content_info"]["content"].parsed["gen_time"].native


def _tsa_cert(token: cms.SignedData) -> x509.Certificate:
    (signer_info,) = token["signer_infos"]
    sid = signer_info["sid"].chosen
    (cert,) = [
        c.chosen
        for c in token["certificates"]
        if c.chosen.issuer == sid["issuer"] and c.chosen.serial_number == sid["serial_number"].native
    ]
    return cert


def _claimed_time(signature: EmbeddedPdfSignature) -> datetime:
    """The claimed signing time of a PAdES signature: the signature dictionary's /M. PAdES (EN 319 142-1, 5.3)
    forbids the CMS signing-time attribute, and pyHanko does not write it for the ETSI.CAdES.detached subfilter."""
    with pytest.raises(NonexistentAttributeError):
        find_unique_cms_attribute(signature.signer_info["signed_attrs"], "signing_time")
    return generic.parse_pdf_date(signature.sig_object["/M"])


def _same_second(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 1  # CMS UTCTime and PDF dates keep whole seconds


def _signer_id(signature: EmbeddedPdfSignature) -> str:
    return signature.signer_cert.subject.native["serial_number"]


def _validate_all(test_pki: TestPki, name: str, extra_roots: Sequence[x509.Certificate] = ()) -> list[Any]:
    """pyHanko's status of every signature (document time-stamps included) of a scenario, in file order."""

    async def use(context: ValidationContext) -> list[Any]:
        reader = _reader(test_pki, name)
        statuses: list[Any] = []
        for signature in reader.embedded_signatures:
            if signature.sig_object_type == "/DocTimeStamp":
                statuses.append(await async_validate_pdf_timestamp(signature, validation_context=context))
            else:
                statuses.append(await async_validate_pdf_signature(signature, context))
        return statuses

    return _with_context(test_pki, use, extra_roots)


def _tl_service(xml: str, name: str) -> etree._Element:
    root = etree.fromstring(xml.encode("utf-8"))
    (service,) = root.xpath(
        "//t:TSPService[t:ServiceInformation/t:ServiceName/t:Name = $name]", namespaces=TSL, name=name
    )
    return service


def _xml_time(element: etree._Element, path: str) -> datetime:
    (text,) = element.xpath(f"{path}/text()", namespaces=TSL)
    return datetime.fromisoformat(str(text))


def _text_positions(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, x, baseline y) of every text run on page 1, read with pypdf (not with the builder's layout code)."""
    runs: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            runs.append((text, cm[0] * tm[4] + cm[4], cm[3] * tm[5] + cm[5]))

    PdfReader(BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


def _identity_runs(test_pki: TestPki) -> list[tuple[str, float, float]]:
    """The text runs of the applicant's identity paragraph (name, CNP, address ... e-mail) of the application."""
    runs = _text_positions((test_pki.base / "documents" / "application.pdf").read_bytes())
    start = next(i for i, run in enumerate(runs) if run[0].startswith("Subsemnata"))
    end = next(i for i, run in enumerate(runs) if "ioana.stefanescu@example.ro" in run[0])
    chosen = runs[start : end + 1]
    assert test_pki.applicant_cnp in chosen[0][0] and test_pki.applicant_name in chosen[0][0]
    return chosen


A4_TEXT_RIGHT = (210 - 20) * 72 / 25.4  # fpdf2 A4 with 20 mm margins: where the justified lines end, in points


def _covers(rect: Sequence[float], runs: list[tuple[str, float, float]], font_size: float = 11) -> bool:
    """Does `rect` hide every run: from its start to the right text margin, descenders to cap height?"""
    (x1, x2), (y1, y2) = sorted(rect[0::2]), sorted(rect[1::2])
    return x2 >= A4_TEXT_RIGHT and all(
        x1 <= x and y1 <= y - 0.25 * font_size and y + 0.8 * font_size <= y2 for _, x, y in runs
    )


def _page_annots(root: generic.DictionaryObject) -> list[generic.DictionaryObject]:
    page = root["/Pages"]["/Kids"][0].get_object()
    return [ref.get_object() for ref in page["/Annots"]] if "/Annots" in page else []


def _field_value(root: generic.DictionaryObject, name: str) -> tuple[str, bytes]:
    """(/V, normal appearance stream) of the text field `name` in the revision whose catalog is `root`."""
    (field,) = [f.get_object() for f in root["/AcroForm"]["/Fields"] if f.get_object().get("/T") == name]
    return str(field["/V"]), field["/AP"]["/N"].data


def _dss_revocation(root: generic.DictionaryObject) -> tuple[list[Any], list[Any]]:
    """(OCSP responses, CRLs) in the /DSS of the revision whose catalog is `root`."""
    if "/DSS" not in root:
        return [], []
    dss = root["/DSS"]  # indexing resolves indirect objects (`.get` would not)
    ocsps = [asn1_ocsp.OCSPResponse.load(ref.get_object().data) for ref in dss["/OCSPs"]] if "/OCSPs" in dss else []
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss["/CRLs"]] if "/CRLs" in dss else []
    return ocsps, crls


def _ocsp_serials(responses: list[Any]) -> dict[int, str]:
    """serial -> status, over every single response of every OCSP response."""
    out: dict[int, str] = {}
    for response in responses:
        basic = response["response_bytes"]["response"].parsed
        for single in basic["tbs_response_data"]["responses"]:
            out[single["cert_id"]["serial_number"].native] = single["cert_status"].name
    return out


def test_existing_scenarios_keep_their_expectations(test_pki: TestPki) -> None:
    for name, label in EXPECTED_LABELS.items():
        scenario = test_pki.scenarios[name]
        assert scenario.expected_label == label, name
        assert scenario.expected_reasons == EXPECTED_REASONS.get(name, ()), name
        assert scenario.signatures == (0 if name == "unsigned" else 1), name
        assert (scenario.time_source, scenario.timestamp_qualified, scenario.applicant_signature) == (None,) * 3


def test_issue8_scenarios_have_their_expectations(test_pki: TestPki) -> None:
    for name, (label, reasons, signatures, time_source, ts_qualified, applicant) in EXPECTED_I8.items():
        scenario = test_pki.scenarios[name]
        got = (
            scenario.expected_label,
            scenario.expected_reasons,
            scenario.signatures,
            scenario.time_source,
            scenario.timestamp_qualified,
            scenario.applicant_signature,
        )
        assert got == (label, reasons, signatures, time_source, ts_qualified, applicant), name
        assert scenario.path.suffix == ".pdf" and scenario.detached_content is None
        assert scenario.description


def test_issue8_certificates(test_pki: TestPki) -> None:
    applicant_id = f"PNORO-{test_pki.applicant_cnp}"
    qca, withdrawn = _c_cert(test_pki.ca_certs["qualified-ca"]), _c_cert(test_pki.ca_certs["withdrawn-ca"])
    certs = {role: _c_cert(test_pki.certificates[role]) for role in test_pki.certificates}
    built = test_pki.built_at
    for role in ("withdrawn_signer", "expiring", "short_lived"):
        assert _cert(test_pki.certificates[role]).subject.native["serial_number"] == applicant_id, role
        assert get_qc_statements(_cert(test_pki.certificates[role])).native, role
    certs["withdrawn_signer"].verify_directly_issued_by(withdrawn)
    for role in ("third_party", "expiring", "short_lived"):
        certs[role].verify_directly_issued_by(qca)
    assert certs["expiring"].not_valid_after_utc < built
    assert certs["short_lived"].not_valid_before_utc < built < certs["short_lived"].not_valid_after_utc
    assert certs["short_lived"].not_valid_after_utc - built < timedelta(days=3)

    third = _cert(test_pki.certificates["third_party"])
    assert third.subject.native["common_name"] == "Maria Ionescu"
    cnp = third.subject.native["serial_number"].removeprefix("PNORO-")
    assert cnp != test_pki.applicant_cnp and len(cnp) == 13 and cnp_checksum(cnp[:12]) == cnp[12]
    assert get_qc_statements(third).native is None  # no QCStatements: a non-qualified AdES
    policies = certs["third_party"].extensions.get_extension_for_class(c_x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["0.4.0.2042.1.2"]  # NCP+

    for role, root in (("independent_tsa", "independent-tsa-root"), ("unlisted_tsa", "unlisted-tsa-root")):
        tsa = certs[role]
        tsa.verify_directly_issued_by(_c_cert(test_pki.ca_certs[root]))
        eku = tsa.extensions.get_extension_for_class(c_x509.ExtendedKeyUsage)
        assert eku.critical and list(eku.value) == [c_x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
        assert isinstance(tsa.public_key(), rsa.RSAPublicKey)
    assert _cert(test_pki.certificates["independent_tsa"]).subject.native["common_name"] == "Test Independent QTSA RO"
    independent_root = _cert(test_pki.ca_certs["independent-tsa-root"])
    assert independent_root.subject.native["common_name"] == "Test Independent TSA Root"


def test_trusted_list_withdrawn_ca_and_independent_qtst(test_pki: TestPki) -> None:
    xml = test_pki.trusted_list.read_text(encoding="utf-8")
    registry, errors = trust_list_to_registry(xml, [_cert(test_pki.tl_operator_cert)])
    assert errors == []
    past = test_pki.past_signing_time
    assert past is not None

    # withdrawn now (since 10 days), granted before (history since 5 years): applicable at `past`, not today
    service = _tl_service(xml, "Test Withdrawn Qualified CA RO")
    (status,) = service.xpath("t:ServiceInformation/t:ServiceStatus/text()", namespaces=TSL)
    assert status == STATUS_URI + "withdrawn"
    withdrawn_since = _xml_time(service, "t:ServiceInformation/t:StatusStartingTime")
    assert past < withdrawn_since < test_pki.built_at
    assert abs(test_pki.built_at - withdrawn_since - timedelta(days=10)) < timedelta(seconds=1)
    (history,) = service.xpath("t:ServiceHistory/t:ServiceHistoryInstance", namespaces=TSL)
    assert history.xpath("t:ServiceStatus/text()", namespaces=TSL) == [STATUS_URI + "granted"]
    assert _xml_time(history, "t:StatusStartingTime") < test_pki.built_at - timedelta(days=4 * 365)
    withdrawn = AuthorityWithCert(_cert(test_pki.ca_certs["withdrawn-ca"]))
    assert list(registry.applicable_service_definitions(withdrawn, past))
    assert list(registry.applicable_service_definitions(withdrawn, test_pki.built_at)) == []

    # the independent TSA is listed as a QTST, its root is not a listed CA, nor issued by any listed CA
    service = _tl_service(xml, "Test Independent QTSA RO")
    (service_type,) = service.xpath("t:ServiceInformation/t:ServiceTypeIdentifier/text()", namespaces=TSL)
    assert service_type == "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
    independent = _cert(test_pki.certificates["independent_tsa"])
    tsas = [a.certificate for a in registry.known_timestamp_authorities if isinstance(a, AuthorityWithCert)]
    assert independent.dump() in {t.dump() for t in tsas}
    listed_cas = [a.certificate for a in registry.known_certificate_authorities if isinstance(a, AuthorityWithCert)]
    independent_c = _c_cert(test_pki.certificates["independent_tsa"])
    for ca in listed_cas:
        assert independent.issuer != ca.subject
        with pytest.raises((ValueError, InvalidSignature)):
            independent_c.verify_directly_issued_by(c_x509.load_der_x509_certificate(ca.dump()))
    # nothing of the unlisted TSA nor of the TSA roots is in the list
    listed = {c.dump() for c in (*tsas, *listed_cas)}
    for path in (
        test_pki.certificates["unlisted_tsa"],
        test_pki.ca_certs["unlisted-tsa-root"],
        test_pki.ca_certs["independent-tsa-root"],
    ):
        assert _cert(path).dump() not in listed


def test_trusted_list_variants(test_pki: TestPki) -> None:
    main = test_pki.trusted_list.read_text(encoding="utf-8")
    operator = _cert(test_pki.tl_operator_cert)

    expired = test_pki.trusted_list_expired.read_text(encoding="utf-8")
    registry, errors = trust_list_to_registry(expired, [operator])  # correctly signed by the same operator
    assert errors == []
    root = etree.fromstring(expired.encode("utf-8"))
    (scheme,) = root.xpath("t:SchemeInformation", namespaces=TSL)
    assert _xml_time(scheme, "t:NextUpdate/t:dateTime") < test_pki.built_at - timedelta(days=19)
    issued = _xml_time(scheme, "t:ListIssueDateTime")
    assert abs(test_pki.built_at - issued - timedelta(days=200)) < timedelta(seconds=1)
    assert scheme.xpath("t:TSLSequenceNumber/text()", namespaces=TSL) == [str(test_pki.tl_expired_sequence_number)]
    assert test_pki.tl_expired_sequence_number == 41 != test_pki.tl_sequence_number
    main_registry, _ = trust_list_to_registry(main, [operator])
    for attribute in ("known_certificate_authorities", "known_timestamp_authorities"):
        assert {a.certificate.dump() for a in getattr(registry, attribute)} == {
            a.certificate.dump() for a in getattr(main_registry, attribute)
        }

    tampered = test_pki.trusted_list_tampered.read_text(encoding="utf-8")
    assert tampered != main
    assert tampered.replace("Test Qualified CA RO (modificat)<", "Test Qualified CA RO<") == main
    with pytest.raises(SignatureValidationError):
        trust_list_to_registry(tampered, [operator])

    wrong = _cert(test_pki.wrong_operator_cert)
    assert wrong.dump() != operator.dump() and wrong.subject != operator.subject
    for xml in (main, expired):
        with pytest.raises(SignatureValidationError):
            trust_list_to_registry(xml, [wrong])


def test_case1_withdrawn_ca_claimed_and_timestamped(test_pki: TestPki) -> None:
    past = test_pki.past_signing_time
    assert past is not None
    withdrawn_ca = _cert(test_pki.ca_certs["withdrawn-ca"])

    claimed = _only_signature(test_pki, "i8_claimed_time_withdrawn_ca")
    assert _timestamp_token(claimed) is None  # PAdES B-B
    assert _same_second(_claimed_time(claimed), past)
    assert claimed.signer_cert.issuer == withdrawn_ca.subject
    assert _signer_id(claimed) == f"PNORO-{test_pki.applicant_cnp}"

    stamped = _only_signature(test_pki, "i8_timestamped_withdrawn_ca")
    token = _timestamp_token(stamped)
    assert token is not None and _same_second(_gen_time(token), past)
    assert _tsa_cert(token).dump() == _cert(test_pki.certificates["tsa"]).dump()  # the main QTST
    assert stamped.signer_cert.dump() == claimed.signer_cert.dump()
    assert _same_second(_claimed_time(stamped), past)

    for name in ("i8_claimed_time_withdrawn_ca", "i8_timestamped_withdrawn_ca"):
        status = _pdf_status(test_pki, name)
        assert status.intact and status.valid and status.trusted, name


def test_case2_time_stamps_from_independent_and_unlisted_tsas(test_pki: TestPki) -> None:
    independent_root = _cert(test_pki.ca_certs["independent-tsa-root"])
    unlisted_root = _cert(test_pki.ca_certs["unlisted-tsa-root"])
    for name, role, root in (
        ("i8_qtst_independent_bt", "independent_tsa", independent_root),
        ("i8_unlisted_tsa_bt", "unlisted_tsa", unlisted_root),
    ):
        signature = _only_signature(test_pki, name)
        assert signature.signer_cert.dump() == _cert(test_pki.certificates["qes"]).dump()
        token = _timestamp_token(signature)
        assert token is not None and _tsa_cert(token).dump() == _cert(test_pki.certificates[role]).dump(), name
        assert abs(_gen_time(token) - test_pki.built_at) < timedelta(minutes=10)  # stamped at build time
        # pyHanko alone (CA roots only) cannot trust either time-stamp; with the TSA's root it can
        alone = _pdf_status(test_pki, name)
        assert alone.intact and alone.trusted
        assert alone.timestamp_validity is not None and not alone.timestamp_validity.trusted
        rooted = _pdf_status(test_pki, name, [root])
        assert rooted.timestamp_validity is not None and rooted.timestamp_validity.trusted, name


def test_case2_expired_certificate_b_lt(test_pki: TestPki) -> None:
    past = test_pki.past_signing_time
    assert past is not None
    qca = _cert(test_pki.ca_certs["qualified-ca"])
    expiring = _cert(test_pki.certificates["expiring"])
    assert expiring["tbs_certificate"]["validity"]["not_after"].native < test_pki.built_at
    for name, role, root_slug in (
        ("i8_expired_cert_qtst_blt", "independent_tsa", "independent-tsa-root"),
        ("i8_expired_cert_unlisted_tsa_blt", "unlisted_tsa", "unlisted-tsa-root"),
    ):
        reader = _reader(test_pki, name)
        (signature,) = reader.embedded_regular_signatures
        assert signature.signer_cert.dump() == expiring.dump()
        assert _same_second(_claimed_time(signature), past)
        token = _timestamp_token(signature)
        assert token is not None and _same_second(_gen_time(token), past)
        assert _tsa_cert(token).dump() == _cert(test_pki.certificates[role]).dump()

        # B-LT: the DSS (added after the signature) answers for the signer's certificate
        assert signature.signed_revision < reader.xrefs.total_revisions - 1
        ocsps, crls = _dss_revocation(reader.root)
        by_ocsp = _ocsp_serials(ocsps).get(expiring.serial_number) == "good"
        by_crl = any(
            crl["tbs_cert_list"]["issuer"] == qca.subject
            and expiring.serial_number
            not in {r["user_certificate"].native for r in crl["tbs_cert_list"]["revoked_certificates"]}
            for crl in crls
        )
        assert by_ocsp or by_crl, name

        # and it suffices: validated offline, at the time-stamp, from the DSS alone
        root = _cert(test_pki.ca_certs[root_slug])
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {
                "trust_roots": [qca, root],
                "moment": past,
                "retroactive_revinfo": True,
                "allow_fetching": False,
                "revocation_mode": "hard-fail",
            }
        )
        status = asyncio.run(async_validate_pdf_signature(signature, context))
        assert status.intact and status.valid and status.trusted and not status.revoked, name


def test_case5_two_signatures_in_order(test_pki: TestPki) -> None:
    applicant_id = f"PNORO-{test_pki.applicant_cnp}"
    third_id = _cert(test_pki.certificates["third_party"]).subject.native["serial_number"]
    for name in ("i8_applicant_then_third_party", "i8_third_party_then_applicant"):
        scenario = test_pki.scenarios[name]
        signatures = _reader(test_pki, name).embedded_regular_signatures
        assert [s.field_name for s in signatures] == FIELD_NAMES
        # file order = signing order: the second signature covers the first one's revision
        assert signatures[0].signed_revision < signatures[1].signed_revision
        assert signatures[0].byte_range[2] < signatures[1].byte_range[2]
        assert scenario.applicant_signature is not None
        expected = [third_id, third_id]
        expected[scenario.applicant_signature] = applicant_id
        assert [_signer_id(s) for s in signatures] == expected, name
        assert all(_timestamp_token(s) is not None for s in signatures), name  # both B-T
        for status in _validate_all(test_pki, name):
            assert status.intact and status.valid and status.trusted, name


def test_case6_claimed_times_around_the_validity(test_pki: TestPki) -> None:
    short = _c_cert(test_pki.certificates["short_lived"])
    after = _only_signature(test_pki, "i8_claimed_after_expiry")
    before = _only_signature(test_pki, "i8_claimed_before_issuance")
    within = _only_signature(test_pki, "i8_claimed_within_validity")
    for signature in (after, before, within):
        assert signature.signer_cert.dump() == _cert(test_pki.certificates["short_lived"]).dump()
        assert _timestamp_token(signature) is None  # B-B: only the claimed time
    assert _same_second(_claimed_time(after), short.not_valid_after_utc + timedelta(days=1))
    assert _claimed_time(after) > test_pki.built_at  # in the future
    assert _same_second(_claimed_time(before), short.not_valid_before_utc - timedelta(days=1))
    assert short.not_valid_before_utc < _claimed_time(within) < short.not_valid_after_utc
    for name in ("i8_claimed_after_expiry", "i8_claimed_before_issuance", "i8_claimed_within_validity"):
        status = _pdf_status(test_pki, name)
        assert status.intact and status.valid, name


def test_case7_field_value_replaced_after_signing(test_pki: TestPki) -> None:
    reader = _reader(test_pki, "i8_field_value_replaced")
    (signature,) = reader.embedded_regular_signatures
    signed_value, signed_look = _field_value(reader.get_historical_root(signature.signed_revision), "nume")
    last_value, last_look = _field_value(reader.root, "nume")
    assert signed_value == test_pki.applicant_name
    assert last_value == "Maria Ionescu"
    assert signed_look != last_look and b"re f" in last_look  # the appearance changed too (opaque box, new text)
    assert signature.signed_revision == reader.xrefs.total_revisions - 2  # one update after the signature
    (status,) = _validate_all(test_pki, "i8_field_value_replaced")
    assert status.intact and status.valid and status.modification_level != ModificationLevel.NONE

    control = _reader(test_pki, "i8_form_then_second_signature")
    first, second = control.embedded_regular_signatures
    assert [first.field_name, second.field_name] == FIELD_NAMES
    assert _signer_id(first) == _signer_id(second) == f"PNORO-{test_pki.applicant_cnp}"
    assert _field_value(control.get_historical_root(first.signed_revision), "nume") == _field_value(
        control.root, "nume"
    )
    assert second.signed_revision == control.xrefs.total_revisions - 1  # nothing after the second signature
    for status in _validate_all(test_pki, "i8_form_then_second_signature"):
        assert status.intact and status.valid and status.trusted


def test_case7_visible_signature_over_the_identity_paragraph(test_pki: TestPki) -> None:
    runs = _identity_runs(test_pki)
    reader = _reader(test_pki, "i8_visible_signature_over_text")
    first, second = reader.embedded_regular_signatures
    assert [first.field_name, second.field_name] == FIELD_NAMES
    assert _signer_id(first) == f"PNORO-{test_pki.applicant_cnp}"
    assert second.signer_cert.subject.native["common_name"] == "Maria Ionescu"
    (widget,) = [a for a in _page_annots(reader.root) if a.get("/T") == "Semnatura2"]
    rect = [float(v) for v in widget["/Rect"]]
    assert _covers(rect, runs), (rect, runs)
    assert "/N" in widget["/AP"]  # visible: it has an appearance
    # the first signature saw no such widget on the page
    assert all(a.get("/T") != "Semnatura2" for a in _page_annots(reader.get_historical_root(first.signed_revision)))


def test_case7_annotation_over_the_identity_paragraph(test_pki: TestPki) -> None:
    runs = _identity_runs(test_pki)
    reader = _reader(test_pki, "i8_annotation_over_text")
    (signature,) = reader.embedded_regular_signatures
    (annotation,) = [a for a in _page_annots(reader.root) if a.get("/Subtype") == "/FreeText"]
    assert _covers([float(v) for v in annotation["/Rect"]], runs)
    appearance = annotation["/AP"]["/N"].data
    assert appearance.startswith(b"q 1 1 1 rg 0 0 ")  # an opaque white box first, then the replacement text
    signed_root = reader.get_historical_root(signature.signed_revision)
    assert all(a.get("/Subtype") != "/FreeText" for a in _page_annots(signed_root))
    (status,) = _validate_all(test_pki, "i8_annotation_over_text")
    assert status.intact and status.valid and status.modification_level != ModificationLevel.NONE


def test_case7_dss_revocation_removed(test_pki: TestPki) -> None:
    reader = _reader(test_pki, "i8_dss_revocation_removed")
    (signature,) = reader.embedded_regular_signatures
    last = reader.xrefs.total_revisions - 1
    before = reader.get_historical_root(last - 1)
    ocsps, crls = _dss_revocation(before)
    assert ocsps or crls  # qes_blt's DSS ...
    assert _dss_revocation(reader.root) == ([], [])  # ... rewritten without them
    dss = reader.root["/DSS"]
    assert "/VRI" not in dss and "/OCSPs" not in dss and "/CRLs" not in dss and len(dss["/Certs"]) > 0
    assert signature.signed_revision < last - 1


def test_case7_lta_control(test_pki: TestPki) -> None:
    reader = _reader(test_pki, "i8_lta_control")
    (signature,) = reader.embedded_regular_signatures
    (doc_ts,) = reader.embedded_timestamp_signatures
    assert doc_ts.signed_revision == reader.xrefs.total_revisions - 1  # the document time-stamp is last
    assert signature.signed_revision < doc_ts.signed_revision
    ocsps, _crls = _dss_revocation(reader.get_historical_root(doc_ts.signed_revision))
    assert signature.signer_cert.serial_number in _ocsp_serials(ocsps)  # covered by the document time-stamp
    signature_status, ts_status = _validate_all(test_pki, "i8_lta_control")
    assert signature_status.intact and signature_status.trusted
    assert signature_status.modification_level == ModificationLevel.LTA_UPDATES
    assert ts_status.intact and ts_status.valid and ts_status.trusted
