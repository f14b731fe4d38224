"""What a recipisă costs: render (PDF/A-3b, with the e-mail and the evidence embedded) and sign, per mail size.

    .venv/bin/python bench/receipt.py [--rounds N] [--lta]

Prints the median render and sign time and the receipt's size for a receipt listing 4 documents, with no embedded
file (what a receipt held before issue 13), with a 5 KB text mail, and with mails of 1 and 2 MB (base64 attachments:
incompressible, as scans and PDFs are). `--lta` adds B-LTA signing against the test PKI's loopback TSA and OCSP
responder (tests/pki), where the network round trips (time-stamp twice, OCSP, CRL) dominate.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.receipts import evidence
from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from intake.receipts.render import AssociatedFile, ReceiptData, ReceiptDocument, render_receipt
from intake.receipts.sign import ReceiptSigner
from intake.store import BlobStore

MOMENT = datetime(2026, 11, 23, 7, 14, 3, tzinfo=UTC)
REPORT = "<ValidationReport>" + "<x/>" * 2000 + "</ValidationReport>"  # ~8 KB, as pyHanko's reports are


def mail(size: int) -> bytes:
    if size < 64 * 1024:
        return b"From: ana@exemplu.ro\r\nSubject: Cerere\r\n\r\n" + b"Buna ziua, trimit cererea.\r\n" * (size // 28)
    return b"From: ana@exemplu.ro\r\nSubject: Cerere\r\n\r\n" + base64.encodebytes(os.urandom(size * 3 // 4))


def data() -> ReceiptData:
    documents = tuple(ReceiptDocument(f"cerere_{i}.pdf", "PDF", 2, 48_213, "ab" * 32, True, None) for i in range(4))
    return ReceiptData(
        office_name="AJOFM Cluj",
        office_address="Str. Călărașilor nr. 1",
        registration_number="12/2026",
        registered_at=MOMENT,
        received_at=MOMENT,
        sender="ana@exemplu.ro",
        subject="Dosar",
        documents=documents,
    )


def attachments(store: BlobStore, size: int | None) -> tuple[AssociatedFile, ...]:
    if size is None:
        return ()
    raw = mail(size)
    checked = evidence.CheckedDocument(1, "cerere_0.pdf", "ab" * 32, 48_213, True, "QES", None, None, [], REPORT)
    proof = evidence.Evidence("12/2026", "CJ", MOMENT, store.put(raw), len(raw), "<x@y>", (checked,))
    return evidence.associated_files(proof, store, embed_max_bytes=4 * 1024 * 1024)


def measure(signer: ReceiptSigner, files: tuple[AssociatedFile, ...], rounds: int) -> tuple[float, float, int]:
    signer.sign(render_receipt(data(), files), registration="12/2026")  # warm: fonts, key, TSA chain
    renders, signs, size = [], [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        pdf = render_receipt(data(), files)
        middle = time.perf_counter()
        size = len(signer.sign(pdf, registration="12/2026"))
        signs.append(time.perf_counter() - middle)
        renders.append(middle - start)
    return statistics.median(renders) * 1000, statistics.median(signs) * 1000, size


def lta_signer(base: Path) -> tuple[ReceiptSigner, object]:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from tests.pki.certs import ca_name, issue, make_root_ca, new_rsa_key
    from tests.pki.services import PkiServices

    now = datetime.now(UTC)
    services = PkiServices()
    services.start()
    root = make_root_ca(
        "bench", ca_name("Bench Root", "Bench"), now - timedelta(days=1), now + timedelta(days=999), services.url
    )
    services.register_ca(root)
    seal = issue(root, "seal", ca_name("Registratura", "AJOFM"), now - timedelta(days=1), now + timedelta(days=99))
    tsa = issue(
        root,
        "tsa",
        ca_name("Bench TSA", "Bench"),
        now - timedelta(days=1),
        now + timedelta(days=99),
        time_stamping=True,
        key=new_rsa_key(),
    )
    services.set_tsa(tsa, [root])
    path = base / "lta.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"k",
            seal.key,
            seal.cert,
            [root.cert],
            BestAvailableEncryption(b"x"),
        )
    )
    return ReceiptSigner(path, "x", timestamp_url=services.tsa_url), services


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--lta", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        store = BlobStore(base / "store")
        signers = [("B-B", ReceiptSigner(generate_ca_and_leaf_pkcs12(base, "x")[0], "x"), None)]
        if args.lta:
            signer, services = lta_signer(base)
            signers.append(("B-LTA", signer, services))
        print(f"{'signature':<9} {'embedded mail':<14} {'render ms':>10} {'sign ms':>8} {'total ms':>9} {'PDF KB':>8}")
        try:
            for level, signer, _ in signers:
                for label, size in (("none", None), ("5 KB text", 5_000), ("1 MB", 1 << 20), ("2 MB", 2 << 20)):
                    render, sign, pdf_size = measure(signer, attachments(store, size), args.rounds)
                    print(
                        f"{level:<9} {label:<14} {render:>10.1f} {sign:>8.1f} {render + sign:>9.1f} "
                        f"{pdf_size / 1024:>8.0f}"
                    )
        finally:
            for _, _, services in signers:
                if services is not None:
                    services.stop()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
