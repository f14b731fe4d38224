"""The sample mail of `intake demo`: what citizens (and their mail servers) really send the agency.

Everything is generated here, attachments included, so the repository holds no binary sample files and
every run starts from the same known content.
"""

from __future__ import annotations

import email
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import cast

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from intake.demo_pki import DemoSigner
from intake.validation import mrz
from intake.validation.identity import validate_cnp
from intake.validation.text import normalize

FONT_PATH = Path(__file__).parent / "receipts" / "fonts" / "DejaVuSans.ttf"
AGENCY_ADDRESS = "cluj@anofm.gov.ro"
CONSENT = "Sunt de acord cu derularea procedurii prin e-mail."

# The applicant of the complete sample: an invented person with a valid CNP (man, 12.04.1985, county 12 = Cluj).
APPLICANT_GIVEN, APPLICANT_SURNAME = "Ion", "Popescu"
APPLICANT_CNP = "1850412121238"
APPLICANT_ADDRESS = "Cluj-Napoca, str. Horea nr. 10, ap. 3, județul Cluj"


@dataclass(frozen=True)
class Sample:
    key: str  # short name used in the demo's output
    description: str  # what the sample shows, in one line
    message: EmailMessage
    received_at: datetime  # the INTERNALDATE given to IMAP APPEND
    expects_reply: bool


# --------------------------------------------------------------------------------------------------
# Attachments


def application_pdf(applicant: str) -> bytes:
    """A two-page "cerere" in Romanian: the DejaVu font, because the PDF core fonts lack ă ș ț."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT_PATH))
    pdf.set_font("DejaVu", size=13)
    pdf.add_page()
    pdf.multi_cell(0, 8, "CERERE pentru acordarea indemnizației de șomaj", align="C")
    pdf.ln(6)
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(
        0,
        7,
        f"Subsemnatul(a) {applicant}, domiciliat(ă) în Cluj-Napoca, județul Cluj, solicit acordarea "
        "indemnizației de șomaj în conformitate cu prevederile Legii nr. 76/2002 privind sistemul "
        "asigurărilor pentru șomaj și stimularea ocupării forței de muncă.",
    )
    pdf.add_page()
    pdf.multi_cell(
        0,
        7,
        "Declar pe propria răspundere că datele înscrise în prezenta cerere sunt corecte și complete.\n\n"
        f"Data: {datetime.now():%d.%m.%Y}        Semnătura: {applicant}",
    )
    return bytes(pdf.output())


def _form(title: str, annex: str, paragraphs: list[str]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT_PATH))
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, annex, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=13)
    pdf.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6.5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


def complete_application_pdf(day: str) -> bytes:
    """Anexa 3 of the procedure (001), filled in: who, where, and the category A box ticked (from employment)."""
    name = f"{APPLICANT_GIVEN} {APPLICANT_SURNAME}"
    return _form(
        "CERERE pentru acordarea indemnizației de șomaj",
        "Anexa nr. 3",
        [
            "Către Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            f"Subsemnatul {name}, CNP {APPLICANT_CNP}, domiciliat în {APPLICANT_ADDRESS}, telefon 0740 123 456,",
            "în temeiul Legii nr. 76/2002 privind sistemul asigurărilor pentru șomaj și stimularea ocupării forței de "
            "muncă, solicit acordarea indemnizației de șomaj.",
            "[x] Nu am loc de muncă și nu realizez venituri.",
            "[x] Reîncadrarea în muncă nu mai este posibilă datorită încetării definitive a activității angajatorului.",
            "Raportul de muncă a încetat prin concediere, în temeiul art. 65 alin. (1) din Codul muncii.",
            "Anexez: copia actului de identitate, copia diplomei, adeverința angajatorului (anexa nr. 26 la "
            "Normele metodologice), declarația pe propria răspundere (anexa nr. 1¹).",
            f"Data: {day}",
            f"Semnătura: {name} (semnătură electronică calificată)",
        ],
    )


def complete_declaration_pdf(day: str) -> bytes:
    """Anexa 1¹: the sworn statement on medical restrictions, as the benefit requires (001 Art. 5(3) c)."""
    name = f"{APPLICANT_GIVEN} {APPLICANT_SURNAME}"
    return _form(
        "DECLARAȚIE PE PROPRIA RĂSPUNDERE",
        "Anexa nr. 1^1",
        [
            f"Subsemnatul {name}, CNP {APPLICANT_CNP}, domiciliat în {APPLICANT_ADDRESS},",
            "cunoscând prevederile art. 326 din Codul penal privind falsul în declarații, declar pe propria "
            "răspundere că:",
            "[x] nu am restricții medicale care să mă împiedice să prestez o muncă.",
            f"Data: {day}",
            f"Semnătura: {name} (semnătură electronică calificată)",
        ],
    )


def employer_certificate_pdf() -> bytes:
    """The employer's certificate of Art. 18 of the Norms (model: Anexa 26), required for category A."""
    return _form(
        "ADEVERINȚĂ",
        "Anexa nr. 26 la Normele metodologice",
        [
            "SC Exemplu Producție SRL, cu sediul în Cluj-Napoca, CUI RO12345674, adeverește că domnul "
            f"{APPLICANT_GIVEN} {APPLICANT_SURNAME}, CNP {APPLICANT_CNP}, a fost angajat cu contract individual de "
            "muncă pe durată nedeterminată în perioada 01.03.2015 - 30.10.2026.",
            "Raportul de muncă a încetat la data de 30.10.2026, în temeiul art. 65 alin. (1) din Codul muncii.",
            "Baza lunară de calcul a contribuției de asigurări pentru șomaj, pentru ultimele 12 luni, este "
            "înscrisă în tabelul anexat; contribuția a fost reținută și virată integral (art. 18 din Normele "
            "metodologice de aplicare a Legii nr. 76/2002).",
            "Administrator, Maria Exemplu",
        ],
    )


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def id_card_jpeg(name: str) -> bytes:
    """A 1200x800 "scan" of an identity card: large enough to be realistic, small enough to be quick."""
    image = Image.new("RGB", (1200, 800), (214, 226, 236))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((40, 40, 1160, 760), radius=36, outline=(40, 70, 120), width=6)
    draw.text((80, 80), "ROMÂNIA", font=_font(48), fill=(30, 50, 110))
    draw.text((80, 150), "CARTE DE IDENTITATE", font=_font(40), fill=(30, 50, 110))
    draw.rectangle((80, 230, 380, 580), fill=(170, 180, 195))  # where the photo goes
    draw.text((440, 260), f"Nume / Nom: {name.split()[-1].upper()}", font=_font(34), fill=(0, 0, 0))
    draw.text((440, 330), f"Prenume: {name.split()[0]}", font=_font(34), fill=(0, 0, 0))
    draw.text((440, 400), "Domiciliu: Mun. Cluj-Napoca, jud. Cluj", font=_font(28), fill=(0, 0, 0))
    draw.text((440, 470), "Seria CJ  Nr. 123456", font=_font(28), fill=(0, 0, 0))
    # The machine-readable zone (classic card, ICAO 9303 TD2) the verify stage reads and compares with the forms.
    born = validate_cnp(APPLICANT_CNP, today=date(2026, 1, 1))
    assert born.birth_date is not None and born.sex is not None
    lines = mrz.compose(
        "TD2",
        surname=normalize(name.split()[-1]).upper(),
        given=normalize(" ".join(name.split()[:-1])).upper(),
        number="CJ123456",
        birth=born.birth_date,
        sex=born.sex,
        expiry=born.birth_date.replace(year=2034),
        cnp=APPLICANT_CNP,
    )
    for index, line in enumerate(lines):
        draw.text((70, 630 + 52 * index), line, font=_font(40), fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def diploma_png(name: str) -> bytes:
    """A diploma scanned at 150 dpi: an A4 sheet in landscape, 1754 x 1240 pixels (legible, like a real scan)."""
    image = Image.new("RGB", (1754, 1240), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 1714, 1200), outline=(120, 90, 30), width=12)
    draw.text((420, 160), "DIPLOMĂ DE BACALAUREAT", font=_font(72), fill=(90, 60, 20))
    draw.text((200, 440), f"Se acordă absolventului {name}", font=_font(54), fill=(0, 0, 0))
    draw.text((200, 560), "Liceul Teoretic „Avram Iancu” din Cluj-Napoca", font=_font(48), fill=(0, 0, 0))
    draw.text((200, 680), "Media generală: 8,75", font=_font(48), fill=(0, 0, 0))
    draw.text((200, 1000), "Director,                                   Secretar,", font=_font(40), fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(150, 150))
    return out.getvalue()


def minimal_docx() -> bytes:
    """The smallest zip Word would call a document: what a citizen sends instead of a PDF."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Curriculum vitae – Maria Ionescu</w:t></w:r></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def heic_stub() -> bytes:
    """The ISO-BMFF header of an iPhone photo: enough for content sniffing to recognise HEIC."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return (len(ftyp) + 4).to_bytes(4, "big") + ftyp + bytes(512)


def truncated_jpeg(name: str) -> bytes:
    """A scan cut off half-way, as after an interrupted upload from a phone."""
    data = id_card_jpeg(name)
    return data[: len(data) // 2]


# --------------------------------------------------------------------------------------------------
# Messages


def _message(sender: str, subject: str, sent_at: datetime, body: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"AJOFM Cluj <{AGENCY_ADDRESS}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    message.set_content(body)
    return message


def _attach(message: EmailMessage, data: bytes, filename: str, mime: str) -> None:
    maintype, subtype = mime.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)


def good_submission(received_at: datetime, signer: DemoSigner | None = None) -> Sample:
    """A complete benefit request (001 Art. 5): the application and the declaration signed with a qualified
    signature (Art. 5(5)), the ID card, the diploma and, for a person coming from employment (category A), the
    employer's certificate; the consent in the e-mail (000 step 4). Without `signer` the forms are unsigned."""
    name = f"{APPLICANT_GIVEN} {APPLICANT_SURNAME}"
    day = f"{received_at:%d.%m.%Y}"
    message = _message(
        f"{name} <ion.popescu@example.ro>",
        "Cerere indemnizație de șomaj",
        received_at - timedelta(seconds=40),
        "Bună ziua,\n\n"
        "Vă trimit cererea pentru acordarea indemnizației de șomaj și declarația, semnate electronic, copia "
        "actului de identitate, diploma și adeverința de la angajator.\n"
        f"{CONSENT}\n\nCu stimă,\n{name}\nTel. 0740 123 456\n",
        "<5f3a9c21.popescu@example.ro>",
    )
    application, declaration = complete_application_pdf(day), complete_declaration_pdf(day)
    if signer is not None:
        application, declaration = signer.sign_pdf(application), signer.sign_pdf(declaration)
    _attach(message, application, "cerere-indemnizatie.pdf", "application/pdf")
    _attach(message, declaration, "declaratie-anexa-1-1.pdf", "application/pdf")
    _attach(message, id_card_jpeg(name), "buletin.jpg", "image/jpeg")
    _attach(message, diploma_png(name), "diploma-bacalaureat.png", "image/png")
    _attach(message, employer_certificate_pdf(), "adeverinta-angajator.pdf", "application/pdf")
    return Sample(
        "good",
        "complete benefit request: signed forms (QES), ID, diploma, employer certificate",
        message,
        received_at,
        True,
    )


def forbidden_attachments(received_at: datetime) -> Sample:
    name = "Maria Ionescu"
    message = _message(
        f"{name} <maria.ionescu@example.com>",
        "Dosar șomaj – Maria Ionescu",
        received_at - timedelta(seconds=25),
        "Bună ziua,\n\nAtașez cererea, CV-ul și poza buletinului făcută cu telefonul.\n"
        f"{CONSENT}\n\nMulțumesc,\nMaria Ionescu\n",
        "<CAF3kq9wE1@mail.example.com>",
    )
    _attach(message, application_pdf(name), "cerere.pdf", "application/pdf")
    _attach(
        message,
        minimal_docx(),
        "CV Maria Ionescu.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    _attach(message, heic_stub(), "IMG_4032.HEIC", "image/heic")
    return Sample("forbidden", "a .docx and an iPhone .heic next to a valid PDF", message, received_at, True)


def corrupt_images(received_at: datetime) -> Sample:
    name = "Andrei Mureșan"
    message = _message(
        f"{name} <andrei.muresan@example.net>",
        "Documente pentru dosarul de șomaj",
        received_at - timedelta(seconds=70),
        f"Bună ziua,\n\nVă trimit buletinul și adeverința de la angajator.\n{CONSENT}\n\nAndrei Mureșan\n",
        "<a1b2c3d4.muresan@example.net>",
    )
    _attach(message, truncated_jpeg(name), "buletin.jpg", "image/jpeg")
    _attach(message, application_pdf(name), "adeverinta.jpg", "image/jpeg")
    return Sample("corrupt", "a truncated JPEG and a PDF named .jpg (accepted as PDF)", message, received_at, True)


def out_of_office(received_at: datetime) -> Sample:
    message = _message(
        "Elena Pop <elena.pop@example.org>",
        "Răspuns automat: Programare la AJOFM Cluj",
        received_at - timedelta(seconds=5),
        "Bună ziua,\n\nSunt în concediu până pe 2 decembrie, cu acces limitat la e-mail.\n"
        "Pentru urgențe vă rog să o contactați pe colega mea.\n\nElena Pop\n",
        "<autoreply.7781@example.org>",
    )
    message["In-Reply-To"] = "<intake.cj.41.receipt@anofm.gov.ro>"
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    return Sample("auto-reply", "an out-of-office answer: must not be answered", message, received_at, False)


_BOUNCE = """\
From: Mail Delivery System <MAILER-DAEMON@mx.example.ro>
To: {agency}
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: <bounce.4471@mx.example.ro>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="bounce-boundary-4471"

--bounce-boundary-4471
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.example.ro.

I'm sorry to have to inform you that your message could not be delivered to one or more
recipients.

<gheorghe.vlad@example.ro>: host mx.example.ro said: 550 5.1.1 User unknown

--bounce-boundary-4471
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ro
Arrival-Date: {date}

Final-Recipient: rfc822; gheorghe.vlad@example.ro
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--bounce-boundary-4471
Content-Type: text/rfc822-headers

From: AJOFM Cluj <{agency}>
To: gheorghe.vlad@example.ro
Subject: {bounced_subject}
Message-ID: <intake.cj.37.receipt@anofm.gov.ro>
Auto-Submitted: auto-replied

--bounce-boundary-4471--
"""


def bounce(received_at: datetime) -> Sample:
    # The bounced message: yesterday's receipt to a mistyped address.
    yesterday = received_at - timedelta(days=1)
    bounced_subject = Header(f"Recipisă nr. 37/{yesterday:%d.%m.%Y}", "utf-8").encode()
    raw = _BOUNCE.format(
        agency=AGENCY_ADDRESS,
        date=format_datetime(received_at - timedelta(seconds=3)),
        bounced_subject=bounced_subject,
    )
    message = cast(EmailMessage, email.message_from_string(raw, policy=policy.default))
    return Sample("bounce", "a delivery-status report from MAILER-DAEMON", message, received_at, False)


SAMPLE_BUILDERS = (good_submission, forbidden_attachments, corrupt_images, out_of_office, bounce)


def build_samples(now: datetime, signer: DemoSigner | None = None) -> list[Sample]:
    """The samples, received a few minutes apart earlier today (`now` is aware, in the office zone); `signer`
    signs the forms of the complete sample.

    Near midnight the gaps shrink, so every sample is still received "today" and before `now`.
    """
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    count = len(SAMPLE_BUILDERS)
    gap = min(timedelta(minutes=4), (now - midnight) / (count + 1))
    first = now - gap * count
    return [
        good_submission(first + gap * index, signer) if builder is good_submission else builder(first + gap * index)
        for index, builder in enumerate(SAMPLE_BUILDERS)
    ]
