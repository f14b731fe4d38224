"""Self-test of the real-server fixtures (tests/servers): if these fail, every IMAP/SMTP test is moot."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest

from tests.servers import dovecot as dovecot_module
from tests.servers.dovecot import DovecotFactory, DovecotServer, start_dovecot
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")

# CRLF line endings: Dovecot serves messages with CRLF, so only CRLF input round-trips byte for byte.
RAW = (
    "From: Ion Popescu <ion.popescu@example.ro>\r\n"
    "To: intake@ajofm-cluj.example.ro\r\n"
    "Subject: =?utf-8?q?Cerere_indemniza=C8=9Bie_de_=C8=99omaj?=\r\n"
    "Date: Fri, 18 Dec 2026 19:29:00 +0200\r\n"
    "Message-ID: <cerere-1@example.ro>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Bună ziua, atașez cererea pentru indemnizația de șomaj.\r\n"
).encode()


def _message(subject: str = "Recipisă înregistrare cerere") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "intake@ajofm-cluj.example.ro"
    msg["To"] = "ion.popescu@example.ro"
    msg["Subject"] = subject
    msg.set_content("Cererea dumneavoastră a fost înregistrată.")
    return msg


def _send(sink: SmtpSink, msg: EmailMessage) -> None:
    asyncio.run(aiosmtplib.send(msg, hostname=sink.host, port=sink.port, timeout=10))


# --- Dovecot ---


@pytest.mark.parametrize(
    "received",
    [
        datetime(2026, 12, 18, 19, 30, tzinfo=BUCHAREST),
        # Far enough ahead of any CI clock to exercise the workaround for Dovecot's future-date clamp.
        datetime(2099, 12, 18, 19, 30, tzinfo=BUCHAREST),
        datetime(2024, 7, 1, 8, 15, 42, tzinfo=BUCHAREST),
    ],
)
def test_append_keeps_bytes_and_internaldate_and_does_not_set_seen(dovecot: DovecotServer, received: datetime) -> None:
    uid = dovecot.append(RAW, internaldate=received)

    assert dovecot.uids() == [uid]
    client = dovecot.client()
    try:
        client.normalise_times = False  # otherwise imapclient returns naive local time
        client.select_folder("INBOX")  # read-write on purpose: BODY.PEEK must still not set \Seen
        data = client.fetch([uid], ["INTERNALDATE", "BODY.PEEK[]"])[uid]
        flags = client.get_flags([uid])[uid]
    finally:
        client.logout()
    assert data[b"BODY[]"] == RAW
    assert data[b"INTERNALDATE"] == received  # same instant...
    assert data[b"INTERNALDATE"].utcoffset() == timedelta(0)  # ...but Maildir keeps no offset: server TZ
    assert b"\\Seen" not in flags
    assert dovecot.fetch_raw("INBOX", uid) == RAW


def test_internaldate_in_server_timezone(dovecot_factory: DovecotFactory) -> None:
    server = dovecot_factory(timezone="Europe/Bucharest")
    received = datetime(2026, 12, 18, 17, 30, tzinfo=ZoneInfo("UTC"))

    uid = server.append(RAW, internaldate=received)

    client = server.client()
    try:
        client.normalise_times = False
        client.select_folder("INBOX", readonly=True)
        internaldate = client.fetch([uid], ["INTERNALDATE"])[uid][b"INTERNALDATE"]
    finally:
        client.logout()
    assert internaldate == received
    assert internaldate.utcoffset() == timedelta(hours=2)


def test_append_with_flags(dovecot: DovecotServer) -> None:
    uid = dovecot.append(RAW, flags=["\\Seen", "$Intake"])

    client = dovecot.client()
    try:
        client.select_folder("INBOX", readonly=True)
        flags = set(client.get_flags([uid])[uid])
    finally:
        client.logout()
    assert {b"\\Seen", b"$Intake"} <= flags


def test_auto_created_folders_and_move(dovecot: DovecotServer) -> None:
    dovecot.create_folder("Arhivă/2026")  # non-ASCII + hierarchy: modified UTF-7 and "/" separator
    dovecot.create_folder("Processed")  # already auto-created: must be a no-op, not an error
    received = datetime(2026, 12, 18, 19, 30, tzinfo=BUCHAREST)
    first = dovecot.append(RAW, internaldate=received)
    second = dovecot.append(RAW.replace(b"cerere-1", b"cerere-2"))

    client = dovecot.client()
    try:
        names = {name for _flags, _sep, name in client.list_folders()}
        client.select_folder("INBOX")
        client.move([first], "Arhivă/2026")
        client.move([second], "Quarantine")
    finally:
        client.logout()

    assert {"INBOX", "Processed", "Quarantine", "Arhivă/2026"} <= names
    assert dovecot.uids("INBOX") == []
    [moved] = dovecot.uids("Arhivă/2026")
    assert dovecot.fetch_raw("Arhivă/2026", moved) == RAW
    client = dovecot.client()
    try:
        client.normalise_times = False
        client.select_folder("Arhivă/2026", readonly=True)
        assert client.fetch([moved], ["INTERNALDATE"])[moved][b"INTERNALDATE"] == received
    finally:
        client.logout()
    assert len(dovecot.uids("Quarantine")) == 1


def test_without_auto_folders(dovecot_factory: DovecotFactory) -> None:
    server = dovecot_factory(auto_folders=())

    client = server.client()
    try:
        names = {name for _flags, _sep, name in client.list_folders()}
    finally:
        client.logout()
    assert names == {"INBOX"}


def test_uidvalidity_and_uids_survive_restart(dovecot_factory: DovecotFactory, dovecot_base: Path) -> None:
    first = dovecot_factory(base=dovecot_base)
    uid = first.append(RAW, folder="Processed")
    client = first.client()
    try:
        before = {f: client.select_folder(f, readonly=True)[b"UIDVALIDITY"] for f in ("INBOX", "Processed")}
    finally:
        client.logout()
    first.stop()
    assert not first.running
    first.stop()  # idempotent

    second = dovecot_factory(base=dovecot_base)
    client = second.client()
    try:
        after = {f: client.select_folder(f, readonly=True)[b"UIDVALIDITY"] for f in ("INBOX", "Processed")}
    finally:
        client.logout()

    assert after == before
    assert second.uids("Processed") == [uid]
    assert second.fetch_raw("Processed", uid) == RAW
    assert second.append(RAW, folder="Processed") > uid


def test_two_instances_at_once(dovecot_factory: DovecotFactory) -> None:
    one = dovecot_factory()
    two = dovecot_factory(username="alt", password="other")

    assert one.port != two.port
    assert one.base != two.base
    one.append(RAW)
    assert len(one.uids()) == 1
    assert two.uids() == []
    one.stop()
    assert two.append(RAW) == 1


def test_listens_on_ipv4_loopback_only(dovecot: DovecotServer) -> None:
    assert dovecot.host == "127.0.0.1"
    with pytest.raises(OSError), socket.create_connection(("::1", dovecot.port), timeout=2):
        pass


def test_many_parallel_connections(dovecot: DovecotServer) -> None:
    # mail_max_userip_connections is raised so a daemon plus test clients never hit Dovecot's limit of 10.
    clients = [dovecot.client() for _ in range(15)]
    for client in clients:
        client.logout()


def test_retries_when_port_is_taken(dovecot_factory: DovecotFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real_free_port = dovecot_module._free_port
        ports = iter([taken])
        monkeypatch.setattr(dovecot_module, "_free_port", lambda: next(ports, None) or real_free_port())

        server = dovecot_factory()

    assert server.port != taken
    assert server.uids() == []


def test_startup_failure_raises_with_log(dovecot_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dovecot_module, "_config", lambda *args: "no_such_setting = 1\n")

    with pytest.raises(RuntimeError, match="no_such_setting"):
        start_dovecot(dovecot_base, timeout=5)


def test_missing_dovecot_raises_instead_of_skipping(dovecot_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(dovecot_module, "_FALLBACK_BINARIES", ())

    with pytest.raises(RuntimeError, match=r"apt-get install -y dovecot-imapd"):
        start_dovecot(dovecot_base)


# --- SMTP sink ---


def test_smtp_round_trip(smtp_sink: SmtpSink) -> None:
    _send(smtp_sink, _message())

    [mail] = smtp_sink.wait_for(1)
    assert smtp_sink.host == "127.0.0.1"
    assert mail.mail_from == "intake@ajofm-cluj.example.ro"
    assert mail.rcpt_tos == ["ion.popescu@example.ro"]
    parsed = mail.message()
    assert parsed["Subject"] == "Recipisă înregistrare cerere"
    assert parsed.get_content().strip() == "Cererea dumneavoastră a fost înregistrată."


def test_smtp_fail_next_answers_451_then_accepts(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next = 1

    with pytest.raises(aiosmtplib.SMTPResponseException) as excinfo:
        _send(smtp_sink, _message("prima încercare"))
    assert excinfo.value.code == 451
    assert smtp_sink.messages == []
    assert smtp_sink.rejected == 1
    assert smtp_sink.fail_next == 0

    _send(smtp_sink, _message("a doua încercare"))
    [mail] = smtp_sink.wait_for(1)
    assert mail.message()["Subject"] == "a doua încercare"


def test_smtp_wait_for_times_out_and_clear(smtp_sink: SmtpSink) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="expected 1 message"):
        smtp_sink.wait_for(1, timeout=0.2)
    assert time.monotonic() - started < 2

    _send(smtp_sink, _message())
    smtp_sink.wait_for(1)
    smtp_sink.clear()
    assert smtp_sink.messages == []
