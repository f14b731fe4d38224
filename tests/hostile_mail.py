"""Hostile and broken mails of issue 10, built at test time (nothing binary is checked in).

Shared by the unit tests, the integration tests and `bench/hostile_parse.py`, so that all of them measure the
same message.
"""

from __future__ import annotations

FROM = "Ion Popescu <ion.popescu@example.ro>"
TO = "cluj@anofm.gov.ro"


def _head(subject: str, content_type: str, sender: str = FROM) -> bytes:
    return (
        f"From: {sender}\r\nTo: {TO}\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0200\r\n"
        f"Message-ID: <hostile.{abs(hash(subject)) % 10**9}@example.ro>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def many_parts(parts: int = 20_000) -> bytes:
    """One multipart/mixed with `parts` small named attachments (the issue's mail: 2.2 MB, 20,000 parts)."""
    boundary = "p"
    chunks = [_head("Cerere", f'multipart/mixed; boundary="{boundary}"')]
    chunks.append(f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVă trimit actele.\r\n".encode())
    for number in range(1, parts):
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/pdf\r\n"
            f'Content-Disposition: attachment; filename="a{number}.pdf"\r\n\r\n%PDF-1.4\r\n'.encode()
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


def deep_nesting(levels: int = 1_000, kind: str = "multipart") -> bytes:
    """`levels` nested multipart/mixed parts (or message/rfc822 forwards when kind="message"), with a PDF
    attachment at the top level after the nest, so what is past the cut can be checked to survive."""
    if kind == "message":
        inner = "From: a@example.ro\r\nSubject: fwd\r\nContent-Type: text/plain\r\n\r\nadânc\r\n".encode()
        for _ in range(levels):
            inner = b"From: a@example.ro\r\nSubject: fwd\r\nContent-Type: message/rfc822\r\n\r\n" + inner
        body = inner
        return (
            _head("Adânc", 'multipart/mixed; boundary="top"')
            + "--top\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBună ziua\r\n".encode()
            + b"--top\r\nContent-Type: message/rfc822\r\n\r\n"
            + body
            + b'\r\n--top\r\nContent-Type: application/pdf; name="cerere.pdf"\r\n'
            + b'Content-Disposition: attachment; filename="cerere.pdf"\r\n\r\n%PDF-1.4\r\n%%EOF\r\n'
            + b"--top--\r\n"
        )
    opening, closing = [], []
    for level in range(levels):
        opening.append(f'--b{level}\r\nContent-Type: multipart/mixed; boundary="b{level + 1}"\r\n\r\n'.encode())
        closing.append(f"\r\n--b{level + 1}--\r\n".encode())
    innermost = f"--b{levels}\r\nContent-Type: text/plain\r\n\r\nadânc\r\n".encode()
    return (
        _head("Adânc", 'multipart/mixed; boundary="b0"')
        + "--b0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBună ziua, vă trimit cererea.\r\n".encode()
        + b"".join(opening)
        + innermost
        + b"".join(reversed(closing))
        + b'--b0\r\nContent-Type: application/pdf; name="cerere.pdf"\r\n'
        + b'Content-Disposition: attachment; filename="cerere.pdf"\r\n\r\n%PDF-1.4\r\n%%EOF\r\n'
        + b"--b0--\r\n"
    )


def eight_bit_headers(
    from_header: bytes = "Ionuț Pop <ionut.pop@example.ro>".encode(), subject: bytes | None = None
) -> bytes:
    """Unencoded 8-bit header bytes, as many mailers send them (RFC 6532 allows UTF-8; others send Latin-1)."""
    subject = subject if subject is not None else "Cerere indemnizație șomaj".encode()
    return (
        b"From: " + from_header + b"\r\nTo: " + TO.encode() + b"\r\nSubject: " + subject
        + b"\r\nDate: Mon, 23 Nov 2026 09:00:00 +0200\r\nMessage-ID: <8bit@example.ro>\r\nMIME-Version: 1.0\r\n"
        + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Bună ziua, vă trimit cererea.\r\n".encode()
    )  # fmt: skip


def normal() -> bytes:
    """The control: an ordinary submission with a body and one PDF."""
    return (
        _head("Cerere", 'multipart/mixed; boundary="n"')
        + "--n\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBună ziua, vă trimit cererea.\r\n".encode()
        + b'--n\r\nContent-Type: application/pdf; name="cerere.pdf"\r\n'
        + b'Content-Disposition: attachment; filename="cerere.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b"JVBERi0xLjQKJSVFT0YK\r\n--n--\r\n"
    )
