"""Read what intake sent: replies captured by the SMTP sink, and the signed recipisă inside them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader


@dataclass
class Reply:
    recipient: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def is_receipt(self) -> bool:
        return self.pdf is not None

    @property
    def pdf(self) -> bytes | None:
        for part in self.message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                return part.get_content()
        return None


def replies(sink_messages: list) -> list[Reply]:  # type: ignore[type-arg]
    result = []
    for received in sink_messages:
        message = BytesParser(policy=policy.default).parsebytes(received.data)
        for recipient in received.rcpt_tos:
            result.append(Reply(recipient=recipient, message=message))  # type: ignore[arg-type]
    return result


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


@dataclass
class SignatureCheck:
    intact: bool
    valid: bool
    trusted: bool
    signer_subject: str
    signer_sha256: str


def check_signature(pdf: bytes, ca_pem: Path) -> SignatureCheck:
    _, _, der = pem.unarmor(ca_pem.read_bytes())
    root = x509.Certificate.load(der)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    return SignatureCheck(
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        signer_subject=status.signing_cert.subject.human_friendly,
        signer_sha256=status.signing_cert.sha256.hex(),
    )
