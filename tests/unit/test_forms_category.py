"""Issue 9 points 2 and 4: the applicant category read from the form (001 Art. 5(4) A-E; 003 Art. 59(3) A-D),
the documents it requires, what is listed "dacă este cazul", and who signs for an employer."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from intake.validation.category import CategoryReading, read_category, staff_message
from intake.validation.checklist import load_checklists, missing_documents, possibly_needed
from intake.validation.documents import FormText, read_form
from intake.validation.representation import signs_as_proxy, situations
from tests import forms

CHECKLISTS = load_checklists()
BENEFIT = CHECKLISTS["unemployment_benefit"]
ART85 = CHECKLISTS["disadvantaged_hiring_convention"]
GENERAL = ["application", "id_document", "diploma", "declaration"]


def _read(data: bytes, request_type=BENEFIT, kind: str = "application") -> CategoryReading:  # type: ignore[no-untyped-def]
    return read_category(request_type, [read_form(kind, data, "pdf")])


def _text(text: str, fields: Mapping[str, str] | None = None) -> CategoryReading:
    return read_category(BENEFIT, [FormText("application", text, fields or {})])


# --------------------------------------------------------------------------------------------------
# Reading the category


def test_nothing_ticked_nothing_said_is_unknown_with_every_category() -> None:
    reading = _read(forms.benefit_application())
    assert (reading.known, reading.candidates) == (False, ("A", "B", "C", "D", "E"))


def test_the_printed_instructions_name_categories_but_choose_none() -> None:
    # "Se bifează numai de către ... pensionarii de invaliditate ... absolvenții școlilor speciale ...".
    reading = _read(forms.benefit_application())
    assert not [item for item in reading.evidence if item.startswith("phrase")]


def test_a_box_shared_by_two_categories_leaves_both() -> None:
    reading = _read(forms.benefit_application(ticked=[forms.BOX_AB]))
    assert (reading.known, reading.candidates) == (False, ("A", "B"))


@pytest.mark.parametrize(
    ("ticked", "situation", "category"),
    [
        ([forms.BOX_AB], "Contractul individual de muncă a încetat prin concediere.", "A"),
        ([forms.BOX_AB], "Sunt pensionară de invaliditate și mi-am redobândit capacitatea de muncă.", "B"),
        ([forms.BOX_C], "", "C"),
        ([forms.BOX_DE], "Am absolvit liceul în iunie 2026.", "D"),
        ([forms.BOX_DE], "Sunt absolventă a școlii speciale nr. 2 Cluj-Napoca.", "E"),
        ([], "Raportul de muncă a încetat la 30.10.2026 (concediere, art. 65 din Codul muncii).", "A"),
        ([], "Raportul de muncă a încetat în perioada de suspendare a contractului.", "C"),  # C rules out A
    ],
)
def test_boxes_and_own_words(ticked: list[str], situation: str, category: str) -> None:
    reading = _read(forms.benefit_application(ticked=ticked, situation=situation))
    assert reading.category == category, reading.evidence


@pytest.mark.parametrize(
    "line",
    [
        "[x] reluarea activității nu mai este posibilă la angajator",
        "[X] reluarea activitatii nu mai este posibila la angajator",
        "x reluarea activității nu mai este posibilă la angajator",
        "☑ reluarea activității nu mai este posibilă la angajator",
        "(x) reluarea activităţii nu mai este posibilă la angajator",  # cedilla
    ],
)
def test_tick_marks(line: str) -> None:
    assert _text(f"[ ] reîncadrarea în muncă nu mai este posibilă\n{line}").category == "C"


@pytest.mark.parametrize(
    "line",
    [
        "[ ] reluarea activității nu mai este posibilă",
        "☐ reluarea activității nu mai este posibilă",
        "taxi reluarea activității nu mai este posibilă",  # an x at the end of a word is no tick
    ],
)
def test_an_empty_box_is_not_ticked(line: str) -> None:
    assert not _text(line).known


def test_check_box_fields() -> None:
    assert _read(forms.benefit_application(fields={"reluarea_activitatii_nu_mai_este_posibila": True})).category == "C"
    assert not _read(forms.benefit_application(fields={"reluarea_activitatii_nu_mai_este_posibila": False})).known
    assert _text("", {"Categoria_B": "/Yes"}).category == "B"
    assert _text("", {"Check Box3": "/Yes"}).known is False  # a field named by the producer says nothing


@pytest.mark.parametrize(
    ("text", "fields", "category"),
    [
        ("Categoria: E", {}, "E"),
        ("solicitant din categoria D", {}, "D"),
        ("conform art. 5 alin. (4) lit. B din procedură", {}, "B"),
        ("", {"categoria": "a"}, "A"),
    ],
)
def test_an_explicit_category(text: str, fields: dict[str, str], category: str) -> None:
    assert _text(text, fields).category == category


def test_a_lower_case_a_after_categoria_is_a_word_not_a_category() -> None:
    assert not _text("persoanele din categoria a doua de solicitanți").known


def test_contradictions_are_not_guessed() -> None:
    reading = _read(forms.benefit_application(ticked=[forms.BOX_DE], situation="Am fost concediată."))
    assert (reading.known, reading.conflict, reading.candidates) == (False, True, ("A", "D", "E"))
    assert "se exclud" in staff_message(BENEFIT, reading)


def test_no_application_no_reading() -> None:
    reading = read_category(BENEFIT, [FormText("declaration", "Sunt pensionară de invaliditate.", {})])
    assert (reading.read, reading.known) == (False, False)


def test_art85_every_ticked_category_applies() -> None:
    ticked = ["persoane cu handicap", "șomeri în vârstă de peste 45 de ani"]
    reading = _read(forms.disadvantaged_convention(ticked=ticked), ART85, "disadvantaged_convention")
    assert reading.categories == ("A", "B")


def test_art85_unticked_boxes_name_every_category_and_choose_none() -> None:
    reading = _read(forms.disadvantaged_convention(), ART85, "disadvantaged_convention")
    assert (reading.known, reading.candidates) == (False, ("A", "B", "C", "D"))


# --------------------------------------------------------------------------------------------------
# What it requires


def test_a_known_category_requires_its_documents() -> None:
    missing = [doc.kind for doc in missing_documents(BENEFIT, GENERAL, "B")]
    assert missing == ["employer_certificate", "medical_review_decision", "no_vacancy_certificate"]


def test_a_document_every_candidate_requires_is_required() -> None:
    # A or B: both ask for the Art. 18 certificate; only B for the medical review decision.
    assert [doc.kind for doc in missing_documents(BENEFIT, GENERAL, candidates=("A", "B"))] == ["employer_certificate"]
    assert missing_documents(BENEFIT, GENERAL, candidates=("A", "B", "C", "D", "E")) == []


def test_unknown_category_lists_its_documents_as_possibly_needed_with_their_category() -> None:
    labels = possibly_needed(BENEFIT, GENERAL, candidates=("A", "B"))
    review = [label for label in labels if label.startswith("decizia de revizuire medicală")]
    assert review == [
        "decizia de revizuire medicală din care rezultă redobândirea capacității de muncă (pensionari de "
        "invaliditate care și-au redobândit capacitatea de muncă)"
    ]
    assert not [label for label in labels if label.startswith("adeverința angajatorului prevăzută la art. 18")]
    everything = possibly_needed(BENEFIT, GENERAL)
    assert any(label.startswith("adeverința angajatorului prevăzută la art. 18") for label in everything)
    assert not [label for label in everything if "absolvire a formei" in label]  # the diploma is there


def test_a_known_category_lists_only_its_dupa_caz_documents() -> None:
    labels = possibly_needed(BENEFIT, [*GENERAL, "employer_certificate"], "A")
    assert labels == [
        "copia carnetului de muncă sau a altor acte care atestă raporturile de muncă până la 31 decembrie 2010",
        "copia hotărârii judecătorești definitive de reintegrare în muncă",
        "adeverința unității care a preluat patrimoniul, din care rezultă că reîncadrarea nu mai este posibilă",
    ]


def test_art85_id_and_employment_act_are_required_whatever_the_category() -> None:
    every = ("A", "B", "C", "D")
    missing = [doc.kind for doc in missing_documents(ART85, ["disadvantaged_convention"], candidates=every)]
    assert missing == ["employer_statement", "id_document", "employment_contract"]
    both = [doc.kind for doc in missing_documents(ART85, ["disadvantaged_convention"], categories=("A", "C"))]
    assert both == [
        "employer_statement",
        "disability_certificate",
        "id_document",
        "employment_contract",
        "disability_quota_statement",
        "single_parent_statement",
    ]


# --------------------------------------------------------------------------------------------------
# Who signs for the employer


@pytest.mark.parametrize(
    ("text", "proxy"),
    [
        (forms.PROXY, True),
        ("Maria Rus, conform procurii speciale nr. 12/2026", True),
        ("semnează prin mandatar Maria Rus", True),
        (forms.REPRESENTATIVE, False),
        ("Primăria Turda, reprezentată legal prin Ion Pop, în calitate de primar", False),
        ("Reprezentant legal/împuternicit: ..................", None),  # the form's label says nothing
        ("", None),
    ],
)
def test_who_signs(text: str, proxy: bool | None) -> None:
    assert signs_as_proxy([text]) is proxy


def test_the_power_of_attorney_is_required_only_for_a_proxy() -> None:
    convention = CHECKLISTS["graduate_hiring_convention"]
    present = ["graduate_convention", "diploma", "employment_contract"]
    assert missing_documents(convention, present) == []
    assert "împuternicirea" in possibly_needed(convention, present)[-1]
    by_proxy = missing_documents(convention, present, situations=situations([forms.PROXY]))
    assert [doc.kind for doc in by_proxy] == ["power_of_attorney"]
    assert not [label for label in possibly_needed(convention, present, situations={"proxy"}) if "împuter" in label]


# --------------------------------------------------------------------------------------------------
# Which request: an employer's form is never a citizen's benefit


@pytest.mark.parametrize(
    ("subject", "body", "kinds", "expected"),
    [
        (
            "Convenție absolvenți",
            "Vă transmitem convenția pentru absolvenții angajați, foști beneficiari de indemnizație de șomaj.",
            ["graduate_convention", "diploma", "employment_contract"],
            "graduate_hiring_convention",
        ),
        (
            "Cerere indemnizație de șomaj",  # a subject the employer's accountant copied from an old e-mail
            "",
            ["disadvantaged_convention", "employer_statement"],
            "disadvantaged_hiring_convention",
        ),
        ("Documente luna octombrie", "Tabelul, pontajul și statul de plată", ["graduate_monthly_table"],
         "graduate_monthly_package"),
        ("", "Solicităm reducerea contribuției conform art. 93", [], "contribution_reduction"),
        ("Ucenicie", "", [], "apprenticeship"),
        ("", "Cerere conform Legii nr. 335/2013 pentru stagiari", [], "traineeship"),
        ("", "Angajăm elevi și studenți pe perioada vacanței (Legea 72/2007)", [], "student_employment"),
        (
            "Cerere art. 72",
            "Am fost angajată înainte de expirarea perioadei de acordare a indemnizației de șomaj.",
            ["allowance_application"],
            "early_employment_allowance",
        ),
        ("Cerere", "Vă trimit cererea pentru indemnizația de șomaj", ["application", "id_document"],
         "unemployment_benefit"),
    ],
)  # fmt: skip
def test_request_type(subject: str, body: str, kinds: list[str], expected: str) -> None:
    from intake.validation.checklist import detect_request_type

    assert detect_request_type(subject, body, kinds, CHECKLISTS).code == expected


def test_employer_request_types_are_the_companys_and_end_without_a_decision() -> None:
    employers = [rt for rt in CHECKLISTS.values() if rt.applicant == "legal_person"]
    assert len(employers) == 11
    assert not [rt.code for rt in employers if rt.decision or rt.territorial_check]
    for rt in employers:
        power = [doc for doc in rt.documents if doc.kind == "power_of_attorney"]
        assert len(power) == 1 and power[0].conditional and power[0].required_if == ("proxy",), rt.code
