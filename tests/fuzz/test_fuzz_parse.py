"""Fuzz run over what the pipeline does with a stranger's bytes before any person looks at them: the parser, the
screening, the attachment check and the reply built from the parsed headers. Seeded from the real-world corpus
(../shared/corpus/mail) and the hostile mails of issue 10.

A crash is any exception escaping these functions (all of them promise never to raise), or a lone surrogate in
any string they return (it fails later wherever text is encoded: SQLite, logging, SMTP, the PDF).
Length of the run: `HYPOTHESIS_PROFILE` (conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from intake.mailbox.parse import ParsedMessage, html_to_text, parse_message
from intake.mailbox.screening import ScreeningContext, screen
from intake.receipts import compose
from intake.validation.filetypes import check_attachment
from tests import hostile_mail
from tests.fuzz.mutations import hostile_messages, mutated_messages
from tests.unit.test_hostile_parse import strings

CONTEXT = ScreeningContext(frozenset({"cluj@anofm.gov.ro"}), replies_to_sender_recently=0, reply_cap=10)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# The attachment check is the slow part (Pillow, pypdf): a few per example keep the run inside its minute.
CHECKED_PER_MESSAGE = 3


def _no_surrogates(*values: object) -> None:
    for value in values:
        for text in strings(value):
            text.encode("utf-8")  # UnicodeEncodeError here is the finding


def _downstream(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    _no_surrogates(parsed)
    result = screen(parsed, CONTEXT)
    _no_surrogates(result)
    for attachment in parsed.attachments[:CHECKED_PER_MESSAGE]:
        check = check_attachment(attachment.filename, attachment.data, max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)
        _no_surrogates(check)
    if parsed.html_body is not None:
        _no_surrogates(html_to_text(parsed.html_body))
    # What the receipt and the acknowledgement put in SMTP headers comes from here.
    reply = compose.build_acknowledgement(
        compose.Correspondent("cluj@anofm.gov.ro", "AJOFM Cluj", parsed.from_address or "x@example.ro", "UTC"),
        compose.Original(parsed.message_id, parsed.references, parsed.subject, parsed.date or NOW),
        message_id="<fuzz@anofm.gov.ro>",
        now=NOW,
    )
    reply.as_bytes()


@given(mutated_messages())
def test_mutated_corpus_messages(raw: bytes) -> None:
    _downstream(parse_message(raw))


@given(hostile_messages)
@example(hostile_mail.deep_nesting(1_000))
@example(hostile_mail.many_parts(2_000))
def test_hostile_messages(raw: bytes) -> None:
    _downstream(parse_message(raw))


@given(st.binary(max_size=4096))
def test_random_bytes(raw: bytes) -> None:
    _downstream(parse_message(raw))


@given(st.sampled_from(("a.pdf", "a.jpg", "a.png", "a.txt", "", ".pdf", "ș.pdf")), st.binary(max_size=8192))
def test_attachment_check_on_random_bytes(name: str, data: bytes) -> None:
    # Real file magic with random tails reaches deeper into the decoders than pure noise.
    for prefix in (b"", b"%PDF-1.7\n", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n"):
        _no_surrogates(check_attachment(name, prefix + data, max_bytes=2 * 1024 * 1024, max_pixels=4_000_000))
