"""Trusted lists: signature check with the operator certificate, reading, file cache and network fallback.

Lists are built here with pyHanko's generated ETSI TS 119 612 classes and signed (XAdES enveloped) with a key made
at test time; the real Romanian list is read from the shared corpus, never copied. The helpers below (`Pki`,
`Service`, `build_list`, ...) are also used by test_qualification.py.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from lxml import etree
from pyhanko.generated.etsi import ts_119612 as tl
from pyhanko.generated.etsi import ts_119612_sie as sie
from pyhanko.generated.etsi import xades
from pyhanko.sign.ades import qualified_asn1
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, QTST_URI
from signxml import SignatureMethod
from signxml.xades import XAdESSigner
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.models.datatype import XmlDateTime

from intake.settings import TrustListSource, TrustSettings
from intake.signatures.trust_store import TrustStore
from intake.signatures.trustlists import ListCache
from tests.shared_corpus import corpus

RO_LIST = corpus("trusted-lists", "ro-tl-seq61-2023-10-18.xml")

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
YEAR = 365 * DAY
STATUS = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/"
GRANTED, WITHDRAWN = f"{STATUS}granted", f"{STATUS}withdrawn"
QUALIFIER = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/"
ASI = {
    "esign": f"{QUALIFIER}ForeSignatures",
    "eseal": f"{QUALIFIER}ForeSeals",
    "web": f"{QUALIFIER}ForWebSiteAuthentication",
}
QC_STATEMENTS_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.3")


# ------------------------------------------------------------------------------------------------ certificates
@dataclass
class Pki:
    """A key with its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.der)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, serial_number: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if serial_number:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    return x509.Name(attrs)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def qc_der(*, compliance: bool = True, sscd: bool = True, types: Sequence[str] = ("esign",)) -> bytes:
    statements: list[dict[str, object]] = []
    if compliance:
        statements.append({"statement_id": "qc_compliance"})
    if sscd:
        statements.append({"statement_id": "qc_sscd"})
    if types:
        info = qualified_asn1.QcCertificateType([f"qct_{t}" for t in types])
        statements.append({"statement_id": "qc_type", "statement_info": info})
    return qualified_asn1.QcStatements(statements).dump()


def make_cert(
    common_name: str,
    *,
    issuer: Pki | None = None,
    not_before: datetime = NOW - 30 * DAY,
    not_after: datetime = NOW + YEAR,
    ca: bool = False,
    qc: bytes | None = None,
    serial_number: str | None = None,
    policies: Sequence[str] = (),
    name: x509.Name | None = None,
) -> Pki:
    """A CA (self-signed unless `issuer`) or a leaf certificate with optional QCStatements (`qc_der(...)`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name or _name(common_name, serial_number)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_authority_key_id(issuer, key), critical=False)
    )
    if policies:
        info = [x509.PolicyInformation(ObjectIdentifier(oid), None) for oid in policies]
        builder = builder.add_extension(x509.CertificatePolicies(info), critical=False)
    if qc is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc), critical=False)
    return Pki(key, builder.sign(signer_key, hashes.SHA256()))


def _authority_key_id(issuer: Pki | None, key: ec.EllipticCurvePrivateKey) -> x509.AuthorityKeyIdentifier:
    if issuer is None:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


# ------------------------------------------------------------------------------------------------ trusted lists
@dataclass(frozen=True)
class Status:
    """One status of a service from `since`; qualifiers are (qualifier name, criteria) pairs."""

    status: str
    since: datetime
    qualifiers: tuple[tuple[str, sie.CriteriaListType], ...] = ()
    types: tuple[str, ...] = ()  # AdditionalServiceInformation ForeSignatures / ForeSeals / ...


@dataclass(frozen=True)
class Service:
    name: str
    cert: Pki
    statuses: tuple[Status, ...]  # any order; the newest is the current one, the rest is history
    service_type: str = CA_QC_URI


def key_usage_criteria(bit: sie.KeyUsageBitTypename = sie.KeyUsageBitTypename.NON_REPUDIATION) -> sie.CriteriaListType:
    usage = sie.KeyUsageType(key_usage_bit=(sie.KeyUsageBitType(value=True, name=bit),))
    return sie.CriteriaListType(key_usage=(usage,), assert_value=sie.CriteriaListTypeassert.AT_LEAST_ONE)


def policy_criteria(oid: str) -> sie.CriteriaListType:
    policy = xades.ObjectIdentifierType(identifier=xades.IdentifierType(value=oid))
    return sie.CriteriaListType(
        policy_set=(sie.PoliciesListType(policy_identifier=(policy,)),),
        assert_value=sie.CriteriaListTypeassert.AT_LEAST_ONE,
    )


def granted(since: datetime, *qualifiers: str, types: tuple[str, ...] = ()) -> Status:
    """Granted from `since`, with qualifiers that select signing certificates (nonRepudiation)."""
    return Status(GRANTED, since, tuple((q, key_usage_criteria()) for q in qualifiers), types)


def _names(value: str) -> tl.InternationalNamesType:
    return tl.InternationalNamesType((tl.MultiLangNormStringType(value=value, lang="en"),))


def _extensions(status: Status) -> tl.ExtensionsListType | None:
    extensions = []
    for asi_type in status.types:
        asi = tl.AdditionalServiceInformation(uri=tl.NonEmptyMultiLangURIType(value=ASI[asi_type], lang="en"))
        extensions.append(tl.Extension(content=(asi,), critical=False))
    if status.qualifiers:
        elements = tuple(
            sie.QualificationElementType(
                qualifiers=sie.QualifiersType(qualifier=(sie.QualifierType(uri=f"{QUALIFIER}{name}"),)),
                criteria_list=criteria,
            )
            for name, criteria in status.qualifiers
        )
        qualifications = sie.Qualifications(qualification_element=elements)
        extensions.append(tl.Extension(content=(qualifications,), critical=True))
    return tl.ExtensionsListType(extension=tuple(extensions)) if extensions else None


def _service(service: Service) -> tl.TSPService:
    ordered = sorted(service.statuses, key=lambda s: s.since, reverse=True)
    identity = tl.ServiceDigitalIdentity((tl.DigitalIdentityType(x509_certificate=service.cert.der),))
    current, history = ordered[0], ordered[1:]
    info = tl.ServiceInformation(
        service_type_identifier=tl.ServiceTypeIdentifier(service.service_type),
        service_name=_names(service.name),
        service_digital_identity=identity,
        service_status=tl.ServiceStatus(current.status),
        status_starting_time=XmlDateTime.from_datetime(current.since),
        service_information_extensions=_extensions(current),
    )
    instances = tuple(
        tl.ServiceHistoryInstance(
            service_type_identifier=tl.ServiceTypeIdentifier(service.service_type),
            service_name=_names(service.name),
            service_digital_identity=identity,
            service_status=tl.ServiceStatus(status.status),
            status_starting_time=XmlDateTime.from_datetime(status.since),
            service_information_extensions=_extensions(status),
        )
        for status in history
    )
    return tl.TSPService(service_information=info, service_history=tl.ServiceHistory(instances) if instances else None)


def build_list(
    services: Sequence[Service], *, sequence: int = 7, issued_at: datetime = NOW - DAY, territory: str = "RO"
) -> str:
    scheme = tl.SchemeInformation(
        tslversion_identifier=5,
        tslsequence_number=sequence,
        tsltype=tl.TSLType("http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"),
        scheme_operator_name=tl.SchemeOperatorName((tl.MultiLangNormStringType(value="Test operator", lang="en"),)),
        scheme_territory=tl.SchemeTerritory(territory),
        list_issue_date_time=XmlDateTime.from_datetime(issued_at),
        next_update=tl.NextUpdate(date_time=XmlDateTime.from_datetime(issued_at + 180 * DAY)),
    )
    provider = tl.TrustServiceProvider(
        tspinformation=tl.TSPInformation(tspname=_names("Test QTSP SRL")),
        tspservices=tl.TSPServices(tuple(_service(s) for s in services)),
    )
    root = tl.TrustServiceStatusList(
        scheme_information=scheme,
        trust_service_provider_list=tl.TrustServiceProviderList(trust_service_provider=(provider,)),
        tsltag="http://uri.etsi.org/19612/TSLTag",
        id="tsl-test",
    )
    return XmlSerializer().render(root, ns_map={"tsl": "http://uri.etsi.org/02231/v2#"})


def sign_list(xml: str, operator: Pki) -> bytes:
    signed = XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256).sign(
        etree.fromstring(xml.encode("utf-8")),
        key=operator.key,
        cert=operator.pem.decode("ascii"),
        always_add_key_value=False,
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def operator_cert(not_before: datetime = NOW - 10 * DAY, not_after: datetime = NOW + YEAR) -> Pki:
    return make_cert("Test TL Scheme Operator", not_before=not_before, not_after=not_after)


def store_for(xml: str, operator: Pki, **kwargs: object) -> TrustStore:
    """A store holding one list, signed by `operator` and checked with its certificate."""
    return TrustStore.from_parts(lists=[(sign_list(xml, operator).decode("utf-8"), operator.der)], **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ fixtures
@dataclass
class Setup:
    operator: Pki
    ca: Pki
    old_ca: Pki
    tsa: Pki
    xml: str = field(default="")


@pytest.fixture(scope="module")
def setup() -> Setup:
    ca = make_cert("Test Qualified CA", ca=True, not_before=NOW - 5 * YEAR)
    old_ca = make_cert("Test Withdrawn CA", ca=True, not_before=NOW - 8 * YEAR)
    tsa = make_cert("Test QTSA", issuer=ca)
    s = Setup(operator_cert(), ca, old_ca, tsa)
    s.xml = build_list(
        [
            Service("Test Qualified CA", ca, (granted(NOW - 4 * YEAR),)),
            Service("Test Withdrawn CA", old_ca, (granted(NOW - 6 * YEAR), Status(WITHDRAWN, NOW - 2 * YEAR))),
            Service("Test QTSA", tsa, (granted(NOW - 2 * YEAR),), service_type=QTST_URI),
        ],
        sequence=42,
    )
    return s


# ------------------------------------------------------------------------------------------------ signature
def test_signed_list_is_verified_and_read(setup: Setup) -> None:
    store = store_for(setup.xml, setup.operator)
    (info,) = store.lists
    assert info.error is None and info.signature_verified and not info.from_cache
    assert (info.territory, info.sequence_number) == ("RO", 42)
    assert info.issued_at == NOW - DAY and info.next_update == NOW + 179 * DAY
    assert info.source.startswith("inline:")
    # chain building needs every CA/QC service, the withdrawn one too; the QTSA is offered separately
    assert {c.sha256 for c in store.trust_roots} == {setup.ca.asn1.sha256, setup.old_ca.asn1.sha256}
    # time-stamps are anchored by the CAs and, TS 119 615, by the listed time-stamping units themselves
    assert {c.sha256 for c in store.timestamp_roots} == {
        setup.ca.asn1.sha256,
        setup.old_ca.asn1.sha256,
        setup.tsa.asn1.sha256,
    }
    assert store.age_seconds(NOW) == pytest.approx(DAY.total_seconds())
    withdrawn = next(s for s in store.services if s.name == "Test Withdrawn CA")
    assert [p.status for p in withdrawn.periods] == ["withdrawn", "granted"]


def test_wrong_operator_certificate_is_rejected(setup: Setup) -> None:
    impostor = operator_cert()
    store = TrustStore.from_parts(lists=[(sign_list(setup.xml, impostor).decode(), setup.operator.der)])
    (info,) = store.lists
    assert info.error and "signature not verified" in info.error
    assert not info.signature_verified
    assert (info.territory, info.sequence_number) == ("RO", 42)  # recorded for staff, not used
    assert store.trust_roots == [] and store.services == []
    verdict = store.assess(make_cert("Ion Popescu", issuer=setup.ca, qc=qc_der()).asn1, setup.ca.asn1, NOW)
    assert not verdict.qualified and verdict.reasons == ("trusted_list_unavailable", "not_qualified")


def test_tampered_list_is_rejected(setup: Setup) -> None:
    signed = sign_list(setup.xml, setup.operator).replace(b"Test Withdrawn CA", b"Test Granted CA!!")
    store = TrustStore.from_parts(lists=[(signed.decode(), setup.operator.pem)])
    assert store.lists[0].error and store.trust_roots == []


def test_unsigned_list_needs_a_signature_unless_told_otherwise(setup: Setup) -> None:
    store = TrustStore.from_parts(lists=[(setup.xml, setup.operator.der)])
    assert store.lists[0].error and store.trust_roots == []
    unsigned_ok = TrustStore.from_parts(lists=[(setup.xml, None)], verify_list_signatures=False)
    info = unsigned_ok.lists[0]
    assert info.error is None and not info.signature_verified and len(unsigned_ok.trust_roots) == 2


def test_no_operator_certificate_means_not_used(setup: Setup) -> None:
    store = TrustStore.from_parts(lists=[(sign_list(setup.xml, setup.operator).decode(), None)])
    assert "no operator certificate" in (store.lists[0].error or "")


def test_operator_certificate_must_be_valid_at_load_time(setup: Setup) -> None:
    expired = operator_cert(NOW - 2 * YEAR, NOW - YEAR)
    signed = sign_list(setup.xml, expired).decode()
    assert TrustStore.from_parts(lists=[(signed, expired.der)]).lists[0].error
    then = TrustStore.from_parts(lists=[(signed, expired.der)], now=NOW - 400 * DAY)
    assert then.lists[0].error is None and then.lists[0].loaded_at == NOW - 400 * DAY


def test_broken_sources_never_raise(tmp_path: Path, setup: Setup) -> None:
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"<not-a-list><unclosed></not-a-list>")
    other_xml = tmp_path / "other.xml"
    other_xml.write_bytes(b"<?xml version='1.0'?><root xmlns='urn:x'/>")
    store = TrustStore.from_parts(
        lists=[
            (str(tmp_path / "missing.xml"), setup.operator.der),
            (str(garbage), None),
            (str(other_xml), None),
            ("http://127.0.0.1:9/unreachable.xml", None),
            (setup.xml, b"not a certificate"),
        ],
        verify_list_signatures=False,
    )
    errors = [info.error for info in store.lists]
    assert len(errors) == 5 and all(errors), errors
    assert "unreadable operator certificate" in (errors[4] or "")
    assert store.trust_roots == [] and store.age_seconds(NOW) is None


# ------------------------------------------------------------------------------------------------ real list
def test_romanian_trusted_list_parses() -> None:
    store = TrustStore.from_parts(lists=[(str(RO_LIST), None)], verify_list_signatures=False)
    (info,) = store.lists
    assert info.error is None and (info.territory, info.sequence_number) == ("RO", 61)
    assert info.issued_at is not None and info.issued_at.date().isoformat() == "2023-10-18"
    ca_services = [s for s in store.services if s.service_type == CA_QC_URI]
    providers = " ".join(s.provider for s in ca_services).lower()
    for name in ("certsign", "digisign", "trans sped", "alfatrust"):
        assert name in providers
    assert len(ca_services) > 40 and len(store.trust_roots) > 40 and store.timestamp_roots
    # the Romanian entries carry no qualifiers: QCStatements will decide
    assert not any(p.qualifications for s in ca_services for p in s.periods)


def _ro_operator_pem() -> bytes:
    root = etree.parse(str(RO_LIST)).getroot()
    ns = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
    b64 = root.xpath("string(/*/ds:Signature//ds:X509Certificate)", namespaces=ns)
    return ("-----BEGIN CERTIFICATE-----\n" + "".join(b64.split()) + "\n-----END CERTIFICATE-----\n").encode()


def test_ts119612_romanian_list_with_expired_operator_certificate_is_genuine_but_expired() -> None:
    # Its signature verifies as of its issue date (2023-10-18), not today: the list is real, nobody vouches for it
    # any more, so it is loaded for the record and counts as expired (it never qualifies a signature).
    store = TrustStore.from_parts(lists=[(str(RO_LIST), _ro_operator_pem())])
    (info,) = store.lists
    assert info.error is None and info.signature_verified and info.operator_certificate_expired
    assert info.sequence_number == 61 and info.expired(datetime.now(UTC))
    assert store.trust_roots  # its CAs still build chains: a verdict then says the list expired, not "untrusted"


def test_ts119612_romanian_list_as_of_its_own_time_is_current() -> None:
    # `intake verify --at 2023-10-19`: the operator certificate was valid and NextUpdate (2024-04-18) not reached
    at = datetime(2023, 10, 19, tzinfo=UTC)
    store = TrustStore.from_parts(lists=[(str(RO_LIST), _ro_operator_pem())], now=at)
    (info,) = store.lists
    assert info.error is None and info.signature_verified and not info.operator_certificate_expired
    assert not info.expired(at) and info.expired(datetime(2024, 4, 19, tzinfo=UTC))


def test_ts119612_wrong_operator_certificate_is_unavailable() -> None:
    other = etree.parse(str(RO_LIST)).getroot()
    ns = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
    # the first certificate of the list's own pointer to the LOTL belongs to the Commission, not to ADR
    b64 = other.xpath("string(//*[local-name()='X509Certificate'])", namespaces=ns)
    wrong = ("-----BEGIN CERTIFICATE-----\n" + "".join(b64.split()) + "\n-----END CERTIFICATE-----\n").encode()
    store = TrustStore.from_parts(lists=[(str(RO_LIST), wrong)])
    (info,) = store.lists
    assert info.error and not info.signature_verified and store.trust_roots == [] and store.unavailable


# ------------------------------------------------------------------------------------------------ URLs and cache
class _Server:
    """Serves one body on 127.0.0.1 until stopped."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = server.body
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.etsi.tsl+xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tl-ro.xml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def served(setup: Setup) -> Iterator[_Server]:
    server = _Server(sign_list(setup.xml, setup.operator))
    try:
        yield server
    finally:
        server.stop()


def _settings(url: str, signer: Path) -> TrustSettings:
    return TrustSettings(lists=[TrustListSource(source=url, signer=signer)])


def test_url_list_is_cached_and_used_when_the_network_fails(tmp_path: Path, setup: Setup, served: _Server) -> None:
    signer = tmp_path / "operator.pem"
    signer.write_bytes(setup.operator.pem)
    cache_dir = tmp_path / "cache"
    online = TrustStore.from_settings(_settings(served.url, signer), cache_dir)
    info = online.lists[0]
    assert info.error is None and info.signature_verified and not info.from_cache and info.source == served.url
    served.stop()

    # a fresh cached copy is used without asking the network at all
    fresh = TrustStore.from_settings(_settings(served.url, signer), cache_dir)
    assert fresh.lists[0].from_cache and fresh.lists[0].error is None

    # refresh() insists on the network; the server is gone, so the cached copy stays in use
    fresh.refresh()
    after = fresh.lists[0]
    assert after.from_cache and after.error is None and after.sequence_number == 42 and len(fresh.trust_roots) == 2

    # an old cached copy is still better than nothing when offline
    stale = TrustStore.from_parts(
        lists=[(served.url, setup.operator.der)], cache_dir=cache_dir, max_cache_age=timedelta(0)
    )
    assert stale.lists[0].from_cache and stale.lists[0].signature_verified and stale.lists[0].error is None


def test_unreachable_url_without_cache_is_reported(tmp_path: Path, setup: Setup) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    signer = tmp_path / "operator.pem"
    signer.write_bytes(setup.operator.pem)
    store = TrustStore.from_settings(_settings(f"http://127.0.0.1:{port}/tl.xml", signer), tmp_path / "cache")
    (info,) = store.lists
    assert info.error and "cannot fetch" in info.error and not info.from_cache and store.trust_roots == []


def test_refresh_fetches_a_new_version(tmp_path: Path, setup: Setup, served: _Server) -> None:
    store = TrustStore.from_parts(lists=[(served.url, setup.operator.der)], cache_dir=tmp_path)
    assert store.lists[0].sequence_number == 42
    newer = build_list([Service("Test Qualified CA", setup.ca, (granted(NOW - 4 * YEAR),))], sequence=43)
    served.body = sign_list(newer, setup.operator)
    # within the cache's freshness a new store does not ask the network ...
    assert TrustStore.from_parts(lists=[(served.url, setup.operator.der)], cache_dir=tmp_path).lists[0].from_cache
    # ... the daily refresh does, and swaps the new content in
    store.refresh()
    info = store.lists[0]
    assert (info.sequence_number, info.from_cache, info.error) == (43, False, None)
    assert [c.sha256 for c in store.trust_roots] == [setup.ca.asn1.sha256]
    cached = ListCache(tmp_path).get(served.url)
    assert cached is not None and b">43<" in cached[0]


def test_signer_file_missing_is_reported(tmp_path: Path, setup: Setup) -> None:
    path = tmp_path / "tl.xml"
    path.write_bytes(sign_list(setup.xml, setup.operator))
    store = TrustStore.from_settings(_settings(str(path), tmp_path / "nope.pem"), tmp_path / "cache")
    assert "cannot read certificate" in (store.lists[0].error or "")
    unsigned = TrustStore.from_settings(TrustSettings(lists=[TrustListSource(source=str(path))]), tmp_path)
    assert "no operator certificate" in (unsigned.lists[0].error or "")
    good = tmp_path / "op.pem"
    good.write_bytes(setup.operator.pem)
    ok = TrustStore.from_settings(_settings(str(path), good), tmp_path / "cache")
    assert ok.lists[0].error is None and ok.lists[0].signature_verified


# ------------------------------------------------------------------------------------------------ LOTL
def build_lotl(
    pointers: Sequence[tuple[str, str, Pki]], *, signers: Sequence[Pki] = (), pivots: Sequence[str] = ()
) -> str:
    """A list of trusted lists pointing at (territory, URL, operator certificate) lists; `signers`: the LOTL's own
    signing certificates, announced in its pointer to itself; `pivots`: URLs of pivot LOTLs (Decision 2015/1505)."""
    from pyhanko.generated.etsi import ts_119612_extra as extra
    from pyhanko.sign.validation.qualified.eutl_parse import LOTL_RULE

    def pointer(territory: str, url: str, operator: Pki, *more: Pki) -> tl.OtherTSLPointer:
        identity = tl.ServiceDigitalIdentity(
            tuple(tl.DigitalIdentityType(x509_certificate=cert.der) for cert in (operator, *more))
        )
        rules = (
            (tl.AnyType(content=(tl.SchemeTypeCommunityRules((tl.NonEmptyMultiLangURIType(LOTL_RULE, "en"),)),)),)
            if territory == "EU"
            else ()
        )
        info = tl.AdditionalInformation(
            other_information=(
                tl.AnyType(content=(tl.SchemeTerritory(territory),)),
                tl.AnyType(content=(extra.MimeType("application/vnd.etsi.tsl+xml"),)),
                *rules,
            )
        )
        return tl.OtherTSLPointer(
            service_digital_identities=tl.ServiceDigitalIdentities((identity,)),
            tsllocation=url,
            additional_information=info,
        )

    scheme = tl.SchemeInformation(
        tslversion_identifier=5,
        tslsequence_number=300,
        tsltype=tl.TSLType("http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists"),
        scheme_information_uri=tl.SchemeInformationURI(
            (
                tl.NonEmptyMultiLangURIType(value="https://example.invalid/lotl-info", lang="en"),
                *(tl.NonEmptyMultiLangURIType(value=url, lang="en") for url in pivots),
            )
        ),
        scheme_territory=tl.SchemeTerritory("EU"),
        pointers_to_other_tsl=tl.PointersToOtherTSL(
            (
                *(pointer(*p) for p in pointers),
                *((pointer("EU", "https://example.invalid/eu-lotl.xml", *signers),) if signers else ()),
            )
        ),
        list_issue_date_time=XmlDateTime.from_datetime(NOW - 2 * DAY),
        next_update=tl.NextUpdate(date_time=XmlDateTime.from_datetime(NOW + 100 * DAY)),
    )
    root = tl.TrustServiceStatusList(scheme_information=scheme, tsltag="http://uri.etsi.org/19612/TSLTag", id="lotl")
    return XmlSerializer().render(root, ns_map={"tsl": "http://uri.etsi.org/02231/v2#"})


def test_lotl_points_at_national_lists_verified_with_their_operators(
    tmp_path: Path, setup: Setup, served: _Server
) -> None:
    lotl_signer = operator_cert()
    impostor = operator_cert()
    lotl = tmp_path / "lotl.xml"
    lotl.write_bytes(
        sign_list(build_lotl([("RO", served.url, setup.operator), ("BG", served.url + "?bg", impostor)]), lotl_signer)
    )
    store = TrustStore.from_parts(lotl=str(lotl), lotl_signers=[lotl_signer.asn1], cache_dir=tmp_path / "cache")
    eu, ro, bg = store.lists
    assert (eu.source, eu.territory, eu.sequence_number, eu.error) == (str(lotl), "EU", 300, None)
    assert eu.signature_verified and eu.issued_at == NOW - 2 * DAY
    assert (ro.source, ro.territory, ro.error, ro.signature_verified) == (served.url, "RO", None, True)
    assert bg.error and "signature not verified" in bg.error  # the LOTL names another operator for it
    assert len(store.trust_roots) == 2

    # a LOTL not signed by the expected signers is reported and nothing it points at is used
    wrong = TrustStore.from_parts(lotl=str(lotl), lotl_signers=[impostor.asn1])
    assert len(wrong.lists) == 1 and wrong.lists[0].error and wrong.trust_roots == []


def test_lotl_signed_with_new_certificates_is_followed_through_its_pivot(
    tmp_path: Path, setup: Setup, served: _Server
) -> None:
    # Implementing Decision (EU) 2015/1505 Art. 4: the Commission moves to new LOTL signing certificates; the pivot
    # LOTL, signed with the old ones (those of the Official Journal we configured), announces the new ones.
    old, new, stranger = operator_cert(), operator_cert(), operator_cert()
    pivot = tmp_path / "pivot-1.xml"  # pivot URLs end in .xml
    pivot.write_bytes(sign_list(build_lotl([], signers=[new]), old))
    lotl = tmp_path / "lotl.xml"
    lotl.write_bytes(
        sign_list(build_lotl([("RO", served.url, setup.operator)], signers=[new], pivots=[str(pivot)]), new)
    )
    store = TrustStore.from_parts(lotl=str(lotl), lotl_signers=[old.asn1], cache_dir=tmp_path / "cache")
    eu, ro = store.lists
    assert eu.error is None and eu.signature_verified and ro.error is None and store.trust_roots
    # control: a pivot signed by someone the configured certificates do not know proves nothing
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "pivot-1.xml").write_bytes(sign_list(build_lotl([], signers=[new]), stranger))
    lotl.write_bytes(
        sign_list(
            build_lotl([("RO", served.url, setup.operator)], signers=[new], pivots=[str(forged / "pivot-1.xml")]), new
        )
    )
    refused = TrustStore.from_parts(lotl=str(lotl), lotl_signers=[old.asn1], cache_dir=tmp_path / "cache2")
    assert len(refused.lists) == 1 and refused.lists[0].error and refused.trust_roots == []
    assert "pivot" in refused.lists[0].error
