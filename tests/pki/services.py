"""OCSP responders, CRLs, CA certificates and an RFC 3161 TSA served over HTTP on 127.0.0.1.

A plain `http.server` in a daemon thread: it needs no event loop, so it cannot clash with the asyncio loops pyHanko
runs while signing and validating. Answers are computed per request at the real current time (the TSA's genTime,
the OCSP thisUpdate, the CRL thisUpdate); scenarios that need a past signing time use an in-process time-stamper
instead (see `build.py`).

Routes:  POST /ocsp/<ca>   GET /crl/<ca>.crl   GET /certs/<ca>.cer   POST /tsa
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import cms, core, tsp
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from pyhanko.sign.general import as_signing_certificate_v2, get_pyca_cryptography_hash, simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from tests.pki.certs import CertificateAuthority, Issued

log = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024  # OCSP and time-stamp requests are a few hundred bytes
_REQUEST_TIMEOUT_S = 10.0


class TestTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, but with an ESS signing-certificate-v2 (SHA-256) attribute like current TSAs,
    so no SHA-1 appears in a time-stamp token unless a scenario asks for it."""

    __test__ = False

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        hash_algorithm = get_pyca_cryptography_hash(md_algorithm)
        signature = self._rsa_key.sign(signed_attrs.dump(), padding.PKCS1v15(), hash_algorithm)
        return signature, signed_attrs

    @functools.cached_property
    def _rsa_key(self) -> rsa.RSAPrivateKey:
        # Our own freshly generated key: skip the RSA consistency check (tens of ms per load) and load it once.
        key = serialization.load_der_private_key(
            self.tsa_key.dump(), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


def build_crl(ca: CertificateAuthority, now: datetime) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - timedelta(minutes=1))
        .next_update(now + timedelta(days=1))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
    )
    for entry in ca.revoked(now):
        assert entry.revoked_at is not None
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.cert.serial_number)
            .revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(revoked)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def build_ocsp_response(ca: CertificateAuthority, request_der: bytes, now: datetime) -> bytes:
    """A CA-signed OCSP response (no delegated responder): pyhanko-certvalidator accepts those."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER
        )
    entry = ca.issued.get(request.serial_number)
    if entry is None or request.issuer_key_hash != _key_hash(ca, request.hash_algorithm):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER
        )
    revoked = entry.revoked_at is not None and entry.revoked_at <= now
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=entry.cert,
        issuer=ca.cert,
        algorithm=request.hash_algorithm,
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now - timedelta(seconds=30),
        next_update=now + timedelta(hours=12),
        revocation_time=entry.revoked_at if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
    for ext in request.extensions:
        if isinstance(ext.value, x509.OCSPNonce):  # echo the nonce: certvalidator checks it
            builder = builder.add_extension(ext.value, critical=False)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _key_hash(ca: CertificateAuthority, algorithm: hashes.HashAlgorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    spki = ca.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # issuerKeyHash is over the subjectPublicKey BIT STRING value, not the whole SPKI
    digest.update(asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])
    return digest.finalize()


class PkiServices:
    """The loopback HTTP server. Bind first (the port goes into the certificates), register CAs and the TSA later."""

    def __init__(self) -> None:
        self.cas: dict[str, CertificateAuthority] = {}
        self.tsa: TestTimeStamper | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.timeout = _REQUEST_TIMEOUT_S
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"

    def register_ca(self, ca: CertificateAuthority) -> None:
        self.cas[ca.slug] = ca

    def set_tsa(self, tsa: Issued, chain: list[Issued]) -> None:
        self.tsa = TestTimeStamper(tsa_cert=tsa.asn1, tsa_key=tsa.key_info, certs_to_embed=[c.asn1 for c in chain])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-pki-services", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    # --- request dispatch (called from the handler thread) ---
    def answer_get(self, path: str) -> tuple[int, str, bytes]:
        now = datetime.now(UTC)
        if path.startswith("/crl/") and path.endswith(".crl"):
            ca = self.cas.get(path[len("/crl/") : -len(".crl")])
            if ca is not None:
                return 200, "application/pkix-crl", build_crl(ca, now)
        if path.startswith("/certs/") and path.endswith(".cer"):
            ca = self.cas.get(path[len("/certs/") : -len(".cer")])
            if ca is not None:
                return 200, "application/pkix-cert", ca.cert.public_bytes(serialization.Encoding.DER)
        return 404, "text/plain", b"not found"

    def answer_post(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        now = datetime.now(UTC)
        if path.startswith("/ocsp/"):
            ca = self.cas.get(path[len("/ocsp/") :])
            if ca is not None:
                return 200, "application/ocsp-response", build_ocsp_response(ca, body, now)
        if path == "/tsa" and self.tsa is not None:
            request = tsp.TimeStampReq.load(body)
            return 200, "application/timestamp-reply", self.tsa.request_tsa_response(request).dump()
        return 404, "text/plain", b"not found"


def _make_handler(services: PkiServices) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = _REQUEST_TIMEOUT_S

        def do_GET(self) -> None:
            self._reply(*services.answer_get(self.path))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._reply(413, "text/plain", b"too large")
                return
            try:
                self._reply(*services.answer_post(self.path, self.rfile.read(length)))
            except Exception:  # a broken request must not kill the server thread; the client sees a 500
                log.exception("test PKI service failed on %s", self.path)
                self._reply(500, "text/plain", b"error")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: tests read no access log
            log.debug("%s " + format, self.address_string(), *args)

    return Handler
