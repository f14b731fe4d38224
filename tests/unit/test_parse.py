"""Unit tests for intake.mailbox.parse: MIME structure, Romanian names, broken input, TNEF."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

from intake.mailbox.parse import Attachment, ParsedMessage, parse_message, safe_filename, unpack_tnef
from tests.shared_corpus import corpus

CORPUS = corpus()
TNEF_BLOBS = CORPUS / "mail" / "_aux_raw_tnef_not_messages"

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _message(subject: str = "Cerere indemnizație de șomaj") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ion Popescu <ion.popescu@Example.RO>"
    msg["To"] = "inregistrare@ajofm-cluj.ro"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 12 May 2025 10:30:00 +0300"
    msg["Message-ID"] = "<abc.123@example.ro>"
    return msg


def _raw(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=SMTP)


def _names(parsed: ParsedMessage) -> list[str]:
    return [a.filename for a in parsed.attachments]


# --- headers ----------------------------------------------------------------------------------------


def test_simple_message_headers_are_decoded() -> None:
    msg = _message()
    msg["References"] = "<a@x.ro> <b@x.ro>"
    msg["In-Reply-To"] = "<b@x.ro>"
    msg.set_content("Bună ziua, atașez documentele.")
    parsed = parse_message(_raw(msg))

    assert parsed.message_id == "<abc.123@example.ro>"
    assert parsed.from_address == "ion.popescu@example.ro"
    assert parsed.from_name == "Ion Popescu"
    assert parsed.to == ("inregistrare@ajofm-cluj.ro",)
    assert parsed.subject == "Cerere indemnizație de șomaj"
    assert parsed.date == datetime(2025, 5, 12, 7, 30, tzinfo=UTC)
    assert parsed.in_reply_to == "<b@x.ro>"
    assert parsed.references == ("<a@x.ro>", "<b@x.ro>")
    assert parsed.text_body.strip() == "Bună ziua, atașez documentele."
    assert parsed.html_body is None
    assert parsed.attachments == ()
    assert parsed.content_type == "text/plain"
    assert parsed.defects == ()


def test_rfc2047_subject_and_display_name_keep_diacritics() -> None:
    raw = (
        b"From: =?UTF-8?Q?=C8=98tefan_=C8=9Airiac?= <stefan@EXAMPLE.ro>\r\n"
        b"Subject: =?UTF-8?B?RGVjbGFyYcibaWUgcGUgcHJvcHJpZSByxINzcHVuZGVyZQ==?=\r\n"
        b"\r\nx\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_name == "Ștefan Țiriac"
    assert parsed.from_address == "stefan@example.ro"
    assert parsed.subject == "Declarație pe proprie răspundere"


def test_raw_utf8_header_bytes_are_decoded() -> None:
    raw = "From: Ana <ana@example.ro>\r\nSubject: adeverință șomaj\r\n\r\nx\r\n".encode()
    assert parse_message(raw).subject == "adeverință șomaj"


def test_missing_message_id_from_date_subject() -> None:
    parsed = parse_message(b"To: a@b.ro\r\n\r\nhello\r\n")
    assert parsed.message_id is None
    assert parsed.from_address is None
    assert parsed.from_name is None
    assert parsed.date is None
    assert parsed.subject == ""
    assert parsed.return_path is None
    assert {"missing Message-ID", "missing From", "missing Date"} <= set(parsed.defects)
    assert parsed.text_body.strip() == "hello"


def test_blank_message_id_is_none() -> None:
    assert parse_message(b"Message-ID:   \r\nFrom: a@b.ro\r\n\r\nx").message_id is None


def test_null_return_path_and_first_header_wins() -> None:
    raw = (
        b"Return-Path: <>\r\nReturn-Path: <other@x.ro>\r\nFrom: MAILER-DAEMON@mx.example.ro\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nx"
    )
    parsed = parse_message(raw)
    assert parsed.return_path == ""
    assert parsed.headers["return-path"] == "<>"
    assert parsed.headers["auto-submitted"] == "auto-replied"


def test_header_that_crashes_modern_policy_falls_back() -> None:
    raw = (
        b"From: Post Office <postmaster@example.com>\r\nTo: unlisted-recipients:; (no To-header on input)\r\n"
        b"Subject: x\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.to == ()
    assert parsed.headers["to"].startswith("unlisted-recipients")
    assert parsed.from_address == "postmaster@example.com"


def test_bad_date_is_none_with_defect_and_minus_zero_is_utc() -> None:
    bad = parse_message(b"From: a@b.ro\r\nDate: Thursday, 27:39 of never\r\n\r\nx")
    assert bad.date is None
    assert "unparseable Date" in bad.defects
    utc = parse_message(b"From: a@b.ro\r\nDate: Mon, 12 May 2025 10:30:00 -0000\r\n\r\nx")
    assert utc.date == datetime(2025, 5, 12, 10, 30, tzinfo=UTC)


def test_from_without_domain_is_none() -> None:
    parsed = parse_message(b"From: MAILER-DAEMON\r\n\r\nx")
    assert parsed.from_address is None
    assert parsed.headers["from"] == "MAILER-DAEMON"
    assert "unparseable From" in parsed.defects


# --- structure --------------------------------------------------------------------------------------


def test_nested_mixed_alternative_related_with_inline_image() -> None:
    msg = _message()
    msg.set_content("Text simplu.")
    msg.add_alternative('<p>Text <b>HTML</b> &amp; imagine <img src="cid:poza1"></p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<poza1>")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="cerere.pdf")
    parsed = parse_message(_raw(msg))

    assert parsed.content_type == "multipart/mixed"
    assert parsed.text_body.strip() == "Text simplu."
    assert parsed.html_body is not None and "<b>HTML</b>" in parsed.html_body
    image, pdf = parsed.attachments
    assert (image.declared_type, image.origin, image.data) == ("image/png", "inline", PNG)
    assert image.filename == "atasament-1.png" and image.original_filename is None
    assert (pdf.filename, pdf.declared_type, pdf.origin, pdf.data) == (
        "cerere.pdf",
        "application/pdf",
        "attachment",
        PDF,
    )


def test_html_only_message_gets_plain_text_rendering() -> None:
    msg = _message()
    msg.set_content(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Bun&#259; ziua,</p>"
        "<p>v&#259; rog &icirc;nregistra&#539;i cererea &amp; actele.</p></body></html>",
        subtype="html",
    )
    parsed = parse_message(_raw(msg))
    assert parsed.text_body == "Bună ziua,\n\nvă rog înregistrați cererea & actele."
    assert parsed.html_body is not None and "<script>" in parsed.html_body


def test_forwarded_message_contributes_only_its_attachments() -> None:
    inner = _message("Documente")
    inner.set_content("Textul mesajului redirecționat.")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="adeverinta.pdf")
    outer = _message("Fwd: Documente")
    outer.set_content("Vă trimit mesajul de mai jos.")
    outer.add_attachment(inner)
    parsed = parse_message(_raw(outer))

    assert parsed.text_body.strip() == "Vă trimit mesajul de mai jos."
    assert [(a.filename, a.origin, a.data) for a in parsed.attachments] == [("adeverinta.pdf", "forwarded", PDF)]


def test_zero_byte_attachment_is_kept() -> None:
    msg = _message()
    msg.set_content("x")
    msg.add_attachment(b"", maintype="application", subtype="pdf", filename="gol.pdf")
    (att,) = parse_message(_raw(msg)).attachments
    assert (att.filename, att.data) == ("gol.pdf", b"")


def test_unnamed_attachment_gets_generated_name() -> None:
    raw = (
        b"From: a@b.ro\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nbody\r\n--XX\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(PDF)
        + b"\r\n--XX\r\nContent-Type: application/x-weird-thing\r\n\r\nzz\r\n--XX--\r\n"
    )
    parsed = parse_message(raw)
    assert _names(parsed) == ["atasament-1.pdf", "atasament-2.bin"]
    assert parsed.attachments[0].data == PDF


def test_multipart_report_leaves_are_listed() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.ro\r\nContent-Type: multipart/report; report-type=delivery-status;"
        b" boundary=R\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--R\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.ro\r\n\r\n"
        b"Final-Recipient: rfc822; x@y.ro\r\nAction: failed\r\nStatus: 5.1.1\r\n--R--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.content_type == "multipart/report"
    assert parsed.text_body.strip() == "Delivery failed."
    (status,) = parsed.attachments
    assert status.declared_type == "message/delivery-status"
    assert b"Status: 5.1.1" in status.data


# --- filenames --------------------------------------------------------------------------------------


def _with_filename_header(disposition: bytes, ctype: bytes = b"application/pdf") -> bytes:
    return (
        b"From: a@b.ro\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nx\r\n--B\r\nContent-Type: " + ctype + b"\r\n"
        b"Content-Disposition: " + disposition + b"\r\n\r\ndata\r\n--B--\r\n"
    )


def test_rfc2231_filename_with_diacritics() -> None:
    raw = _with_filename_header(b"attachment; filename*=UTF-8''cerere%20%C8%99omaj.pdf")
    (att,) = parse_message(raw).attachments
    assert att.filename == att.original_filename == "cerere șomaj.pdf"


def test_rfc2231_continuations_in_iso_8859_2_keep_cedilla_forms() -> None:
    # ISO-8859-2 only has the cedilla letters (ş ţ), which is what older Windows mail sends.
    raw = _with_filename_header(b"attachment; filename*0*=iso-8859-2''%BAomaj%20;\r\n filename*1*=%FEar%E3.pdf")
    (att,) = parse_message(raw).attachments
    assert att.filename == "şomaj ţară.pdf"


def test_rfc2047_filename_as_outlook_sends_it() -> None:
    encoded = b"=?UTF-8?B?" + base64.b64encode("declarație.pdf".encode()) + b"?="
    raw = _with_filename_header(b'attachment; filename="' + encoded + b'"')
    (att,) = parse_message(raw).attachments
    assert att.filename == "declarație.pdf"


def test_name_parameter_used_when_no_disposition() -> None:
    raw = _with_filename_header(
        b"inline", ctype=b'image/jpeg; name="=?utf-8?Q?buletin_=C4=83=C3=A2=C3=AE=C8=99=C8=9B.jpg?="'
    )
    (att,) = parse_message(raw).attachments
    assert (att.filename, att.origin) == ("buletin ăâîșț.jpg", "inline")


def test_emailmessage_generated_names_round_trip() -> None:
    msg = _message()
    msg.set_content("x")
    for name in ("cerere șomaj.pdf", "declarație.pdf", "buletin ăâîșț.jpg", "Ştampilă ţesătorie.pdf"):
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=name)
    parsed = parse_message(_raw(msg))
    assert _names(parsed) == [
        "cerere șomaj.pdf",
        "declarație.pdf",
        "buletin ăâîșț.jpg",
        "Ştampilă ţesătorie.pdf",
    ]


def test_path_traversal_is_stripped() -> None:
    raw = _with_filename_header(b'attachment; filename="../../etc/passwd"')
    (att,) = parse_message(raw).attachments
    assert att.filename == "passwd"
    assert att.original_filename == "../../etc/passwd"


def test_safe_filename_rules() -> None:
    assert safe_filename("..\\..\\Windows\\win.ini", "text/plain", 1) == "win.ini"
    assert safe_filename(".htaccess", "text/plain", 1) == "htaccess"
    assert safe_filename("cerere\x00\x07\r\n.pdf", "application/pdf", 1) == "cerere.pdf"
    assert safe_filename("poza\u202egpj.exe", "image/jpeg", 1) == "pozagpj.exe"  # bidi override removed
    assert safe_filename("...", "application/pdf", 3) == "atasament-3.pdf"
    assert safe_filename(None, "image/jpeg", 2) == "atasament-2.jpg"
    long_name = safe_filename("ă" * 500 + ".pdf", "application/pdf", 1)
    assert len(long_name) <= 200 and long_name.endswith(".pdf")
    for hostile in ("/", "\\", "a/../../b", "\x00", ". .", "C:\\x\\"):
        name = safe_filename(hostile, "application/octet-stream", 1)
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert not name.startswith(".")


# --- charsets ---------------------------------------------------------------------------------------


def test_unknown_charset_decodes_with_defect() -> None:
    raw = b"From: a@b.ro\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nBun\xc4\x83 ziua\r\n"
    parsed = parse_message(raw)
    assert parsed.text_body.strip() == "Bună ziua"
    assert "undecodable charset x-unknown" in parsed.defects


def test_lying_charset_never_raises() -> None:
    raw = b"From: a@b.ro\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nM\xe3rul \xbai \xfeara\r\n"
    parsed = parse_message(raw)
    assert parsed.text_body.startswith("M")
    assert any("charset utf-8" in d for d in parsed.defects)


def test_windows_1250_body() -> None:
    raw = b"From: a@b.ro\r\nContent-Type: text/plain; charset=windows-1250\r\n\r\n\xbaomaj \xfeara\r\n"
    assert parse_message(raw).text_body.strip() == "şomaj ţara"


# --- garbage ----------------------------------------------------------------------------------------


def _assert_types(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed.text_body, str) and isinstance(parsed.subject, str)
    assert isinstance(parsed.defects, tuple) and all(isinstance(d, str) for d in parsed.defects)
    for att in parsed.attachments:
        assert isinstance(att, Attachment) and isinstance(att.data, bytes) and att.filename


def test_empty_bytes() -> None:
    parsed = parse_message(b"")
    _assert_types(parsed)
    assert "empty message" in parsed.defects


def test_only_headers() -> None:
    parsed = parse_message(b"From: a@b.ro\r\nSubject: doar antet")
    _assert_types(parsed)
    assert parsed.subject == "doar antet" and parsed.text_body == ""


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20250512)
    for size in (1, 2, 17, 100, 1000, 5000):
        for _ in range(5):
            _assert_types(parse_message(bytes(rng.randrange(256) for _ in range(size))))


def test_mutated_messages_never_raise() -> None:
    msg = _message()
    msg.set_content("Text")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="cerere șomaj.pdf")
    base = bytearray(_raw(msg))
    rng = random.Random(7)
    for _ in range(150):
        mutated = bytearray(base)
        for _ in range(rng.randrange(1, 20)):
            mutated[rng.randrange(len(mutated))] = rng.choice(b"\x00\xff=?\"';\r\n:<>-*%")
        _assert_types(parse_message(bytes(mutated[: rng.randrange(len(mutated) + 1)])))


def test_deep_nesting_is_cut() -> None:
    depth = 200
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    parsed = parse_message(b"From: a@b.ro\r\n" + head + b"Content-Type: text/plain\r\n\r\nx\r\n")
    _assert_types(parsed)


def test_non_bytes_like_input_is_reported_not_raised() -> None:
    parsed = parse_message(None)  # type: ignore[arg-type]
    assert parsed.defects and parsed.defects[0].startswith("message could not be parsed")


# --- TNEF -------------------------------------------------------------------------------------------


def _tnef_message(blob: bytes, ctype: tuple[str, str] = ("application", "ms-tnef")) -> bytes:
    msg = _message()
    msg.set_content("Mesaj din Outlook.")
    msg.add_attachment(blob, maintype=ctype[0], subtype=ctype[1], filename="winmail.dat")
    return _raw(msg)


def test_tnef_files_become_attachments() -> None:
    parsed = parse_message(_tnef_message((TNEF_BLOBS / "two-files.tnef").read_bytes()))
    assert [(a.filename, a.origin) for a in parsed.attachments] == [("AUTHORS", "tnef"), ("README", "tnef")]
    assert all(a.data for a in parsed.attachments)
    assert parsed.text_body.strip() == "Mesaj din Outlook."


def test_tnef_recognised_by_name_only() -> None:
    parsed = parse_message(_tnef_message((TNEF_BLOBS / "one-file.tnef").read_bytes(), ("application", "octet-stream")))
    assert [a.filename for a in parsed.attachments] == ["AUTHORS"]


def test_broken_tnef_stays_one_attachment_with_defect() -> None:
    parsed = parse_message(_tnef_message(b"this is not TNEF at all"))
    (att,) = parsed.attachments
    assert (att.filename, att.declared_type, att.origin) == (
        "winmail.dat",
        "application/ms-tnef",
        "attachment",
    )
    assert "undecodable TNEF (winmail.dat) attachment" in parsed.defects


def test_real_outlook_mail_with_winmail_dat() -> None:
    parsed = parse_message((CORPUS / "mail" / "mimekit" / "rich-text.eml").read_bytes())
    assert [(a.filename, a.declared_type, a.origin) for a in parsed.attachments] == [
        ("kitten-playing-with-a-christmas-tree.jpg", "image/jpeg", "tnef")
    ]
    assert parsed.attachments[0].data[:2] == b"\xff\xd8"  # a JPEG


def test_unpack_tnef_body_only_and_garbage() -> None:
    files, body = unpack_tnef((TNEF_BLOBS / "body.tnef").read_bytes())
    assert files == [] and body
    assert unpack_tnef(b"\x00" * 50) == (None, None)


def test_base64_encoded_forwarded_message_is_unpacked() -> None:
    inner = _message("Documente")
    inner.set_content("x")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="carte-munca.pdf")
    raw = (
        b"From: a@b.ro\r\nContent-Type: multipart/mixed; boundary=F\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\n"
        b"vezi mai jos\r\n--F\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(_raw(inner))
        + b"--F--\r\n"
    )
    parsed = parse_message(raw)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [("carte-munca.pdf", "forwarded")]
    assert parsed.text_body.strip() == "vezi mai jos"


def test_body_split_around_an_inline_picture_stays_body() -> None:
    """Apple Mail and phones send one body as several unnamed text parts around a picture."""
    raw = (
        b"From: Ana <ana@example.ro>\r\nTo: cluj@anofm.gov.ro\r\nSubject: acte\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="s"\r\n\r\n'
        b"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBun\xc4\x83 ziua, v\xc4\x83 trimit buletinul:\r\n"
        b"--s\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n"
        b"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSunt de acord cu procedura prin e-mail.\r\n"
        b"--s--\r\n"
    )
    message = parse_message(raw)
    assert [attachment.declared_type for attachment in message.attachments] == ["image/png"]
    assert "Bună ziua" in message.text_body and "Sunt de acord" in message.text_body
