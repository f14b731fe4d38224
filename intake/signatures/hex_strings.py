"""A faster reader of PDF hex strings for pyhanko, with the same results.

pyhanko reads a hex string (`<48656C6C6F>`) one byte at a time through three Python calls a byte. A signature's
/Contents is such a string, tens of kilobytes long (the CMS container with its certificates, time-stamp and
revocation data), and pyhanko parses it whenever the signature dictionary is read: once per signature we verify
(both forms of every submission) and again on every read-back of the recipisă while it is signed, time-stamped
and made long-term. That was ~0.8 µs a byte, about 30 ms of CPU a submission (bench/README.md, "Hex strings"
under "Night of 2026-12-06").

The replacement takes the bytes up to the closing `>` in one read and decodes them with `binascii`, and only when
they are nothing but hex digits and PDF white space; anything else (a comment, a stray character, no closing `>`
before the end) goes to pyhanko's own reader from the same position, so every error and every odd case is still
pyhanko's, word for word. tests/unit/test_hex_strings.py compares the two on crafted strings and on the corpus.
"""

from __future__ import annotations

import binascii
import re
import threading
from typing import Any

# What pyhanko's reader skips between digits (pyhanko.pdf_utils.misc.PDF_WHITESPACE) and the digits themselves.
_WHITESPACE = b" \n\r\t\f\x00"
_PLAIN = re.compile(rb"[0-9A-Fa-f \n\r\t\f\x00]*")
_CHUNK = 64 * 1024

_lock = threading.Lock()
_original: Any = None


def install() -> None:
    """Replace pyhanko's hex-string reader in this process (idempotent)."""
    global _original
    from pyhanko.pdf_utils import generic

    with _lock:
        if _original is None:
            _original = generic.read_hex_string_from_stream
            generic.read_hex_string_from_stream = read_hex_string


def read_hex_string(stream: Any) -> Any:
    """pyhanko's `read_hex_string_from_stream`, the stream at the opening `<`; the stream ends after the `>`."""
    from pyhanko.pdf_utils import generic

    start = stream.tell()
    stream.read(1)
    parts: list[bytes] = []
    while chunk := stream.read(_CHUNK):
        end = chunk.find(b">")
        if end < 0:
            parts.append(chunk)
            continue
        parts.append(chunk[:end])
        body = b"".join(parts)
        if _PLAIN.fullmatch(body) is None:
            break  # a comment or a character pyhanko rejects: its own reader decides
        stream.seek(start + 1 + len(body) + 1)
        digits = body.translate(None, _WHITESPACE)
        if len(digits) % 2:
            digits += b"0"  # PDF 32000-1 7.3.4.3: a missing last digit is 0
        return generic.pdf_string(binascii.unhexlify(digits))
    stream.seek(start)
    return (_original or generic.read_hex_string_from_stream)(stream)
