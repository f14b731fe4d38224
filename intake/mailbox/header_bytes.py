"""Raw 8-bit header bytes -> text, the way mail clients read them.

RFC 5322 headers are ASCII, but many mailers write names and subjects as raw bytes: UTF-8 (RFC 6532 allows it),
or the sender's legacy charset. The standard library keeps such bytes as lone surrogates, which later fail
anywhere text is encoded (SQLite, logging, SMTP, PDF). Like Thunderbird we try UTF-8 first, then the charset the
message declares, then a byte-for-byte Western fallback with replacement characters: never an exception, never
a surrogate.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["declared_charset", "decode_header_bytes", "has_surrogates", "header_codec", "without_surrogates"]

# The last resort maps (nearly) every byte to a letter; its few holes become U+FFFD.
FALLBACK = "cp1252"
_SURROGATES = re.compile("[\ud800-\udfff]")
_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:+-]{1,40})""", re.IGNORECASE)
# A few labels seen in the wild that the codec registry misses or that senders use for a superset.
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949", "x-sjis": "shift_jis", "utf8": "utf-8"}


def has_surrogates(text: str) -> bool:
    return _SURROGATES.search(text) is not None


def without_surrogates(text: str) -> str:
    """Last line of defence for strings leaving the parser: an escaped byte that slipped through becomes text."""
    if not has_surrogates(text):
        return text
    data = text.encode("utf-8", "surrogateescape") if _only_escapes(text) else None
    if data is not None:
        return decode_header_bytes(data, None)
    return _SURROGATES.sub("\ufffd", text)


def declared_charset(data: bytes) -> str | None:
    """The first charset= parameter in `data` (a header block or the start of a message), if it names a usable
    ASCII-compatible codec other than ASCII and UTF-8 (those are tried anyway)."""
    for match in _CHARSET_PARAM.finditer(data):
        codec = _ascii_compatible_codec(match.group(1).decode("ascii").lower())
        if codec is not None:
            return codec
    return None


def decode_header_bytes(data: bytes, declared: str | None) -> str:
    """Text of raw header bytes: UTF-8, else the declared charset, else mostly-UTF-8 with replacements, else
    the Western fallback."""
    codec, errors = header_codec(data, declared)
    return data.decode(codec, errors)


def header_codec(data: bytes, declared: str | None) -> tuple[str, str]:
    """(codec, error handler) for `data`: chosen once for a whole header block, then applied line by line. Only
    ASCII-compatible codecs are used, so decoding cannot create or remove line breaks."""
    try:
        data.decode("utf-8")
        return "utf-8", "strict"
    except UnicodeDecodeError:
        pass
    codec = _ascii_compatible_codec(declared) if declared else None
    if codec is not None:
        try:
            data.decode(codec)
            return codec, "strict"
        except (UnicodeDecodeError, LookupError):
            pass
    lenient = data.decode("utf-8", "replace")
    broken = lenient.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in lenient if ord(ch) > 0x7F and ch != "\ufffd")
    # Mostly UTF-8 with a stray byte (a truncated name): one replacement beats turning every letter to mojibake.
    if good >= 2 * broken:
        return "utf-8", "replace"
    return FALLBACK, "replace"


def _ascii_compatible_codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        return None
    if name in ("ascii", "utf-8"):
        return None
    try:
        # UTF-16/32 and friends would turn ASCII header syntax into nonsense.
        if "Ab:1\r\n".encode(name) != b"Ab:1\r\n":
            return None
    except (UnicodeError, LookupError):
        return None
    return name


def _only_escapes(text: str) -> bool:
    """True when every surrogate is one of the parser's byte escapes (U+DC80-U+DCFF)."""
    return all("\udc80" <= ch <= "\udcff" for ch in _SURROGATES.findall(text))
