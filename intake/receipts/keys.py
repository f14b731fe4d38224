"""Throw-away signing keys for the demo and the tests. Never for production, never committed.

A production registry signs with a certificate issued by a qualified trust service provider; these
functions only produce something pyhanko can sign with and a test can validate against.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PRIVATE_FILE_MODE = 0o600
_BACKDATE = timedelta(minutes=5)  # tolerate small clock differences between signer and validator


def _new_key() -> rsa.RSAPrivateKey:
    # RSA, not ECDSA: ECDSA signatures differ on every run and some older readers still choke on them.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # a.k.a. nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey,
             days: int) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _leaf_certificate(key: rsa.RSAPrivateKey, subject: x509.Name, issuer_key: rsa.RSAPrivateKey,
                      issuer: x509.Name, days: int) -> x509.Certificate:
    builder = (
        _builder(subject, issuer, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _ca_certificate(key: rsa.RSAPrivateKey, subject: x509.Name, days: int) -> x509.Certificate:
    builder = (
        _builder(subject, subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
    )
    return builder.sign(key, hashes.SHA256())


def _write_private(path: Path, data: bytes) -> None:
    """Create the file 0600 from the start: no window where the key is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, PRIVATE_FILE_MODE)  # O_CREAT's mode does not apply to an existing file


def _pkcs12_bytes(key: rsa.RSAPrivateKey, cert: x509.Certificate, password: str,
                  extra: list[x509.Certificate] | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(
        name=b"receipt-signer", key=key, cert=cert, cas=extra, encryption_algorithm=encryption
    )


def generate_pkcs12(path: Path, password: str, common_name: str = "Registratura AJOFM Cluj (test)",
                    organization: str = "AJOFM Cluj", days: int = 365) -> None:
    """A self-signed signing certificate + RSA-2048 key, as a PKCS#12 file readable by its owner only."""
    key = _new_key()
    name = _name(common_name, organization)
    cert = _leaf_certificate(key, name, key, name, days)
    _write_private(Path(path), _pkcs12_bytes(key, cert, password))


def generate_ca_and_leaf_pkcs12(dir: Path, password: str) -> tuple[Path, Path]:
    """A tiny test PKI: returns (leaf PKCS#12 incl. the CA certificate, CA certificate PEM)."""
    directory = Path(dir)
    ca_key, leaf_key = _new_key(), _new_key()
    ca_name = _name("AJOFM Cluj Test Root CA", "AJOFM Cluj (test)")
    ca_cert = _ca_certificate(ca_key, ca_name, days=3650)
    leaf_name = _name("Registratura AJOFM Cluj (test)", "AJOFM Cluj")
    leaf_cert = _leaf_certificate(leaf_key, leaf_name, ca_key, ca_name, days=365)

    pkcs12_path = directory / "registratura.p12"
    ca_path = directory / "test-root-ca.pem"
    _write_private(pkcs12_path, _pkcs12_bytes(leaf_key, leaf_cert, password, [ca_cert]))
    directory.mkdir(parents=True, exist_ok=True)
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return pkcs12_path, ca_path
