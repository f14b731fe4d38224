"""Issue 10, point 3: no reply larger than `limits.max_reply_bytes` ever leaves the outbox."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from sqlmodel import select

from intake.db import transaction
from intake.models import Event, OutboxMessage, OutboxState
from intake.outbox import SendReport, enqueue, send_due
from intake.settings import LimitsSettings, SmtpSettings
from tests.servers.smtp_sink import start_smtp_sink
from tests.unit.runtimes import make_runtime


def _reply(attachment_bytes: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "cluj@anofm.gov.ro", "x@example.ro"
    message["Message-ID"] = f"<r{attachment_bytes}@anofm.gov.ro>"
    message.set_content("Recipisă")
    message.add_attachment(b"%PDF" + b"0" * attachment_bytes, maintype="application", subtype="pdf", filename="r.pdf")
    return message


def test_an_oversized_reply_is_kept_failed_never_pending(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, limits=LimitsSettings(max_reply_bytes=64 * 1024))
    with transaction(rt.engine) as session:
        small = enqueue(session, rt, None, kind="receipt", message=_reply(10 * 1024))
        large = enqueue(session, rt, None, kind="receipt", message=_reply(200 * 1024))
        session.flush()
        small_id, large_id = small.id, large.id
    with transaction(rt.engine) as session:
        assert session.get_one(OutboxMessage, small_id).state == OutboxState.PENDING  # the control
        row = session.get_one(OutboxMessage, large_id)
        assert row.state == OutboxState.FAILED and "max_reply_bytes" in (row.last_error or "")
        assert len(row.raw) <= 64 * 1024
        assert [e.action for e in session.exec(select(Event)).all()] == ["reply_too_large"]



def _send_to_internationalised_and_plain(tmp_path: Path, sink) -> SendReport:  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, smtp=SmtpSettings(host=sink.host, port=sink.port, security="none"))
    foreign = _reply(10)
    foreign.replace_header("To", "jdöe@mächine.example")
    foreign.replace_header("Message-ID", "<foreign@anofm.gov.ro>")
    with transaction(rt.engine) as session:
        for message in (foreign, _reply(20)):
            enqueue(session, rt, None, kind="receipt", message=message)
    report = send_due(rt)
    with transaction(rt.engine) as session:
        states = {row.recipient: (row.state, row.last_error) for row in session.exec(select(OutboxMessage)).all()}
    report.states = states  # type: ignore[attr-defined]
    return report


def test_rfc6531_an_internationalised_recipient_travels_over_smtputf8(tmp_path: Path, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    report = _send_to_internationalised_and_plain(tmp_path, smtp_sink)
    assert (report.sent, report.failed) == (2, 0)
    assert sorted(mail.rcpt_tos[0] for mail in smtp_sink.messages) == ["jdöe@mächine.example", "x@example.ro"]


def test_rfc6531_without_smtputf8_that_reply_fails_alone_and_the_others_are_sent(tmp_path: Path) -> None:
    """A server without SMTPUTF8 cannot carry jdöe@mächine.example: that reply fails with the reason; it never
    raises out of the outbox (it once stopped a whole `poll --once` over the corpus)."""
    sink = start_smtp_sink(smtputf8=False)
    try:
        report = _send_to_internationalised_and_plain(tmp_path, sink)
    finally:
        sink.stop()
    assert (report.sent, report.failed) == (1, 1)
    assert [mail.rcpt_tos for mail in sink.messages] == [["x@example.ro"]]
    state, error = report.states["jdöe@mächine.example"]  # type: ignore[attr-defined]
    assert state == OutboxState.FAILED and "SMTPUTF8" in (error or "")
