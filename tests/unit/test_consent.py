"""Consent to the e-mail procedure (procedure 000 step 4; procedure.md §7 items 5 and 22)."""

from __future__ import annotations

import pytest

from intake.validation.consent import Consent, detect_consent, split_quoted

# The request for consent that intake sends (intake/assessment.py), as a beneficiary's reply quotes it.
OUR_REQUEST = (
    "Mesajul nu conține acordul dumneavoastră privind derularea procedurii prin poștă electronică. "
    "Vă rugăm să răspundeți la acest mesaj cu textul: „Sunt de acord cu derularea procedurii prin "
    "intermediul poștei electronice.”"
)

GIVEN = [
    ("Sunt de acord cu derularea procedurii prin intermediul poștei electronice.", "Sunt de acord"),
    ("sunt de acord cu derularea procedurii prin intermediul postei electronice", "sunt de acord"),  # no diacritics
    ("Sunt de acord cu derularea procedurii prin intermediul poştei electronice.", "Sunt de acord"),  # cedilla
    ("SUNT DE ACORD", "SUNT DE ACORD"),
    ("Bună ziua,\nvă trimit actele. Sunt de\nacord cu procedura prin e-mail.", "Sunt de\nacord"),  # line break
    ("Îmi exprim acordul privind derularea procedurii prin e-mail.", "Îmi exprim acordul"),
    ("imi exprim acordul", "imi exprim acordul"),
    ("Îmi exprim în scris acordul pentru derularea procedurii.", "Îmi exprim în scris acordul"),
    ("Îmi dau acordul.", "Îmi dau acordul"),
    ("Imi dau acordul ca procedura sa se desfasoare prin e-mail", "Imi dau acordul"),
    ("Mi-am dat acordul pentru procedura electronică.", "Mi-am dat acordul"),
    ("Accept derularea procedurii prin e-mail.", "Accept derularea"),
    ("Îmi exprim consimțământul pentru derularea procedurii prin e-mail.", "Îmi exprim consimțământul"),
    ("Consimt la derularea procedurii prin poșta electronică.", "Consimt"),
    ("Da, de acord!", "Da, de acord!"),  # a reply to our request
    ("Nu am nimic de adăugat. Sunt de acord.", "Sunt de acord"),  # a negation in another sentence
    ("Nu sunt de acord cu newsletterul, dar sunt de acord cu procedura prin e-mail.", "sunt de acord"),
    (f"Sunt de acord.\n\n> {OUR_REQUEST}", "Sunt de acord"),
]


@pytest.mark.parametrize(("body", "phrase"), GIVEN)
def test_consent_given(body: str, phrase: str) -> None:
    consent = detect_consent(body)
    assert consent.given, consent
    assert not consent.quoted and not consent.refused
    assert consent.phrase == " ".join(phrase.split())


REFUSED = [
    ("Nu sunt de acord cu derularea procedurii prin e-mail.", "Nu sunt de acord"),
    ("nu sunt de acord", "nu sunt de acord"),
    ("Nu îmi exprim acordul.", "Nu îmi exprim acordul"),
    ("Nu-mi dau acordul pentru procedura prin e-mail.", "Nu-mi dau acordul"),
    ("Nu mi-am dat acordul.", "Nu mi-am dat acordul"),
    ("N-am dat acordul.", "N-am dat acordul"),
    ("Nu mai sunt de acord.", "Nu mai sunt de acord"),
    ("NU SUNT DE ACORD", "NU SUNT DE ACORD"),
    ("Nici nu sunt de acord, nici nu refuz.", "Nici nu sunt de acord"),
]


@pytest.mark.parametrize(("body", "phrase"), REFUSED)
def test_negations_are_refusals(body: str, phrase: str) -> None:
    assert detect_consent(body) == Consent(given=False, phrase=phrase, quoted=False, refused=True)


QUOTED = [
    "Vă retrimit mesajul.\n\n> Bună ziua,\n> vă trimit actele.\n> Sunt de acord cu derularea procedurii prin e-mail.",
    "Revin cu actele.\n\nÎn dum., 4 ian. 2026 la 10:12, Ion Pop <ion@example.ro> a scris:\nÎmi exprim acordul.",
    "Am atașat CV-ul.\n\nOn Mon, 5 Jan 2026 at 09:00, Ion Pop <ion@example.ro> wrote:\n> imi dau acordul",
    "Am atașat CV-ul.\n\n-----Original Message-----\nFrom: Ion\nSent: Monday\nSunt de acord.",
    "Am atașat CV-ul.\n\nDe la: Ion Pop <ion@example.ro>\nTrimis: luni, 5 ianuarie 2026 09:00\nSunt de acord.",
]


@pytest.mark.parametrize("body", QUOTED)
def test_quoted_consent_counts_and_is_marked(body: str) -> None:
    consent = detect_consent(body)
    assert consent.given and consent.quoted, consent


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Bună ziua, vă trimit documentele pentru indemnizația de șomaj.",
        "Acordul de muncă este atașat.",  # a noun, not a statement
        "Datele sunt conforme cu originalul.",
        f"Vă trimit actele.\n\n> {OUR_REQUEST}",  # our own request quoted back is no consent
        f"Vă trimit actele.\n\nÎn 5 ian. 2026, AJOFM Cluj <intake@example.ro> a scris:\n{OUR_REQUEST}",
        f"Vă trimit actele.\n{OUR_REQUEST}",  # an unmarked quote of our request
    ],
)
def test_no_consent(body: str) -> None:
    assert detect_consent(body) == Consent(given=False, phrase=None, quoted=False)


def test_own_refusal_wins_over_quoted_consent() -> None:
    consent = detect_consent("Nu sunt de acord.\n\n> Sunt de acord cu derularea procedurii prin e-mail.")
    assert consent == Consent(False, "Nu sunt de acord", quoted=False, refused=True)


def test_own_consent_wins_over_quoted_refusal() -> None:
    consent = detect_consent("Acum sunt de acord.\n\n> Nu sunt de acord.")
    assert consent.given and not consent.quoted


def test_split_quoted() -> None:
    own, quoted = split_quoted("Salut\n> unu\n>> doi\nPa\n\nOn Mon, X wrote:\ntrei\n> patru")
    assert own.split() == ["Salut", "Pa"]
    assert quoted.split() == ["unu", "doi", "On", "Mon,", "X", "wrote:", "trei", "patru"]
