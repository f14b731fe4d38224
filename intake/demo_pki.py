"""A throw-away "qualified" CA and a citizen's qualified certificate for `intake demo`, so that the demo's complete
application really is complete: the application and the declaration carry a signature intake judges `QES`.

The CA is a trust anchor of the demo's settings only (`trust.anchors`): it makes nothing trusted anywhere else.
The citizen's certificate carries what a Romanian qualified certificate carries (ETSI EN 319 412-5 QCStatements:
QcCompliance, QcSSCD, QcType esign; EN 319 412-1 semantics identifier PNORO-<CNP>). No OCSP or CRL server runs in
the demo, so its settings check no revocation (`trust.revocation = "off"`), which the verdict says.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

QC_STATEMENTS = ObjectIdentifier("1.3.6.1.5.5.7.1.3")
POLICY_QCP_N_QSCD = ObjectIdentifier("0.4.0.194112.1.2")  # ETSI EN 319 411-2: qualified, natural person, QSCD


@dataclass(frozen=True)
class DemoSigner:
    ca_pem: Path  # the demo's trust anchor
    cert: x509.Certificate
    ca_cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def sign_pdf(self, pdf: bytes, field: str = "Semnatura") -> bytes:
        """PAdES B-B, invisible, in a new signature field."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        der = self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER)),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs(
                [asn1_x509.Certificate.load(self.ca_cert.public_bytes(serialization.Encoding.DER))]
            ),
        )
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256")
        return asyncio.run(signers.async_sign_pdf(writer, meta, signer=signer)).getvalue()


def _qc_statements() -> bytes:
    from pyhanko.sign.ades import qualified_asn1

    statements = [
        {"statement_id": "qc_compliance"},
        {"statement_id": "qc_sscd"},
        {"statement_id": "qc_type", "statement_info": qualified_asn1.QcCertificateType(["qct_esign"])},
    ]
    return qualified_asn1.QcStatements(statements).dump()


def make_demo_signer(directory: Path, given_name: str, surname: str, cnp: str) -> DemoSigner:
    """A CA (written to `directory/demo-qualified-ca.pem`) and the citizen's qualified certificate under it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "intake demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Demo Qualified CA (intake demo only)"),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PNORO-{cnp}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname}"),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(POLICY_QCP_N_QSCD, None)]), critical=False)
        .add_extension(x509.UnrecognizedExtension(QC_STATEMENTS, _qc_statements()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "demo-qualified-ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return DemoSigner(ca_pem=ca_pem, cert=cert, ca_cert=ca_cert, key=key)
