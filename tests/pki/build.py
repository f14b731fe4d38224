"""Build the whole test PKI and every signed-document scenario of issue 3 (issue 8's come from `tests.pki.issue8`).

Clocks. `now` is the real build time. Everything that must have happened "before" is placed relative to it:
- the qualified CA is listed in the trusted list as a granted CA/QC service since now - 5 years;
- most signatures are made now and time-stamped by the HTTP TSA (genTime = real now);
- two scenarios need a signing time in the past (`past = now - 30 days`): `revoked_after_signing` (certificate
  revoked at now - 10 days, i.e. after the signature and before validation) and `ca_not_in_tl_at_signing`
  (the "late" CA is granted only from now - 15 days). For those, the PDF /M is set to `past` (pyHanko's signing
  session `system_time`) and the signature time-stamp comes from an in-process time-stamper with the same TSA
  key and certificate whose genTime is fixed at `past` (`TestTimeStamper(fixed_dt=...)`, pyHanko's DummyTimeStamper).
OCSP and CRL always answer at the real current time, so revocation is what a validator sees today.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import aiohttp
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from tests.pki.certs import (
    ESEAL_PROFILE,
    NO_QSCD_PROFILE,
    POLICY_NCP_PLUS,
    POLICY_QCP_L_QSCD,
    POLICY_QCP_N,
    POLICY_QCP_N_QSCD,
    QES_PROFILE,
    CertificateAuthority,
    Issued,
    ca_name,
    issue,
    make_root_ca,
    new_rsa_key,
    organisation_name,
    person_name,
)
from tests.pki.documents import APPLICANT, ParagraphLayout, application_pdf, declaration_pdf
from tests.pki.issue8 import (
    ISSUE8_SPECS,
    TL_EXPIRED_SEQUENCE_NUMBER,
    Issue8Pki,
    make_issue8_pki,
    produce_issue8,
    trusted_list_entries,
    trusted_list_variants,
)
from tests.pki.services import PkiServices, TestTimeStamper
from tests.pki.signing import sign_pdf, simple_signer
from tests.pki.trusted_list import QTST, ServiceEntry, build_trusted_list

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
YEAR = timedelta(days=365)
TL_SEQUENCE_NUMBER = 42
TSP_NAME = "Test Trust Services SRL"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    expected_label: str
    description: str
    detached_content: Path | None = None  # for .p7s: the signed file
    expected_reasons: tuple[str, ...] = ()  # reason codes that must appear
    signatures: int = 1  # PDF signatures (document time-stamps not counted) or CMS signer infos; 0 for `unsigned`
    # Issue 8; None = not asserted. Where the verifier must take the signing time from: "timestamp" (a trusted
    # signature time-stamp), "claimed" (signing-time attribute / PDF /M, unproven) or "validation" (validation time).
    time_source: str | None = None
    timestamp_qualified: bool | None = None  # the signature time-stamp comes from a QTST of the trusted list
    applicant_signature: int | None = None  # index, in file order, of the applicant's signature among the signatures


@dataclass
class TestPki:
    __test__ = False  # not a pytest test class

    base: Path
    trusted_list: Path
    tl_operator_cert: Path
    anchors: list[Path]
    services_url: str
    tsa_url: str
    scenarios: dict[str, Scenario]
    applicant_name: str
    applicant_cnp: str
    # Issue 8 (cases 3 and 4): the main list's services, correctly signed by the same operator but past NextUpdate;
    # the main list altered after signing; a certificate that did not sign any list.
    trusted_list_expired: Path
    trusted_list_tampered: Path
    wrong_operator_cert: Path
    # Beyond the shared interface: handy for tests that need the clocks or individual certificates.
    built_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    past_signing_time: datetime | None = None
    tl_sequence_number: int = TL_SEQUENCE_NUMBER
    tl_expired_sequence_number: int = TL_EXPIRED_SEQUENCE_NUMBER
    # slug -> PEM: qualified-ca, late-ca, untrusted-root; issue 8: withdrawn-ca, independent-tsa-root, unlisted-tsa-root
    ca_certs: dict[str, Path] = field(default_factory=dict)
    certificates: dict[str, Path] = field(default_factory=dict)  # signer/TSA certificate PEMs by role
    build_seconds: float = 0.0
    _services: PkiServices | None = field(default=None, repr=False)
    # The signers' keys with the CA that issued them, kept in memory only: tests that generate their own forms
    # (tests/forms.py) sign them as the same applicant. Adding one changes none of the scenario files.
    _keys: dict[str, tuple[Issued, CertificateAuthority]] = field(default_factory=dict, repr=False)

    def pdf_signer(self, role: str = "qes") -> signers.SimpleSigner:
        """A pyHanko signer with the key and certificate of `role` (see `certificates`), for `signing.sign_pdf`."""
        who, ca = self._keys[role]
        return simple_signer(who, ca)

    def stop(self) -> None:
        if self._services is not None:
            self._services.stop()
            self._services = None


@dataclass
class _Pki:
    """Everything made in memory before the scenarios are signed."""

    now: datetime
    past: datetime
    services: PkiServices
    qca: CertificateAuthority
    late_ca: CertificateAuthority
    rogue: CertificateAuthority
    operator: Issued
    tsa: Issued
    signers: dict[str, Issued]
    issue8: Issue8Pki


def _make_pki(services: PkiServices, now: datetime) -> _Pki:
    url = services.url
    past = now - 30 * DAY
    qca = make_root_ca(
        "qualified-ca",
        ca_name("Test Qualified CA RO", "Test Trust Services SRL"),
        now - 10 * YEAR,
        now + 10 * YEAR,
        url,
    )
    late_ca = make_root_ca(
        "late-ca", ca_name("Test Late Qualified CA RO", "Test Trust Services SRL"), now - 2 * YEAR, now + 10 * YEAR, url
    )
    rogue = make_root_ca(
        "untrusted-root", ca_name("Untrusted Root CA", "Nimeni SRL"), now - 5 * YEAR, now + 10 * YEAR, url
    )
    for ca in (qca, late_ca, rogue):
        services.register_ca(ca)
    operator = make_root_ca(
        "tl-operator",
        ca_name("Test Trusted List Scheme Operator RO", "Autoritatea de Test"),
        now - YEAR,
        now + 5 * YEAR,
        "",
    )
    tsa = issue(
        qca,
        "tsa",
        ca_name("Test Qualified TSA RO", "Test Trust Services SRL"),
        now - 2 * YEAR,
        now + 5 * YEAR,
        key=new_rsa_key(),
        time_stamping=True,
    )
    person = person_name(APPLICANT.given_name, APPLICANT.surname, APPLICANT.cnp)
    issue8 = make_issue8_pki(services, now, qca, person)
    issued_at, until = now - 90 * DAY, now + YEAR
    signers_ = {
        "qes": issue(qca, "qes", person, issued_at, until, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD),
        "no_qscd": issue(qca, "no_qscd", person, issued_at, until, qc=NO_QSCD_PROFILE, policy=POLICY_QCP_N),
        "not_qualified": issue(qca, "not_qualified", person, issued_at, until, policy=POLICY_NCP_PLUS),
        "expired": issue(
            qca, "expired", person, now - 2 * YEAR, now - 30 * DAY, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD
        ),
        "revoked_before": issue(
            qca,
            "revoked_before",
            person,
            issued_at,
            until,
            qc=QES_PROFILE,
            policy=POLICY_QCP_N_QSCD,
            revoked_at=now - 20 * DAY,
        ),
        "revoked_after": issue(
            qca,
            "revoked_after",
            person,
            issued_at,
            until,
            qc=QES_PROFILE,
            policy=POLICY_QCP_N_QSCD,
            revoked_at=now - 10 * DAY,
        ),
        "late_ca": issue(late_ca, "late_ca", person, now - 60 * DAY, until, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD),
        "untrusted": issue(rogue, "untrusted", person, issued_at, until, qc=QES_PROFILE, policy=POLICY_QCP_N_QSCD),
        "eseal": issue(
            qca,
            "eseal",
            organisation_name("Exemplu Consult SRL", "VATRO-12345674"),
            issued_at,
            until,
            qc=ESEAL_PROFILE,
            policy=POLICY_QCP_L_QSCD,
        ),
    }
    services.set_tsa(tsa, [qca])
    return _Pki(now, past, services, qca, late_ca, rogue, operator, tsa, signers_, issue8)


def _trusted_list_entries(pki: _Pki) -> list[ServiceEntry]:
    now = pki.now
    return [
        ServiceEntry("Test Qualified CA RO", pki.qca, since=now - 5 * YEAR),
        # Granted only after `past`, the signing time of `ca_not_in_tl_at_signing` (nothing listed before).
        ServiceEntry("Test Late Qualified CA RO", pki.late_ca, since=now - 15 * DAY),
        ServiceEntry("Test Qualified TSA RO", pki.tsa, since=now - 2 * YEAR, service_type=QTST),
        *trusted_list_entries(pki.issue8),
    ]


def _trusted_list_xml(pki: _Pki) -> str:
    now = pki.now
    return build_trusted_list(
        operator=pki.operator,
        tsp_name=TSP_NAME,
        services=_trusted_list_entries(pki),
        sequence_number=TL_SEQUENCE_NUMBER,
        issued_at=now - timedelta(hours=1),
        next_update=now + 180 * DAY,
    )


# ------------------------------------------------------------------------------------------------ tampering
def _tamper(signed: bytes) -> bytes:
    """Change one digit of the original /CreationDate: inside the signed byte range, harmless to the parser."""
    marker = b"/CreationDate (D:"
    at = signed.index(marker) + len(marker)
    digit = signed[at : at + 1]
    replacement = b"1" if digit != b"1" else b"2"
    return signed[:at] + replacement + signed[at + 1 :]


def _append_page(signed: bytes) -> bytes:
    """An incremental update after the signature that adds a page (not an allowed LTV/annotation change)."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (Pagina adaugata dupa semnare) Tj ET")
    )
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
            ),
            pdf_name("/Contents"): content,
        }
    )
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


async def _sign_cms(data: bytes, signer: signers.Signer, *, detached: bool, timestamper: TimeStamper | None) -> bytes:
    """CAdES-BES (signing-certificate-v2, claimed signing-time), with a signature time-stamp (CAdES-T) if asked."""
    content_info = await signer.async_sign_general_data(
        data, "sha256", detached=detached, use_cades=True, timestamper=timestamper
    )
    return content_info.dump()


# ------------------------------------------------------------------------------------------------ scenarios
@dataclass(frozen=True)
class _Spec:
    name: str
    label: str
    description: str
    reasons: tuple[str, ...] = ()
    suffix: str = ".pdf"


SPECS: Sequence[_Spec] = (
    _Spec(
        "qes_bb",
        "QES",
        "Application, qualified certificate on a QSCD, PAdES B-B (no time-stamp).",
        ("claimed_time_unproven",),
    ),
    _Spec("qes_bt", "QES", "Application, qualified certificate on a QSCD, PAdES B-T (time-stamp from the test TSA)."),
    _Spec("qes_blt", "QES", "Application, PAdES B-LT: B-T plus OCSP/CRL/certificates in the DSS."),
    _Spec("declaration_qes", "QES", "Declaration (Anexa 1^1), same applicant, PAdES B-T."),
    _Spec("adesqc_no_qscd", "AdES-QC", "QcCompliance + QcType esign, no QcSSCD; B-T.", ("no_qscd",)),
    _Spec(
        "ades_not_qualified",
        "AdES",
        "Certificate without QCStatements from the (trusted) qualified CA; B-T.",
        ("not_qualified",),
    ),
    _Spec(
        "expired_at_signing",
        "invalid",
        "Certificate expired 30 days before signing (time-stamped now).",
        ("expired_at_signing_time",),
    ),
    _Spec(
        "revoked_before_signing",
        "invalid",
        "Certificate revoked 20 days before the signature time-stamp.",
        ("revoked_before_signing",),
    ),
    _Spec(
        "revoked_after_signing",
        "QES",
        "Signed and time-stamped 30 days ago (in-process TSA with fixed genTime); certificate revoked 10 days ago.",
        ("revoked_after_signing",),
    ),
    _Spec("tampered", "invalid", "qes_bt with one byte of the signed range (/CreationDate) changed.", ("tampered",)),
    _Spec(
        "page_added",
        "indeterminate",
        "qes_bt plus an incremental update that adds a page.",
        ("modified_after_signing",),
    ),
    _Spec(
        "untrusted_root",
        "invalid",
        "Qualified-looking certificate chaining to a root outside TL and anchors.",
        ("untrusted_chain",),
    ),
    _Spec(
        "ca_not_in_tl_at_signing",
        "AdES",
        "CA in the TL (granted) only since 15 days ago; certificate issued 60 days ago, signed and time-stamped 30 days"
        " ago (so the CA was not listed at signing time nor at issuance).",
        ("ca_not_in_trusted_list_at_signing_time",),
    ),
    _Spec("sha1", "invalid", "Qualified signer, PAdES with SHA-1 message digest; B-T.", ("weak_algorithm",)),
    _Spec(
        "eseal",
        "AdES",
        "Qualified e-seal certificate (QcType eseal, QcSSCD) of an organisation; B-T.",
        ("qc_type_eseal",),
    ),
    _Spec(
        "cades_detached_p7s",
        "QES",
        "Detached CAdES-BES (.p7s) over the application PDF.",
        ("claimed_time_unproven",),
        ".p7s",
    ),
    _Spec("cades_enveloping_p7m", "QES", "Enveloping CAdES-T (.p7m) containing the application PDF.", (), ".p7m"),
    _Spec("unsigned", "none", "The application PDF without any signature.", ("no_signature",)),
)


async def _produce(
    pki: _Pki, application: bytes, declaration: bytes, layout: list[ParagraphLayout]
) -> dict[str, bytes]:
    """The bytes of every scenario file; one aiohttp session for the TSA and the B-LT revocation fetches."""
    async with aiohttp.ClientSession() as session:
        return await _produce_with(pki, application, declaration, layout, session)


async def _produce_with(
    pki: _Pki,
    application: bytes,
    declaration: bytes,
    layout: list[ParagraphLayout],
    session: aiohttp.ClientSession,
) -> dict[str, bytes]:
    http_tsa = HTTPTimeStamper(pki.services.tsa_url, timeout=10, session=session)
    past_tsa = TestTimeStamper(
        tsa_cert=pki.tsa.asn1, tsa_key=pki.tsa.key_info, certs_to_embed=[pki.qca.asn1], fixed_dt=pki.past
    )
    s = pki.signers
    qes = simple_signer(s["qes"], pki.qca)
    lt_context = ValidationContext(
        trust_roots=[pki.qca.asn1], allow_fetching=True, fetcher_backend=AIOHttpFetcherBackend(session)
    )
    out: dict[str, bytes] = {}
    out["qes_bb"] = await sign_pdf(application, qes)
    out["qes_bt"] = await sign_pdf(application, qes, timestamper=http_tsa)
    out["qes_blt"] = await sign_pdf(application, qes, timestamper=http_tsa, validation_context=lt_context)
    out["declaration_qes"] = await sign_pdf(declaration, qes, timestamper=http_tsa)
    for name, role in (
        ("adesqc_no_qscd", "no_qscd"),
        ("ades_not_qualified", "not_qualified"),
        ("expired_at_signing", "expired"),
        ("revoked_before_signing", "revoked_before"),
        ("eseal", "eseal"),
    ):
        out[name] = await sign_pdf(application, simple_signer(s[role], pki.qca), timestamper=http_tsa)
    out["untrusted_root"] = await sign_pdf(application, simple_signer(s["untrusted"], pki.rogue), timestamper=http_tsa)
    out["revoked_after_signing"] = await sign_pdf(
        application, simple_signer(s["revoked_after"], pki.qca), timestamper=past_tsa, signing_time=pki.past
    )
    out["ca_not_in_tl_at_signing"] = await sign_pdf(
        application, simple_signer(s["late_ca"], pki.late_ca), timestamper=past_tsa, signing_time=pki.past
    )
    out["sha1"] = await sign_pdf(application, qes, timestamper=http_tsa, md_algorithm="sha1")
    out["tampered"] = _tamper(out["qes_bt"])
    out["page_added"] = _append_page(out["qes_bt"])
    out["cades_detached_p7s"] = await _sign_cms(application, qes, detached=True, timestamper=None)
    out["cades_enveloping_p7m"] = await _sign_cms(application, qes, detached=False, timestamper=http_tsa)
    out["unsigned"] = application
    out |= await produce_issue8(
        pki.issue8,
        qca=pki.qca,
        tsa=pki.tsa,
        qes=s["qes"],
        application=application,
        application_layout=layout,
        qes_bt=out["qes_bt"],
        qes_blt=out["qes_blt"],
        http_tsa=http_tsa,
        session=session,
    )
    return out


def _write_pem(path: Path, issued: Issued) -> Path:
    path.write_bytes(issued.pem)
    return path


def build_test_pki(base: Path) -> TestPki:
    """Generate keys, certificates, the trusted list, start the services and sign every scenario into `base`."""
    started = time.perf_counter()
    base.mkdir(parents=True, exist_ok=True)
    services = PkiServices()
    try:
        pki = _make_pki(services, datetime.now(UTC))
        services.start()
        result = _write_outputs(base, pki)
    except BaseException:
        services.stop()
        raise
    result.build_seconds = time.perf_counter() - started
    log.info("test PKI built in %.2f s under %s", result.build_seconds, base)
    return result


def _write_outputs(base: Path, pki: _Pki) -> TestPki:
    layout: list[ParagraphLayout] = []  # where the application's paragraphs went (issue 8's shadow attacks cover one)
    application, declaration = application_pdf(layout=layout), declaration_pdf()
    files = asyncio.run(_produce(pki, application, declaration, layout))
    docs = base / "documents"
    certs_dir = base / "certs"
    docs.mkdir(exist_ok=True)
    certs_dir.mkdir(exist_ok=True)
    (docs / "application.pdf").write_bytes(application)
    (docs / "declaration.pdf").write_bytes(declaration)
    scenarios: dict[str, Scenario] = {}
    for spec in SPECS:
        path = docs / f"{spec.name}{spec.suffix}"
        path.write_bytes(files[spec.name])
        scenarios[spec.name] = Scenario(
            name=spec.name,
            path=path,
            expected_label=spec.label,
            description=spec.description,
            detached_content=docs / "application.pdf" if spec.suffix == ".p7s" else None,
            expected_reasons=spec.reasons,
            signatures=0 if spec.name == "unsigned" else 1,
        )
    for i8 in ISSUE8_SPECS:
        path = docs / f"{i8.name}.pdf"
        path.write_bytes(files[i8.name])
        scenarios[i8.name] = Scenario(
            name=i8.name,
            path=path,
            expected_label=i8.label,
            description=i8.description,
            expected_reasons=i8.reasons,
            signatures=i8.signatures,
            time_source=i8.time_source,
            timestamp_qualified=i8.timestamp_qualified,
            applicant_signature=i8.applicant_signature,
        )
    trusted_list = base / "trusted-list-ro-test.xml"
    main_xml = _trusted_list_xml(pki)
    trusted_list.write_text(main_xml, encoding="utf-8")
    expired_xml, tampered_xml = trusted_list_variants(
        pki.issue8, operator=pki.operator, tsp_name=TSP_NAME, entries=_trusted_list_entries(pki), main_xml=main_xml
    )
    trusted_list_expired = base / "trusted-list-ro-test-expired.xml"
    trusted_list_expired.write_text(expired_xml, encoding="utf-8")
    trusted_list_tampered = base / "trusted-list-ro-test-tampered.xml"
    trusted_list_tampered.write_text(tampered_xml, encoding="utf-8")
    cas = (pki.qca, pki.late_ca, pki.rogue, *pki.issue8.roots)
    ca_certs = {ca.slug: _write_pem(base / f"{ca.slug}.pem", ca) for ca in cas}
    certificates = {role: _write_pem(certs_dir / f"{role}.pem", who) for role, who in pki.signers.items()}
    certificates["tsa"] = _write_pem(certs_dir / "tsa.pem", pki.tsa)
    for role, who in (pki.issue8.signers | pki.issue8.tsas).items():
        certificates[role] = _write_pem(certs_dir / f"{role}.pem", who)
    return TestPki(
        base=base,
        trusted_list=trusted_list,
        tl_operator_cert=_write_pem(base / "tl-operator.pem", pki.operator),
        anchors=[ca_certs["qualified-ca"]],
        services_url=pki.services.url,
        tsa_url=pki.services.tsa_url,
        scenarios=scenarios,
        applicant_name=APPLICANT.full_name,
        applicant_cnp=APPLICANT.cnp,
        trusted_list_expired=trusted_list_expired,
        trusted_list_tampered=trusted_list_tampered,
        wrong_operator_cert=_write_pem(base / "tl-operator-wrong.pem", pki.issue8.wrong_operator),
        built_at=pki.now,
        past_signing_time=pki.past,
        ca_certs=ca_certs,
        certificates=certificates,
        _services=pki.services,
        _keys={role: (pki.signers[role], pki.qca) for role in ("qes", "no_qscd", "not_qualified")},
    )
