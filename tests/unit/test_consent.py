"""Consent to the e-mail procedure (procedure 000 step 4; procedure.md §7 items 5 and 22)."""

from __future__ import annotations

import pytest

from intake.validation.consent import (
    Consent,
    detect_case_consent,
    detect_consent,
    finding_detail,
    missing_message,
    split_quoted,
)

# The request for consent that intake sends (intake/stages/assess.py), as a beneficiary's reply quotes it.
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


# --------------------------------------------------------------------------------------------------
# Issue 9 point 5: a refusal of the e-mail procedure wins; data processing alone is no consent


REFUSAL_WINS = [
    # (body, the refusal as shown to staff and the citizen)
    ("Sunt de acord cu prelucrarea datelor… Nu sunt de acord cu procedura prin e-mail", "Nu sunt de acord"),
    ("Nu sunt de acord cu procedura prin e-mail. Sunt de acord cu prelucrarea datelor.", "Nu sunt de acord"),
    ("NU SUNT DE ACORD CU PROCEDURA PRIN POSTA ELECTRONICA. SUNT DE ACORD CU PRELUCRAREA DATELOR", "NU SUNT DE ACORD"),
    ("Sunt de acord cu prelucrarea datelor şi nu sunt de acord cu procedura prin poştă", "nu sunt de acord"),
    ("Sunt de acord cu prelucrarea\ndatelor. Nu sunt\nde acord cu procedura\nprin e-mail.", "Nu sunt de acord"),
    ("Sunt de acord cu prelucrarea datelor, dar nu și cu procedura prin e-mail.", "nu și cu procedura prin e-mail"),
    ("Cu derularea procedurii prin e-mail nu sunt de acord, cu prelucrarea datelor da.", "nu sunt de acord"),
    ("Refuz derularea procedurii prin e-mail; sunt de acord cu prelucrarea datelor.", "Refuz"),
    ("Îmi retrag acordul privind procedura prin e-mail.", "Îmi retrag acordul"),
    ("Sunt în dezacord cu derularea procedurii prin e-mail.", "Sunt în dezacord"),
    ("Nu doresc ca procedura să se deruleze prin e-mail.", "Nu doresc ca procedura să se deruleze prin e-mail"),
    ("Nu-mi exprim acordul privind comunicarea electronică. Îmi dau acordul pentru GDPR.", "Nu-mi exprim acordul"),
    # A refusal naming the procedure wins even over a consent naming it: staff look, the citizen is asked.
    ("Sunt de acord cu procedura prin e-mail. Nu sunt de acord cu procedura prin e-mail.", "Nu sunt de acord"),
    # A bare refusal wins over an agreement that does not name the procedure.
    ("Sunt de acord cu prelucrarea datelor. Nu sunt de acord.", "Nu sunt de acord"),
]


@pytest.mark.parametrize(("body", "phrase"), REFUSAL_WINS)
def test_a_refusal_of_the_email_procedure_wins_over_any_other_sentence(body: str, phrase: str) -> None:
    assert detect_consent(body) == Consent(False, phrase, quoted=False, refused=True)


@pytest.mark.parametrize(
    "body",
    [
        "Sunt de acord cu prelucrarea datelor cu caracter personal.",
        "Îmi dau acordul pentru prelucrarea datelor personale.",
        "Sunt de acord cu prelucrarea datelor prin e-mail.",  # still about the data
        "Îmi exprim consimțământul pentru prelucrarea datelor conform Regulamentului (UE) 2016/679.",
        "Sunt de acord cu utilizarea datelor mele.",
    ],
)
def test_consent_to_data_processing_alone_is_not_consent(body: str) -> None:
    consent = detect_consent(body)
    assert not consent.given and not consent.refused and consent.data_only, consent


@pytest.mark.parametrize(
    "body",
    [
        "Sunt de acord cu prelucrarea datelor personale și cu derularea procedurii prin e-mail.",
        "Sunt de acord cu prelucrarea datelor, cu procedura prin poșta electronică.",
        "Sunt de acord cu prelucrarea datelor conform GDPR și sunt de acord cu procedura prin e-mail.",
        "Sunt de acord cu procedura prin e-mail. Nu sunt de acord cu prelucrarea datelor în alte scopuri.",
        "Nu sunt de acord cu newsletterul. Sunt de acord cu procedura prin e-mail.",
        "Refuz prelucrarea datelor în scop de marketing. Sunt de acord.",  # a refusal of something else
    ],
)
def test_consent_naming_the_procedure_counts_next_to_other_statements(body: str) -> None:
    consent = detect_consent(body)
    assert consent.given and not consent.refused, consent


DOUBLE_NEGATIVES = [
    ("Nu am nimic împotrivă ca procedura să se desfășoare prin e-mail.", True),
    ("N-am nicio obiecție privind derularea procedurii prin poșta electronică.", True),
    ("Nu mă opun comunicării prin e-mail.", True),
    ("nu am nimic impotriva ca dosarul sa fie solutionat prin email", True),
    ("Nu am nimic împotrivă.", False),  # against what? Not the written agreement step 4 asks for
    ("Nu am nicio obiecție.", False),
    ("Nu am nimic împotrivă să vin la sediu.", False),  # names something else
]


@pytest.mark.parametrize(("body", "given"), DOUBLE_NEGATIVES)
def test_double_negatives_count_only_when_they_name_the_procedure(body: str, given: bool) -> None:
    consent = detect_consent(body)
    assert consent.given is given and not consent.refused, consent


@pytest.mark.parametrize(
    "body",
    [
        "Nu doresc să vin la sediu, prefer e-mailul. Sunt de acord.",  # "nu doresc" names the visit, not the e-mail
        "Nu refuz nimic. Sunt de acord.",
        "Nu am nimic de adăugat, sunt de acord cu derularea procedurii prin e-mail.",
    ],
)
def test_negative_words_that_refuse_nothing(body: str) -> None:
    assert detect_consent(body).given


def test_a_refusal_only_in_a_quote_is_ignored_and_quoted_consent_does_not_beat_an_own_refusal() -> None:
    assert detect_consent("Atașez CV-ul.\n\n> Nu sunt de acord cu procedura prin e-mail.") == Consent(
        False, None, quoted=False
    )
    refused = detect_consent("Nu sunt de acord cu procedura prin e-mail.\n\n> Sunt de acord cu procedura prin e-mail.")
    assert refused.refused and not refused.given


def test_data_only_in_own_text_lets_a_quoted_consent_count() -> None:
    consent = detect_consent("Sunt de acord cu prelucrarea datelor.\n\n> Sunt de acord cu procedura prin e-mail.")
    assert consent.given and consent.quoted


def test_case_consent_follows_the_latest_email_that_decides() -> None:
    refusal, consent_text, quiet = "Nu sunt de acord cu procedura prin e-mail.", "Sunt de acord.", ""
    assert detect_case_consent([refusal, consent_text]).given  # changed their mind
    assert detect_case_consent([consent_text, refusal]).refused  # withdrew
    assert detect_case_consent([refusal, quiet]).refused  # a follow-up that says nothing changes nothing
    # A reply that only quotes an earlier consent does not undo an own refusal sent in between.
    quoting = "Atașez diploma.\n\n> Sunt de acord cu procedura prin e-mail."
    assert detect_case_consent([consent_text, refusal, quoting]).refused
    assert detect_case_consent([quiet, quoting]).given and detect_case_consent([quiet, quoting]).quoted
    assert detect_case_consent(["Sunt de acord cu prelucrarea datelor.", quiet]).data_only
    assert detect_case_consent([]) == Consent(False, None, quoted=False)


def test_the_finding_says_that_the_citizen_refused() -> None:
    refused = detect_consent("Sunt de acord cu prelucrarea datelor. Nu sunt de acord cu procedura prin e-mail.")
    message = missing_message(refused)
    assert message.startswith(
        "Ați precizat în mesaj că nu sunteți de acord cu derularea procedurii prin poștă electronică "
        "(ați scris: „Nu sunt de acord”). Prin urmare, cererea dumneavoastră nu poate fi soluționată prin e-mail și va "
        "continua la sediul AJOFM Cluj, pe baza programării."
    )
    assert message.endswith("„Sunt de acord cu derularea procedurii prin intermediul poștei electronice.”")
    assert finding_detail(refused) == {"reason": "refused", "phrase": "Nu sunt de acord"}
    data_only = detect_consent("Sunt de acord cu prelucrarea datelor.")
    assert "prelucrarea datelor cu caracter personal, dar nu și acordul" in missing_message(data_only)
    assert finding_detail(data_only)["reason"] == "data_processing_only"
    assert missing_message(detect_consent("")).startswith("Mesajul nu conține acordul dumneavoastră privind derularea")


def test_our_own_texts_are_not_taken_for_consent_or_refusal() -> None:
    # A citizen's reply that quotes our finding without ">" must not turn it into their own words.
    data_only = Consent(False, None, False, data_only=True)
    for text in (missing_message(Consent(False, "Nu sunt de acord", False, refused=True)), missing_message(data_only)):
        consent = detect_consent(f"Vă trimit actele.\n{text}")
        assert not consent.given and not consent.refused and not consent.data_only, (text, consent)
