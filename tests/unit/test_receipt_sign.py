"""PAdES signing of the recipisă, validated with pyhanko against a test PKI made at test time.

B-T is exercised against a time-stamping authority served in-process on 127.0.0.1 (certomancer's
TimeStamper behind http.server): no external network.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem, tsp
from asn1crypto import x509 as asn1_x509
from certomancer.services import TimeStamper
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from intake.receipts.keys import generate_ca_and_leaf_pkcs12, generate_pkcs12
from intake.receipts.render import ReceiptData, ReceiptDocument, render_receipt
from intake.receipts.sign import ReceiptSigner, SigningKeyError, TimestampError

PASSWORD = "parolă-de-test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_ca_and_leaf_pkcs12(tmp_path_factory.mktemp("pki"), PASSWORD)


@pytest.fixture(scope="module")
def signer(pki: tuple[Path, Path]) -> ReceiptSigner:
    return ReceiptSigner(pki[0], PASSWORD, signer_name="Registratura AJOFM Cluj")


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    moment = datetime(2026, 11, 23, 7, 14, 3, tzinfo=UTC)
    doc = ReceiptDocument("cerere_șomaj.pdf", "PDF", 2, 48_213, "ab" * 32, True, None)
    return render_receipt(
        ReceiptData(
            office_name="Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            office_address="Str. Călărașilor nr. 1, Cluj-Napoca",
            registration_number="12/23.11.2026",
            registered_at=moment,
            received_at=moment,
            sender="ana@exemplu.ro",
            subject="Dosar șomaj",
            documents=(doc,),
        )
    )


def load_pem(path: Path) -> asn1_x509.Certificate:
    _, _, der = pem.unarmor(path.read_bytes())
    return asn1_x509.Certificate.load(der)


def validate(pdf: bytes, *roots: asn1_x509.Certificate) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_regular_signatures) == 1  # B-LTA adds a document time-stamp beside it
    return validate_pdf_signature(reader.embedded_regular_signatures[0], ValidationContext(trust_roots=list(roots)))


def test_signed_receipt_is_intact_valid_and_trusted(signer: ReceiptSigner, pki: tuple[Path, Path],
                                                    unsigned: bytes) -> None:
    signed = signer.sign(unsigned)
    assert signed.startswith(unsigned)  # an incremental update: the rendered bytes are untouched
    status = validate(signed, load_pem(pki[1]))
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.signing_cert.dump() == signer.certificate.public_bytes(serialization.Encoding.DER)
    assert status.timestamp_validity is None  # B-B: no TSA configured

    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES, not adbe.pkcs7.detached
    assert sig.sig_object["/Reason"] == "Recipisă de înregistrare"
    assert sig.sig_object["/Location"] == "Cluj-Napoca"
    assert sig.sig_object["/Name"] == "Registratura AJOFM Cluj"
    assert status.md_algorithm == "sha256"


def test_untrusted_without_the_ca(signer: ReceiptSigner, unsigned: bytes, tmp_path: Path) -> None:
    _, other_ca = generate_ca_and_leaf_pkcs12(tmp_path, PASSWORD)
    status = validate(signer.sign(unsigned), load_pem(other_ca))
    assert status.intact and status.valid and not status.trusted


def test_certificate_subject_is_readable(signer: ReceiptSigner) -> None:
    assert signer.certificate_subject == "CN=Registratura AJOFM Cluj (test), O=AJOFM Cluj, C=RO"


def test_self_signed_demo_key(tmp_path: Path, unsigned: bytes) -> None:
    path = tmp_path / "demo.p12"
    generate_pkcs12(path, PASSWORD, common_name="Registratura demo")
    assert path.stat().st_mode & 0o777 == 0o600
    demo = ReceiptSigner(path, PASSWORD)
    assert demo.certificate_subject.startswith("CN=Registratura demo, O=AJOFM Cluj")
    usage = demo.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    status = validate(demo.sign(unsigned), asn1_x509.Certificate.load(
        demo.certificate.public_bytes(serialization.Encoding.DER)))
    assert status.intact and status.valid and status.trusted


def test_wrong_password(pki: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SigningKeyError, match=re.escape(str(pki[0]))) as info:
        ReceiptSigner(pki[0], "greșită")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # quiet: the caller reports


def test_missing_password_for_encrypted_file(pki: tuple[Path, Path]) -> None:
    with pytest.raises(SigningKeyError, match="wrong password"):
        ReceiptSigner(pki[0], None)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nu-exista.p12"
    with pytest.raises(SigningKeyError, match=re.escape(f"{missing}: No such file")):
        ReceiptSigner(missing, PASSWORD)


def test_not_a_pkcs12_file(pki: tuple[Path, Path]) -> None:
    with pytest.raises(SigningKeyError, match="not a PKCS#12"):
        ReceiptSigner(pki[1], PASSWORD)  # the CA's PEM certificate


def test_expired_certificate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "expired.p12"
    generate_pkcs12(path, PASSWORD, days=0)
    with pytest.raises(SigningKeyError, match="expired"):
        ReceiptSigner(path, PASSWORD)


def test_signature_larger_than_reserved_still_signs(pki: tuple[Path, Path], unsigned: bytes) -> None:
    small = ReceiptSigner(pki[0], PASSWORD)
    small._bytes_reserved = 1024  # simulate an estimate that came out short
    status = validate(small.sign(unsigned), load_pem(pki[1]))
    assert status.intact and status.valid and status.trusted


def test_sign_from_worker_threads(signer: ReceiptSigner, pki: tuple[Path, Path], unsigned: bytes) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: signer.sign(unsigned), range(4)))
    for signed in results:
        assert validate(signed, load_pem(pki[1])).bottom_line


# ------------------------------------------------------------------------------- B-T with a local TSA


def _tsa_material() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture(scope="module")
def tsa() -> Iterator[tuple[str, asn1_x509.Certificate]]:
    cert, key = _tsa_material()
    tsa_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tsa_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    stamper = TimeStamper(tsa_cert=tsa_cert, tsa_key=tsa_key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", tsa_cert
    finally:
        server.shutdown()
        server.server_close()


def test_b_lta_with_local_timestamp_authority(pki: tuple[Path, Path], unsigned: bytes,
                                              tsa: tuple[str, asn1_x509.Certificate]) -> None:
    url, tsa_cert = tsa
    stamped = ReceiptSigner(pki[0], PASSWORD, timestamp_url=url)
    signed = stamped.sign(unsigned)
    status = validate(signed, load_pem(pki[1]), tsa_cert)
    assert status.intact and status.valid and status.trusted
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    assert abs(ts.timestamp - datetime.now(UTC)) < timedelta(minutes=1)
    # PAdES B-LTA: the DSS with the validation material, then a document time-stamp over everything.
    reader = PdfFileReader(io.BytesIO(signed))
    assert "/DSS" in reader.root
    assert len(reader.embedded_timestamp_signatures) == 1


def test_unreachable_timestamp_authority_raises(pki: tuple[Path, Path], unsigned: bytes) -> None:
    # Port 9 (discard) on loopback: connection refused at once, no external network.
    stamped = ReceiptSigner(pki[0], PASSWORD, timestamp_url="http://127.0.0.1:9/tsa")
    with pytest.raises(TimestampError, match=re.escape("127.0.0.1:9/tsa")) as info:
        stamped.sign(unsigned)
    assert isinstance(info.value, OSError)  # transient: the daemon retries
