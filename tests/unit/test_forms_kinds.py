"""Issue 9 point 3: every form the checklists name is recognised (title, form fields, file name), so that
"missing" means missing. The forms are the PDFs of tests/forms.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from intake.validation.checklist import load_checklists
from intake.validation.documents import (
    KINDS_BY_NAME,
    SEVERAL_KINDS,
    classify,
    extract_pdf_text,
    pdf_form_fields,
)
from tests import forms


def _kind(data: bytes, filename: str = "document.pdf") -> str:
    return classify(filename, extract_pdf_text(data), pdf_form_fields(data)).kind


FORMS: list[tuple[str, Callable[[], bytes]]] = [
    ("application", forms.benefit_application),
    ("reinstatement_request", forms.reinstatement_request),  # 001 Anexa 9 has no title: its words decide
    ("transfer_request", forms.transfer_request),
    ("allowance_application", forms.allowance_application),
    ("graduate_bonus_application", forms.graduate_bonus_application),
    ("hiring_bonus_application", forms.hiring_bonus_application),
    ("installation_bonus_application", forms.installation_bonus_application),
    ("undertaking", forms.undertaking),
    ("employment_notice", forms.employment_notice),
    ("employment_contract", forms.employment_contract),
    ("employer_statement", forms.employer_statement),
    ("graduate_statement", forms.graduate_statement),
    ("employer_certificate", forms.employer_certificate),
    ("medical_review_decision", forms.medical_review_decision),
    ("no_vacancy_certificate", forms.no_vacancy_certificate),
    ("suspension_end_document", forms.suspension_end_document),
    ("graduate_convention", forms.graduate_convention),
    ("disadvantaged_convention", forms.disadvantaged_convention),
    ("graduate_monthly_table", forms.graduate_monthly_table),
    ("timesheet", forms.timesheet),
    ("payroll", forms.payroll),
    ("contribution_reduction_application", forms.contribution_reduction_application),
    ("hires_table", forms.hires_table),
    ("power_of_attorney", forms.power_of_attorney),
]


@pytest.mark.parametrize(("kind", "make"), FORMS, ids=[kind for kind, _ in FORMS])
def test_each_form_is_its_own_kind(kind: str, make: Callable[[], bytes]) -> None:
    assert _kind(make()) == kind


@pytest.mark.parametrize(
    ("law", "measure", "kind"),
    [
        ("279/2005", "acordarea sumelor pentru ucenicii încadrați cu contract de ucenicie", "apprenticeship_request"),
        ("335/2013", "acordarea primei pentru stagiarii care efectuează stagiul", "traineeship_request"),
        ("72/2007", "subvenția pentru încadrarea elevilor și studenților în vacanță", "student_employment_request"),
    ],
)
def test_the_requests_of_the_three_laws_of_000(law: str, measure: str, kind: str) -> None:
    assert _kind(forms.law_request(law, measure)) == kind


def test_a_convention_is_told_by_its_measure() -> None:
    community = forms.convention(
        "Anexa nr. 14 la Normele metodologice",
        "pentru ocuparea temporară a forței de muncă în programe pentru dezvoltarea comunităților locale, "
        "potrivit art. 78 din Legea nr. 76/2002.",
    )
    assert _kind(community) == "community_convention"
    assert _kind(forms.graduate_convention()) == "graduate_convention"
    assert _kind(forms.disadvantaged_convention()) == "disadvantaged_convention"
    # A "CONVENȚIE" for nothing the checklists know is no employer form at all.
    assert _kind(forms.pdf(["între părți, privind închirierea unui spațiu"], title=["CONVENȚIE"])) == "other"


def test_a_bare_cerere_without_its_measure_is_no_bonus_application() -> None:
    data = forms.pdf(["Subsemnata Ioana Ștefănescu vă rog să îmi comunicați programul."], title=["CERERE"])
    assert _kind(data) == "other"


def test_the_benefit_application_stays_the_application_whatever_it_mentions() -> None:
    # Its "alte acte, după caz" may name a bonus or a suspension: the title decides.
    data = forms.benefit_application(other_documents="adeverința privind prima de încadrare; art. 72 din lege")
    assert _kind(data) == "application"


def test_the_medical_declaration_is_not_a_sworn_statement_of_an_employer() -> None:
    data = forms.pdf(
        [
            "Subsemnata Ioana Ștefănescu, domiciliată în Cluj-Napoca, reprezentant legal al fiicei mele minore, "
            "declar pe propria răspundere că [x] nu am restricții medicale care mă împiedică să prestez muncă.",
        ],
        annex="Anexa nr. 1^1",
        title=["DECLARAȚIE PE PROPRIA RĂSPUNDERE"],
    )
    assert _kind(data) == "declaration"


def test_an_employer_statement_about_a_graduate_is_the_employers() -> None:
    data = forms.employer_statement(subject="absolventul Radu Marin, la data absolvirii studiilor")
    assert _kind(data) == "employer_statement"


def test_an_adeverinta_is_the_employers_certificate_unless_it_says_more() -> None:
    assert _kind(forms.employer_certificate()) == "employer_certificate"
    assert _kind(forms.no_vacancy_certificate()) == "no_vacancy_certificate"
    assert _kind(forms.suspension_end_document()) == "suspension_end_document"


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("repunere_in_plata.jpg", "reinstatement_request"),
        ("cerere transfer dosar.jpg", "transfer_request"),
        ("angajament anexa 13.png", "undertaking"),
        ("instiintare_angajare.jpg", "employment_notice"),
        ("CIM.pdf", "employment_contract"),
        ("contract de munca.jpg", "employment_contract"),
        ("declaratie_angajator.jpg", "employer_statement"),
        ("declaratie absolvent.jpg", "graduate_statement"),
        ("prima_de_instalare.jpg", "installation_bonus_application"),
        ("cerere prima incadrare.jpg", "hiring_bonus_application"),
        ("pontaj octombrie.pdf", "timesheet"),
        ("stat de plata.jpg", "payroll"),
        ("imputernicire.jpg", "power_of_attorney"),
        ("certificat handicap.jpg", "disability_certificate"),
        ("decizie revizuire medicala.jpg", "medical_review_decision"),
        ("anexa11.png", "declaration"),  # 001 Anexa 1^1 written without the caret, not 003 Anexa 11
    ],
)
def test_scans_by_file_name(filename: str, kind: str) -> None:
    assert classify(filename, "", {}).kind == kind


def test_every_kind_a_checklist_names_is_recognised_or_declared() -> None:
    checklists = load_checklists()
    named = {kind for rt in checklists.values() for doc in rt.documents for kind in (doc.kind, *doc.alternatives)}
    unrecognised = named - set(KINDS_BY_NAME)
    # Only documents without a form of their own stay for staff to check by eye.
    assert unrecognised == {
        "income_certificate",
        "absence_evidence",
        "procurement_contract",
        "local_authority_request",
        "family_documents",
        "contribution_history_certificate",
        "working_conditions_document",
        "pension_dates_document",
    }


def test_kinds_a_case_holds_several_of() -> None:
    assert {"id_document", "diploma", "employment_record", "other"} <= SEVERAL_KINDS
    assert {"employment_contract", "timesheet", "payroll", "disability_certificate"} <= SEVERAL_KINDS
    assert not {"application", "declaration", "graduate_convention"} & SEVERAL_KINDS


def test_the_art85_statements_are_not_the_general_employer_statement() -> None:
    quota = forms.pdf(
        [
            f"Subscrisa {forms.EMPLOYER}, {forms.EMPLOYER_SEAT}, {forms.REPRESENTATIVE}, declarăm pe propria "
            "răspundere că, în raport cu numărul de angajați, ne-am îndeplinit obligația de a angaja persoane cu "
            "handicap.",
        ],
        title=["DECLARAȚIE PE PROPRIA RĂSPUNDERE"],
    )
    parent = forms.pdf(
        ["Subsemnatul Radu Marin declar pe propria răspundere că membrii familiei monoparentale locuiesc împreună."],
        title=["DECLARAȚIE PE PROPRIA RĂSPUNDERE"],
    )
    assert _kind(quota) == "disability_quota_statement"
    assert _kind(parent) == "single_parent_statement"
