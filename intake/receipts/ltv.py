"""Long-term validation material for the recipisă (PAdES B-LTA, ETSI EN 319 142-1 §6.3): which certificates the
revocation answers are collected for, and the document time-stamp that `intake archive refresh` adds.

Collecting validation data is not a trust decision (the verifier of the receipt, years later, applies its own
trust), so the anchors used here are simply the tops of the chains at hand: the receipt key's PKCS#12 chain and the
chain the time-stamping authority sends with its tokens. A chain that stops below its root (a PKCS#12 without the
root, a TSA that sends only its own certificate) is anchored at its last certificate: the path can always be built,
and the revocation answers are collected for every certificate below it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import ValidationContext

from intake.signatures import hex_strings

hex_strings.install()  # the signed recipisă is read back to extend it: see hex_strings

MD_ALGORITHM = "sha256"
TIMESTAMP_TIMEOUT = 10  # seconds, as for the signature's own time-stamp


def _tops(certificates: Iterable[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
    """The certificates no other one of the set issued: the roots, or the last certificate of a partial chain."""
    certs = list(certificates)
    subjects = {cert.subject.hashable for cert in certs}
    return [cert for cert in certs if cert.self_signed in ("yes", "maybe") or cert.issuer.hashable not in subjects]


class Collector:
    """The validation context of one receipt key and one TSA. The TSA's chain is learnt from its first token: one
    request per process, made by the daemon before it forks its workers (`learn`, from `ReceiptSigner.warm`). A TSA
    that moves to another CA while the daemon runs is anchored at its new certificate until a restart (soft-fail:
    the receipt is still signed); the daily refresh collects that chain's answers with a fresh look."""

    def __init__(self, signer: signers.Signer, timestamper: TimeStamper) -> None:
        self._chain = [cert for cert in (signer.signing_cert, *signer.cert_registry) if cert is not None]
        self._timestamper = timestamper
        self._tsa_chain: list[asn1_x509.Certificate] | None = None

    def validation_context(self, *, revocation_mode: str = "soft-fail") -> ValidationContext:
        """A context that fetches OCSP answers and CRLs for the receipt key's chain and the TSA's. `soft-fail` at
        signing time: an OCSP responder that is down delays no receipt (the refresh collects the answers later)."""
        tsa_chain = self._learn_tsa_chain()
        return ValidationContext(
            trust_roots=_tops([*self._chain, *tsa_chain]),
            other_certs=[*self._chain, *tsa_chain],
            allow_fetching=True,
            revocation_mode=revocation_mode,
        )

    def learn(self) -> None:
        self._learn_tsa_chain()

    def _learn_tsa_chain(self) -> list[asn1_x509.Certificate]:
        # No lock: learning twice at once costs one request more, and a lock held across fork() would hang a child.
        if self._tsa_chain is None:
            asyncio.run(self._timestamper.async_dummy_response(MD_ALGORITHM))
            self._tsa_chain = list(self._timestamper.cert_registry)
        return self._tsa_chain


@dataclass(frozen=True)
class Horizon:
    """Until when a signed PDF's evidence can be verified without a new time-stamp: the earliest expiry among the
    certificates of its newest time-stamp (its TSA and that TSA's chain) and, for a file with no document
    time-stamp yet, the signer's certificates and the signature time-stamp's."""

    expires_at: datetime | None  # None: nothing time-bound found (an unsigned or unreadable file)
    document_timestamps: int
    what: str  # the certificate that expires first (its subject), for the operator


def horizon(pdf: bytes) -> Horizon:
    reader = PdfFileReader(io.BytesIO(pdf))
    timestamps = reader.embedded_timestamp_signatures
    if timestamps:
        token = timestamps[-1].signed_data
        certs = list(_certificates(token))
    else:
        certs = []
        for sig in reader.embedded_regular_signatures:
            certs.extend(_certificates(sig.signed_data))
            for tst in _signature_timestamps(sig.signed_data):
                certs.extend(_certificates(tst))
    if not certs:
        return Horizon(None, len(timestamps), "")
    first = min(certs, key=lambda cert: cert.not_valid_after)
    return Horizon(first.not_valid_after, len(timestamps), first.subject.human_friendly)


def _certificates(signed_data: object) -> Iterable[asn1_x509.Certificate]:
    for choice in signed_data["certificates"] or ():  # type: ignore[index]
        if choice.name == "certificate":
            yield choice.chosen


def _signature_timestamps(signed_data: object) -> Iterable[object]:
    for info in signed_data["signer_infos"]:  # type: ignore[index]
        for attr in info["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    yield token["content"]


def add_document_timestamp(pdf: bytes, timestamp_url: str) -> bytes:
    """`pdf` with a new document time-stamp over everything, after the DSS gathered fresh revocation answers for the
    previous newest time-stamp (pyHanko's archival time-stamp chain; a receipt signed B-B or B-T gets its first
    document time-stamp the same way). Revocation must be obtained (hard-fail): evidence refreshed without it would
    be stored as if it were complete. Raises on any failure; the caller keeps the old version."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

    timestamper = HTTPTimeStamper(timestamp_url, timeout=TIMESTAMP_TIMEOUT)
    reader = PdfFileReader(io.BytesIO(pdf))
    chain = []
    for sig in reader.embedded_signatures:
        chain.extend(_certificates(sig.signed_data))
    asyncio.run(timestamper.async_dummy_response(MD_ALGORITHM))
    tsa_chain = list(timestamper.cert_registry)
    context = ValidationContext(
        trust_roots=_tops([*chain, *tsa_chain]),
        other_certs=[*chain, *tsa_chain],
        allow_fetching=True,
        revocation_mode="hard-fail",
    )
    writer_input = io.BytesIO(pdf)
    stamper = PdfTimeStamper(timestamper)
    if reader.embedded_timestamp_signatures:
        output = stamper.update_archival_timestamp_chain(PdfFileReader(writer_input), context, in_place=False)
    else:
        output = stamper.timestamp_pdf(
            IncrementalPdfFileWriter(writer_input), MD_ALGORITHM, validation_context=context, in_place=False
        )
    return output.getvalue()
