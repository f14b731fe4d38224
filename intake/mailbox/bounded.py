"""The standard library's MIME parser, bounded in depth and in the number of parts, with 8-bit headers decoded.

`email.feedparser` recurses once per nesting level (generators inside generators), so a 1,000-level mail hits
the interpreter's recursion limit before any check of ours could run on the parsed tree; and it builds one
Message object, with its header parsing, per part, so 20,000 parts cost minutes. Both guards therefore sit
inside the parser: past `max_depth` levels, or once `max_parts` parts were built, a part's lines are read and
dropped (the library's own boundary matching decides where the part ends) and only counted.

This relies on two non-public methods of `FeedParser` (`_parsegen`, `_parse_headers`), stable since Python 3.3;
tests/unit/test_hostile_parse.py fails loudly if a Python upgrade changes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.feedparser import FeedParser, NeedMoreData
from email.message import Message
from email.policy import EmailPolicy
from typing import Any

from intake.mailbox.header_bytes import declared_charset, has_surrogates, header_codec

__all__ = ["ParseCounts", "parse_bounded"]

# How much of the raw message is searched for a charset label to read undeclared 8-bit headers with.
_CHARSET_SCAN_BYTES = 256 * 1024
# The longest header value handed to the library's header parser. Its encoded-word parser copies the rest of the
# value once per word: a 200 KB Subject of 6,600 encoded words (a real test-corpus mail) took 370 MB and 4 s.
# Longer values are cut (RFC 5322 lines are at most 998 characters; a folded value this long is junk or an attack).
MAX_HEADER_CHARS = 16 * 1024
# How much of the raw message is handed to the parser at a time (see parse_bounded).
FEED_BYTES = 1024 * 1024


class _BoundedHeaderPolicy(EmailPolicy):
    """`policy.default`, with every header value cut to MAX_HEADER_CHARS before it is parsed."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        return super().header_fetch_parse(name, value[:MAX_HEADER_CHARS])


BOUNDED_POLICY = _BoundedHeaderPolicy()


@dataclass
class ParseCounts:
    parts: int = 0  # MIME entities built (containers included)
    skipped_parts: int = 0  # entities past `max_parts`, dropped
    too_deep: int = 0  # entities past `max_depth`, dropped (with everything below them)


class _BoundedFeedParser(FeedParser):
    def __init__(self, *, max_depth: int, max_parts: int, fallback_charset: str | None, counts: ParseCounts) -> None:
        super().__init__(policy=BOUNDED_POLICY)
        self._max_depth = max_depth
        self._max_parts = max_parts
        self._fallback_charset = fallback_charset
        self._counts = counts
        self._depth = 0

    def _parsegen(self) -> Iterator[Any]:
        if self._depth > self._max_depth:
            self._counts.too_deep += 1
            yield from self._skip()
            return
        if self._counts.parts >= self._max_parts:
            self._counts.skipped_parts += 1
            yield from self._skip()
            return
        self._counts.parts += 1
        self._depth += 1
        try:
            yield from super()._parsegen()  # type: ignore[misc]
        finally:
            self._depth -= 1

    def _skip(self) -> Iterator[Any]:
        """Consume one part up to its enclosing boundary. The caller pops one message after this returns, so a
        placeholder is pushed; it is never attached to the tree."""
        placeholder = self._factory(policy=self.policy)  # type: ignore[attr-defined]
        self._msgstack.append(placeholder)  # type: ignore[attr-defined]
        self._cur = placeholder
        self._last = placeholder
        for line in self._input:  # type: ignore[attr-defined]
            if line is NeedMoreData:  # the rest has not been fed yet
                yield line

    def _parse_headers(self, lines: list[str]) -> None:
        if any(has_surrogates(line) for line in lines):
            lines = self._decoded(lines)
        super()._parse_headers(lines)  # type: ignore[misc]

    def _decoded(self, lines: list[str]) -> list[str]:
        """The header block's 8-bit bytes as text. The codec is chosen per header (with its continuation lines,
        so a name split by folding is read as one), then applied line by line to keep the folding as sent."""
        raw_lines = [line.encode("utf-8", "surrogateescape") for line in lines]
        declared = declared_charset(b"".join(raw_lines)) or self._fallback_charset
        decoded: list[str] = []
        start = 0
        for end in range(1, len(raw_lines) + 1):
            if end < len(raw_lines) and raw_lines[end][:1] in (b" ", b"\t"):
                continue  # a continuation of the header that starts at `start`
            codec, errors = header_codec(b"".join(raw_lines[start:end]), declared)
            decoded.extend(_decode_line(raw, codec, errors) for raw in raw_lines[start:end])
            start = end
        return decoded


def _decode_line(raw: bytes, codec: str, errors: str) -> str:
    try:
        return raw.decode(codec, errors)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("utf-8", "replace")


def parse_bounded(raw: bytes, *, max_depth: int, max_parts: int) -> tuple[Message, ParseCounts]:
    """Parse `raw` like `BytesParser(policy=policy.default)`, within the bounds."""
    counts = ParseCounts()
    parser = _BoundedFeedParser(
        max_depth=max_depth,
        max_parts=max(1, max_parts),
        fallback_charset=declared_charset(raw[:_CHARSET_SCAN_BYTES]),
        counts=counts,
    )
    # What BytesParser does: undeclared 8-bit bytes travel as surrogate escapes until someone decodes them. Fed a
    # piece at a time (the parser is incremental; ASCII with surrogate escapes decodes byte by byte, so any cut is
    # safe): fed at once, a 25 MB message became a 25 MB str plus the parser's line buffer, an io.StringIO that
    # holds text as 4 bytes a character (100 MB), for a peak of ~200 MB above the message itself.
    for start in range(0, len(raw), FEED_BYTES):
        parser.feed(raw[start : start + FEED_BYTES].decode("ascii", "surrogateescape"))
    return parser.close(), counts
