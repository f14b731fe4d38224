"""Bad input gets a clear answer and never stops the daemon: each message ends stored and either answered
with a reason, silently recorded, or quarantined with a reason staff can see."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.receipts import pdf_text, replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))


def test_bad_messages_are_answered_or_quarantined(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    no_from = mailfactory.submission(attachments=[("cerere.pdf", mailfactory.pdf_document(), "application/pdf")])
    del no_from["From"]
    garbage = os.urandom(4096)
    hostile = mailfactory.submission(
        sender="hostile@example.ro",
        subject="<script>alert(1)</script>",
        attachments=[
            ("gol.pdf", b"", "application/pdf"),
            ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", "application/octet-stream"),
            (
                "contract.docx",
                b"PK\x03\x04" + b"\x00" * 100,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("scan.jpg", mailfactory.pdf_document(), "image/jpeg"),
            ("buletin.jpg", mailfactory.jpeg_image()[:5000], "image/jpeg"),
        ],
    )
    for index, raw in enumerate([no_from.as_bytes(), garbage, hostile.as_bytes()]):
        dovecot.append(raw, internaldate=T0 + timedelta(minutes=index))

    intake.poll()

    everything = intake.json("submissions")
    submissions = {s["sender"]: s for s in everything}
    quarantined = [s for s in everything if s["state"] == "quarantined"]
    assert len(quarantined) == 2 and all(s["quarantine_reason"] for s in quarantined)
    assert len(dovecot.uids("Quarantine")) == 2

    answered = submissions["hostile@example.ro"]
    assert answered["state"] == "receipted" and answered["flagged"] is True
    documents = {d["filename"]: d for d in answered["documents"]}
    assert set(documents) == {"gol.pdf", "passwd", "contract.docx", "scan.jpg", "buletin.jpg"}
    assert documents["gol.pdf"]["accepted"] is False and "gol.pdf" in documents["gol.pdf"]["reason"]
    assert documents["passwd"]["accepted"] is False
    assert (
        documents["contract.docx"]["accepted"] is False and "nu este acceptat" in documents["contract.docx"]["reason"]
    )
    # The content decides (issue 9 point 8): a PDF named .jpg is accepted as the PDF it is, with a note.
    assert documents["scan.jpg"]["accepted"] is True and documents["scan.jpg"]["detected_type"] == "pdf"
    assert documents["scan.jpg"]["content_type"] == "application/pdf" and documents["scan.jpg"]["notes"]
    assert documents["buletin.jpg"]["accepted"] is False
    codes = {f["code"] for f in answered["findings"]}
    assert {"corrupt_attachment", "forbidden_attachment"} <= codes
    # Nothing was written outside the store because of a file name.
    assert not (intake.workdir / "etc").exists()

    (receipt,) = [r for r in replies(smtp_sink.wait_for(2)) if r.is_receipt]
    assert receipt.recipient == "hostile@example.ro"
    body = receipt.message.get_body(("plain",)).get_content()
    # issue 9 point 12: "neacceptat (format nepermis)", not "respins"
    assert re.search(r"contract\.docx \([^)]*\): neacceptat \(format nepermis\)", body) and "respins" not in body
    text = pdf_text(receipt.pdf or b"")
    assert "contract.docx" in text
