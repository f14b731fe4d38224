"""Tests of intake.validation.filetypes: every input is generated here, except the shared PDF corpus."""

from __future__ import annotations

import gzip
import io
import logging
import random
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from pypdf import PdfWriter

from intake.validation.filetypes import FileCheck, check_attachment

# The corpus lives next to the repository (../shared/corpus) and is always present in CI.
CORPUS_PDFS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "signed-pdfs"

# The shared sentence of formate_acceptate.txt: the accepted formats and their source (procedure 000 step 3).
ACCEPTED_MESSAGE = (
    "Conform pasului 3 al procedurii de comunicare electronică a AJOFM Cluj, se acceptă doar fișiere PDF, JPEG sau "
    "PNG (și semnături electronice .p7s sau .p7m)."
)


# --------------------------------------------------------------------------------------------------
# Input builders


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), *, noisy: bool = False, quality: int = 75) -> bytes:
    if noisy:
        # Noise does not compress, so the encoded file is large and a cut lands inside pixel data.
        pixels = random.Random(7).randbytes(size[0] * size[1] * 3)
        img = Image.frombytes("RGB", size, pixels)
    else:
        img = Image.new("RGB", size, (200, 30, 60))
    buf = io.BytesIO()
    options = {"quality": quality} if fmt == "JPEG" else {}
    img.save(buf, fmt, **options)
    return buf.getvalue()


def pdf_bytes(
    pages: int = 1, *, user_password: str | None = None, owner_password: str | None = None, algorithm: str = "RC4-128"
) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def handwritten_pdf(trailer_extra: str = "") -> bytes:
    """A one-page PDF with exact xref offsets, for trailer tricks PdfWriter would not write."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer_extra}>>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in members.items():
            # ODF requires "mimetype" first and stored; the order of the dict is kept.
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=method)
    return buf.getvalue()


def docx_bytes() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def xlsx_bytes() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def odt_bytes() -> bytes:
    return zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})


def heic_bytes() -> bytes:
    # ISO BMFF: box size, "ftyp", major brand, minor version, compatible brands.
    ftyp = b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + bytes(64)


def heif_bytes() -> bytes:
    ftyp = b"ftyp" + b"mif1" + b"\x00\x00\x00\x00" + b"mif1"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + bytes(64)


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120) + b"PE\x00\x00" + bytes(200)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces another size: the classic decompression-bomb shape."""
    data = image_bytes("PNG", (1, 1))
    ihdr_at = data.index(b"IHDR")
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[ihdr_at + 12 : ihdr_at + 17]
    crc = struct.pack(">I", zlib.crc32(ihdr))
    return data[:ihdr_at] + ihdr + crc + data[ihdr_at + 21 :]


def assert_rejected(result: FileCheck, code: str) -> None:
    assert not result.accepted
    assert result.code == code
    assert result.reason


# --------------------------------------------------------------------------------------------------
# Accepted formats


def test_valid_jpeg_is_accepted_with_its_size() -> None:
    result = check_attachment("poza.jpg", image_bytes("JPEG", (64, 48)))
    assert result == FileCheck(
        detected_type="jpeg",
        content_type="image/jpeg",
        accepted=True,
        code=None,
        reason=None,
        pages=1,
        width=64,
        height=48,
        encrypted=False,
        name_mismatch=False,
        notes=(),
    )


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.jpe", "a.jfif", "fara-extensie", "a.dat"])
def test_jpeg_extensions_and_unknown_extensions_are_no_mismatch(name: str) -> None:
    result = check_attachment(name, image_bytes("JPEG"))
    assert result.accepted
    assert not result.name_mismatch
    assert result.notes == ()


def test_valid_png_is_accepted() -> None:
    result = check_attachment("scan.png", image_bytes("PNG", (10, 20)))
    assert (result.accepted, result.detected_type, result.content_type) == (True, "png", "image/png")
    assert (result.width, result.height, result.pages) == (10, 20, 1)


def test_pdf_pages_are_counted() -> None:
    result = check_attachment("cerere.pdf", pdf_bytes(3))
    assert (result.accepted, result.detected_type, result.content_type) == (True, "pdf", "application/pdf")
    assert result.pages == 3
    assert (result.width, result.height, result.encrypted, result.reason) == (None, None, False, None)


def test_pdf_with_leading_junk_is_still_a_pdf() -> None:
    result = check_attachment("cerere.pdf", b"\r\n-- junk from a mail gateway --\r\n" + pdf_bytes(2))
    assert result.detected_type == "pdf"
    assert result.accepted
    assert result.pages == 2


def test_pdf_without_header_is_a_damaged_pdf() -> None:
    data = pdf_bytes(1)
    result = check_attachment("cerere.pdf", b"#G\xf3\xbf" + data[8:])
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "pdf"
    assert "pare a fi un document PDF" in (result.reason or "")


def test_encrypt_null_in_trailer_means_not_encrypted() -> None:
    result = check_attachment("a.pdf", handwritten_pdf("/Encrypt null "))
    assert result.accepted
    assert not result.encrypted
    assert result.pages == 1


# --------------------------------------------------------------------------------------------------
# Name versus content


# The content decides (issue 9 point 8): a wrong extension on an accepted format is a note, not a rejection.


def test_pdf_named_jpg_is_accepted_as_the_pdf_it_is_with_a_note() -> None:
    result = check_attachment("scan.jpg", pdf_bytes(2))
    assert (result.accepted, result.code, result.reason) == (True, None, None)
    assert (result.detected_type, result.content_type, result.pages) == ("pdf", "application/pdf", 2)
    assert result.name_mismatch
    assert result.notes == (
        "Numele fișierului „scan.jpg” nu corespunde conținutului: extensia .jpg indică formatul JPEG, dar fișierul "
        "este un document PDF. A fost verificat și primit ca document PDF.",
    )


def test_jpeg_named_pdf_is_accepted_as_the_image_it_is_with_a_note() -> None:
    result = check_attachment("cerere.pdf", image_bytes("JPEG", (64, 48)))
    assert (result.accepted, result.detected_type, result.content_type) == (True, "jpeg", "image/jpeg")
    assert (result.width, result.height, result.pages) == (64, 48, 1)
    assert result.name_mismatch
    assert result.notes == (
        "Numele fișierului „cerere.pdf” nu corespunde conținutului: extensia .pdf indică formatul PDF, dar fișierul "
        "este o imagine JPEG. A fost verificat și primit ca imagine JPEG.",
    )


def test_png_named_pdf_is_accepted_as_png() -> None:
    result = check_attachment("act.PDF", image_bytes("PNG"))
    assert (result.accepted, result.detected_type, result.name_mismatch) == (True, "png", True)
    assert "este o imagine PNG" in result.notes[0]


def test_a_renamed_file_must_still_decode() -> None:
    # The note is no shortcut past the content check: a broken PDF named .jpg is a broken PDF.
    data = pdf_bytes(1)
    result = check_attachment("scan.jpg", b"#G\xf3\xbf" + data[8:])
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "pdf"
    truncated = image_bytes("JPEG", (300, 200), noisy=True)
    result = check_attachment("scan.pdf", truncated[: len(truncated) // 2])
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "jpeg"


def test_an_encrypted_pdf_named_jpg_is_rejected_for_the_password_not_the_name() -> None:
    result = check_attachment("scan.jpg", pdf_bytes(1, user_password="secret"))
    assert_rejected(result, "encrypted_attachment")
    assert result.reason == (
        "Fișierul „scan.jpg” este un document PDF protejat cu parolă și nu poate fi deschis. "
        "Vă rugăm să îl trimiteți din nou, fără parolă."
    )


def test_jpeg_named_gif_is_accepted_with_a_note() -> None:
    result = check_attachment("poza.gif", image_bytes("JPEG"))
    assert result.accepted and result.name_mismatch
    assert "extensia .gif indică formatul GIF" in result.notes[0]


def test_png_named_jpg_is_accepted_as_png_with_a_note() -> None:
    result = check_attachment("poza.jpg", image_bytes("PNG"))
    assert result.accepted
    assert result.detected_type == "png"
    assert result.name_mismatch
    assert result.notes == (
        "Numele fișierului „poza.jpg” nu corespunde conținutului: extensia .jpg indică formatul JPEG, dar fișierul "
        "este o imagine PNG. A fost verificat și primit ca imagine PNG.",
    )


# A forbidden format dressed as an accepted one stays rejected, and the reason says what it is.


def test_exe_named_pdf_is_rejected_as_exe() -> None:
    result = check_attachment("factura.pdf", exe_bytes())
    assert_rejected(result, "forbidden_attachment")
    assert result.detected_type == "exe"
    assert result.name_mismatch
    assert result.reason == (
        "Fișierul „factura.pdf” are de fapt formatul EXE, deși extensia .pdf indică formatul PDF. "
        "Acest format nu este acceptat. " + ACCEPTED_MESSAGE
    )
    assert result.notes == ()  # the reason already says it: the recipisă would repeat it


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("buletin.jpg", zip_bytes({"buletin.pdf": b"%PDF-1.4"}), "zip"),
        ("cerere.pdf", zip_bytes({"cerere.pdf": b"%PDF-1.4"}), "zip"),
        ("poza.png", exe_bytes(), "exe"),
        ("diploma.jpeg", b"\x7fELF\x02\x01\x01" + bytes(64), "elf"),
        ("cerere.pdf", b"<!DOCTYPE html><html><body>Cerere</body></html>", "html"),
        ("cerere.pdf", random.Random(5).randbytes(2048), "unknown"),
    ],
    ids=["zip-as-jpg", "zip-as-pdf", "exe-as-png", "elf-as-jpeg", "html-as-pdf", "unknown-as-pdf"],
)
def test_a_forbidden_format_named_like_an_accepted_one_stays_rejected(name: str, data: bytes, kind: str) -> None:
    result = check_attachment(name, data)
    assert_rejected(result, "forbidden_attachment")
    assert result.detected_type == kind and result.name_mismatch
    assert f"„{name}”" in (result.reason or "") and "indică formatul" in (result.reason or "")
    assert ACCEPTED_MESSAGE in (result.reason or "")


def test_bidi_override_cannot_disguise_the_name_in_messages() -> None:
    # Displays as "factura_exe.pdf" in many clients; the real extension is .exe.
    result = check_attachment("factura_\u202efdp.exe", exe_bytes())
    assert "\u202e" not in (result.reason or "")
    assert not result.name_mismatch  # an .exe holding an EXE is what it says


def test_long_and_multiline_names_are_shortened_for_messages() -> None:
    name = "x" * 300 + "\r\nBcc: victim@example.com\r\n" + "final.docx"
    result = check_attachment(name, docx_bytes())
    assert result.reason is not None
    quoted = result.reason.split("„", 1)[1].split("”", 1)[0]
    assert len(quoted) <= 80
    assert "…" in quoted
    assert quoted.endswith("final.docx")
    assert "\n" not in result.reason


# --------------------------------------------------------------------------------------------------
# Forbidden formats


FORBIDDEN_SAMPLES: dict[str, tuple[str, bytes, str]] = {
    # key: (file name, content, expected detected_type)
    "docx": ("contract.docx", docx_bytes(), "docx"),
    "xlsx": ("tabel.xlsx", xlsx_bytes(), "xlsx"),
    "odt": ("cerere.odt", odt_bytes(), "odt"),
    "doc": ("vechi.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "doc"),
    "zip": ("acte.zip", zip_bytes({"a.pdf": b"%PDF-1.4"}), "zip"),
    "rar": ("acte.rar", b"Rar!\x1a\x07\x01\x00" + bytes(32), "rar"),
    "7z": ("acte.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32), "7z"),
    "gzip": ("acte.gz", gzip.compress(b"hello"), "gzip"),
    "heic": ("IMG_0001.HEIC", heic_bytes(), "heic"),
    "heif": ("IMG_0002.heif", heif_bytes(), "heif"),
    "gif": ("anim.gif", image_bytes("GIF"), "gif"),
    "bmp": ("scan.bmp", image_bytes("BMP"), "bmp"),
    "tiff": ("scan.tif", image_bytes("TIFF"), "tiff"),
    "webp": ("poza.webp", image_bytes("WEBP"), "webp"),
    "exe": ("setup.exe", exe_bytes(), "exe"),
    "elf": ("prog", b"\x7fELF\x02\x01\x01" + bytes(64), "elf"),
    "rtf": ("scrisoare.rtf", b"{\\rtf1\\ansi Salut}", "rtf"),
    "html": ("pagina.htm", b"<!DOCTYPE html><html><body>Buna</body></html>", "html"),
    "text": ("nota.txt", "Bună ziua, atașez cererea.\n".encode(), "text"),
    "random": ("date.bin", random.Random(1234).randbytes(4096), "unknown"),
}


@pytest.mark.parametrize("key", sorted(FORBIDDEN_SAMPLES))
def test_forbidden_formats_are_recognised_and_named(key: str) -> None:
    name, data, expected = FORBIDDEN_SAMPLES[key]
    result = check_attachment(name, data)
    assert_rejected(result, "forbidden_attachment")
    assert result.detected_type == expected
    assert result.reason is not None
    assert f"„{name}”" in result.reason
    assert ACCEPTED_MESSAGE in result.reason
    assert not result.name_mismatch
    assert (result.pages, result.width, result.height) == (None, None, None)


def test_reason_names_the_format() -> None:
    result = check_attachment("contract.docx", docx_bytes())
    assert result.reason == (
        "Fișierul „contract.docx” are formatul DOCX, care nu este acceptat. " + ACCEPTED_MESSAGE
    )
    assert result.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_unknown_content_has_octet_stream_type() -> None:
    result = check_attachment("x.bin", random.Random(99).randbytes(1000))
    assert (result.detected_type, result.content_type) == ("unknown", "application/octet-stream")


def test_docx_renamed_pdf_reports_mismatch() -> None:
    result = check_attachment("contract.pdf", docx_bytes())
    assert_rejected(result, "forbidden_attachment")
    assert result.name_mismatch
    assert result.reason == (
        "Fișierul „contract.pdf” are de fapt formatul DOCX, deși extensia .pdf indică formatul PDF. "
        "Acest format nu este acceptat. " + ACCEPTED_MESSAGE
    )


def test_docx_renamed_xlsx_keeps_the_note() -> None:
    # Neither name nor content is an accepted format: the usual reason, and a note on the name.
    result = check_attachment("tabel.xlsx", docx_bytes())
    assert_rejected(result, "forbidden_attachment")
    assert result.notes == ("Numele fișierului „tabel.xlsx” indică alt format decât conținutul (DOCX).",)


# --------------------------------------------------------------------------------------------------
# Corrupt, encrypted, oversized


def test_zero_byte_file_is_corrupt() -> None:
    result = check_attachment("x.pdf", b"")
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "empty"
    assert result.reason == "Fișierul „x.pdf” este gol (0 octeți)."
    assert not result.name_mismatch


def test_truncated_jpeg_is_corrupt() -> None:
    data = image_bytes("JPEG", (300, 200), noisy=True)
    result = check_attachment("poza.jpg", data[: len(data) // 2])
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "jpeg"
    assert "„poza.jpg”" in (result.reason or "")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_jpeg_missing_only_its_end_marker_is_corrupt() -> None:
    data = image_bytes("JPEG", (300, 200), noisy=True)
    assert_rejected(check_attachment("poza.jpg", data[:-2]), "corrupt_attachment")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_png_is_corrupt(fraction: float) -> None:
    data = image_bytes("PNG", (300, 200), noisy=True)
    result = check_attachment("scan.png", data[: int(len(data) * fraction)])
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "png"


def test_image_over_the_pixel_limit_is_a_bomb() -> None:
    data = image_bytes("PNG", (3000, 3000))
    result = check_attachment("mare.png", data, max_pixels=1_000_000)
    assert_rejected(result, "corrupt_attachment")
    assert result.reason == (
        "Fișierul „mare.png” este o imagine PNG de 3000 × 3000 pixeli, prea mare pentru a fi procesată "
        "(limita este de 1.000.000 de pixeli în total). Vă rugăm să o trimiteți la o rezoluție mai mică."
    )


def test_png_header_claiming_huge_size_is_a_bomb() -> None:
    result = check_attachment("bomba.png", png_claiming(100_000, 100_000))
    assert_rejected(result, "corrupt_attachment")
    assert result.reason == (
        "Fișierul „bomba.png” este o imagine PNG, prea mare pentru a fi procesată (limita este de 60.000.000 de "
        "pixeli în total). Vă rugăm să o trimiteți la o rezoluție mai mică."
    )


def test_broken_pdf_is_corrupt() -> None:
    result = check_attachment("cerere.pdf", b"%PDF-1.7\n" + random.Random(5).randbytes(2000))
    assert_rejected(result, "corrupt_attachment")
    assert result.detected_type == "pdf"
    assert result.pages is None
    assert result.reason == (
        "Fișierul „cerere.pdf” pare a fi un document PDF, dar este deteriorat sau incomplet și nu poate fi citit. "
        "Vă rugăm să îl trimiteți din nou."
    )


def test_pdf_without_pages_is_corrupt() -> None:
    result = check_attachment("gol.pdf", pdf_bytes(0))
    assert_rejected(result, "corrupt_attachment")
    assert result.reason == (
        "Fișierul „gol.pdf” este un document PDF fără nicio pagină. Vă rugăm să îl trimiteți din nou."
    )


def test_pdf_with_user_password_is_rejected() -> None:
    data = pdf_bytes(2, user_password="secret", owner_password="owner", algorithm="AES-256")
    result = check_attachment("cerere.pdf", data)
    assert_rejected(result, "encrypted_attachment")
    assert result.encrypted
    assert result.detected_type == "pdf"
    assert result.reason == (
        "Fișierul „cerere.pdf” este un document PDF protejat cu parolă și nu poate fi deschis. "
        "Vă rugăm să îl trimiteți din nou, fără parolă."
    )


def test_pdf_with_empty_user_password_is_accepted_as_encrypted() -> None:
    data = pdf_bytes(2, user_password="", owner_password="owner")
    result = check_attachment("cerere.pdf", data)
    assert result.accepted
    assert result.encrypted
    assert result.pages == 2
    assert result.reason is None
    assert result.notes == ("Documentul PDF este criptat.",)


def test_oversized_file_is_rejected_with_sizes() -> None:
    result = check_attachment("poza.jpg", image_bytes("JPEG").ljust(1000, b"\0"), max_bytes=100)
    assert_rejected(result, "oversized")
    assert result.detected_type == "jpeg"
    assert result.reason == (
        "Fișierul „poza.jpg” are 1.000 de octeți și depășește limita de 100 de octeți. "
        "Vă rugăm să îl trimiteți într-o variantă mai mică."
    )
    result = check_attachment("mic.pdf", b"%PDF-1.4\n" + bytes(100), max_bytes=99)
    assert result.reason == (
        "Fișierul „mic.pdf” are 109 octeți și depășește limita de 99 de octeți. "
        "Vă rugăm să îl trimiteți într-o variantă mai mică."
    )


def test_oversized_message_in_megabytes_never_shows_equal_numbers() -> None:
    data = b"%PDF-1.4\n" + bytes(15 * 1024 * 1024)
    result = check_attachment("mare.pdf", data)
    assert_rejected(result, "oversized")
    assert result.reason == (
        "Fișierul „mare.pdf” are 15,01 MB și depășește limita de 15 MB. "
        "Vă rugăm să îl trimiteți într-o variantă mai mică."
    )


# --------------------------------------------------------------------------------------------------
# Robustness and performance


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = [data[: rng.randrange(1, len(data))] for _ in range(4)]
    flipped = []
    for _ in range(4):
        buf = bytearray(data)
        for _ in range(8):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        flipped.append(bytes(buf))
    return [*cuts, *flipped]


@pytest.mark.parametrize("kind", ["jpeg", "png", "pdf", "encrypted-pdf", "docx"])
def test_damaged_inputs_never_raise(kind: str) -> None:
    samples = {
        "jpeg": image_bytes("JPEG", (40, 30), noisy=True),
        "png": image_bytes("PNG", (40, 30), noisy=True),
        "pdf": pdf_bytes(2),
        "encrypted-pdf": pdf_bytes(1, user_password="", owner_password="o"),
        "docx": docx_bytes(),
    }
    rng = random.Random(kind)
    for data in _mutations(samples[kind], rng):
        result = check_attachment("f.bin", data)
        assert isinstance(result, FileCheck)
        assert result.accepted or (result.code and result.reason)


def test_wrong_argument_types_never_raise() -> None:
    result = check_attachment(None, None)  # type: ignore[arg-type]
    assert isinstance(result, FileCheck)
    assert not result.accepted
    assert result.reason


def test_bytearray_and_memoryview_are_accepted_inputs() -> None:
    data = image_bytes("PNG")
    assert check_attachment("a.png", bytearray(data)).accepted
    assert check_attachment("a.png", memoryview(data)).accepted


def test_concurrent_checks_agree_with_sequential_ones() -> None:
    # The daemon checks attachments from several threads; no global Pillow/pypdf state may leak between
    # calls (per-call pixel limits in particular).
    jobs = [
        ("a.png", image_bytes("PNG", (3000, 3000)), 1_000_000),
        ("b.png", image_bytes("PNG", (3000, 3000)), 60_000_000),
        ("c.pdf", pdf_bytes(3), 60_000_000),
        ("d.jpg", image_bytes("JPEG", (200, 100), noisy=True)[:-40], 60_000_000),
    ] * 3
    sequential = [check_attachment(n, d, max_pixels=m) for n, d, m in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: check_attachment(job[0], job[1], max_pixels=job[2]), jobs))
    assert parallel == sequential
    assert [r.accepted for r in sequential[:4]] == [False, True, True, False]


def test_pypdf_warnings_are_silenced() -> None:
    assert logging.getLogger("pypdf").getEffectiveLevel() >= logging.ERROR


def test_large_jpeg_is_accepted() -> None:
    # Its speed is measured in bench/, never asserted here.
    data = image_bytes("JPEG", (3000, 2500), noisy=True, quality=95)
    assert len(data) > 8 * 1024 * 1024
    assert check_attachment("mare.jpg", data).accepted


# --------------------------------------------------------------------------------------------------
# Real-world PDFs (shared corpus, referenced in place)


def corpus_pdfs() -> list[Path]:
    return sorted(CORPUS_PDFS.rglob("*.pdf"))


def test_corpus_is_present() -> None:
    assert len(corpus_pdfs()) > 100


@pytest.mark.parametrize("path", corpus_pdfs(), ids=lambda p: str(p.relative_to(CORPUS_PDFS)))
def test_corpus_pdf_never_raises(path: Path) -> None:
    result = check_attachment(path.name, path.read_bytes())
    assert result.detected_type == "pdf"
    if result.accepted:
        assert result.pages and result.pages > 0
    else:
        assert result.code in {"corrupt_attachment", "encrypted_attachment"}
        assert result.reason


def test_corpus_password_free_encrypted_pdf_is_accepted() -> None:
    result = check_attachment("encrypted.pdf", (CORPUS_PDFS / "dss" / "encrypted.pdf").read_bytes())
    assert result.accepted
    assert result.encrypted


def test_corpus_certificate_encrypted_pdf_is_rejected_as_encrypted() -> None:
    path = CORPUS_PDFS / "pyhanko" / "signed-encrypted-pubkey-with-catalog-ref.pdf"
    result = check_attachment(path.name, path.read_bytes())
    assert_rejected(result, "encrypted_attachment")
    assert result.encrypted
    assert result.reason == (
        f"Fișierul „{path.name}” este un document PDF criptat cu certificat și nu poate fi deschis. "
        "Vă rugăm să îl trimiteți din nou, fără criptare și fără parolă."
    )


def test_corpus_encrypt_null_pdf_is_accepted() -> None:
    path = CORPUS_PDFS / "dss" / "pdf-spoofing-attack.pdf"
    result = check_attachment(path.name, path.read_bytes())
    assert result.accepted
    assert not result.encrypted


# --------------------------------------------------------------------------------------------------
# CAdES signature containers (.p7s / .p7m)


def _cms(detached: bool, pem: bool = False) -> bytes:
    import datetime as dt

    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Ion Popescu")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    options = [pkcs7.PKCS7Options.DetachedSignature] if detached else []
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(pdf_bytes(1))
        .add_signer(cert, key, hashes.SHA256())
        .sign(encoding, options)
    )


@pytest.mark.parametrize(
    ("detached", "pem", "kind"), [(True, False, "p7s"), (False, False, "p7m"), (False, True, "p7m")]
)
def test_cades_containers_are_accepted_for_the_signature_stage(detached: bool, pem: bool, kind: str) -> None:
    result = check_attachment(f"cerere.pdf.{kind}", _cms(detached, pem))
    assert result.accepted and result.detected_type == kind and not result.name_mismatch
    assert "CAdES" in result.notes[0]


def test_broken_cades_container_is_corrupt() -> None:
    data = _cms(detached=True)
    assert_rejected(check_attachment("cerere.p7s", data[:40]), "corrupt_attachment")
