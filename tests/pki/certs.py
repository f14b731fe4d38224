"""Keys and certificates of the test PKI, made with `cryptography`.

QCStatements (ETSI EN 319 412-5) are DER-encoded with pyHanko's `qualified_asn1` module, so the certificates carry
exactly the structures real Romanian qualified certificates carry. Every certificate below a CA points its AIA
(OCSP, caIssuers) and CRL distribution point at the loopback services of `tests.pki.services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pyhanko.sign.ades import qualified_asn1

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
QcType = Literal["esign", "eseal", "web"]

QC_STATEMENTS_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.3")
ORGANIZATION_IDENTIFIER_OID = ObjectIdentifier("2.5.4.97")
# ETSI EN 319 411-2 certificate policies: what a QTSP writes next to the QCStatements.
POLICY_QCP_N_QSCD = "0.4.0.194112.1.2"
POLICY_QCP_N = "0.4.0.194112.1.0"
POLICY_QCP_L_QSCD = "0.4.0.194112.1.3"
POLICY_NCP_PLUS = "0.4.0.2042.1.2"


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    """P-256: generating one takes well under a millisecond, so a whole PKI is cheap."""
    return ec.generate_private_key(ec.SECP256R1())


def new_rsa_key() -> rsa.RSAPrivateKey:
    """Only for the TSA: pyHanko's in-process time-stamper signs with RSA PKCS#1 v1.5."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class QcProfile:
    """Which QCStatements a certificate carries."""

    compliance: bool = True
    sscd: bool = True
    types: tuple[QcType, ...] = ("esign",)


QES_PROFILE = QcProfile()
NO_QSCD_PROFILE = QcProfile(sscd=False)
ESEAL_PROFILE = QcProfile(types=("eseal",))


def qc_statements_der(profile: QcProfile) -> bytes:
    statements: list[dict[str, object]] = []
    if profile.compliance:
        statements.append({"statement_id": "qc_compliance"})
    if profile.sscd:
        statements.append({"statement_id": "qc_sscd"})
    if profile.types:
        type_ids = qualified_asn1.QcCertificateType([f"qct_{t}" for t in profile.types])
        statements.append({"statement_id": "qc_type", "statement_info": type_ids})
    return qualified_asn1.QcStatements(statements).dump()


@dataclass
class Issued:
    """A key pair with its certificate; `revoked_at` is what OCSP and CRL report."""

    slug: str
    key: PrivateKey
    cert: x509.Certificate
    revoked_at: datetime | None = None

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))

    @property
    def key_info(self) -> asn1_keys.PrivateKeyInfo:
        der = self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return asn1_keys.PrivateKeyInfo.load(der)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertificateAuthority(Issued):
    """A self-signed CA that also answers OCSP and publishes a CRL for what it issued (CA-signed responses)."""

    services_url: str = ""
    issued: dict[int, Issued] = field(default_factory=dict)

    @property
    def ocsp_url(self) -> str:
        return f"{self.services_url}/ocsp/{self.slug}"

    @property
    def crl_url(self) -> str:
        return f"{self.services_url}/crl/{self.slug}.crl"

    @property
    def cert_url(self) -> str:
        return f"{self.services_url}/certs/{self.slug}.cer"

    def revoked(self, at: datetime) -> list[Issued]:
        return [i for i in self.issued.values() if i.revoked_at is not None and i.revoked_at <= at]


def person_name(given_name: str, surname: str, cnp: str | None) -> x509.Name:
    """Subject of a natural person as ETSI EN 319 412-2 wants it (semantics identifier PNORO-<CNP>)."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
        x509.NameAttribute(NameOID.SURNAME, surname),
        x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
    ]
    if cnp is not None:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PNORO-{cnp}"))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname}"))
    return x509.Name(attrs)


def organisation_name(organisation: str, vat_id: str) -> x509.Name:
    """Subject of a legal person (e-seal), ETSI EN 319 412-3: organizationIdentifier VATRO-..."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER_OID, vat_id),
            x509.NameAttribute(NameOID.COMMON_NAME, organisation),
        ]
    )


def ca_name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial() -> int:
    return x509.random_serial_number()


def make_root_ca(
    slug: str, name: x509.Name, not_before: datetime, not_after: datetime, services_url: str
) -> CertificateAuthority:
    key = new_ec_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())
    return CertificateAuthority(slug=slug, key=key, cert=cert, services_url=services_url)


def _leaf_key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    ca: CertificateAuthority,
    slug: str,
    subject: x509.Name,
    not_before: datetime,
    not_after: datetime,
    *,
    qc: QcProfile | None = None,
    policy: str | None = None,
    key: PrivateKey | None = None,
    time_stamping: bool = False,
    revoked_at: datetime | None = None,
) -> Issued:
    """Issue an end-entity certificate under `ca` and register it for OCSP/CRL answers."""
    key = key or new_ec_key()
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ca.ocsp_url)),
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca.cert_url)
            ),
        ]
    )
    crl_dp = x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(ca.crl_url)], None, None, None)]
    )
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(signing=not time_stamping), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(aia, critical=False)
        .add_extension(crl_dp, critical=False)
    )
    if time_stamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    if policy is not None:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(ObjectIdentifier(policy), None)]), critical=False
        )
    if qc is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc_statements_der(qc)), critical=False
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    issued = Issued(slug=slug, key=key, cert=cert, revoked_at=revoked_at)
    ca.issued[cert.serial_number] = issued
    return issued
