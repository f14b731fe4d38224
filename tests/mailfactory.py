"""Realistic Romanian submissions for tests, with attachments generated in code."""

from __future__ import annotations

import io
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from fpdf import FPDF
from PIL import Image

FONT = Path(__file__).resolve().parents[1] / "intake" / "receipts" / "fonts" / "DejaVuSans.ttf"

CONSENT = "Sunt de acord cu derularea procedurii prin intermediul poștei electronice."


def pdf_document(title: str = "CERERE pentru acordarea indemnizației de șomaj", pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=12)
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(
            0, 8, f"{title}\nPagina {page + 1} din {pages}\nSubsemnatul Ion Popescu, domiciliat în Cluj-Napoca."
        )
    return bytes(pdf.output())


def scanned_page(width: int = 1240, height: int = 1754, color: tuple[int, int, int] = (245, 245, 240)) -> Image.Image:
    """A legible 'scan': an A4 page at 150 dpi with lines of dark text, as a phone or scanner would send."""
    from PIL import ImageDraw, ImageFont

    page = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 28)
    for line in range(40):
        draw.text(
            (90, 90 + line * 40),
            f"Rândul {line + 1}: ROMÂNIA · CARTE DE IDENTITATE · Ion Popescu",
            fill=(20, 20, 20),
            font=font,
        )
    return page


def jpeg_image(width: int = 1240, height: int = 1754, color: tuple[int, int, int] = (245, 245, 240)) -> bytes:
    buffer = io.BytesIO()
    scanned_page(width, height, color).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def png_image(width: int = 1240, height: int = 1754) -> bytes:
    buffer = io.BytesIO()
    scanned_page(width, height).save(buffer, "PNG")
    return buffer.getvalue()


def submission(
    sender: str = "ion.popescu@example.ro",
    sender_name: str = "Ion Popescu",
    subject: str = "Cerere indemnizație de șomaj",
    body: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{sender_name} <{sender}>"
    message["To"] = "cluj@anofm.gov.ro"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.ro")
    if date is not None:
        message["Date"] = format_datetime(date)
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(body or f"Bună ziua,\n\nVă trimit cererea și documentele.\n{CONSENT}\n\nIon Popescu\n")
    for filename, data, mime in attachments or []:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def good_submission(sender: str = "ion.popescu@example.ro", **kwargs: object) -> EmailMessage:
    attachments = [
        ("cerere indemnizație șomaj.pdf", pdf_document(pages=2), "application/pdf"),
        ("buletin.jpg", jpeg_image(), "image/jpeg"),
        ("diplomă.png", png_image(), "image/png"),
    ]
    return submission(sender=sender, attachments=attachments, **kwargs)  # type: ignore[arg-type]


def auto_reply(sender: str = "maria.ionescu@example.ro") -> EmailMessage:
    message = submission(
        sender=sender,
        sender_name="Maria Ionescu",
        subject="Răspuns automat: Cerere",
        body="Sunt în concediu până pe 2 decembrie.",
        extra_headers={"Auto-Submitted": "auto-replied"},
    )
    return message


def bounce(original_recipient: str = "nobody@example.ro") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.ro>\r\n"
        "To: cluj@anofm.gov.ro\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.ro>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.ro\r\n\r\nFinal-Recipient: rfc822; {original_recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n--b1--\r\n"
    ).encode()
