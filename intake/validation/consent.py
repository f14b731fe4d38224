"""Consent to the e-mail procedure (procedure 000 step 4; procedure.md §7 item 5).

"În e-mailul prin care sunt transmise formularele și documentele ..., beneficiarul își va exprima în scris
acordul referitor la derularea prin intermediul poștei electronice a procedurii". The text gives no wording, so
the rule here is deliberately practical. Each statement of agreement or refusal is found, and what it refers
to (its object: the words after it, up to the end of the sentence, a "dar/însă/iar" or the next statement) is
read as the e-mail procedure, the processing of personal data, something else, or nothing at all:

1. a refusal of the e-mail procedure wins over every other sentence, in any order: "Sunt de acord cu
   prelucrarea datelor. Nu sunt de acord cu procedura prin e-mail" is a refusal. Refusals are a negated
   statement of agreement ("nu sunt de acord", "nu-mi dau acordul", "n-am dat acordul", "nu accept derularea"),
   "refuz", "îmi retrag acordul", "sunt în dezacord", "nu doresc / nu vreau" followed by the procedure, or the
   elliptical "…, dar nu și cu procedura prin e-mail";
2. otherwise an agreement that names the procedure (e-mail, poștă electronică, procedura, derularea,
   comunicarea…) is consent;
3. otherwise a refusal that names nothing ("Nu sunt de acord.") is a refusal: in an e-mail that carries a
   request to the agency, the e-mail procedure is what it refuses. A refusal of something else ("nu sunt de
   acord cu newsletterul") or of data processing alone is not a refusal of the procedure;
4. otherwise an agreement that names nothing or something else counts ("Sunt de acord." alone: there is nothing
   else the sender could be agreeing to, and staff see the phrase taken as consent, `Consent.phrase`), and so
   does a line that is only "De acord" (a reply to our request for consent);
5. an agreement to the processing of personal data alone ("Sunt de acord cu prelucrarea datelor cu caracter
   personal") is not consent to the e-mail procedure (`Consent.data_only`): GDPR consent and the procedure's
   consent are different things, and the agency processes the data by law anyway. "Prelucrarea datelor prin
   e-mail" is still about data; "prelucrarea datelor și derularea procedurii prin e-mail" names both;
6. a double negative ("nu am nimic împotrivă", "nu am nicio obiecție", "nu mă opun") is consent when it names
   the e-mail procedure ("Nu am nimic împotrivă ca procedura să se desfășoare prin e-mail"), and neither consent
   nor refusal on its own: alone it is not the written agreement step 4 asks for.

Our own request quoted back ("... răspundeți cu textul: „Sunt de acord ...”") is not consent: a phrase introduced
by "textul", "mențiunea" or "formula" is an instruction, one introduced by "ați scris:" our report of the sender's
words. The sender's own text decides; only when it neither
consents nor refuses does a quoted part count, and then only its consent (`quoted=True`): the sender re-sent it
in a reply, usually their own earlier message. A refusal found only in a quote is ignored, as before.

For a case of several e-mails (`detect_case_consent`), the latest e-mail that consents or refuses decides: a
citizen may change their mind either way.

Matching is on the folded text (`intake.validation.text`): diacritics, ş/ș, case and line breaks do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from intake import texts
from intake.validation.text import fold, normalize


@dataclass(frozen=True)
class Consent:
    given: bool
    phrase: str | None  # the words as written that decided: the consent, or the refusal when refused
    quoted: bool  # found only in a quoted part of a reply ("> ...", or below "... a scris:")
    refused: bool = False  # the sender's text says they do not agree to the e-mail procedure
    data_only: bool = False  # the only agreement found is to the processing of personal data


Polarity = Literal["agree", "refuse"]
Topic = Literal["procedure", "data", "other", "none"]


@dataclass(frozen=True)
class _Statement:
    polarity: Polarity
    topic: Topic
    phrase: str


# --------------------------------------------------------------------------------------------------
# Statements, on the folded text. "(?:\W+\w+){0,3}?" lets a few words in between ("îmi exprim în scris
# acordul", "sunt pe deplin de acord").

_AGREEMENT = re.compile(
    r"(?<!\w)(?:"
    r"sunt(?:em)?(?:\W+\w+){0,2}?\W+de\W+acord"
    r"|(?:(?:imi|mi|ne|ni)\W+(?:am\W+)?)?"  # the pronoun belongs to the phrase shown to staff: "îmi", "mi-am"
    r"(?:exprim|exprimam|dau|dam|exprimat|dat)(?:\W+\w+){0,3}?\W+(?:acordul|consimtamantul)"
    r"|accept(?:am)?(?:\W+\w+){0,2}?\W+(?:derularea|desfasurarea|procedura|procedurii|comunicarea)"
    r"|consimt(?:im)?"
    r")(?!\w)"
)
# Refusals that carry no negation of their own; negated ("nu refuz") they say nothing either way.
_REFUSAL = re.compile(
    r"(?<!\w)(?:"
    r"refuz(?:am)?"
    r"|(?:(?:imi|ne|mi)\W+)?retrag(?:em)?(?:\W+\w+){0,2}?\W+(?:acordul|consimtamantul)"
    r"|sunt(?:em)?(?:\W+\w+){0,2}?\W+in\W+dezacord"
    r"|(?:(?:imi|ne)\W+)?exprim(?:am)?(?:\W+\w+){0,2}?\W+dezacordul"
    r")(?!\w)"
)
# "Nu doresc / nu vreau" refuses only what immediately follows, and only when that is the procedure.
_UNWILLING = re.compile(r"(?<!\w)(?:doresc|dorim|vreau|vrem)(?!\w)")
# "…, dar nu și cu procedura prin e-mail": the verb of the earlier agreement is understood.
_ELLIPTICAL_REFUSAL = re.compile(
    r"(?<!\w)(?:(?:dar|insa|iar)\W+nu(?:\W+(?:si|insa))?|nu\W+si)(?=\W+(?:cu|pentru|la|privind|referitor|asupra)(?!\w))"
)
# Double negatives that mean agreement; they count only when they name the procedure (rule 6).
_NO_OBJECTION = re.compile(
    r"(?<!\w)(?:"
    r"(?:nu|n)\W+(?:am|avem)\W+(?:nimic|nicio|nici\W+o|vreo)\W+(?:impotriva|obiectie|obiectii|contra)"
    r"|(?:nu|n)\W+(?:am|avem)\W+obiectii"
    r"|nu\W+(?:ma|ne)\W+(?:opun|opunem)"
    r")(?!\w)"
)

_AGREEMENT_LINE = re.compile(r"^(?:(?:da|ok|bine)\W+)?(?:sunt\W+)?de\W+acord\W*$")
_NEGATIONS = frozenset({"nu", "n", "nici"})
_NEGATION_WINDOW = 3  # words before the phrase, within its clause
_BEFORE_WINDOW = 200  # characters before a statement that are looked at
_MAX_STATEMENTS = 200  # a real e-mail has a handful; the rest of a pathological one is not read
_CLAUSE_END = re.compile(r"[.!?;:,\"“”„«»()]")
# Our own texts quoted back without ">": the sentence we ask for ("cu textul: „Sunt de acord…”") and the citizen's
# words we report ("ați scris: „Nu sunt de acord”") are not the sender's statements.
_INSTRUCTION_BEFORE = re.compile(r"(?:textul|mentiunea|formula|fraza|ati\W+scris)\W*$")
_LEADING_NEGATION = re.compile(r"(?:(?<!\w)(?:nu|n|nici|mai)\W*)+$")  # "„Nu-mi dau…": the quote opens before "nu"

# What a statement refers to. Its object runs to the end of the sentence, a contrastive conjunction or the next
# statement; commas and "și" separate coordinated objects ("cu prelucrarea datelor și cu derularea procedurii").
_OBJECT_END = re.compile(r"[.!?;:\"“”„«»()]|(?<!\w)(?:dar|insa|iar|ci|totusi)(?!\w)")
_OBJECT_PARTS = re.compile(r",|(?<!\w)(?:precum\W+si|cat\W+si|si)(?!\w)")
_MAX_OBJECT_WORDS = 30
# A complement starts with one of these; "Sunt de acord, vă mulțumesc" has no object.
_INTRODUCERS = re.compile(
    r"^\W*(?:cu|ca|sa|la|privind|pentru|referitor|asupra|in\W+privinta|in\W+legatura|de)(?!\w)"
)
_EMAIL_WORDS = re.compile(
    r"(?<!\w)(?:e\W?mail\w*|mail\w*|posta\W+electronica|postei\W+electronice|electronic\w*|online|internet)(?!\w)"
)
_PROCEDURE_WORDS = re.compile(
    r"(?<!\w)(?:procedur|derular|desfasurar|comunicar|corespondent|solutionar|transmiter|deruleze|desfasoare)\w*"
)
_DATA_WORDS = re.compile(
    r"(?<!\w)(?:"
    r"(?:prelucr|proces|utiliz|folos|stoc|colect|transmiter|pastr)\w*(?:\W+\w+){0,2}?\W+(?:date|datele|datelor)"
    r"|date(?:le|lor)?\W+(?:mele\W+|noastre\W+)?(?:cu\W+caracter\W+)?personal\w*"
    r"|caracter\W+personal|gdpr|2016\W679|679\W2016|protectia\W+datelor"
    r")(?!\w)"
)

# A quoted reply starts at its attribution line, or is marked line by line with ">".
_ATTRIBUTION_END = re.compile(r"(?:wrote|a scris|ecrit)\s*:$")
_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:original message|mesaj(?:ul)? original|forwarded message|mesaj(?:ul)? redirectionat)"
)
_HEADER_FROM = re.compile(r"^(?:from|de la|de)\s*:")
_HEADER_NEXT = re.compile(r"^(?:sent|date|trimis|data|to|catre|subject|subiect)\s*:")


# --------------------------------------------------------------------------------------------------
# Public entry points


def detect_consent(body: str) -> Consent:
    own, quoted = split_quoted(body or "")
    decided = _decide(own)
    if decided is not None and (decided.given or decided.refused):
        return decided
    from_quote = _decide(quoted)
    if from_quote is not None and from_quote.given:
        return Consent(True, from_quote.phrase, quoted=True)
    if decided is not None:
        return decided  # data processing only
    return Consent(False, None, quoted=False)


def detect_case_consent(bodies: Sequence[str]) -> Consent:
    """The consent of a case from the bodies of its e-mails, oldest first: the latest one that consents or
    refuses in the sender's own text decides; then the latest quoted consent; then what a data-only agreement
    says (for the message to the citizen)."""
    results = [detect_consent(body) for body in bodies]
    for result in reversed(results):
        if result.refused or (result.given and not result.quoted):
            return result
    for result in reversed(results):
        if result.given:
            return result
    for result in reversed(results):
        if result.data_only:
            return result
    return Consent(False, None, quoted=False)


def missing_message(result: Consent, office_short: str = "AJOFM Cluj") -> str:
    """The text of the `consent_missing` finding (template `constatare_consent_missing.txt`): says that the citizen
    refused, or agreed only to data processing, or wrote nothing about it."""
    return texts.render(
        "constatare_consent_missing",
        motiv=finding_detail(result)["reason"],
        fraza=_short(result.phrase) if result.phrase else None,
        birou_scurt=office_short,
    )


def finding_detail(result: Consent) -> dict[str, Any]:
    """Staff-only detail of the `consent_missing` finding."""
    reason = "refused" if result.refused else "data_processing_only" if result.data_only else "absent"
    return {"reason": reason, "phrase": result.phrase}


# --------------------------------------------------------------------------------------------------
# Quoted replies


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
    if len(lines[index]) > 600:
        return False  # no attribution line is that long; folding it would cost for nothing
    line = normalize(lines[index])
    if not line or len(line) > 300:
        return False
    if _ATTRIBUTION_END.search(line) or _SEPARATOR.match(line):
        return True
    if _HEADER_FROM.match(line):  # Outlook: "De la: ... / Trimis: ... / Către: ..."
        following = (normalize(next_line) for next_line in lines[index + 1 : index + 4])
        return any(_HEADER_NEXT.match(next_line) for next_line in following)
    return False


# --------------------------------------------------------------------------------------------------
# The decision within one text


def _decide(text: str) -> Consent | None:
    """The rules of the module docstring, in order; None when the text neither consents nor refuses."""
    if not text.strip():
        return None
    statements = _statements(text)

    def first(polarity: Polarity, *topics: Topic) -> _Statement | None:
        return next((s for s in statements if s.polarity == polarity and s.topic in topics), None)

    if refusal := first("refuse", "procedure"):
        return Consent(False, refusal.phrase, quoted=False, refused=True)
    if agreement := first("agree", "procedure"):
        return Consent(True, agreement.phrase, quoted=False)
    if refusal := first("refuse", "none"):
        return Consent(False, refusal.phrase, quoted=False, refused=True)
    if agreement := first("agree", "none", "other"):
        return Consent(True, agreement.phrase, quoted=False)
    if line_consent := _agreement_line(text):
        return Consent(True, line_consent, quoted=False)
    if agreement := first("agree", "data"):
        return Consent(False, agreement.phrase, quoted=False, data_only=True)
    return None


def _statements(text: str) -> list[_Statement]:
    folded = fold(text)
    found: list[tuple[int, int, str]] = []  # (start, end, which) on the folded text
    for which, pattern in (
        ("agreement", _AGREEMENT),
        ("refusal", _REFUSAL),
        ("unwilling", _UNWILLING),
        ("elliptical", _ELLIPTICAL_REFUSAL),
        ("no_objection", _NO_OBJECTION),
    ):
        found.extend((match.start(), match.end(), which) for match in pattern.finditer(folded.text))
    found = sorted(found)[:_MAX_STATEMENTS]
    starts = [start for start, _, _ in found]
    statements: list[_Statement] = []
    for index, (start, end, which) in enumerate(found):
        # Only the words just before matter (negation, instruction); a bounded window keeps a huge body linear.
        window = max(0, start - _BEFORE_WINDOW)
        before = folded.text[window:start]
        if _INSTRUCTION_BEFORE.search(_LEADING_NEGATION.sub("", before)):
            continue  # our own "răspundeți cu textul: „Sunt de acord…”", "ați scris: „Nu sunt de acord”"
        next_start = starts[index + 1] if index + 1 < len(starts) else len(folded.text)
        matched = folded.text[start:end]
        # "refuz X", "nu doresc X", "nu mă opun X": the object follows the verb directly, with no preposition.
        transitive = which in ("unwilling", "no_objection") or matched.startswith("refuz")
        topic, object_length = _topic(matched, folded.text[end:next_start], transitive=transitive)
        negated = _negated(before)
        polarity = _classify(which, topic, negated)
        if polarity is None:
            continue
        # Staff and the citizen see the words that decided; a verb that says little alone ("nu doresc", the
        # elliptical "dar nu și") is shown with its object.
        if which in ("unwilling", "elliptical"):
            end = min(end + object_length, len(folded.text))
        if which == "elliptical":
            start += matched.index("nu")  # "dar nu și cu…" is shown from its negation
        phrase_start, phrase_end = folded.span(start, end)
        if negated and which in ("agreement", "unwilling"):
            phrase = _negation_start(text, before, folded.origin[window:start], phrase_start, phrase_end)
        else:
            phrase = _one_line(text[phrase_start:phrase_end])
        statements.append(_Statement(polarity, topic, phrase))
    return statements


def _classify(which: str, topic: Topic, negated: bool) -> Polarity | None:
    """The polarity of a statement, or None when it says nothing about the procedure either way."""
    if which == "agreement":
        return "refuse" if negated else "agree"
    if which == "refusal":
        return None if negated else "refuse"  # "nu refuz" is no statement we act on
    if which == "unwilling":
        return "refuse" if negated and topic == "procedure" else None
    if which == "elliptical":
        return "refuse" if topic == "procedure" else None
    # A double negative: consent only when it names the procedure (rule 6).
    return "agree" if topic == "procedure" else None


def _topic(matched: str, tail: str, *, transitive: bool) -> tuple[Topic, int]:
    """What a statement refers to, from its own words (for "accept derularea…") and the object that follows;
    and the length of that object's first part in `tail`."""
    end = _OBJECT_END.search(tail)
    scope = tail[: end.start()] if end else tail
    scope = " ".join(scope.split(" ")[: _MAX_OBJECT_WORDS + 1])
    parts = _OBJECT_PARTS.split(scope)
    head = parts[0]
    explicit = bool(head.strip()) and (transitive or bool(_INTRODUCERS.match(head)))
    # The statement's own words and the first part, then the coordinated parts that are complements too.
    considered = [f"{matched} {head}" if explicit else matched]
    if explicit and not transitive:
        considered += [part for part in parts[1:] if _is_complement(part)]
    topics = [_part_topic(part) for part in considered]
    head_length = len(head.rstrip()) if explicit else 0
    if "procedure" in topics:
        return "procedure", head_length
    if "data" in topics:
        return "data", head_length
    return ("other" if explicit else "none"), head_length


def _is_complement(part: str) -> bool:
    words = part.split()
    return bool(words) and (bool(_INTRODUCERS.match(part)) or bool(_PROCEDURE_WORDS.match(words[0])))


def _part_topic(part: str) -> Topic:
    if _DATA_WORDS.search(part):
        return "data"  # "prelucrarea datelor (transmise prin e-mail)" is about the data, not the procedure
    if _EMAIL_WORDS.search(part) or _PROCEDURE_WORDS.search(part):
        return "procedure"
    return "other"


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
        if len(line) <= 40 and _AGREEMENT_LINE.match(normalize(line)):  # "Da, de acord!" is a short line
            return line.strip()
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _short(phrase: str) -> str:
    return phrase if len(phrase) <= 120 else phrase[:119] + "…"
