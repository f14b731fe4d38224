"""A private SoftHSM2 token holding the receipt key, as an agency's HSM would: Debian's softhsm2 and opensc.

The token lives in a directory of its own, named by its own SOFTHSM2_CONF (SoftHSM reads the variable each time the
library is initialised, so tests and the `intake` processes they start find it). It is made the way an operator
loads a key on a token: `softhsm2-util --init-token`, `softhsm2-util --import` for the key and `pkcs11-tool
--write-object` for the certificates. A missing tool raises RuntimeError: the test errors, it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

from intake.receipts.keys import generate_ca_and_leaf_pkcs12

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")  # Debian's softhsm2
MISSING = "SoftHSM2 or pkcs11-tool missing: apt-get install -y softhsm2 opensc (scripts/install-test-servers)"
TOKEN_LABEL = "intake-test"
KEY_LABEL = "registratura"
EXPIRED_LABEL = "expirat"
PIN = "246810"
SO_PIN = "13579135"
PASSWORD = "test-password"  # of the PKCS#12 the key came from (the harness reads its CA from it)


@dataclass(frozen=True)
class SoftHsmToken:
    conf: Path  # SOFTHSM2_CONF
    pin_file: Path
    pkcs12: Path  # the same key and certificate as a PKCS#12 file, with the CA
    ca_pem: Path
    module: Path = MODULE
    token_label: str = TOKEN_LABEL
    key_label: str = KEY_LABEL
    pin: str = PIN

    def toml(self, **override: str) -> str:
        """A `[signing.pkcs11]` table for this token; `override` replaces keys (a wrong label, another PIN file)."""
        keys = {
            "module": str(self.module),
            "token_label": self.token_label,
            "key_label": self.key_label,
            "pin_file": str(self.pin_file),
        } | override
        return "[signing.pkcs11]\n" + "".join(f'{name} = "{value}"\n' for name, value in keys.items())


@contextmanager
def softhsm_token(base: Path) -> Iterator[SoftHsmToken]:
    """A token with the receipt key of a fresh test PKI (leaf + CA), SOFTHSM2_CONF set while it lives."""
    tools = [shutil.which("softhsm2-util"), shutil.which("pkcs11-tool")]
    if None in tools or not MODULE.is_file():
        raise RuntimeError(MISSING)
    tokens = base / "tokens"
    tokens.mkdir(parents=True)
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    p12, ca_pem = generate_ca_and_leaf_pkcs12(base / "pki", PASSWORD)
    key, certificate, chain = pkcs12.load_key_and_certificates(p12.read_bytes(), PASSWORD.encode())
    assert key is not None and certificate is not None
    key_pem, cert_der, ca_der = base / "key.pem", base / "cert.der", base / "ca.der"
    key_pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert_der.write_bytes(certificate.public_bytes(Encoding.DER))
    ca_der.write_bytes(chain[0].public_bytes(Encoding.DER))
    pin_file = base / "pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)

    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        _run("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", SO_PIN, "--pin", PIN)
        _import_key(key_pem, KEY_LABEL, "01")
        _write_certificate(cert_der, KEY_LABEL, "01")
        _write_certificate(ca_der, "ca", "02")
        _import_expired(base)
        yield SoftHsmToken(conf=conf, pin_file=pin_file, pkcs12=p12, ca_pem=ca_pem)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def _import_expired(base: Path) -> None:
    """A second key, `EXPIRED_LABEL`, whose self-signed certificate expired yesterday (`intake check` must say so)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Registratura expirată (test)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem, cert_der = base / "expired.pem", base / "expired.der"
    key_pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert_der.write_bytes(certificate.public_bytes(Encoding.DER))
    _import_key(key_pem, EXPIRED_LABEL, "03")
    _write_certificate(cert_der, EXPIRED_LABEL, "03")


def _import_key(pem: Path, label: str, object_id: str) -> None:
    """The private key (PKCS#8 PEM) onto the token; the file is removed: the key is on the token now, only there."""
    _run(
        "softhsm2-util", "--import", str(pem), "--token", TOKEN_LABEL, "--label", label, "--id", object_id, "--pin", PIN
    )
    pem.unlink()


def _write_certificate(der: Path, label: str, object_id: str) -> None:
    login = ["--module", str(MODULE), "--token-label", TOKEN_LABEL, "--login", "--pin", PIN]
    _run("pkcs11-tool", *login, "--write-object", str(der), "--type", "cert", "--label", label, "--id", object_id)


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} {command[1]} failed ({result.returncode}): {result.stderr.strip()}")
