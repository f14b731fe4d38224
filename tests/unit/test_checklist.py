"""Request types and checklists (intake/validation/checklists.toml; procedure.md §2 and §7)."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from intake.validation.checklist import (
    ChecklistError,
    RequestType,
    conditional_documents,
    detect_request_type,
    load_checklists,
    missing_documents,
    qualified_signature_kinds,
    unverifiable_documents,
)
from intake.validation.documents import KINDS_BY_NAME, OTHER

CHECKLISTS = load_checklists()
RAW = tomllib.loads(resources.files("intake.validation").joinpath("checklists.toml").read_text(encoding="utf-8"))
EXTRA_KINDS = frozenset(RAW["kinds"])

BENEFIT = CHECKLISTS["unemployment_benefit"]
REGISTRATION = CHECKLISTS["jobseeker_registration"]
COMPLETE_BENEFIT = ("application", "id_document", "diploma", "declaration")


# --------------------------------------------------------------------------------------------------
# The packaged file


def test_all_request_types_of_the_issue_are_there() -> None:
    assert set(CHECKLISTS) == {
        "unemployment_benefit",
        "jobseeker_registration",
        "payment_reinstatement",
        "file_transfer",
        "early_employment_allowance",
        "graduate_bonus",
        "graduate_lump_sum",
        "hiring_bonus",
        "installation_bonus",
        # Employers (003 Art. 48-62) and the three laws of 000 (issue 9 point 4).
        "community_programme_convention",
        "graduate_hiring_convention",
        "graduate_monthly_package",
        "graduate_training_addendum",
        "graduate_training_costs",
        "disadvantaged_hiring_convention",
        "disadvantaged_monthly_package",
        "contribution_reduction",
        "apprenticeship",
        "traineeship",
        "student_employment",
    }


@pytest.mark.parametrize("code", sorted(CHECKLISTS))
def test_every_entry_is_complete_and_cites_its_legal_basis(code: str) -> None:
    request_type = CHECKLISTS[code]
    assert request_type.code == code
    assert request_type.name and request_type.legal_basis and request_type.keywords
    for doc in request_type.documents:
        assert doc.kind in KINDS_BY_NAME or doc.kind in EXTRA_KINDS, doc
        assert doc.kind != OTHER
        assert doc.label and doc.legal_basis, doc
        assert all(alternative in KINDS_BY_NAME or alternative in EXTRA_KINDS for alternative in doc.alternatives)
    for kind in request_type.triggering_kinds + request_type.hinting_kinds:
        assert kind in KINDS_BY_NAME, f"{code}: a trigger the classifier never produces is useless: {kind}"


def test_extra_kinds_are_not_classifier_kinds() -> None:
    assert not EXTRA_KINDS & set(KINDS_BY_NAME)


def test_romanian_text_uses_comma_below_letters() -> None:
    texts = [rt.name for rt in CHECKLISTS.values()] + [doc.label for rt in CHECKLISTS.values() for doc in rt.documents]
    assert not [text for text in texts if set(text) & set("şţŞŢ")]
    assert "indemnizației de șomaj" in BENEFIT.documents[0].label


def test_only_the_benefit_application_and_declaration_need_a_qualified_signature() -> None:
    # procedure.md §7 item 1: Art. 5(5) is narrow; a scanned fișa or declaration is fine for registration.
    assert qualified_signature_kinds(BENEFIT) == {"application", "declaration"}
    for code, request_type in CHECKLISTS.items():
        if code != "unemployment_benefit":
            assert qualified_signature_kinds(request_type) == frozenset(), code


def test_benefit_categories_a_to_e() -> None:
    assert [category.code for category in BENEFIT.categories] == ["A", "B", "C", "D", "E"]
    assert {doc.category for doc in BENEFIT.documents} == {None, "A", "B", "C", "D", "E"}


def test_load_from_an_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text(resources.files("intake.validation").joinpath("checklists.toml").read_text(encoding="utf-8"))
    assert load_checklists(path) == CHECKLISTS


# --------------------------------------------------------------------------------------------------
# Validation of the file

VALID_TYPE = """
[request_types.demo]
name = "cerere"
legal_basis = "art. 1"
keywords = ["demo"]
"""


def _load(tmp_path: Path, text: str) -> dict[str, RequestType]:
    path = tmp_path / "checklists.toml"
    path.write_text(text, encoding="utf-8")
    return load_checklists(path)


def _document(kind: str, extra: str = "") -> str:
    return f'\n[[request_types.demo.documents]]\nkind = "{kind}"\nlabel = "actul"\nlegal_basis = "art. 2"\n{extra}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID_TYPE + _document("passport_photo"), "unknown kind 'passport_photo'"),
        (VALID_TYPE + _document(OTHER), "unknown kind 'other'"),
        (VALID_TYPE + _document("cv") + _document("cv"), "duplicate document (kind, category): cv/None"),
        (VALID_TYPE + _document("cv", "optinal = true"), "unknown keys optinal"),
        (VALID_TYPE + _document("cv", 'category = "Z"'), "unknown category 'Z'"),
        (VALID_TYPE + _document("cv", 'optional = "da"'), "optional must be true or false"),
        (VALID_TYPE + _document("cv", 'alternatives = ["cv"]'), "its own kind as an alternative"),
        (VALID_TYPE + _document("cv", 'alternatives = ["photo"]'), "alternatives: unknown kinds photo"),
        (VALID_TYPE + 'includes = ["nothing"]\n' + _document("cv"), "includes unknown request type 'nothing'"),
        (VALID_TYPE + 'triggering_kinds = ["scan"]\n' + _document("cv"), "triggering_kinds: unknown kinds scan"),
        (VALID_TYPE, "lists no documents"),
        (VALID_TYPE.replace('legal_basis = "art. 1"\n', "") + _document("cv"), "legal_basis must be"),
        ('[kinds]\nphoto = "fotografie"\n' + VALID_TYPE + _document("cv"), "no document uses: photo"),
        ('[kinds]\ncv = "alt cv"\n' + VALID_TYPE + _document("cv"), "already a classifier kind"),
        ("[request_types.demo\n", "cannot read"),
        ("", "no [request_types]"),
    ],
)
def test_invalid_files_are_rejected_with_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ChecklistError, match=re.escape(message)):
        _load(tmp_path, text)


def test_missing_file_is_a_checklist_error(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError, match="cannot read"):
        load_checklists(tmp_path / "absent.toml")


# --------------------------------------------------------------------------------------------------
# Detection

DETECTION_TABLE = [
    # (subject, body, kinds, expected code)
    ("Cerere indemnizație de șomaj", "", ["application", "id_document"], "unemployment_benefit"),
    ("", "", ["application"], "unemployment_benefit"),
    ("", "", ["declaration"], "jobseeker_registration"),  # the declaration alone: registration
    ("", "", ["declaration", "application"], "unemployment_benefit"),
    ("", "", ["registration_form", "application", "declaration"], "unemployment_benefit"),  # benefit ⊃ registration
    ("", "", ["registration_form", "cv", "id_document"], "jobseeker_registration"),
    ("", "", ["declaration", "employer_certificate"], "unemployment_benefit"),
    ("Inregistrare", "Doresc inregistrarea ca persoana in cautarea unui loc de munca", [], "jobseeker_registration"),
    ("CERERE INDEMNIZAŢIE DE ŞOMAJ", "", [], "unemployment_benefit"),  # capitals, cedillas
    ("cerere indemnizatie somaj", "", ["declaration"], "unemployment_benefit"),  # words beat a weak document
    ("", "Mă înregistrez ca șomer", ["application"], "unemployment_benefit"),  # compatible with the benefit
    ("Cerere repunere in plata", "", [], "payment_reinstatement"),
    ("", "Solicit repunerea în plată a indemnizației de șomaj", ["id_document"], "payment_reinstatement"),
    ("Transfer dosar", "", ["id_document"], "file_transfer"),
    ("", "M-am mutat, vă rog transferul dosarului la noul domiciliu", [], "file_transfer"),
    ("PRIMA DE ÎNCADRARE", "", ["id_document"], "hiring_bonus"),
    ("Prima de instalare", "", [], "installation_bonus"),
    ("Cerere anexa 23", "Solicit prima pentru absolvenți", ["diploma"], "graduate_bonus"),
    ("", "Cerere conform art. 73^1 alin. (2) din lege, anexa nr. 24", [], "graduate_lump_sum"),
    ("", "Solicit drepturile prevăzute la art. 72 din Legea 76/2002", [], "early_employment_allowance"),
    (
        "",
        "Doresc înregistrarea ca persoană în căutarea unui loc de muncă și indemnizație de șomaj",
        [],
        "unemployment_benefit",
    ),
    (
        "Re: Recipisă nr. 12",
        "Doresc transferul dosarului.\n\n> Nu am putut stabili ce solicitați (de exemplu indemnizație de șomaj\n"
        "> sau înregistrare ca persoană în căutarea unui loc de muncă).",
        [],
        "file_transfer",
    ),
]


@pytest.mark.parametrize(("subject", "body", "kinds", "expected"), DETECTION_TABLE)
def test_detection(subject: str, body: str, kinds: list[str], expected: str) -> None:
    detection = detect_request_type(subject, body, kinds, CHECKLISTS)
    assert detection.code == expected, detection
    assert detection.evidence


UNDETERMINED_TABLE = [
    # (subject, body, kinds, candidates)
    ("Documente", "Bună ziua, vă trimit documentele. Mulțumesc!", [], ()),
    ("", "", ["id_document", "diploma"], ()),
    ("", "Solicit prima de încadrare și prima de instalare", [], ("hiring_bonus", "installation_bonus")),
    # "cerere.pdf" is filed as the benefit application by its name; the words say reinstatement: staff decide.
    ("", "Vă trimit cererea de repunere în plată", ["application"], ("unemployment_benefit", "payment_reinstatement")),
    ("", "", ["declaration", "cv", "employer_certificate", "employment_record", "registration_form"], ()),
]


@pytest.mark.parametrize(("subject", "body", "kinds", "candidates"), UNDETERMINED_TABLE[:4])
def test_undetermined_is_none_with_the_candidates(
    subject: str, body: str, kinds: list[str], candidates: tuple[str, ...]
) -> None:
    detection = detect_request_type(subject, body, kinds, CHECKLISTS)
    assert detection.code is None, detection
    assert set(detection.candidates) == set(candidates)
    assert detection.evidence


def test_registration_documents_with_benefit_words_are_a_benefit_request() -> None:
    # The benefit includes registration: the fișa is part of it, and the application is then reported missing.
    detection = detect_request_type("Indemnizație de șomaj", "", ["registration_form", "declaration"], CHECKLISTS)
    assert detection.code == "unemployment_benefit"
    assert [doc.kind for doc in missing_documents(BENEFIT, ["registration_form", "declaration"])] == [
        "application",
        "id_document",
        "diploma",
    ]
    assert detect_request_type("", "", UNDETERMINED_TABLE[4][2], CHECKLISTS).code == "jobseeker_registration"


def test_detection_tolerates_empty_input() -> None:
    assert detect_request_type("", "", [], CHECKLISTS).code is None
    assert detect_request_type(None, None, [], CHECKLISTS).code is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Missing documents


def test_benefit_without_declaration_misses_the_declaration() -> None:
    missing = missing_documents(BENEFIT, ["application", "id_document", "diploma"])
    assert [doc.kind for doc in missing] == ["declaration"]
    assert missing[0].label.startswith("declarația pe propria răspundere privind restricțiile medicale")


def test_complete_benefit_misses_nothing() -> None:
    assert missing_documents(BENEFIT, COMPLETE_BENEFIT) == []


def test_empty_benefit_misses_the_four_general_documents_in_order() -> None:
    assert [doc.kind for doc in missing_documents(BENEFIT, [])] == list(COMPLETE_BENEFIT)


@pytest.mark.parametrize("code", sorted(CHECKLISTS))
def test_income_certificate_is_never_missing(code: str) -> None:
    for category in (None, "A", "B", "C", "D", "E"):
        assert "income_certificate" not in {doc.kind for doc in missing_documents(CHECKLISTS[code], [], category)}
    income = [doc for doc in CHECKLISTS[code].documents if doc.kind == "income_certificate"]
    assert all(doc.optional for doc in income)


def test_category_documents_only_when_the_category_is_known() -> None:
    assert missing_documents(BENEFIT, COMPLETE_BENEFIT) == []
    possible = {doc.kind for doc in conditional_documents(BENEFIT, COMPLETE_BENEFIT)}
    assert {"employer_certificate", "employment_record", "provider_certificate"} <= possible
    assert [doc.kind for doc in missing_documents(BENEFIT, COMPLETE_BENEFIT, category="A")] == ["employer_certificate"]
    assert missing_documents(BENEFIT, [*COMPLETE_BENEFIT, "employer_certificate"], category="A") == []


def test_dupa_caz_documents_are_never_missing() -> None:
    # A(a) record book, A(b) court judgment, D(b) provider certificate: conditional even in their category.
    for category in ("A", "D"):
        kinds = {doc.kind for doc in missing_documents(BENEFIT, [], category)}
        assert not kinds & {"employment_record", "court_judgment", "successor_certificate", "provider_certificate"}
    possible_d = {doc.kind for doc in conditional_documents(BENEFIT, COMPLETE_BENEFIT, category="D")}
    assert possible_d == {"provider_certificate"}


def test_every_required_form_is_recognised_so_missing_means_missing() -> None:
    # Issue 9 point 3: the B(b) medical review decision, the transfer request, the bonus applications ... are
    # classifier kinds now; only documents without a form of their own stay for staff to check by eye.
    missing_b = [doc.kind for doc in missing_documents(BENEFIT, COMPLETE_BENEFIT, category="B")]
    assert missing_b == ["employer_certificate", "medical_review_decision", "no_vacancy_certificate"]
    assert unverifiable_documents(BENEFIT, "B") == []
    transfer = CHECKLISTS["file_transfer"]
    assert [doc.kind for doc in missing_documents(transfer, [])] == ["transfer_request", "id_document"]
    assert unverifiable_documents(transfer) == []
    unverifiable = {doc.kind for rt in CHECKLISTS.values() for c in (None, "A", "B", "C", "D", "E")
                    for doc in unverifiable_documents(rt, c)}  # fmt: skip
    assert unverifiable == {"contribution_history_certificate", "family_documents", "pension_dates_document"}


def test_same_kind_in_general_and_category_list_is_reported_once() -> None:
    assert [doc.kind for doc in missing_documents(BENEFIT, ["application", "id_document", "declaration"], "D")] == [
        "diploma"
    ]


def test_registration_checklist() -> None:
    complete = ["registration_form", "id_document", "diploma", "cv", "declaration"]
    assert missing_documents(REGISTRATION, complete) == []
    assert [doc.kind for doc in missing_documents(REGISTRATION, complete[1:])] == ["registration_form"]


def test_bonus_checklists_tell_their_forms_apart() -> None:
    hiring = CHECKLISTS["hiring_bonus"]
    assert [doc.kind for doc in missing_documents(hiring, [OTHER, OTHER])] == [
        "hiring_bonus_application",
        "id_document",
        "employer_certificate",
        "undertaking",
    ]
    complete = ["hiring_bonus_application", "id_document", "employment_notice", "undertaking"]
    assert missing_documents(hiring, complete) == []  # the notice of employment is the employer's act too
    assert unverifiable_documents(hiring) == []
    installation = CHECKLISTS["installation_bonus"]
    assert [doc.kind for doc in missing_documents(installation, complete)] == ["installation_bonus_application"]
    lump_sum = CHECKLISTS["graduate_lump_sum"]
    assert [doc.kind for doc in missing_documents(lump_sum, ["id_document"])] == [
        "graduate_sum_application",
        "employment_record",
        "graduate_statement",
    ]


def test_alternatives_satisfy_a_requirement(tmp_path: Path) -> None:
    checklists = _load(
        tmp_path,
        VALID_TYPE
        + _document("employment_record", 'alternatives = ["employer_certificate"]')
        + _document("id_document"),
    )
    demo = checklists["demo"]
    assert missing_documents(demo, ["employer_certificate", "id_document"]) == []
    assert [doc.kind for doc in missing_documents(demo, ["id_document"])] == ["employment_record"]
    assert conditional_documents(demo, ["employer_certificate"]) == []
