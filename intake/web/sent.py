"""The PDFs of a reply intake sent (the recipisă first of all), read back from the outbox copy of the message:
exactly what the citizen got. The case page links each one; the route is `/cazuri/{id}/trimise/...` (cases.py)."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


def pdf_parts(raw: bytes) -> list[EmailMessage]:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return [part for part in message.walk() if part.get_content_type() == "application/pdf"]  # type: ignore[misc]


def pdf_names(raw: bytes) -> list[str]:
    """The file names of the PDFs a sent message carries, in order (the case page links each one)."""
    try:
        return [part.get_filename() or f"document-{index + 1}.pdf" for index, part in enumerate(pdf_parts(raw))]
    except Exception:  # a message we cannot read back only loses its links, never the case page
        return []
