"""Issue 9 point 12: every text the citizen reads is a template file the agency can edit without touching code."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError

from intake import texts
from intake.signatures import policy

BUCHAREST = ZoneInfo("Europe/Bucharest")


@pytest.fixture(autouse=True)
def _defaults() -> object:
    yield
    texts.configure(None)  # never leak an edited folder into other tests


def test_every_packaged_template_compiles() -> None:
    catalogue = texts.Catalogue()
    assert catalogue.names() and catalogue.problems() == []


def test_an_edited_file_replaces_the_default_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    (tmp_path / "confirmare_primire.txt").write_text(
        "{% block subiect %}Am primit: {{ subiect }}{% endblock %}{% block corp %}Mulțumim.{% endblock %}",
        encoding="utf-8",
    )
    texts.configure(tmp_path)
    received = datetime(2026, 12, 7, 8, 30, tzinfo=BUCHAREST)
    assert texts.mail("confirmare_primire", subiect="Cerere", primit=received, birou_scurt="AJOFM Cluj") == (
        "Am primit: Cerere",
        "Mulțumim.",
    )
    (tmp_path / "stare_document.txt").write_text("{% if %}", encoding="utf-8")
    (tmp_path / "confirmare_primre.txt").write_text("greșit", encoding="utf-8")  # a misspelt name is never used
    problems = texts.catalogue().problems()
    assert any(p.startswith("stare_document.txt") for p in problems)
    assert any("confirmare_primre.txt" in p for p in problems)


def test_a_variable_the_code_does_not_supply_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        texts.render("stare_document", acceptat=False)  # `cod` missing


def test_romanian_dates_in_words() -> None:
    assert texts.long_date(datetime(2026, 12, 7, 8, 30, tzinfo=BUCHAREST)) == "luni, 7 decembrie 2026"


def test_document_status_names_why_it_was_not_accepted() -> None:
    assert texts.render("stare_document", acceptat=True, cod=None) == "acceptat"
    assert texts.render("stare_document", acceptat=False, cod="forbidden_attachment") == "neacceptat (format nepermis)"


def test_signature_findings_are_feminine_for_the_application_and_cite_the_order_in_full() -> None:
    text = policy.finding_message("signature_missing", "application", "cerere.pdf", "")
    assert text.startswith("Cererea pentru acordarea indemnizației de șomaj („cerere.pdf”) nu are semnătură")
    assert "art. 5 alin. (5) din Procedura" in text and "Ordinul președintelui ANOFM nr. 85/2002" in text
    plain = policy.finding_message("signature_not_qualified", "declaration", "d.pdf", "Rezumat.", label="AdES")
    assert "Declarația pe propria răspundere („d.pdf”) este semnată electronic" in plain and "semnat(ă)" not in plain


def test_ades_qc_says_exactly_what_is_missing() -> None:
    # A qualified certificate without evidence of a qualified device (QSCD): never "not based on a qualified one".
    text = policy.finding_message("signature_not_qualified", "application", "c.pdf", "", label="AdES-QC")
    assert "certificat calificat" in text and "dispozitiv calificat de creare a semnăturii (QSCD)" in text
    assert "nu este un certificat calificat" not in text


# ------------------------------------------------------------------------------------------------------------------
# The findings and notes of the attachment checks and of the signature stage (issue 9 point 12): every variant of
# every template, with the variables the code supplies, renders to the exact text.

STEP_3 = (
    "Conform pasului 3 al procedurii de comunicare electronică a AJOFM Cluj, se acceptă doar fișiere PDF, JPEG sau "
    "PNG (și semnături electronice .p7s sau .p7m)."
)
CHECK_AGAIN = "Vă rugăm să trimiteți din nou documentul, scanat sau fotografiat clar."

VARIANTS: list[tuple[str, dict[str, object], str]] = [
    # intake/validation/legibility.py
    (
        "constatare_illegible",
        dict(motiv="too_small", fisier="cerere.jpg", format="a4", latime=600, inaltime=800, dpi=68, dpi_recomandat=150),
        "Fișierul „cerere.jpg” are o rezoluție prea mică pentru a putea fi citit ca pagină A4 (210 × 297 mm): "
        "600 × 800 pixeli, adică aproximativ 68 dpi pe document. Vă rugăm să scanați sau să fotografiați documentul "
        "din nou, la cel puțin 150 dpi.",
    ),
    (
        "constatare_illegible",
        dict(motiv="too_small", fisier="ci.jpg", format="id1", latime=400, inaltime=250, dpi=95, dpi_recomandat=300),
        "Fișierul „ci.jpg” are o rezoluție prea mică pentru a putea fi citit ca carte de identitate (85,6 × 54 mm): "
        "400 × 250 pixeli, adică aproximativ 95 dpi pe document. Vă rugăm să scanați documentul din nou, la cel puțin "
        "300 dpi, sau să îl fotografiați de aproape, astfel încât să umple imaginea.",
    ),
    (
        "constatare_illegible",
        dict(
            motiv="too_small", fisier="p.jpg", format="passport", latime=500, inaltime=330, dpi=80, dpi_recomandat=300
        ),
        "Fișierul „p.jpg” are o rezoluție prea mică pentru a putea fi citit ca pagină de pașaport (125 × 88 mm): "
        "500 × 330 pixeli, adică aproximativ 80 dpi pe document. Vă rugăm să scanați documentul din nou, la cel puțin "
        "300 dpi, sau să îl fotografiați de aproape, astfel încât să umple imaginea.",
    ),
    (
        "constatare_illegible",
        dict(motiv="blank", fisier="p2.png"),
        "Fișierul „p2.png” pare să fie o pagină goală sau are un contrast prea slab pentru a putea fi citit. "
        + CHECK_AGAIN,
    ),
    (
        "constatare_illegible",
        dict(motiv="blurred", fisier="d.jpg"),
        "Fișierul „d.jpg” este neclar (imagine mișcată sau nefocalizată) și nu poate fi citit. " + CHECK_AGAIN,
    ),
    (
        "constatare_illegible",
        dict(motiv="glare", fisier="ci.jpg", procent=15),
        "Fișierul „ci.jpg” are o zonă supraexpusă (reflexie de lumină sau bliț) care acoperă o parte a documentului "
        "(aproximativ 15%), iar textul de acolo nu se poate citi. Vă rugăm să fotografiați documentul din nou, fără "
        "reflexii (de exemplu fără bliț, cu lumina din lateral).",
    ),
    (
        "constatare_illegible",
        dict(motiv="cut_off", fisier="ci.jpg", laturi=["left", "bottom"]),
        "Documentul din fișierul „ci.jpg” pare tăiat: textul continuă dincolo de marginea din stânga și marginea de "
        "jos a imaginii. Vă rugăm să trimiteți din nou documentul întreg, cu toate marginile vizibile.",
    ),
    (
        "constatare_illegible",
        dict(motiv="cut_off", fisier="c.png", laturi=["top", "right"]),
        "Documentul din fișierul „c.png” pare tăiat: textul continuă dincolo de marginea de sus și marginea din "
        "dreapta a imaginii. Vă rugăm să trimiteți din nou documentul întreg, cu toate marginile vizibile.",
    ),
    ("constatare_illegible", dict(motiv="no_pages", fisier="g.pdf"), "Fișierul PDF „g.pdf” nu conține nicio pagină."),
    (
        "constatare_illegible",
        dict(motiv="blank_pages", fisier="c.pdf", goale=1, total=1, pagini=[1], mai_multe=False, de=False),
        "Fișierul PDF „c.pdf” conține doar o pagină goală.",
    ),
    (
        "constatare_illegible",
        dict(motiv="blank_pages", fisier="a.pdf", goale=2, total=2, pagini=[1, 2], mai_multe=False, de=False),
        "Fișierul PDF „a.pdf” conține numai pagini goale (2 pagini).",
    ),
    (
        "constatare_illegible",
        dict(
            motiv="blank_pages", fisier="a.pdf", goale=20, total=20, pagini=list(range(1, 11)), mai_multe=True, de=True
        ),
        "Fișierul PDF „a.pdf” conține numai pagini goale (20 de pagini).",
    ),
    (
        "constatare_illegible",
        dict(motiv="blank_pages", fisier="a.pdf", goale=1, total=3, pagini=[2], mai_multe=False, de=False),
        "Fișierul PDF „a.pdf” are pagina goală 2. Verificați dacă ați scanat toate paginile.",
    ),
    (
        "constatare_illegible",
        dict(
            motiv="blank_pages", fisier="a.pdf", goale=12, total=30, pagini=list(range(1, 11)), mai_multe=True, de=True
        ),
        "Fișierul PDF „a.pdf” are paginile goale 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ș.a. Verificați dacă ați scanat toate "
        "paginile.",
    ),
    # intake/validation/filetypes.py
    (
        "constatare_forbidden_attachment",
        dict(motiv="format", fisier="cv.docx", format="DOCX", birou_scurt="AJOFM Cluj"),
        "Fișierul „cv.docx” are formatul DOCX, care nu este acceptat. " + STEP_3,
    ),
    (
        "constatare_forbidden_attachment",
        dict(motiv="unknown", fisier="x.dat", birou_scurt="AJOFM Cluj"),
        "Formatul fișierului „x.dat” nu a fost recunoscut și nu este acceptat. " + STEP_3,
    ),
    (
        "constatare_forbidden_attachment",
        dict(
            motiv="disguised",
            fisier="f.pdf",
            format="EXE",
            extensie="pdf",
            format_promis="PDF",
            birou_scurt="AJOFM Cluj",
        ),
        "Fișierul „f.pdf” are de fapt formatul EXE, deși extensia .pdf indică formatul PDF. Acest format nu este "
        "acceptat. " + STEP_3,
    ),
    (
        "constatare_forbidden_attachment",
        dict(
            motiv="disguised", fisier="f.png", format="", extensie="png", format_promis="PNG", birou_scurt="AJOFM Cluj"
        ),
        "Fișierul „f.png” are un format nerecunoscut, deși extensia .png indică formatul PNG. Acest format nu este "
        "acceptat. " + STEP_3,
    ),
    ("constatare_corrupt_attachment", dict(motiv="empty", fisier="x.pdf"), "Fișierul „x.pdf” este gol (0 octeți)."),
    (
        "constatare_corrupt_attachment",
        dict(motiv="damaged", fisier="s.p7s", ce="o semnătură electronică CAdES"),
        "Fișierul „s.p7s” pare a fi o semnătură electronică CAdES, dar este deteriorat sau incomplet și nu poate fi "
        "citit. Vă rugăm să îl trimiteți din nou.",
    ),
    (
        "constatare_corrupt_attachment",
        dict(motiv="too_many_pixels", fisier="m.png", format="PNG", latime=None, inaltime=None, limita="101", de=False),
        "Fișierul „m.png” este o imagine PNG, prea mare pentru a fi procesată (limita este de 101 pixeli în total). "
        "Vă rugăm să o trimiteți la o rezoluție mai mică.",
    ),
    (
        "constatare_corrupt_attachment",
        dict(motiv="too_much_memory", fisier="p.jpg", format="JPEG", latime=6000, inaltime=4000),
        "Fișierul „p.jpg” este o imagine JPEG de 6000 × 4000 pixeli salvată într-un mod (JPEG progresiv) care cere "
        "prea multă memorie pentru a fi verificată. Vă rugăm să o trimiteți la o rezoluție mai mică.",
    ),
    (
        "constatare_corrupt_attachment",
        dict(motiv="no_pages", fisier="g.pdf"),
        "Fișierul „g.pdf” este un document PDF fără nicio pagină. Vă rugăm să îl trimiteți din nou.",
    ),
    (
        "constatare_corrupt_attachment",
        dict(motiv="unverifiable", fisier="(fără nume)"),
        "Fișierul „(fără nume)” nu a putut fi verificat. Vă rugăm să îl trimiteți din nou.",
    ),
    (
        "constatare_encrypted_attachment",
        dict(motiv="password", fisier="c.pdf"),
        "Fișierul „c.pdf” este un document PDF protejat cu parolă și nu poate fi deschis. Vă rugăm să îl trimiteți "
        "din nou, fără parolă.",
    ),
    (
        "constatare_encrypted_attachment",
        dict(motiv="certificate", fisier="c.pdf"),
        "Fișierul „c.pdf” este un document PDF criptat cu certificat și nu poate fi deschis. Vă rugăm să îl "
        "trimiteți din nou, fără criptare și fără parolă.",
    ),
    (
        "constatare_oversized",
        dict(
            motiv="file_size",
            fisier="m.pdf",
            marime="15,01",
            limita="15",
            unitate="MB",
            de_marime=False,
            de_limita=False,
        ),
        "Fișierul „m.pdf” are 15,01 MB și depășește limita de 15 MB. Vă rugăm să îl trimiteți într-o variantă mai "
        "mică.",
    ),
    (
        "constatare_oversized",
        dict(
            motiv="file_size", fisier="m.pdf", marime="677", limita="100", unitate="B", de_marime=True, de_limita=True
        ),
        "Fișierul „m.pdf” are 677 de octeți și depășește limita de 100 de octeți. Vă rugăm să îl trimiteți într-o "
        "variantă mai mică.",
    ),
    # intake/stages/validate.py
    (
        "constatare_oversized",
        dict(motiv="too_many_attachments", fisier="a31.pdf", maxim=30, de=True),
        "Fișierul „a31.pdf” nu a fost verificat: mesajul are mai mult de 30 de atașamente.",
    ),
    (
        "constatare_oversized",
        dict(motiv="too_many_attachments", fisier="a3.pdf", maxim=2, de=False),
        "Fișierul „a3.pdf” nu a fost verificat: mesajul are mai mult de 2 atașamente.",
    ),
    (
        "nota_document",
        dict(
            motiv="renamed",
            fisier="a.jpg",
            extensie="jpg",
            format_promis="JPEG",
            ce_este="un document PDF",
            primit_ca="document PDF",
        ),
        "Numele fișierului „a.jpg” nu corespunde conținutului: extensia .jpg indică formatul JPEG, dar fișierul este "
        "un document PDF. A fost verificat și primit ca document PDF.",
    ),
    (
        "nota_document",
        dict(motiv="name_mismatch", fisier="t.xlsx", format="DOCX"),
        "Numele fișierului „t.xlsx” indică alt format decât conținutul (DOCX).",
    ),
    (
        "nota_document",
        dict(motiv="cades", fisier="c.pdf.p7s"),
        "Fișierul „c.pdf.p7s” este o semnătură electronică CAdES; se verifică separat.",
    ),
    ("nota_document", dict(motiv="encrypted", fisier="c.pdf"), "Documentul PDF este criptat."),
    ("nota_document", dict(motiv="p7m_content", fisier="c.pdf.p7m"), "Conținutul fișierului semnat „c.pdf.p7m”."),
    (
        "nota_document",
        dict(motiv="p7s_without_document", fisier="x.p7s"),
        "Nu s-a găsit documentul semnat de această semnătură.",
    ),
    # intake/stages/verify.py
    (
        "constatare_identity_mismatch",
        dict(
            motiv="name",
            document=policy.KIND_NAMES_RO["application"],
            semnatar="Exemplu Consult SRL",
            nume_formular="Popescu Ion",
        ),
        "Numele semnatarului (Exemplu Consult SRL) nu corespunde cu numele din cererea pentru acordarea indemnizației "
        "de șomaj (Popescu Ion).",
    ),
    (
        "constatare_identity_mismatch",
        dict(
            motiv="cnp",
            document=policy.KIND_NAMES_RO["declaration"],
            cnp_semnatar="1*********12",
            cnp_formular="2*********34",
        ),
        "CNP-ul din certificatul semnatarului (1*********12) nu corespunde cu CNP-ul din declarația pe propria "
        "răspundere (2*********34).",
    ),
    # intake/validation/id_card.py (issue 13: the identity card's MRZ against the forms and the signer)
    (
        "constatare_identity_mismatch",
        dict(
            motiv="card_cnp",
            sursa="form",
            document=policy.KIND_NAMES_RO["application"],
            cnp_act="2***********7",
            cnp_alt="2***********5",
        ),
        "CNP-ul din actul de identitate (2***********7) nu corespunde cu CNP-ul din cererea pentru acordarea "
        "indemnizației de șomaj (2***********5).",
    ),
    (
        "constatare_identity_mismatch",
        dict(
            motiv="card_cnp",
            sursa="signer",
            document=policy.KIND_NAMES_RO["declaration"],
            cnp_act="",
            cnp_alt="1***********5",
        ),
        "Data nașterii sau sexul din actul de identitate nu corespund cu CNP-ul din certificatul semnatarului pentru "
        "declarația pe propria răspundere (1***********5).",
    ),
    (
        "constatare_identity_mismatch",
        dict(
            motiv="card_name",
            sursa="signer",
            document=policy.KIND_NAMES_RO["application"],
            nume_act="POPESCU ION",
            nume_alt="Maria Ionescu",
        ),
        "Numele din actul de identitate (POPESCU ION) nu corespunde cu numele semnatarului pentru cererea pentru "
        "acordarea indemnizației de șomaj (Maria Ionescu).",
    ),
    (
        "constatare_id_expired",
        dict(expirat=date(2026, 11, 20)),
        "Actul de identitate trimis a expirat la 20.11.2026, înainte de data primirii e-mailului. Vă rugăm să "
        "prezentați la programare un act de identitate valabil.",
    ),
    *[
        (
            "constatare_id_not_checked",
            dict(motiv=motiv),
            f"Actul de identitate nu a fost verificat automat ({why}). Verificați la ghișeu numele, CNP-ul și "
            "valabilitatea actului.",
        )
        for motiv, why in (
            ("no_mrz", "zona de citire automată (MRZ) nu a fost găsită în imagine"),
            ("check_digits", "cifrele de control ale zonei de citire automată (MRZ) nu se verifică"),
            ("ocr_failed", "recunoașterea textului nu a reușit"),
            ("no_image", "documentul nu conține o imagine a actului"),
        )
    ],
    *[
        (
            "constatare_invalid_cnp",
            dict(document=policy.KIND_NAMES_RO["registration_form"], fisier="fisa.pdf", motiv=motiv),
            f"CNP-ul din fișa de înregistrare („fisa.pdf”) nu este valid: {problem}.",
        )
        for motiv, problem in (
            ("format", "nu are 13 cifre"),
            ("checksum", "cifra de control nu corespunde"),
            ("date", "data nașterii nu este validă"),
            ("county", "codul județului nu este valid"),
            ("", "nu este valid"),
        )
    ],
    (
        "constatare_third_party_signature",
        dict(
            document=policy.KIND_NAMES_RO["declaration"],
            feminin=True,
            fisier="d.pdf",
            semnatar="Popescu Ion",
            altii=["Maria Ionescu", "X SRL"],
        ),
        "Declarația pe propria răspundere („d.pdf”) este semnată de solicitant (Popescu Ion), dar poartă și "
        "semnătura: Maria Ionescu, X SRL. Verificați cine a mai semnat documentul și de ce.",
    ),
    (
        "constatare_third_party_signature",
        dict(
            document=policy.KIND_NAMES_RO["id_document"],
            feminin=False,
            fisier="ci.pdf",
            semnatar="",
            altii=["Maria Ionescu"],
        ),
        "Actul de identitate („ci.pdf”) este semnat de solicitant (semnatar necunoscut), dar poartă și semnătura: "
        "Maria Ionescu. Verificați cine a mai semnat documentul și de ce.",
    ),
    # intake/signatures/case_rule.py
    (
        "constatare_signer_mismatch",
        dict(semnatar_cerere="Popescu Ion", semnatar_declaratie="Maria Ionescu"),
        "Cererea este semnată de Popescu Ion, iar declarația de Maria Ionescu: cele două documente trebuie semnate de "
        "aceeași persoană.",
    ),
]


@pytest.mark.parametrize(("name", "context", "expected"), VARIANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_the_check_findings_render_to_their_exact_text(name: str, context: dict[str, object], expected: str) -> None:
    text = texts.render(name, **context)
    assert text == expected
    assert "^1" not in text and "(ă)" not in text and "\n" not in text


def test_every_variant_of_the_check_templates_is_exercised() -> None:
    exercised = {(name, context.get("motiv")) for name, context, _ in VARIANTS}
    for name in {name for name, _, _ in VARIANTS}:
        source = (texts.DEFAULTS / f"{name}{texts.SUFFIX}").read_text(encoding="utf-8")
        for motiv in re.findall(r'motiv == "([a-z_0-9]+)"', source):
            assert (name, motiv) in exercised, (name, motiv)
    assert "formate_acceptate" in texts.catalogue().names()


def test_the_check_modules_use_the_templates() -> None:
    from intake.validation.filetypes import check_attachment
    from intake.validation.legibility import assess_pdf

    assert (
        check_attachment("cv.docx", b"PK\x03\x04").reason
        == "Fișierul „cv.docx” are formatul ZIP, care nu este acceptat. " + STEP_3
    )
    assert check_attachment("x.pdf", b"", office_short="AJOFM Alba").reason == "Fișierul „x.pdf” este gol (0 octeți)."
    other = check_attachment("cv.docx", b"PK\x03\x04", office_short="AJOFM Alba").reason or ""
    assert "procedurii de comunicare electronică a AJOFM Alba," in other
    assert assess_pdf("x.pdf", b"not a pdf") == []


def test_an_edited_check_template_is_used_and_a_broken_one_is_not_hidden(tmp_path: Path) -> None:
    from intake.validation.filetypes import check_attachment

    (tmp_path / "constatare_corrupt_attachment.txt").write_text("Gol: {{ fisier }}.", encoding="utf-8")
    texts.configure(tmp_path)
    assert check_attachment("x.pdf", b"").reason == "Gol: x.pdf."
    (tmp_path / "constatare_corrupt_attachment.txt").write_text("Gol: {{ nume }}.", encoding="utf-8")
    texts.configure(None)
    texts.configure(tmp_path)  # a new catalogue: no cached template
    with pytest.raises(UndefinedError):
        check_attachment("x.pdf", b"")
