"""Consent to the e-mail procedure (procedure 000 step 4; procedure.md §7 item 5).

"În e-mailul prin care sunt transmise formularele și documentele ..., beneficiarul își va exprima în scris
acordul referitor la derularea prin intermediul poștei electronice a procedurii". The text gives no wording, so
the rule here is deliberately practical:

- any first-person statement of agreement counts: "sunt de acord", "îmi exprim acordul", "îmi dau acordul",
  "mi-am dat consimțământul", "accept derularea procedurii ...", "consimt ...". "Sunt de acord" alone counts:
  in an e-mail that carries a request to the agency, there is nothing else the sender could be agreeing to, and
  staff see the phrase that was taken as consent (`Consent.phrase`). A line that is only "De acord" (a reply
  to our request for consent) counts too;
- a negation in the same clause just before the phrase ("nu sunt de acord", "nu-mi dau acordul", "n-am dat
  acordul", "nu mai sunt de acord") is a refusal, not consent;
- our own request quoted back ("... răspundeți cu textul: „Sunt de acord ...”") is not consent: a phrase
  introduced by "textul", "mențiunea" or "formula" is an instruction;
- the sender's own text decides; only when it says nothing does a quoted part count (`quoted=True`). The
  sender re-sent it in a reply, usually their own earlier message, so it is still a written statement in the
  e-mail; staff can see that it was quoted. A refusal in the sender's own text wins over quoted consent.

Matching is on the folded text (`intake.validation.text`): diacritics, ş/ș, case and line breaks do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.validation.text import fold, normalize


@dataclass(frozen=True)
class Consent:
    given: bool
    phrase: str | None  # the words as written that decided: the consent, or the refusal when refused
    quoted: bool  # found only in a quoted part of a reply ("> ...", or below "... a scris:")
    refused: bool = False  # the sender's text says they do not agree


# First-person statements of agreement, on the folded text. "(?:\W+\w+){0,3}?" lets a few words in between
# ("îmi exprim în scris acordul", "sunt pe deplin de acord").
_AGREEMENT = re.compile(
    r"(?<!\w)(?:"
    r"sunt(?:em)?(?:\W+\w+){0,2}?\W+de\W+acord"
    r"|(?:(?:imi|mi|ne|ni)\W+(?:am\W+)?)?"  # the pronoun belongs to the phrase shown to staff: "îmi", "mi-am"
    r"(?:exprim|exprimam|dau|dam|exprimat|dat)(?:\W+\w+){0,3}?\W+(?:acordul|consimtamantul)"
    r"|accept(?:am)?(?:\W+\w+){0,2}?\W+(?:derularea|desfasurarea|procedura|procedurii|comunicarea)"
    r"|consimt(?:im)?"
    r")(?!\w)"
)
_AGREEMENT_LINE = re.compile(r"^(?:(?:da|ok|bine)\W+)?(?:sunt\W+)?de\W+acord\W*$")
_NEGATIONS = frozenset({"nu", "n", "nici"})
_NEGATION_WINDOW = 3  # words before the phrase, within its clause
_CLAUSE_END = re.compile(r"[.!?;:,\"“”„«»()]")
_INSTRUCTION_BEFORE = re.compile(r"(?:textul|mentiunea|formula|fraza)\W*$")

# A quoted reply starts at its attribution line, or is marked line by line with ">".
_ATTRIBUTION_END = re.compile(r"(?:wrote|a scris|ecrit)\s*:$")
_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:original message|mesaj(?:ul)? original|forwarded message|mesaj(?:ul)? redirectionat)"
)
_HEADER_FROM = re.compile(r"^(?:from|de la|de)\s*:")
_HEADER_NEXT = re.compile(r"^(?:sent|date|trimis|data|to|catre|subject|subiect)\s*:")


def detect_consent(body: str) -> Consent:
    own, quoted = split_quoted(body or "")
    decided = _decide(own)
    if decided is not None:
        return decided
    from_quote = _decide(quoted)
    if from_quote is not None and from_quote.given:
        return Consent(True, from_quote.phrase, quoted=True)
    return Consent(False, None, quoted=False)


def split_quoted(body: str) -> tuple[str, str]:
    """(the sender's own text, the quoted text): "> " lines, and everything below a reply attribution."""
    own: list[str] = []
    quoted: list[str] = []
    lines = body.splitlines()
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(">"):
            quoted.append(stripped.lstrip("> \t"))
        elif _starts_quoted_reply(lines, index):
            quoted.extend(rest.lstrip().lstrip("> \t") for rest in lines[index:])
            break
        else:
            own.append(line)
    return "\n".join(own), "\n".join(quoted)


def _starts_quoted_reply(lines: list[str], index: int) -> bool:
    line = normalize(lines[index])
    if not line or len(line) > 300:
        return False
    if _ATTRIBUTION_END.search(line) or _SEPARATOR.match(line):
        return True
    if _HEADER_FROM.match(line):  # Outlook: "De la: ... / Trimis: ... / Către: ..."
        following = (normalize(next_line) for next_line in lines[index + 1 : index + 4])
        return any(_HEADER_NEXT.match(next_line) for next_line in following)
    return False


def _decide(text: str) -> Consent | None:
    """Consent if any statement of agreement stands; a refusal if only negated ones do; None if there are none."""
    if not text.strip():
        return None
    folded = fold(text)
    refusal: str | None = None
    for match in _AGREEMENT.finditer(folded.text):
        start, end = folded.span(match.start(), match.end())
        before = folded.text[: match.start()]
        if _INSTRUCTION_BEFORE.search(before):
            continue
        if _negated(before):
            refusal = refusal or _negation_start(text, before, folded.origin, start, end)
            continue
        return Consent(True, _one_line(text[start:end]), quoted=False)
    line_consent = _agreement_line(text)
    if line_consent:
        return Consent(True, line_consent, quoted=False)
    if refusal:
        return Consent(False, refusal, quoted=False, refused=True)
    return None


def _negated(before: str) -> bool:
    clause = _CLAUSE_END.split(before)[-1]
    words = re.findall(r"\w+", clause)[-_NEGATION_WINDOW:]
    return any(word in _NEGATIONS for word in words)


def _negation_start(text: str, before: str, origin: tuple[int, ...], start: int, end: int) -> str:
    """The refusal as written, from its negation ("nu-mi dau acordul"), for staff."""
    clause_start = len(before) - len(_CLAUSE_END.split(before)[-1])
    words = list(re.finditer(r"\w+", before[clause_start:]))[-_NEGATION_WINDOW:]
    first = next((word for word in words if word.group() in _NEGATIONS), None)
    if first is None or clause_start + first.start() >= len(origin):
        return _one_line(text[start:end])
    return _one_line(text[origin[clause_start + first.start()] : end])


def _agreement_line(text: str) -> str | None:
    for line in text.splitlines():
        if _AGREEMENT_LINE.match(normalize(line)):
            return line.strip()
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
