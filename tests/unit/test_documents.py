"""Tests of intake.validation.text and intake.validation.documents: every PDF is generated here (fpdf2, pypdf)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

import intake
from intake.validation.documents import (
    DOCUMENT_KINDS,
    Classification,
    classify,
    extract_pdf_text,
    pdf_form_fields,
)
from intake.validation.identity import applicant_from_form
from intake.validation.text import contains_phrase, fold, normalize

FONT = Path(intake.__file__).parent / "receipts" / "fonts" / "DejaVuSans.ttf"

# contract.md `document.kind`
CONTRACT_KINDS = {
    "application",
    "declaration",
    "registration_form",
    "id_document",
    "diploma",
    "cv",
    "employment_record",
    "employer_certificate",
    "other",
}

# --------------------------------------------------------------------------------------------------
# Input builders


def make_pdf(*pages: list[str]) -> bytes:
    """One page per list of lines; DejaVu Sans so that ă â î ș ț (and ş ţ) are real text."""
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def add_form_fields(data: bytes, fields: dict[str, str | NameObject]) -> bytes:
    """The PDF with an AcroForm: one widget per field on the first page (text fields, or check boxes for names)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    page = writer.pages[0]
    refs = ArrayObject()
    for index, (name, value) in enumerate(fields.items()):
        top = 780 - 30 * index
        widget = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/FT"): NameObject("/Btn" if isinstance(value, NameObject) else "/Tx"),
                NameObject("/T"): TextStringObject(name),
                NameObject("/V"): value if isinstance(value, NameObject) else TextStringObject(value),
                NameObject("/Rect"): ArrayObject(
                    [FloatObject(300), FloatObject(top - 20), FloatObject(550), FloatObject(top)]
                ),
                NameObject("/F"): NumberObject(4),
            }
        )
        refs.append(writer._add_object(widget))
    page[NameObject("/Annots")] = refs
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): refs})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def classify_pdf(data: bytes, filename: str = "document.pdf") -> Classification:
    return classify(filename, extract_pdf_text(data), pdf_form_fields(data))


# The texts of the forms, after 001 Anexa 3 and Anexa 1^1 (header lines of the agency left blank, as received).
APPLICATION_BODY = [
    "Agenția pentru Ocuparea Forței de Muncă a Județului Cluj, cod județ 12",
    "Nr. ..... data ...............",
    "1. Numele și prenumele: Maria-Elena Ionescu Pop",
    "3. Codul numeric personal 2960523123459",
    "Vă rog să aprobați plata indemnizației de șomaj conform prevederilor Legii nr. 76/2002.",
    "6. Acte prezentate în vederea acordării indemnizației de șomaj: a) actul de identitate BI/CI/AI seria CJ "
    "nr. 123456; b) declarație pe propria răspundere, sub sancțiunile aplicate faptei de fals în declarații, că "
    "persoana nu are restricții medicale care o împiedică să presteze muncă; c) adeverința de venit",
]
DECLARATION_BODY = [
    "Subsemnatul/Subsemnata, Maria-Elena Ionescu Pop, având CNP 2960523123459, domiciliat/domiciliată în Cluj-Napoca,",
    "cunoscând prevederile art. 326 din Legea nr. 286/2009 privind Codul penal, cu privire la falsul în declarații,",
    "declar prin prezenta pe propria răspundere că: [x] nu am restricții medicale care mă împiedică să prestez muncă;",
    "Dau această declarație și o susțin, în vederea acordării indemnizației de șomaj.",
]


# --------------------------------------------------------------------------------------------------
# Text normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Indemnizației de ȘOMAJ", "indemnizatiei de somaj"),
        ("indemnizaţiei de şomaj", "indemnizatiei de somaj"),  # cedilla forms
        ("ÎNREGISTRARE  și\tÎncadrare", "inregistrare si incadrare"),
        ("  FIȘĂ\n\nde   înregistrare  ", "fisa de inregistrare"),
        ("indemniza-\nției", "indemnizatiei"),  # the producer's hyphenation
        ("Ionescu-Pop", "ionescu-pop"),  # a real hyphen stays
        ("ALOCAÞIE DE SPRIJIN", "alocatie de sprijin"),  # 004's OCR: Þ for Ț
        ("PROFESIONALÃ, ºomaj", "profesionala, somaj"),  # Ã for Ă, º for ș
        ("anexele nr. 1Ñ7", "anexele nr. 1-7"),  # Ñ for a dash
        ("MUÑOZ", "munoz"),  # but a real Ñ is a letter
        ("ﬁșa\u00a0nr.\u00ad1", "fisa nr.1"),  # ligature, no-break space, soft hyphen
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_contains_phrase_tolerates_spelling_and_layout() -> None:
    phrase = "cerere pentru acordarea indemnizației de șomaj"
    assert contains_phrase("CERERE\npentru acordarea indemniza-\nţiei de şomaj", phrase)
    assert contains_phrase("Cerere pentru acordarea indemnizatiei de somaj", phrase)
    assert contains_phrase("CERERE, pentru acordarea INDEMNIZAȚIEI de șomaj.", phrase)
    assert not contains_phrase("cererea pentru acordarea indemnizației de șomaj", phrase)  # another word
    assert not contains_phrase("precerere pentru acordarea indemnizației de șomaj", phrase)


def test_fold_maps_back_to_the_original() -> None:
    text = "xx DECLARAŢIE PE\nPROPRIA RĂSPUNDERE, sub"
    [(start, end)] = fold(text).find("declarație pe propria răspundere")
    assert text[start:end] == "DECLARAŢIE PE\nPROPRIA RĂSPUNDERE"


# --------------------------------------------------------------------------------------------------
# The table


def test_the_table_has_the_contract_kinds_and_the_forms_of_the_other_requests() -> None:
    # The contract's kinds stay; issue 9 adds one per form the checklists name (README, "Forms, request types").
    names = [kind.name for kind in DOCUMENT_KINDS]
    assert set(names) >= CONTRACT_KINDS
    assert len(names) == len(set(names))
    assert names[-1] == "other"
    for kind in DOCUMENT_KINDS:
        assert kind.refines is None or kind.refines in names, kind.name
        assert kind.filename_hints, kind.name
        if kind.name != "other":
            assert kind.titles, kind.name


# --------------------------------------------------------------------------------------------------
# Classification by title


@pytest.mark.parametrize(
    "title",
    [
        ["CERERE", "pentru acordarea indemnizației de șomaj"],  # as in the annex: two lines
        ["CERERE pentru acordarea indemnizatiei de somaj"],  # no diacritics
        ["CERERE", "pentru acordarea indemnizaţiei de şomaj"],  # cedilla forms
        ["CERERE PENTRU ACORDAREA INDEMNIZAȚIEI DE ȘOMAJ"],  # capitals
        ["Cerere pentru acordarea indemnizației de șomaj"],  # sentence case, alone on its line
        ["CERERE pentru acordarea indemniza-", "ției de șomaj"],  # split and hyphenated
        ["Anexa nr. 3 CERERE pentru acordarea indemnizației de șomaj"],  # annex reference on the same line
    ],
)
def test_application_by_title(title: list[str]) -> None:
    result = classify_pdf(make_pdf([APPLICATION_BODY[0], *title, *APPLICATION_BODY[1:]]))
    assert (result.kind, result.confidence, result.also) == ("application", "title", ())


def test_the_application_mentioning_the_declaration_is_not_a_combined_pdf() -> None:
    text = extract_pdf_text(make_pdf(["CERERE", "pentru acordarea indemnizației de șomaj", *APPLICATION_BODY]))
    assert contains_phrase(text, "declarație pe propria răspundere")  # in its list of documents
    result = classify("cerere.pdf", text, {})
    assert result.kind == "application"
    assert result.also == ()


@pytest.mark.parametrize(
    "title",
    [
        "DECLARAȚIE PE PROPRIA RĂSPUNDERE",
        "DECLARATIE PE PROPRIA RASPUNDERE",
        "DECLARAŢIE PE PROPRIA RĂSPUNDERE",  # cedilla
        "Declarație pe propria răspundere",  # alone on its line
        "DECLARAȚIE PE PROPRIE RĂSPUNDERE",  # a common variant
    ],
)
def test_declaration_by_title(title: str) -> None:
    # Its body speaks of the benefit too ("în vederea acordării indemnizației de șomaj"): the title decides.
    result = classify_pdf(make_pdf(["Anexa nr. 1^1", title, *DECLARATION_BODY]))
    assert (result.kind, result.confidence, result.also) == ("declaration", "title", ())


def test_declaration_title_split_across_lines() -> None:
    result = classify_pdf(make_pdf(["DECLARAȚIE PE PROPRIA", "RĂSPUNDERE", *DECLARATION_BODY]))
    assert (result.kind, result.confidence) == ("declaration", "title")


@pytest.mark.parametrize("application_first", [True, False])
def test_combined_pdf_is_the_application_and_says_so(application_first: bool) -> None:
    application = ["CERERE", "pentru acordarea indemnizației de șomaj", *APPLICATION_BODY]
    declaration = ["DECLARAȚIE PE PROPRIA RĂSPUNDERE", *DECLARATION_BODY]
    pages = (application, declaration) if application_first else (declaration, application)
    result = classify_pdf(make_pdf(*pages))
    assert (result.kind, result.confidence, result.also) == ("application", "title", ("declaration",))
    assert "declaration" in result.evidence and "combined" in result.evidence


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        (["FIȘĂ DE ÎNREGISTRARE", "a persoanei în căutarea unui loc de muncă", "Numele ...."], "registration_form"),
        (["Fișa persoanei în căutarea unui loc de muncă", "Datele de identificare"], "registration_form"),
        (["ROMÂNIA", "CARTE DE IDENTITATE", "IDENTITY CARD", "CNP 1960523123457"], "id_document"),
        (["PAȘAPORT / PASSPORT", "Tip P"], "id_document"),
        (["Ministerul Educației", "DIPLOMĂ DE BACALAUREAT", "Se acordă"], "diploma"),
        (["CERTIFICAT DE ABSOLVIRE", "a absolvit cursul"], "diploma"),
        (["FOAIE MATRICOLĂ"], "diploma"),
        (["Curriculum vitae", "Europass", "Informații personale", "Experiența profesională"], "cv"),
        (["CARNET DE MUNCĂ", "Seria ... nr. ..."], "employment_record"),
        (["EXTRAS REVISAL", "Contract individual de muncă nr. 12"], "employment_record"),
        (["S.C. Exemplu S.R.L.", "ADEVERINȚĂ", "Prin prezenta se adeverește că angajatul ..."], "employer_certificate"),
        (["ADEVERINȚĂ DE VENIT", "eliberată de ANAF"], "other"),  # the more specific title wins
    ],
)
def test_other_kinds_by_title(lines: list[str], kind: str) -> None:
    result = classify_pdf(make_pdf(lines))
    assert (result.kind, result.confidence) == (kind, "title")


def test_a_title_in_running_text_is_no_title() -> None:
    text = "Vă transmit atașat declarație pe propria răspundere privind situația mea și alte acte."
    result = classify("scrisoare.pdf", text, {})
    assert result.confidence != "title"


def test_title_beats_file_name() -> None:
    result = classify_pdf(make_pdf(["CERERE", "pentru acordarea indemnizației de șomaj"]), "declaratie.pdf")
    assert (result.kind, result.confidence) == ("application", "title")


# --------------------------------------------------------------------------------------------------
# Classification by keywords and form fields


def test_declaration_without_a_title_by_keywords() -> None:
    result = classify_pdf(make_pdf(DECLARATION_BODY), "scan001.pdf")
    assert (result.kind, result.confidence) == ("declaration", "keywords")
    assert "nu am restricții medicale" in result.evidence


def test_application_without_a_title_by_keywords() -> None:
    result = classify_pdf(make_pdf(APPLICATION_BODY), "declaratie.pdf")
    assert (result.kind, result.confidence) == ("application", "keywords")  # keywords beat the file name


def test_one_weak_keyword_is_not_enough() -> None:
    assert classify("x.pdf", "Am lucrat la un angajator din Cluj.", {}).confidence == "none"


def test_form_fields_are_read() -> None:
    data = add_form_fields(
        make_pdf(["Formular"]),
        {
            "nume": "IONESCU POP",
            "prenume": "Maria-Elena",
            "cnp": "2960523123459",
            "nu_am_restrictii": NameObject("/Yes"),
        },
    )
    fields = pdf_form_fields(data)
    assert fields == {
        "nume": "IONESCU POP",
        "prenume": "Maria-Elena",
        "cnp": "2960523123459",
        "nu_am_restrictii": "Yes",
    }
    applicant = applicant_from_form(extract_pdf_text(data), fields)
    assert (applicant.name, applicant.cnp) == ("IONESCU POP Maria-Elena", "2960523123459")


def test_form_field_names_classify_a_form_without_title() -> None:
    data = add_form_fields(make_pdf(["Formular"]), {"restrictii_medicale": "nu", "declarant": "Maria Pop"})
    result = classify_pdf(data, "formular.pdf")
    assert (result.kind, result.confidence) == ("declaration", "keywords")
    assert "form fields" in result.evidence


def test_form_fields_with_diacritics_in_values() -> None:
    data = add_form_fields(
        make_pdf(["CERERE", "pentru acordarea indemnizației de șomaj"]), {"Numele și prenumele": "Ștefan Țurcanu"}
    )
    assert pdf_form_fields(data) == {"Numele și prenumele": "Ștefan Țurcanu"}
    assert applicant_from_form("", pdf_form_fields(data)).name == "Ștefan Țurcanu"


def test_nested_fields_signature_fields_and_loops() -> None:
    """Qualified names of nested fields; a signature value is not text; a /Kids loop ends."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Formular"]))))
    signature_value = writer._add_object(
        DictionaryObject(
            {NameObject("/Type"): NameObject("/Sig"), NameObject("/Contents"): ByteStringObject(b"\0" * 4096)}
        )
    )
    signature = writer._add_object(
        DictionaryObject(
            {
                NameObject("/FT"): NameObject("/Sig"),
                NameObject("/T"): TextStringObject("Semnatura1"),
                NameObject("/V"): signature_value,
            }
        )
    )
    child = DictionaryObject({NameObject("/T"): TextStringObject("nume"), NameObject("/V"): TextStringObject("Pop")})
    child_ref = writer._add_object(child)
    parent = DictionaryObject(
        {
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("solicitant"),
            NameObject("/Kids"): ArrayObject([child_ref]),
        }
    )
    parent_ref = writer._add_object(parent)
    child[NameObject("/Kids")] = ArrayObject([parent_ref])  # a loop back to the parent
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([parent_ref, signature])}
    )
    out = io.BytesIO()
    writer.write(out)
    assert pdf_form_fields(out.getvalue()) == {"solicitant.nume": "Pop", "Semnatura1": ""}


# --------------------------------------------------------------------------------------------------
# Classification by file name (images: no text, no OCR)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("CI.jpg", "id_document"),
        ("ci_fata.JPEG", "id_document"),
        ("copie-buletin.png", "id_document"),
        ("Carte de identitate Maria.jpg", "id_document"),
        ("pasaport.png", "id_document"),
        ("Diplomă bacalaureat.jpg", "diploma"),
        ("atestat_calificare.png", "diploma"),
        ("foaie matricola.jpg", "diploma"),
        ("CV_Europass.png", "cv"),
        ("cerere.pdf", "application"),
        ("Cerere_somaj.jpg", "application"),
        ("anexa3.pdf", "application"),
        ("cerere.pdf.p7m", "application"),
        ("Declaratie pe propria raspundere.jpg", "declaration"),
        ("declarație.png", "declaration"),
        ("anexa_1_1.pdf", "declaration"),
        ("anexa1.png", "registration_form"),
        ("fisa_inregistrare.jpg", "registration_form"),
        ("carnet_munca_p1.jpg", "employment_record"),
        ("extras-revisal.png", "employment_record"),
        ("adeverinta.png", "employer_certificate"),
        ("adeverinta_venit.jpg", "other"),
    ],
)
def test_classification_by_file_name(filename: str, kind: str) -> None:
    result = classify(filename, "", {})
    assert (result.kind, result.confidence) == (kind, "filename")


@pytest.mark.parametrize("filename", ["poza.jpg", "cimitir.png", "IMG_20240101.jpg", "scan.pdf", "", "....jpg"])
def test_no_hint_is_other(filename: str) -> None:
    assert classify(filename, "", {}) == Classification("other", "none", "no title, keywords or file name hint")


# --------------------------------------------------------------------------------------------------
# Robustness: never raises


def test_extract_text_respects_max_pages() -> None:
    data = make_pdf(*[[f"Pagina {n}"] for n in range(1, 6)])
    assert "Pagina 2" in extract_pdf_text(data, max_pages=2)
    assert "Pagina 3" not in extract_pdf_text(data, max_pages=2)
    assert "Pagina 3" in extract_pdf_text(data)
    assert "Pagina 4" not in extract_pdf_text(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        b"%PDF-1.7\n" + bytes(range(256)) * 20,
        make_pdf(["CERERE"])[:300],  # truncated
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",  # loop
    ],
)
def test_unreadable_pdfs_give_nothing(data: bytes) -> None:
    assert extract_pdf_text(data) == ""
    assert pdf_form_fields(data) == {}
    assert classify("x.pdf", extract_pdf_text(data), pdf_form_fields(data)).kind == "other"


def test_encrypted_pdf_with_a_password_gives_nothing() -> None:
    data = encrypt(make_pdf(["DECLARAȚIE PE PROPRIA RĂSPUNDERE"]), user_password="secret")
    assert extract_pdf_text(data) == ""
    assert pdf_form_fields(data) == {}
    assert classify("declaratie.pdf", "", {}).confidence == "filename"


def test_encrypted_pdf_without_a_user_password_is_read() -> None:
    data = encrypt(make_pdf(["DECLARAȚIE PE PROPRIA RĂSPUNDERE", *DECLARATION_BODY]), user_password="")
    assert classify_pdf(data).kind == "declaration"


@pytest.mark.parametrize(
    ("filename", "text", "fields"),
    [
        ("", "", {}),
        ("\x00\udcff.pdf", "\x00\udcff" * 100, {"\udcff": "\x00"}),
        ("a" * 5000, "CERERE " * 20_000, {"x" * 1000: "y" * 20_000}),
        ("a.pdf", "\n" * 1000 + "-" * 1000, {"": ""}),
    ],
)
def test_classify_never_raises(filename: str, text: str, fields: dict[str, str]) -> None:
    result = classify(filename, text, fields)
    assert result.kind in CONTRACT_KINDS
    assert result.confidence in {"title", "keywords", "filename", "none"}
