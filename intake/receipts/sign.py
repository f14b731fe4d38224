"""PAdES signature of the recipisă on behalf of the registry (pyhanko).

Baseline B-B, or B-LTA when a time-stamping authority is configured (signature time-stamp, the DSS with the
revocation answers for the signer's and the TSA's certificates, then a document time-stamp: what `intake archive
refresh` extends before it expires; see `intake.receipts.ltv`). The key is loaded once; `sign` is
synchronous (pyhanko runs its own event loop inside), so call it from a worker thread, never from a
coroutine running on the daemon's event loop.
"""

from __future__ import annotations

import functools
import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from intake.outages import ServiceOutage
from intake.receipts import ltv, stamp

log = logging.getLogger(__name__)

FIELD_NAME = "SemnaturaRegistratura"
TIMESTAMP_TIMEOUT = 10  # seconds; a slow TSA must not hold a worker thread for long

# Space for the CMS container, so pyhanko can skip its dry-run signature (which doubles the cost).
# Sized from the real certificates plus a margin; a time-stamp token carries the TSA's own chain.
_CMS_OVERHEAD = 3 * 1024
_TIMESTAMP_ALLOWANCE = 16 * 1024

# pyhanko logs expected failures (unreachable TSA, bad key material) with full tracebacks; we raise
# them as exceptions with one-line messages instead, so its own report would only be noise.
for _name in ("pyhanko.sign.signers", "pyhanko.sign.timestamps"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


class _KeyCachingSigner(signers.SimpleSigner):
    """pyhanko re-parses and re-validates the private key on every signature (~40 ms for RSA-2048, most of a
    receipt's signing time); the key never changes, so parse it once."""

    @functools.cached_property
    def _private_key(self) -> Any:
        return serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        algorithm = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = getattr(hashes, digest_algorithm.upper(), None)
        key = self._private_key
        if digest is not None and algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), digest())
        if digest is not None and algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest()))
        return super().sign_raw(data, digest_algorithm)  # any other mechanism: the library's own path


class SigningKeyError(ValueError):
    """The PKCS#12 file cannot be used for signing (missing, unreadable, wrong password, expired)."""


class TimestampError(ServiceOutage, OSError):
    """The time-stamping authority did not answer (B-T only). Transient: the message waits for it (intake.outages)."""


class ReceiptSigner:
    def __init__(
        self,
        pkcs12_path: Path,
        pkcs12_password: str | None,
        timestamp_url: str | None = None,
        signer_name: str | None = None,
    ) -> None:
        path = Path(pkcs12_path)
        self._adopt(_load_signer(path, pkcs12_password), str(path), timestamp_url, signer_name)

    @classmethod
    def on_token(
        cls, signer: signers.Signer, where: str, timestamp_url: str | None = None, signer_name: str | None = None
    ) -> ReceiptSigner:
        """A signer whose key stays on a PKCS#11 token (intake.receipts.token opens it); `where` names it."""
        receipt_signer = cls.__new__(cls)
        receipt_signer._adopt(signer, where, timestamp_url, signer_name)
        return receipt_signer

    def _adopt(self, signer: signers.Signer, where: str, timestamp_url: str | None, signer_name: str | None) -> None:
        self._signer = signer
        self._certificate = x509.load_der_x509_certificate(self._signer.signing_cert.dump())
        _check_validity(where, self._certificate)
        self._timestamp_url = timestamp_url
        self._timestamper = HTTPTimeStamper(timestamp_url, timeout=TIMESTAMP_TIMEOUT) if timestamp_url else None
        self._signer_name = signer_name
        self._bytes_reserved = _estimate_reserve(self._signer, timestamped=self._timestamper is not None)
        self._ltv = ltv.Collector(self._signer, self._timestamper) if self._timestamper else None

    def warm(self) -> None:
        """Parse the private key now (a process that forks workers does it once for all of them), and learn the
        TSA's chain for B-LTA (one request; a TSA down now is asked again by the first receipt). A key on a token
        is left alone: a session opened before the fork must not serve the children (intake/receipts/token.py)."""
        getattr(self._signer, "_private_key", None)  # fills the cached property; a TokenSigner has none
        if self._ltv is not None:
            try:
                self._ltv.learn()
            except Exception as exc:
                log.info("time-stamping authority %s not reached at start-up: %s", self._timestamp_url, exc)

    @property
    def certificate_subject(self) -> str:
        """Most specific attribute first, as people read it: "CN=..., O=..., C=RO"."""
        return ", ".join(rdn.rfc4514_string() for rdn in reversed(self._certificate.subject.rdns))

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def timestamped(self) -> bool:
        return self._timestamper is not None

    @property
    def common_name(self) -> str:
        names = self._certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.certificate_subject

    def sign(
        self,
        pdf: bytes,
        *,
        reason: str = "Recipisă de înregistrare",
        location: str = "Cluj-Napoca",
        registration: str | None = None,
        timezone: str = "Europe/Bucharest",
    ) -> bytes:
        """Return `pdf` with an incremental update holding the PAdES signature.

        With `registration`, the signature is visible: a box on the last page (see `stamp.py`) names the
        signer, the time and the registration number. Raises TimestampError when the configured TSA cannot be
        reached.
        """
        visible = stamp.StampText(self.common_name, registration, datetime.now(UTC), timezone) if registration else None
        try:
            try:
                return self._sign(pdf, reason, location, self._bytes_reserved, visible)
            except SigningError as exc:
                if "larger than expected" not in str(exc):
                    raise
                # Our estimate was short (an unusually large TSA response): let pyhanko measure it.
                log.info("receipt signature larger than the %d bytes reserved; signing again", self._bytes_reserved)
                return self._sign(pdf, reason, location, None, visible)
        except TimestampRequestError as exc:
            cause = exc.__cause__ or exc
            raise TimestampError(f"time-stamping authority {self._timestamp_url} failed: {cause}") from exc

    def _metadata(self, reason: str, location: str) -> signers.PdfSignatureMetadata:
        # With a TSA: PAdES B-LTA (ETSI EN 319 142-1 §6.3), so the receipt stays verifiable after the certificates
        # expire, as long as `intake archive refresh` keeps adding document time-stamps.
        context = self._ltv.validation_context() if self._ltv else None
        return signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            name=self._signer_name,
            embed_validation_info=context is not None,
            use_pades_lta=context is not None,
            validation_context=context,
        )

    def _sign(
        self, pdf: bytes, reason: str, location: str, bytes_reserved: int | None, visible: stamp.StampText | None
    ) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        pdf_signer = signers.PdfSigner(
            self._metadata(reason, location),
            signer=self._signer,
            timestamper=self._timestamper,
            # Without a box the new field is invisible (what signers.sign_pdf makes).
            stamp_style=stamp.stamp_style(visible) if visible else None,
            new_field_spec=stamp.field_spec(FIELD_NAME) if visible else None,
        )
        output = pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved)
        return output.getvalue()


def _load_signer(path: Path, password: str | None) -> signers.SimpleSigner:
    # SimpleSigner.load_pkcs12 logs a traceback and returns None on failure; its building block raises
    # instead, which lets us say which file and why in one line.
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read PKCS#12 file {path}: {exc.strerror or exc}") from None
    passphrase = password.encode() if password else None
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    except Exception:  # cryptography/asn1crypto raise several types for the same bad input
        raise SigningKeyError(
            f"cannot open PKCS#12 file {path}: wrong password or not a PKCS#12 file with a key"
        ) from None
    if signer.signing_cert is None or signer.signing_key is None:
        raise SigningKeyError(f"PKCS#12 file {path} holds no signing key and certificate")
    # load_pkcs12_data always builds a plain SimpleSigner; the subclass only adds the parsed-key cache.
    signer.__class__ = _KeyCachingSigner
    return signer


def _check_validity(path: str, certificate: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if now > certificate.not_valid_after_utc:
        raise SigningKeyError(f"certificate in {path} expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    if now < certificate.not_valid_before_utc:
        raise SigningKeyError(
            f"certificate in {path} is valid only from {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )


def _estimate_reserve(signer: signers.Signer, *, timestamped: bool) -> int:
    certificates = {signer.signing_cert.dump(), *(c.dump() for c in signer.cert_registry)}
    key_bytes = signer.signing_cert.public_key.bit_size // 8 + 16
    size = sum(len(der) for der in certificates) + key_bytes + _CMS_OVERHEAD
    if timestamped:
        size += _TIMESTAMP_ALLOWANCE
    return 2 * size  # hex-encoded in the PDF; always even, as pyhanko requires
