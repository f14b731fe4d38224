"""Romanian text in the comparison form used for matching titles, labels and names.

The same words reach us spelled many ways (procedure §7 item 22): with comma-below ș/ț or the older cedilla
ş/ţ, without diacritics at all, in capitals, broken over lines and hyphenated by the PDF producer, or with the
code-page artefacts of OCR'd text (cp1250 read as cp1252: "ã" for "ă", "Þ" for "Ț", "º" for "ș", "Ñ" for a
dash; see procedure §5 on 004). Everything is matched on one form: diacritics stripped, case folded,
whitespace collapsed. `fold` also remembers where each character came from, so a caller that matched on the
folded form can look at the original (is the title in capitals, alone on its line?).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Cedilla forms are the legacy encoding of the comma-below letters (same letters for Romanian).
_CEDILLA_TO_COMMA = str.maketrans({"ş": "ș", "Ş": "Ș", "ţ": "ț", "Ţ": "Ț"})
# Thorn never occurs in Romanian: it is Ț/ț (0xDE/0xFE in cp1250) read as cp1252. ã/Ã need no repair: they
# lose their tilde like ă loses its breve.
_THORN = str.maketrans({"Þ": "Ț", "þ": "ț"})
# ª/º are Ș/ș (0xAA/0xBA in cp1250) when they touch a letter; NFKC would otherwise turn them into "a"/"o".
_ORDINAL_AS_S = re.compile(r"(?<=[^\W\d_])[ªº]|[ªº](?=[^\W\d_])")
# Ñ/Ð stand for dashes in 004 ("anexele nr. 1Ñ7"); only where they touch no letter, so "MUÑOZ" survives.
_LETTER_AS_DASH = re.compile(r"(?<![^\W\d_])[ÑÐ](?![^\W\d_])")
# Private-use characters are glyph leftovers of PDF/OCR pipelines (004 has hundreds of U+F8F4).
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # combining marks (diacritics), soft hyphen, zero widths
_HYPHENS = frozenset("-\u2010\u2011")


def repair(text: str) -> str:
    """Fix encoding artefacts and cedilla letters; the result has the same length as `text`."""
    text = text.translate(_CEDILLA_TO_COMMA).translate(_THORN)
    text = _ORDINAL_AS_S.sub(lambda m: "ș" if m.group() == "º" else "Ș", text)
    text = _LETTER_AS_DASH.sub("-", text)
    return _PRIVATE_USE.sub(" ", text)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _LINE_BREAKS:
        return "\n"
    if char.isspace():
        return " "
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char))
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return "".join("\n" if c in _LINE_BREAKS else " " if c.isspace() else c for c in kept.casefold())


@dataclass(frozen=True)
class Folded:
    """The comparison form of a text, with the index in the original text of each of its characters."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the folded slice [start, end)."""
        return self.origin[start], self.origin[end - 1] + 1

    def find(self, phrase: str) -> list[tuple[int, int]]:
        """Original spans of every occurrence of `phrase` (see `contains_phrase`)."""
        return [self.span(m.start(), m.end()) for m in phrase_pattern(phrase).finditer(self.text)]


def fold(text: str) -> Folded:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(repair(text)):
        for folded in _fold_char(char):
            chars.append(folded)
            origin.append(index)
    return _collapse(chars, origin)


def _collapse(chars: list[str], origin: list[int]) -> Folded:
    """One space for each whitespace run; a hyphen before a line break joins the word it split."""
    out: list[str] = []
    out_origin: list[int] = []
    i, n = 0, len(chars)
    while i < n:
        if chars[i] not in (" ", "\n"):
            out.append(chars[i])
            out_origin.append(origin[i])
            i += 1
            continue
        start = i
        while i < n and chars[i] in (" ", "\n"):
            i += 1
        line_break = "\n" in chars[start:i]
        if line_break and out and out[-1] in _HYPHENS and len(out) > 1 and out[-2].isalpha():
            # "indemniza-\nției": the producer's hyphenation, not a compound word.
            out.pop()
            out_origin.pop()
            continue
        if out and i < n:
            out.append(" ")
            out_origin.append(origin[start])
    return Folded("".join(out), tuple(out_origin))


def normalize(text: str) -> str:
    """NFKC, cedilla → comma-below, then diacritics stripped, case folded and whitespace collapsed."""
    return fold(text).text


@lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words of `phrase`, separated by any run of spaces or punctuation, in a folded text."""
    words = [re.escape(word) for word in normalize(phrase).split(" ") if word]
    if not words:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)" + r"[\W_]+".join(words) + r"(?!\w)")


def contains_phrase(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text` as whole words, whatever the diacritics, case, line breaks and hyphenation."""
    return phrase_pattern(phrase).search(normalize(text)) is not None
