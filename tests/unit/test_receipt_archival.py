"""The recipisă as archival evidence (issue 13 §2): PDF/A-3b with the e-mail as received and the signature evidence
embedded as associated files (ISO 19005-3 §6.8), signed after the embedding so the signature covers them.

PDF/A conformance is checked structurally (tests/pdfa.py: pikepdf and `qpdf --check`); no PDF/A validator is
installable from the package registries.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from intake.receipts import evidence
from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from intake.receipts.render import ReceiptData, ReceiptDocument, render_receipt
from intake.receipts.sign import ReceiptSigner
from intake.store import BlobStore
from tests import pdfa

PASSWORD = "parolă"
RECEIVED = datetime(2026, 11, 23, 7, 14, 3, tzinfo=UTC)
REPORT = '<?xml version="1.0"?>\n<ValidationReport xmlns="http://uri.etsi.org/19102/v1.2.1#"/>'


def raw_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Ștefan Țurcanu <stefan@exemplu.ro>"
    message["To"] = "cluj@anofm.gov.ro"
    message["Subject"] = "Cerere indemnizație de șomaj"
    message["Message-ID"] = "<cerere-1@exemplu.ro>"
    message.set_content("Bună ziua,\nvă trimit cererea semnată. Sunt de acord cu comunicarea electronică.\n")
    message.add_attachment(
        b"%PDF-1.7\n" + bytes(range(256)) * 40, maintype="application", subtype="pdf", filename="cerere.pdf"
    )
    return message.as_bytes()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_ca_and_leaf_pkcs12(tmp_path_factory.mktemp("pki"), PASSWORD)


@pytest.fixture(scope="module")
def signer(pki: tuple[Path, Path]) -> ReceiptSigner:
    return ReceiptSigner(pki[0], PASSWORD)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> BlobStore:
    return BlobStore(tmp_path_factory.mktemp("store"))


def proof(sha256: str, size: int, sender_authenticated: bool = True) -> evidence.Evidence:
    signed = evidence.CheckedDocument(
        1,
        "cerere.pdf",
        "ab" * 32,
        10_249,
        True,
        "QES",
        "Semnătură calificată validă.",
        RECEIVED.isoformat(),
        [{"source": "ro.xml", "sequence_number": 7}],
        REPORT,
    )
    photo = evidence.CheckedDocument(2, "buletin.jpg", "cd" * 32, 80_000, True, None, None, None, [], None)
    return evidence.Evidence(
        "12/23.11.2026", "CJ", RECEIVED, sha256, size, "<cerere-1@exemplu.ro>", (signed, photo), sender_authenticated
    )


def receipt_data() -> ReceiptData:
    doc = ReceiptDocument("cerere.pdf", "PDF", 1, 10_249, "ab" * 32, True, None)
    return ReceiptData(
        office_name="Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
        office_address="Str. Călărașilor nr. 1, Cluj-Napoca",
        registration_number="12/23.11.2026",
        registered_at=RECEIVED,
        received_at=RECEIVED,
        sender="stefan@exemplu.ro",
        subject="Cerere indemnizație de șomaj",
        documents=(doc,),
        appointment="Vă așteptăm la ghișeul 3.\nhttps://exemplu.ro/programare/abc",
    )


@pytest.fixture(scope="module")
def mail(store: BlobStore) -> tuple[bytes, str]:
    raw = raw_mail()
    return raw, store.put(raw)


@pytest.fixture(scope="module")
def signed(signer: ReceiptSigner, store: BlobStore, mail: tuple[bytes, str]) -> tuple[bytes, bytes]:
    raw, sha256 = mail
    files = evidence.associated_files(proof(sha256, len(raw)), store, embed_max_bytes=1024 * 1024)
    unsigned = render_receipt(receipt_data(), files)
    return unsigned, signer.sign(unsigned, registration="12/23.11.2026")


def test_the_signed_receipt_passes_the_pdfa_3b_structural_checks(signed: tuple[bytes, bytes], tmp_path: Path) -> None:
    unsigned, pdf = signed
    assert pdfa.problems(unsigned) == []
    assert pdfa.problems(pdf) == []  # the signature's incremental update keeps it PDF/A (visible stamp included)
    path = tmp_path / "recipisa.pdf"
    path.write_bytes(pdf)
    check = pdfa.qpdf_check(path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert b"/Courier" not in pdf  # the SHA-256 column's font is embedded too


def test_the_mail_is_embedded_byte_for_byte_as_the_source_of_the_receipt(
    signed: tuple[bytes, bytes], mail: tuple[bytes, str]
) -> None:
    files = pdfa.embedded_files(signed[1])
    eml = files[evidence.EML_NAME]
    assert eml.data == mail[0]
    assert eml.relationship == "/Source"
    assert eml.mime_type == "message/rfc822"
    assert int(eml.params["/Size"]) == len(mail[0])
    assert str(eml.params["/ModDate"]).startswith("D:20261123")


def test_the_signature_evidence_is_embedded_as_data(signed: tuple[bytes, bytes], mail: tuple[bytes, str]) -> None:
    files = pdfa.embedded_files(signed[1])
    report = files["raport-validare-1.xml"]
    assert report.data.decode() == REPORT
    assert (report.relationship, report.mime_type) == ("/Data", "application/xml")
    record = json.loads(files[evidence.RECORD_NAME].data)
    assert files[evidence.RECORD_NAME].relationship == "/Data"
    assert record["message"] == {
        "sha256": mail[1],
        "size": len(mail[0]),
        "message_id": "<cerere-1@exemplu.ro>",
        "embedded": evidence.EML_NAME,
    }
    first, second = record["documents"]
    assert (first["label"], first["report"]) == ("QES", "raport-validare-1.xml")
    assert first["trusted_lists"][0]["sequence_number"] == 7
    assert (second["label"], second["report"]) == (None, None)  # a photo: nothing to verify, nothing claimed
    assert set(files) == {evidence.EML_NAME, "raport-validare-1.xml", evidence.RECORD_NAME}


def test_the_signature_covers_the_embedded_files(signed: tuple[bytes, bytes], pki: tuple[Path, Path]) -> None:
    unsigned, pdf = signed
    assert pdf.startswith(unsigned)  # embedded before signing: the signed revision holds them
    _, _, der = pem.unarmor(pki[1].read_bytes())
    reader = PdfFileReader(io.BytesIO(pdf))
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])
    )
    assert status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE"


def test_a_mail_too_large_for_the_reply_is_represented_by_its_headers_and_hash(
    store: BlobStore, mail: tuple[bytes, str]
) -> None:
    raw, sha256 = mail
    files = {
        item.name: item
        for item in evidence.associated_files(proof(sha256, len(raw)), store, embed_max_bytes=len(raw) - 1)
    }
    assert evidence.EML_NAME not in files
    headers = files[evidence.HEADERS_NAME]
    assert raw.startswith(headers.data) and b"Subject: " in headers.data and b"%PDF" not in headers.data
    assert (headers.relationship, headers.mime_type) == ("Source", "text/rfc822-headers")
    record = json.loads(files[evidence.RECORD_NAME].data)
    assert record["message"]["embedded"] == evidence.HEADERS_NAME and record["message"]["sha256"] == sha256


def test_an_unauthenticated_sender_gets_the_headers_and_hash_not_the_mail_back(
    store: BlobStore, mail: tuple[bytes, str]
) -> None:
    """From is not authenticated: the agency must not mail whatever arrived, under its seal, to that address."""
    raw, sha256 = mail
    files = {
        item.name: item
        for item in evidence.associated_files(
            proof(sha256, len(raw), sender_authenticated=False), store, embed_max_bytes=len(raw) * 2
        )
    }
    assert evidence.EML_NAME not in files and b"%PDF" not in files[evidence.HEADERS_NAME].data
    record = json.loads(files[evidence.RECORD_NAME].data)
    assert record["message"]["embedded"] == evidence.HEADERS_NAME and record["message"]["sha256"] == sha256


def test_a_mail_no_longer_in_the_store_still_gets_a_receipt_naming_it(store: BlobStore) -> None:
    files = evidence.associated_files(proof("ef" * 32, 1234), store, embed_max_bytes=1024)
    assert [item.name for item in files] == ["raport-validare-1.xml", evidence.RECORD_NAME]
    record = json.loads(files[-1].data)
    assert record["message"] == {
        "sha256": "ef" * 32,
        "size": 1234,
        "message_id": "<cerere-1@exemplu.ro>",
        "embedded": None,
    }
    assert pdfa.problems(render_receipt(receipt_data(), files)) == []


def test_the_structural_checks_catch_what_they_look_for() -> None:
    from fpdf import FPDF

    plain = FPDF()
    plain.add_page()
    plain.set_font("Courier", size=9)
    plain.cell(0, 5, "nu este PDF/A")
    plain.embed_file(bytes=b"x", basename="x.txt")
    document = pikepdf.open(io.BytesIO(bytes(plain.output())))
    document.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    out = io.BytesIO()
    document.save(out)
    found = "\n".join(pdfa.problems(out.getvalue()))
    for expected in ("not 3/B", "output intent", "Courier) not embedded", "action /JavaScript", "/AFRelationship"):
        assert expected in found
