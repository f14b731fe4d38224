"""Is the identity card the applicant's, and was it valid when the e-mail arrived? (issue 13, §1)

The card's MRZ (read and verified by `intake.validation.mrz`) is compared with every person the submission names
as the applicant: the name and CNP written on the forms, and the name and CNP (natural-person semantics identifier)
of the certificate that signed the application or the declaration. What disagrees is a finding for the
clarification visit:

- `identity_mismatch`: the card's CNP (the whole of it when the card gives it; else the birth date and sex it
  encodes, CNP digits S and AALLZZ) or its holder's name differs from the form's or the signer's. The procedure
  calls the applicant when documents conflict (000_0eceeb48662cbbc1.txt, step 7, "inadvertențe");
- `id_expired`: the card expired before the day the e-mail was received. 001 Art. 2 lit. a) and Art. 5(3) lit. a)
  ask for the identity document; an expired one does not prove identity, so the file is incomplete on that point
  and the applicant is called within the 5 working days (000_0eceeb48662cbbc1.txt, step 7: information
  "incomplete", and "Programarea prealabilă").

A card that could not be read (OCR failed, no MRZ found, a check digit wrong) is never held against the citizen:
it becomes a staff-only note, `id_not_checked`, "not checked automatically", shown on the case page only.

The names carry no check digit in the MRZ, and OCR drops or misreads a letter now and then: a name disagrees only
when no reading of it comes close to the other (a different person, not a missing letter). The CNP and the dates
are covered by check digits, so they are compared exactly. Pure functions: no database, no logging of a CNP.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from intake.privacy import mask_cnp
from intake.validation import identity
from intake.validation.mrz import CardReading
from intake.validation.text import normalize

# How alike two names must be, letters only, to be the same name misread: one letter in ten may differ.
NAME_SIMILARITY = 0.8

# Staff-only notes that ask a clerk nothing beyond what the decision visit does anyway (000 step 8: the identity is
# checked in person): they do not hold a complete file back from automatic confirmation.
INFORMATIONAL_CODES = frozenset({"id_not_checked"})

SOURCE_FORM = "form"
SOURCE_SIGNER = "signer"


@dataclass(frozen=True)
class Person:
    """Someone the card should belong to: the applicant on a form, or the signer of one."""

    source: str  # SOURCE_FORM | SOURCE_SIGNER
    document: str  # the Romanian name of the form ("cererea pentru acordarea indemnizației de șomaj")
    name: str | None
    cnp: str | None


@dataclass(frozen=True)
class CardIssue:
    code: str  # "identity_mismatch" | "id_expired" | "id_not_checked"
    template: str
    wording: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    staff_only: bool = False


def cross_check(reading: CardReading, people: list[Person], *, received_on: date) -> list[CardIssue]:
    if not reading.read:
        return [
            CardIssue(
                "id_not_checked",
                "constatare_id_not_checked",
                {"motiv": reading.reason or ""},
                {"reason": reading.reason},
                staff_only=True,
            )
        ]
    issues: list[CardIssue] = []
    if reading.expiry is not None and reading.expiry < received_on:
        issues.append(
            CardIssue(
                "id_expired",
                "constatare_id_expired",
                {"expirat": reading.expiry},
                {
                    "expiry": reading.expiry.isoformat(),
                    "received_on": received_on.isoformat(),
                    # Whose card it was, so a valid card sent later settles it only if it is the same holder's.
                    "holder": {
                        "name": reading.name,
                        "birth_date": reading.birth_date.isoformat() if reading.birth_date else None,
                    },
                },
            )
        )
    seen: set[tuple[str, str]] = set()
    for person in people:
        for issue in _compare(reading, person, received_on):
            key = (issue.wording["motiv"], person.source)
            if key not in seen:
                seen.add(key)
                issues.append(issue)
    return issues


def _compare(reading: CardReading, person: Person, today: date) -> list[CardIssue]:
    issues = []
    who = {"sursa": person.source, "document": person.document}
    if person.cnp and not cnp_agrees(reading, person.cnp, today):
        issues.append(
            CardIssue(
                "identity_mismatch",
                "constatare_identity_mismatch",
                {**who, "motiv": "card_cnp", "cnp_act": mask_cnp(reading.cnp or ""), "cnp_alt": mask_cnp(person.cnp)},
                {"source": person.source, "compared": "cnp" if reading.cnp else "birth_date_and_sex"},
            )
        )
    if person.name and reading.name and not names_agree(reading, person.name):
        issues.append(
            CardIssue(
                "identity_mismatch",
                "constatare_identity_mismatch",
                {**who, "motiv": "card_name", "nume_act": reading.name, "nume_alt": person.name},
                {"source": person.source, "compared": "name"},
            )
        )
    return issues


def same_holder(reading: CardReading, holder: dict[str, Any]) -> bool:
    """A later card is the same person's as the one whose `holder` (name, birth date) an earlier finding kept."""
    born = reading.birth_date.isoformat() if reading.birth_date else None
    return born == holder.get("birth_date") and names_agree(reading, str(holder.get("name") or ""))


def cnp_agrees(reading: CardReading, cnp: str, today: date) -> bool:
    """The whole CNP when the card gives it; else its first seven digits: sex (and century) and birth date. A CNP
    that is not a possible one is left to its own finding (`invalid_cnp`), not compared."""
    if reading.cnp:
        return reading.cnp == cnp
    check = identity.validate_cnp(cnp, today=today)
    if check.birth_date is None:
        return True
    same_sex = reading.sex is None or check.sex is None or reading.sex == check.sex
    return same_sex and check.birth_date == reading.birth_date


def names_agree(reading: CardReading, name: str) -> bool:
    if identity.same_person(reading.name, name):
        return True
    card = _letters(reading.name.split())
    words = sorted(identity.name_tokens(name))
    if not words or not card:
        return False
    # Every order of the words (a form writes "Ion Popescu", the card "POPESCU ION"), up to five words.
    for order in itertools.permutations(words) if len(words) <= 5 else [words]:
        other = _letters(order)
        if reading.name_truncated:
            other = other[: len(card)]  # the MRZ cut a long name at the end of its field
        if _alike(card, other):
            return True
    if not reading.given_names and any(_alike(card, _letters([word])) for word in words):
        return True  # only a surname was read (the given names lost in the fillers): it is all there is to compare
    if _words_agree(sorted(identity.name_tokens(reading.name)), words):
        return True
    # Last, every word of the name (two at least) somewhere in the card's letters: fillers read as letters glue
    # the words together ("LONESCUCCANDRELCC" for IONESCU<<ANDREI).
    long_words = [_letters([word]) for word in words if len(word) >= 3]
    return len(long_words) >= 2 and all(_inside(word, card) for word in long_words)


def _words_agree(card: list[str], person: list[str]) -> bool:
    """Word by word: each word of the card close to a word of the person's name, or the other way round, at least
    two of them (a filler read as letters adds short junk words; a middle name may be on one side only)."""
    card = [word for word in card if len(word) >= 3]
    on_card = [word for word in card if any(_alike(word, other) for other in person)]
    in_name = [word for word in person if any(_alike(word, other) for other in card)]
    return len(on_card) >= 2 and (len(on_card) == len(card) or len(in_name) == len(person))


def _inside(word: str, letters: str) -> bool:
    """`word`, give or take a letter, somewhere in `letters`."""
    for size in (len(word) - 1, len(word), len(word) + 1):
        for start in range(len(letters) - size + 1):
            if _alike(word, letters[start : start + size]):
                return True
    return False


def _alike(a: str, b: str) -> bool:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= NAME_SIMILARITY


def _letters(words: Iterable[str]) -> str:
    return re.sub(r"[^a-z]", "", normalize(" ".join(words)))
