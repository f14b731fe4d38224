"""What the beneficiary reads about an appointment, Romanian, in the editable template `programare.txt`
(intake/texts/templates: the agency changes a wording there, or in its own copy in `texts.directory`, not here).

The names below are the ones the appointment code has always used; each is read from a block of the template when
it is used, so an edited template takes effect without a restart of anything but the process. A text keeps its
`{placeholders}`, filled in by the code with `.format()`.

Who is addressed depends on the request (intake/validation/checklists.toml): a natural person comes in person;
an employer (a legal person) sends its legal representative or a proxy with a power of attorney, so no text
tells a company that "the decision will be handed to you personally". A request that ends without a decision
(a job-seeker registration) is never promised one: the visit checks identity and completes the request.
"""

from __future__ import annotations

from typing import Any

from intake import texts

TEMPLATE = "programare"

# Day and month names are our own tables, not the system locale: the daemon runs in containers whose locale is C.
WEEKDAYS = texts.WEEKDAYS
MONTHS = texts.MONTHS
# "ora României" every time a time is written: the reader may be abroad, or read on a phone set to another zone.
LOCAL_TIME_LABEL = "ora României"
NATURAL_PERSON = "natural_person"
LEGAL_PERSON = "legal_person"

# Single texts, by the name the code uses.
TEXTS = (
    "CANCELLED_COMPLETE",
    "CANCELLED_NEXT",
    "CLARIFICATION_PURPOSE",
    "INVITE_ALARM",
    "LEGAL_BASIS",
    "LEGAL_BASIS_LATE",
    "LEGAL_PERSON_IDENTITY",
    "MANAGE_LINK",
    "MANAGE_LINK_VALIDITY",
    "MANAGE_LINK_WINDOW",
    "MANAGE_LINK_WINDOW_LATE",
    "NO_DECISION_PURPOSE_NAMED",
    "NO_SLOT",
    "NO_SLOT_DEADLINE",
    "OVERFLOW",
    "REPLACED",
    "STEP8_PURPOSE_SHORT",
    "UPDATE_BODY",
    "WHEN",
)
# Texts chosen by a key (the visit's purpose, who is addressed, the kind of e-mail): name -> keys.
CHOICES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "APPOINTMENT": (("natural_person",), ("legal_person",)),
    "BRING": (
        ("clarification", "natural_person"),
        ("clarification", "legal_person"),
        ("decision", "natural_person"),
        ("decision", "legal_person"),
        ("visit", "natural_person"),
        ("visit", "legal_person"),
    ),
    "CALENDAR_NOTES": (("new",), ("replaces",), ("cancels",)),
    "DECISION_PURPOSE": (("natural_person",), ("legal_person",)),
    "INTROS": (("reminder",), ("rescheduled",), ("cancelled",), ("invitation",), ("clarification",), ("verification",)),
    "INVITE_SUMMARY": (("clarification",), ("decision",)),
    "INVITE_WHAT": (
        (True, "natural_person"),
        (True, "legal_person"),
        (False, "natural_person"),
        (False, "legal_person"),
    ),
    "NO_DECISION_PURPOSE": (("natural_person",), ("legal_person",)),
    "PENDING_VERIFICATION": (("natural_person",), ("legal_person",)),
    "REASONS_HEADER": (("clarification",), ("decision",)),
    "SUBJECTS": (
        ("reminder",),
        ("rescheduled",),
        ("cancelled",),
        ("invitation",),
        ("clarification",),
        ("verification",),
    ),
}


def _block(name: str, key: tuple[Any, ...] = ()) -> str:
    return texts.part(TEMPLATE, "__".join((name.lower(), *(str(part) for part in key))))


def __getattr__(name: str) -> Any:
    """`wording.APPOINTMENT[...]`, `wording.OVERFLOW`: read from the template at the moment they are used."""
    if name in TEXTS:
        return _block(name)
    if name in CHOICES:
        return {key if len(key) > 1 else key[0]: _block(name, key) for key in CHOICES[name]}
    raise AttributeError(name)
