"""The forms of issue 9 as real PDFs, generated at test time: the benefit application (001 Anexa 3) with its boxes
and fields, the other requests of a registered person (001 Anexa 9, Art. 22; 003 Anexa 10-13, 23, 24), the
documents that go with them, and the employers' forms (003 Anexa 14-21, the three laws of 000).

fpdf2 with the DejaVu font shipped for the receipts (the PDF core fonts lack ă â î ș ț and ☐ ☒); AcroForm fields
are added with pypdf (fpdf2 cannot make them). The texts follow the seeds where the seeds have the form (Anexa 3
and 9 of 001); the Norms' annexes are not in the seeds, so those follow their articles.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from tests.pki.documents import APPLICANT, Applicant

FONT_DIR = Path(__file__).resolve().parents[1] / "intake" / "receipts" / "fonts"

TICKED, EMPTY = "☒", "☐"
# The three category boxes of Anexa 3 (001), with the instruction printed above each.
BOX_AB = "reîncadrarea în muncă nu mai este posibilă din cauza încetării definitive a activității angajatorului"
BOX_C = "reluarea activității nu mai este posibilă la angajator"
BOX_DE = "nu urmez o formă de învățământ la data solicitării dreptului la indemnizație de șomaj prin prezenta cerere"
_BOXES = (
    (
        "Se bifează numai de către persoanele provenite din muncă și pensionarii de invaliditate care își "
        "redobândesc capacitatea de muncă.",
        BOX_AB,
    ),
    (
        "Se bifează numai de către persoanele ale căror raporturi de muncă sau de serviciu au încetat în perioada "
        "de suspendare a acestora.",
        BOX_C,
    ),
    (
        "Se bifează numai de către absolvenții instituțiilor de învățământ, în vârstă de minimum 16 ani, care "
        "într-o perioadă de 60 de zile de la absolvire nu au reușit să se încadreze în muncă potrivit pregătirii "
        "profesionale, precum și de către absolvenții școlilor speciale pentru persoane cu handicap, în vârstă de "
        "minimum 16 ani, care nu au reușit să se încadreze în muncă potrivit pregătirii profesionale.",
        BOX_DE,
    ),
)

EMPLOYER = "Exemplu Construct SRL"
EMPLOYER_SEAT = "cu sediul în Cluj-Napoca, str. Fabricii nr. 1, județul Cluj, CUI RO12345678"
REPRESENTATIVE = "reprezentată legal prin Andrei Pop, în calitate de administrator"
PROXY = "prin Maria Rus, în calitate de împuternicit, conform împuternicirii nr. 5 din 02.11.2026"


# --------------------------------------------------------------------------------------------------
# Building blocks


def pdf(
    lines: Sequence[str],
    *,
    annex: str | None = None,
    title: Sequence[str] = (),
    fields: Mapping[str, str | bool] | None = None,
) -> bytes:
    """One form: the annex reference (right), the title (bold, centred), the body; then its AcroForm fields
    (text fields for strings, check boxes for booleans)."""
    document = FPDF(format="A4")
    document.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    document.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    document.set_margins(20, 20, 20)
    document.add_page()
    if annex:
        document.set_font("DejaVu", "", 9)
        document.cell(0, 5, annex, align="R", new_x="LMARGIN", new_y="NEXT")
        document.ln(3)
    if title:
        document.set_font("DejaVu", "B", 13)
        for line in title:
            document.multi_cell(0, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
        document.ln(4)
    document.set_font("DejaVu", "", 10)
    for line in lines:
        document.multi_cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
        document.ln(1.5)
    data = bytes(document.output())
    return with_fields(data, fields) if fields else data


def with_fields(data: bytes, fields: Mapping[str, str | bool]) -> bytes:
    """The PDF with an AcroForm on its first page: a text field per string, a check box per boolean."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    page = writer.pages[0]
    refs = ArrayObject()
    for index, (name, value) in enumerate(fields.items()):
        top = 800 - 22 * index
        widget: dict[Any, Any] = {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/T"): TextStringObject(name),
            NameObject("/Rect"): ArrayObject([FloatObject(x) for x in (420, top - 16, 570, top)]),
            NameObject("/F"): NumberObject(4),
        }
        if isinstance(value, bool):
            state = NameObject("/Yes" if value else "/Off")
            widget |= {NameObject("/FT"): NameObject("/Btn"), NameObject("/V"): state, NameObject("/AS"): state}
        else:
            widget |= {NameObject("/FT"): NameObject("/Tx"), NameObject("/V"): TextStringObject(value)}
        refs.append(writer._add_object(DictionaryObject(widget)))
    page[NameObject("/Annots")] = refs
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): refs})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign(data: bytes, test_pki: Any, role: str = "qes") -> bytes:
    """`data` signed (PAdES B-B) by the test PKI's `role` certificate: the applicant's QES by default."""
    from tests.pki.signing import sign_pdf

    return asyncio.run(sign_pdf(data, test_pki.pdf_signer(role)))


# --------------------------------------------------------------------------------------------------
# 001: the benefit application and the other requests of a registered person


def benefit_application(
    applicant: Applicant = APPLICANT,
    *,
    ticked: Sequence[str] = (),
    other_documents: str = "",
    situation: str = "",
    locality: str = "Cluj-Napoca",
    county: str = "Cluj",
    residence: str = "",
    fields: Mapping[str, str | bool] | None = None,
) -> bytes:
    """Anexa 3 as the seed prints it: `ticked` names the category boxes ticked (BOX_AB, BOX_C, BOX_DE);
    `situation` is a sentence in the applicant's own words; `residence`, when given, a residence line."""
    boxes = []
    for instruction, box in _BOXES:
        boxes += [instruction, f"{TICKED if box in ticked else EMPTY} {box}"]
    lines = [
        "Agenția pentru Ocuparea Forței de Muncă a Județului Cluj, cod județ 12",
        "Nr. ..... data ...............",
        f"1. Numele și prenumele: {applicant.full_name}",
        "2. Actul de identitate: tip CI, seria CJ nr. 123456, data eliberării 01.02.2021, autoritatea SPCLEP",
        f"3. Codul numeric personal: {applicant.cnp}",
        "4. Data nașterii: 23.05.1990",
        f"5. Domiciliul/Reședința: localitatea {locality}, str. Memorandumului nr. 21, ap. 4, județul/sectorul "
        f"{county}, tel. mobil 0740 000 000, e-mail ioana.stefanescu@example.ro",
        *([f"Reședința: {residence}"] if residence else []),
        "Vă rog să aprobați plata indemnizației de șomaj conform prevederilor Legii nr. 76/2002 privind sistemul "
        "asigurărilor pentru șomaj și stimularea ocupării forței de muncă, cu modificările și completările "
        "ulterioare.",
        "6. Acte prezentate în vederea acordării indemnizației de șomaj: a) actul de identitate BI/CI/AI seria CJ "
        "nr. 123456; b) declarație pe propria răspundere, sub sancțiunile aplicate faptei de fals în declarații, "
        "că persoana nu are restricții medicale care o împiedică să presteze muncă; c) adeverința de venit "
        f"prevăzută la art. 6 alin. (7); d) alte acte, după caz: {other_documents or '................'}",
        *([situation] if situation else []),
        f"Subsemnata, {applicant.full_name}, declar pe propria răspundere, sub sancțiunile prevăzute de Codul "
        "penal pentru fals în declarații, următoarele:",
        "Se bifează de către toate categoriile de solicitanți de indemnizație de șomaj.",
        f"{TICKED} nu am loc de muncă, nu realizez venituri sau realizez, din activități autorizate potrivit legii, "
        "venituri mai mici decât valoarea indicatorului social de referință",
        *boxes,
        "Mă oblig să comunic, în termen de 3 zile, agenției pentru ocuparea forței de muncă la care sunt înregistrat "
        "orice schimbare a condițiilor care au condus la acordarea dreptului.",
        f"Data: 03.11.2026                Semnătura: {applicant.full_name}",
    ]
    return pdf(
        lines, annex="Anexa nr. 3 la procedură", title=["CERERE", "pentru acordarea indemnizației de șomaj"],
        fields=fields,
    )  # fmt: skip


def reinstatement_request(applicant: Applicant = APPLICANT) -> bytes:
    """001 Anexa 9: the seed's text, which has no title."""
    return pdf(
        [
            "Către",
            "Agenția pentru ocuparea forței de muncă a județului Cluj",
            f"Subsemnatul/Subsemnata {applicant.full_name}, codul numeric personal {applicant.cnp}, cu "
            "domiciliul/reședința în Cluj-Napoca, str. Memorandumului nr. 21, ap. 4, județul/sectorul Cluj, prin "
            "prezenta vă rog să dispuneți repunerea în plată a indemnizației de șomaj, începând cu data de "
            "10.11.2026, în baza carnetului de evidență nr. 1234.",
            "În fapt, motivul suspendării a fost internarea în spital în perioada 20.10-05.11.2026.",
            f"Data: 09.11.2026        Semnătura: {applicant.full_name}",
        ],
        annex="Anexa nr. 9 la procedură",
    )


def transfer_request(applicant: Applicant = APPLICANT) -> bytes:
    """001 Art. 22: no model form; a request in the applicant's words."""
    return pdf(
        [
            "Către Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, înregistrată în evidența AJOFM Cluj cu "
            "carnetul de evidență nr. 1234, vă rog să aprobați transferul dosarului la Agenția Județeană pentru "
            "Ocuparea Forței de Muncă Sibiu, ca urmare a schimbării domiciliului în municipiul Sibiu, str. Ocnei "
            "nr. 2.",
            "Anexez copia actului de identitate care atestă noul domiciliu.",
            f"Data: 09.11.2026        Semnătura: {applicant.full_name}",
        ],
        title=["CERERE"],
    )


# --------------------------------------------------------------------------------------------------
# 003 Art. 40-45: the bonuses of a person who takes a job, and the documents that go with them


def _bonus(annex: str, title: Sequence[str], request: str, applicant: Applicant) -> bytes:
    return pdf(
        [
            "Către Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, domiciliată în Cluj-Napoca, jud. Cluj, {request}",
            f"Data: 09.11.2026        Semnătura: {applicant.full_name}",
        ],
        annex=annex,
        title=title,
    )


def allowance_application(applicant: Applicant = APPLICANT) -> bytes:
    return _bonus(
        "Anexa nr. 10 la Normele metodologice",
        ["CERERE"],
        "încadrată în muncă înainte de expirarea perioadei de acordare a indemnizației de șomaj, solicit acordarea "
        "drepturilor prevăzute la art. 72 din Legea nr. 76/2002.",
        applicant,
    )


def graduate_bonus_application(applicant: Applicant = APPLICANT) -> bytes:
    return _bonus(
        "Anexa nr. 23 la Normele metodologice",
        ["CERERE", "pentru acordarea primei pentru absolvenți"],
        "absolventă a Universității Babeș-Bolyai, solicit acordarea primei prevăzute la art. 73^1 alin. (1) din "
        "Legea nr. 76/2002.",
        applicant,
    )


def hiring_bonus_application(applicant: Applicant = APPLICANT) -> bytes:
    return _bonus(
        "Anexa nr. 11 la Normele metodologice",
        ["CERERE", "pentru acordarea primei de încadrare"],
        "solicit acordarea primei de încadrare prevăzute la art. 74 din Legea nr. 76/2002.",
        applicant,
    )


def installation_bonus_application(applicant: Applicant = APPLICANT) -> bytes:
    return _bonus(
        "Anexa nr. 12 la Normele metodologice",
        ["CERERE", "pentru acordarea primei de instalare"],
        "solicit acordarea primei de instalare prevăzute la art. 75 din Legea nr. 76/2002.",
        applicant,
    )


def undertaking(applicant: Applicant = APPLICANT) -> bytes:
    return pdf(
        [
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, mă angajez să respect prevederile art. 76 "
            "alin. (1) din Legea nr. 76/2002 și să restitui sumele primite dacă raportul de muncă încetează în "
            "primele 12 luni. Prezentul angajament constituie titlu executoriu.",
            f"Data: 09.11.2026        Semnătura: {applicant.full_name}",
        ],
        annex="Anexa nr. 13 la Normele metodologice",
        title=["ANGAJAMENT"],
    )


def employment_notice(applicant: Applicant = APPLICANT) -> bytes:
    """The employer's part of 001 Anexa 2."""
    return pdf(
        [
            "Nr. 88 data 02.11.2026",
            f"Doamna/Domnul {applicant.full_name}, cod numeric personal {applicant.cnp}, carnetul de evidență nr. "
            "1234, a fost încadrată în muncă pe durată nedeterminată începând cu data de 02.11.2026.",
            f"Angajator: {EMPLOYER}, {EMPLOYER_SEAT}",
            "Data: 02.11.2026        Semnătura angajatorului",
        ],
        annex="Anexa nr. 2 la procedură",
        title=["ÎNȘTIINȚARE", "privind încadrarea în muncă"],
    )


def employment_contract(employee: str = APPLICANT.full_name) -> bytes:
    return pdf(
        [
            "nr. 17 din 30.10.2026",
            f"A. Părțile contractului: angajatorul {EMPLOYER}, {EMPLOYER_SEAT}, și salariatul {employee}.",
            "B. Durata contractului: nedeterminată, începând cu 02.11.2026.",
            "C. Locul de muncă: Cluj-Napoca. D. Felul muncii: inginer constructor, cod COR 214201.",
            "E. Salariul de bază lunar brut: 6.000 lei. F. Durata muncii: 8 ore pe zi, 40 de ore pe săptămână.",
        ],
        title=["CONTRACT INDIVIDUAL DE MUNCĂ"],
    )


def employer_statement(subject: str = APPLICANT.full_name) -> bytes:
    """The employer's sworn statement (003 Art. 40(1) d, 43^1(2) g, 59(3))."""
    return pdf(
        [
            f"Subscrisa {EMPLOYER}, {EMPLOYER_SEAT}, {REPRESENTATIVE}, declarăm pe propria răspundere că în ultimii "
            f"2 ani nu am mai fost în raporturi de muncă sau de serviciu cu {subject} și nu avem obligația, potrivit "
            "legii, de a o angaja.",
            "Data: 02.11.2026        Semnătura și ștampila",
        ],
        title=["DECLARAȚIE PE PROPRIA RĂSPUNDERE"],
    )


def graduate_statement(applicant: Applicant = APPLICANT) -> bytes:
    """The graduate's sworn statement (003 Art. 43^1(2) f)."""
    return pdf(
        [
            f"Subsemnata {applicant.full_name}, CNP {applicant.cnp}, absolventă a Universității Babeș-Bolyai, "
            "declar pe propria răspundere că la data absolvirii studiilor și în perioada cuprinsă între această dată "
            "și încadrarea în muncă nu am avut raporturi de muncă sau de serviciu și că nu urmez o formă de "
            "învățământ.",
            f"Data: 09.11.2026        Semnătura: {applicant.full_name}",
        ],
        title=["DECLARAȚIE PE PROPRIA RĂSPUNDERE"],
    )


# --------------------------------------------------------------------------------------------------
# 001 Art. 5(4): the category documents


def employer_certificate(applicant: Applicant = APPLICANT) -> bytes:
    """The Art. 18 certificate (Norms Anexa 26)."""
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}",
            f"Prin prezenta se adeverește că {applicant.full_name}, CNP {applicant.cnp}, a fost angajată cu contract "
            "individual de muncă în perioada 01.03.2019-30.10.2026. Baza lunară de calcul a contribuției de "
            "asigurări pentru șomaj în ultimele 12 luni: 5.800 lei. Se eliberează potrivit art. 18 din Normele "
            "metodologice, anexa nr. 26.",
        ],
        title=["ADEVERINȚĂ"],
    )


def medical_review_decision(applicant: Applicant = APPLICANT) -> bytes:
    return pdf(
        [
            "Casa Județeană de Pensii Cluj – Serviciul de expertiză medicală",
            f"Asigurata {applicant.full_name}, CNP {applicant.cnp}, pensionară de invaliditate gradul III, a fost "
            "examinată la revizuirea medicală din 15.10.2026 de medicul expert al asigurărilor sociale.",
            "Concluzie: și-a redobândit capacitatea de muncă.",
        ],
        title=["DECIZIE MEDICALĂ ASUPRA CAPACITĂȚII DE MUNCĂ"],
    )


def no_vacancy_certificate(applicant: Applicant = APPLICANT) -> bytes:
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}",
            f"Se adeverește că reîncadrarea doamnei {applicant.full_name} în funcția deținută anterior pensionării "
            "de invaliditate nu este posibilă din lipsa unui post vacant corespunzător.",
        ],
        title=["ADEVERINȚĂ"],
    )


def suspension_end_document(applicant: Applicant = APPLICANT) -> bytes:
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}",
            f"Se adeverește că motivul suspendării contractului individual de muncă al doamnei {applicant.full_name} "
            "(concediu pentru creșterea copilului) a încetat la data de 30.09.2026; data încetării suspendării: "
            "30.09.2026.",
        ],
        title=["ADEVERINȚĂ"],
    )


# --------------------------------------------------------------------------------------------------
# 003 Art. 48-62 and the three laws of 000: the employer's forms


def convention(annex: str, subject: str, signer: str = REPRESENTATIVE, extra: Sequence[str] = ()) -> bytes:
    """A convention with the agency (Anexa 14, 15, 19): `subject` says for which measure."""
    return pdf(
        [
            "nr. ..... din .....",
            f"încheiată între Agenția Județeană pentru Ocuparea Forței de Muncă Cluj și {EMPLOYER}, {EMPLOYER_SEAT}, "
            f"{signer}, {subject}",
            *extra,
            "Angajator: semnătura și ștampila",
        ],
        annex=annex,
        title=["CONVENȚIE"],
    )


def graduate_convention(signer: str = REPRESENTATIVE) -> bytes:
    return convention(
        "Anexa nr. 15 la Normele metodologice",
        "pentru încadrarea în muncă a absolvenților instituțiilor de învățământ, potrivit art. 80 din Legea "
        "nr. 76/2002.",
        signer,
    )


def disadvantaged_convention(ticked: Sequence[str] = (), signer: str = REPRESENTATIVE) -> bytes:
    """Anexa 19: the categories of art. 85 as boxes, `ticked` those chosen (texts of the boxes below)."""
    boxes = [
        f"{TICKED if box in ticked else EMPTY} {box}"
        for box in (
            "persoane cu handicap",
            "șomeri în vârstă de peste 45 de ani",
            "șomeri părinți unici susținători ai familiilor monoparentale",
            "șomeri care în termen de 3 ani îndeplinesc condițiile de pensie anticipată parțială sau pentru limită "
            "de vârstă",
        )
    ]
    return convention(
        "Anexa nr. 19 la Normele metodologice",
        "pentru încadrarea în muncă a șomerilor din categoriile prevăzute la art. 85 din Legea nr. 76/2002:",
        signer,
        boxes,
    )


def nominal_table(annex: str, subject: str) -> bytes:
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}",
            subject,
            "Nr. crt. | Numele și prenumele | CNP | Data încadrării | Zile lucrate | Suma cuvenită",
            "1 | Radu Marin | 1900101120018 | 02.05.2026 | 21 | 2.500 lei",
            "Reprezentant legal: Andrei Pop, în calitate de administrator",
        ],
        annex=annex,
        title=["TABEL NOMINAL"],
    )


def graduate_monthly_table() -> bytes:
    return nominal_table(
        "Anexa nr. 16 la Normele metodologice",
        "cu absolvenții încadrați potrivit art. 80 din Legea nr. 76/2002, pentru luna octombrie 2026",
    )


def timesheet() -> bytes:
    return pdf(
        [f"{EMPLOYER} – luna octombrie 2026", "Radu Marin: 21 de zile, 168 ore lucrate"],
        title=["FOAIE COLECTIVĂ DE PREZENȚĂ"],
    )


def payroll() -> bytes:
    return pdf(
        [f"{EMPLOYER} – luna octombrie 2026", "Radu Marin: total venit brut 6.000 lei, rest de plată 3.510 lei"],
        title=["STAT DE PLATĂ"],
    )


def contribution_reduction_application(signer: str = REPRESENTATIVE) -> bytes:
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}, {signer}, solicităm reducerea contribuției de 2,5% datorate bugetului "
            "asigurărilor pentru șomaj, potrivit art. 93 din Legea nr. 76/2002, pentru anul fiscal 2025.",
            "Data: 02.11.2026        Semnătura și ștampila",
        ],
        annex="Anexa nr. 21 la Normele metodologice",
        title=["CERERE"],
    )


def hires_table() -> bytes:
    return nominal_table(
        "Art. 62 alin. (1) lit. a) din Normele metodologice",
        "cu persoanele încadrate din rândul șomerilor și menținute în activitate cel puțin 6 luni",
    )


def law_request(law: str, measure: str, signer: str = REPRESENTATIVE) -> bytes:
    """The request of an employer under Law 279/2005, 335/2013 or 72/2007 (no model in the seeds)."""
    return pdf(
        [
            "Către Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            f"{EMPLOYER}, {EMPLOYER_SEAT}, {signer}, solicităm {measure}, potrivit Legii nr. {law}.",
            "Data: 02.11.2026        Semnătura și ștampila",
        ],
        title=["CERERE"],
    )


def power_of_attorney() -> bytes:
    return pdf(
        [
            f"{EMPLOYER}, {EMPLOYER_SEAT}, {REPRESENTATIVE}, împuternicim pe doamna Maria Rus să semneze și să "
            "depună în numele și pe seama societății documentele pentru convenția cu AJOFM Cluj.",
        ],
        title=["ÎMPUTERNICIRE"],
    )
