"""`intake demo`: the whole flow on embedded servers, with nothing installed or configured.

An in-process IMAP server (pymap, in-memory backend) plays the agency mailbox and an in-process SMTP sink
(aiosmtpd) catches the replies. Sample mail goes in by IMAP APPEND, then the real pipeline runs
(`run_cycle`) exactly as `intake poll --once` would: the demo exercises the production code, not a copy.
Both servers listen on 127.0.0.1 only, on free ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import re
import secrets
import shutil
import socket
import sys
import threading
import time
from argparse import Namespace
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from intake.demo_pki import DemoTrustedList, make_demo_signer, write_demo_trusted_list
from intake.demo_samples import APPLICANT_CNP, APPLICANT_GIVEN, APPLICANT_SURNAME, Sample, build_samples
from intake.settings import (
    AppointmentsSettings,
    DatabaseSettings,
    ImapSettings,
    OfficeSettings,
    RepliesSettings,
    Settings,
    SigningSettings,
    SmtpSettings,
    StorageSettings,
    TrustListSource,
    TrustSettings,
    WebSettings,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEMO_USER = "cluj@anofm.gov.ro"
DEMO_PASSWORD = "demo-parola"
SIGNING_PASSWORD = "demo"
OUTPUT_MARKER = ".intake-demo"
START_TIMEOUT = 10.0
# aiosmtpd and pymap both ask socket.getfqdn() for their greeting, which can stall for seconds on a
# machine without DNS; the demo must never wait on the network.
SERVER_NAME = "localhost"
# The staff accounts made for the demo (name, role, password, what the role does), printed for the newcomer.
DEMO_ACCOUNTS = (
    ("registratura", "registry", "demo-registratura", "registratura: cazuri, programări, rapoarte"),
    ("operator", "ops", "demo-operator", "operare: panou, carantină"),
    ("admin", "admin", "demo-administrator", "administrator: tot, plus utilizatorii"),
)


class OutputInUse(Exception):
    """The --output directory holds something the demo must not delete."""


# --------------------------------------------------------------------------------------------------
# Embedded IMAP server (pymap, dict backend)


class EmbeddedImap:
    """pymap's in-memory IMAP server on its own event loop in a background thread."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="demo-imap", daemon=True)

    def start(self) -> EmbeddedImap:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("embedded IMAP server did not start in time")
        if self._error is not None:
            raise RuntimeError(f"embedded IMAP server failed to start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have finished already
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(START_TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the starting thread, which raises it
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from proxyprotocol.reader import ProxyProtocolReader
        from pymap.imap import IMAPServer

        backend, config = await _dict_backend(self.user, self.password)
        config.apply_context()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(backend.login, config))
        # Port 0 here (rather than pymap's own service) lets the kernel pick a free port without a race.
        server = await asyncio.start_server(callback, host=HOST, port=0)
        async with server:
            self.port = int(server.sockets[0].getsockname()[1])
            self._ready.set()
            await self._stop.wait()
            server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=2)


async def _dict_backend(user: str, password: str) -> tuple[Any, Any]:
    from pymap.backend.dict import Config, DictBackend, Login
    from pymap.user import Passwords, UserMetadata

    class DemoConfig(Config):
        @property
        def greeting(self) -> bytes:
            return b"Server ready " + SERVER_NAME.encode("ascii")

    args = Namespace(passlib_cfg=None, proxy_protocol=None, inherited_sockets=None, debug=False)
    config = DemoConfig(
        args,
        host=HOST,
        port=0,
        tls_enabled=False,  # plain LOGIN on loopback, like `imap.security = "none"`
        invalid_user_sleep=0.0,
        demo_data=False,  # pymap's sample mailboxes stay out: the INBOX holds only our samples
        demo_user=user,
        demo_password=password,
    )
    login = Login(config)
    # What pymap's own start-up does to create its one user (demo_user / demo_password).
    hashed = await Passwords(config).hash_password(password)
    await login.demo_user_identity.set(UserMetadata(config, user, password=hashed))
    return DictBackend(login, config), config


# --------------------------------------------------------------------------------------------------
# SMTP sink (aiosmtpd)


@dataclass(frozen=True)
class CapturedMail:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=policy.default))


@dataclass
class SmtpSink:
    """Accepts every message and keeps it in memory, in arrival order."""

    messages: list[CapturedMail] = field(default_factory=list)
    port: int = 0
    _controller: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # The name aiosmtpd looks up on its handler.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            self.messages.append(CapturedMail(envelope.mail_from, tuple(envelope.rcpt_tos), data))
        return "250 2.0.0 OK: kept by the demo sink"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        last_error: OSError | None = None
        for _attempt in range(5):  # another process may take the free port between probe and bind
            port = _free_port()
            controller = Controller(
                self, hostname=HOST, port=port, server_hostname=SERVER_NAME, ready_timeout=START_TIMEOUT
            )
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                with contextlib.suppress(Exception):
                    controller.stop(no_assert=True)
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"SMTP sink could not start: {last_error!r}")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def snapshot(self) -> list[CapturedMail]:
        with self._lock:
            return list(self.messages)


def _free_port() -> int:
    # aiosmtpd's Controller cannot listen on port 0: its readiness probe connects to the given port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_servers() -> Iterator[tuple[EmbeddedImap, SmtpSink]]:
    imap = EmbeddedImap(DEMO_USER, DEMO_PASSWORD).start()
    try:
        sink = SmtpSink().start()
        try:
            yield imap, sink
        finally:
            sink.stop()
    finally:
        imap.stop()


# --------------------------------------------------------------------------------------------------
# The demo


def demo_settings(
    output: Path, imap_port: int, smtp_port: int, web_port: int, trusted_list: DemoTrustedList
) -> Settings:
    # Every section the demo depends on is given in full, so config/intake.toml and INTAKE_* cannot
    # point it at a real mailbox or database.
    return Settings(
        imap=ImapSettings(
            host=HOST,
            port=imap_port,
            security="none",
            username=DEMO_USER,
            password=SecretStr(DEMO_PASSWORD),
            idle=False,  # pymap's IDLE is unreliable, and one poll is all the demo needs
            timeout_seconds=10,
        ),
        smtp=SmtpSettings(host=HOST, port=smtp_port, security="none", timeout_seconds=10),
        database=DatabaseSettings(url=f"sqlite:///{(output / 'intake.db').as_posix()}"),
        storage=StorageSettings(path=output / "storage"),
        office=OfficeSettings(),
        signing=SigningSettings(pkcs12_path=output / "demo-signing.p12", pkcs12_password=SecretStr(SIGNING_PASSWORD)),
        replies=RepliesSettings(acknowledgement=True),
        # The demo's own trusted list names its "qualified" CA, so the complete sample's QES is recognised the way
        # a real one is; no OCSP/CRL server runs here.
        trust=TrustSettings(
            lists=[TrustListSource(source=str(trusted_list.source), signer=trusted_list.signer)], revocation="off"
        ),
        # The links in the replies lead to the staff interface `intake demo --serve` runs.
        web=WebSettings(host=HOST, port=web_port, secret_key=SecretStr(secrets.token_urlsafe(32))),
        appointments=AppointmentsSettings(public_base_url=f"http://{HOST}:{web_port}"),
    )


def prepare_output(output: Path) -> None:
    """A fresh directory each run: numbering starts at 1 and old receipts cannot be mistaken for new.

    Only an empty directory or an earlier demo's output (it carries OUTPUT_MARKER) is ever wiped: a
    mistyped --output must not delete someone's files.
    """
    if output.exists():
        if not output.is_dir():
            raise OutputInUse(f"{output} exists and is not a directory")
        if any(output.iterdir()) and not (output / OUTPUT_MARKER).is_file():
            raise OutputInUse(f"{output} is not empty and was not made by `intake demo`: choose another --output")
        shutil.rmtree(output)
    output.mkdir(parents=True)
    (output / OUTPUT_MARKER).write_text("made by `intake demo`; the next run deletes this directory\n")


def deliver(imap_port: int, samples: list[Sample]) -> None:
    """APPEND the samples as a mail server would deliver them: exact bytes, CRLF, INTERNALDATE set."""
    from imapclient import IMAPClient

    with IMAPClient(HOST, port=imap_port, ssl=False, timeout=10) as client:
        client.login(DEMO_USER, DEMO_PASSWORD)
        for sample in samples:
            client.append("INBOX", sample.message.as_bytes(policy=policy.SMTP), msg_time=sample.received_at)


def save_samples(samples: list[Sample], folder: Path) -> None:
    """Each sample as the .eml it is and its attachments beside it: the signed forms can be opened in a PDF reader
    (its signature panel shows the demo signer) or checked with `intake verify`."""
    for sample in samples:
        where = folder / sample.key
        where.mkdir(parents=True, exist_ok=True)
        (where / "message.eml").write_bytes(sample.message.as_bytes(policy=policy.SMTP))
        for part in sample.message.iter_attachments():
            name = Path(part.get_filename() or "attachment").name
            (where / name).write_bytes(part.get_payload(decode=True) or b"")


def folder_counts(imap_port: int, folders: tuple[str, ...]) -> dict[str, int]:
    from imapclient import IMAPClient

    with IMAPClient(HOST, port=imap_port, ssl=False, timeout=10) as client:
        client.login(DEMO_USER, DEMO_PASSWORD)
        counts = {
            name: int(client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])
            for name in folders
            if client.folder_exists(name)
        }
    return counts


def run_demo(output: str, *, serve: bool = False, port: int = 8080) -> int:
    started = time.monotonic()
    out = Path(output).resolve()
    try:
        prepare_output(out)
    except OutputInUse as exc:
        print(f"intake demo: {exc}", file=sys.stderr)
        return 2

    from intake.receipts.keys import generate_pkcs12

    generate_pkcs12(out / "demo-signing.p12", SIGNING_PASSWORD, common_name="Registratura AJOFM Cluj (demo)")
    citizen = make_demo_signer(out / "demo-pki", APPLICANT_GIVEN, APPLICANT_SURNAME, APPLICANT_CNP)
    trusted_list = write_demo_trusted_list(out / "demo-pki", citizen)
    web_port = port if _port_free(port) else _free_port()
    with embedded_servers() as (imap, sink):
        settings = demo_settings(out, imap.port, sink.port, web_port, trusted_list)
        timezone = ZoneInfo(settings.office.timezone)
        samples = build_samples(datetime.now(timezone), citizen)
        save_samples(samples, out / "samples")
        deliver(imap.port, samples)
        print(f"intake demo: output in {out}")
        print(f"  IMAP {HOST}:{imap.port} (pymap, in memory), user {DEMO_USER}, password {DEMO_PASSWORD}")
        print(f"  SMTP {HOST}:{sink.port} (sink: keeps every reply, delivers none)")
        print(f"  trusted list {trusted_list.source} (the demo's qualified CA, signed by a demo list operator)")
        print(f"{len(samples)} messages delivered to INBOX (IMAP APPEND), as sent in {out / 'samples'}:")
        for sample in samples:
            print(f"  {sample.received_at:%H:%M:%S}  {sample.key:<10} {sample.description}")
        ok = _run_pipeline(settings, sink, out, imap.port)
    _add_accounts(settings)
    base = f"http://{HOST}:{web_port}"
    print(f"\ndone in {time.monotonic() - started:.1f} s.")
    _print_accounts(base)
    launcher = _launcher()
    print(
        f"The demo's data from the command line: INTAKE_DATABASE__URL={settings.database.url} "
        f"INTAKE_STORAGE__PATH={settings.storage.path} {launcher} submissions"
    )
    if not serve:
        print(
            "The links above (and in the replies under outbox/) need the web interface; to run the demo again and "
            f"keep it serving: {launcher} demo --output {out} --serve"
        )
        return 0 if ok else 1
    return _serve(settings, base) if ok else 1


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _launcher() -> str:
    """How this very intake is started again: `intake` when that is on PATH, else the path it was run by."""
    found = shutil.which("intake")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return "intake"
    script = Path(sys.argv[0])
    if script.name == "intake" and script.exists():
        return str(script.resolve())  # absolute: scripts/demo runs it from the repository, the reader may be elsewhere
    return f"{sys.executable} -m intake.cli"


def _add_accounts(settings: Settings) -> None:
    from intake.db import transaction
    from intake.runtime import Runtime
    from intake.web.auth import create_user

    rt = Runtime.from_settings(settings)
    auth_log = logging.getLogger("intake.web.auth")
    level = auth_log.level
    auth_log.setLevel(logging.WARNING)  # the accounts are printed below, as a table
    try:
        with transaction(rt.engine) as session:
            for name, role, password, _ in DEMO_ACCOUNTS:
                create_user(session, rt.office, name, role, password)
    finally:
        auth_log.setLevel(level)
        rt.engine.dispose()


def _print_accounts(base: str) -> None:
    print(f"Staff interface: {base}/login, demo accounts (user / password):")
    for name, _, password, what in DEMO_ACCOUNTS:
        print(f"  {name:<13} / {password:<19} {what}")


def _serve(settings: Settings, base: str) -> int:
    from intake.runtime import Runtime
    from intake.web.app import serve

    rt = Runtime.from_settings(settings)
    print(f"\nServing the staff interface on {base} (Ctrl-C stops it; the demo's files stay in place).", flush=True)
    try:
        serve(rt)
    except KeyboardInterrupt:
        pass
    finally:
        rt.engine.dispose()
    return 0


def _run_pipeline(settings: Settings, sink: SmtpSink, out: Path, imap_port: int) -> bool:
    from intake.runtime import Runtime
    from intake.scheduler import run_cycle

    rt = Runtime.from_settings(settings)
    try:
        first = run_cycle(rt)
        _print_cycle(1, first)
        second = run_cycle(rt)  # shows idempotence: nothing is claimed, processed or sent twice
        _print_cycle(2, second)
        imap = settings.imap
        counts = folder_counts(imap_port, (imap.folder, imap.processed_folder, imap.quarantine_folder))
        print("mailbox after the cycles: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
        mails = sink.snapshot()
        _report(rt, mails, out, f"http://{HOST}:{settings.web.port}")
    finally:
        rt.engine.dispose()
    return first.imap_error is None and second.imap_error is None


def _print_cycle(index: int, report: Any) -> None:
    line = (
        f"cycle {index}: claimed {report.fetched.claimed}, processed {report.processed}, "
        f"moved {report.moved}, sent {report.sent.sent}, deferred {report.sent.deferred}, "
        f"failed {report.sent.failed}"
    )
    if report.imap_error:
        line += f"  IMAP ERROR: {report.imap_error}"
    print(line)


# --------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Reply:
    kind: str
    subject: str
    eml: Path


REASON_WIDTH = 90


def _report(rt: Any, mails: list[CapturedMail], out: Path, base: str) -> None:
    from intake.case_link import status_url
    from intake.db import transaction
    from intake.models import Submission, SubmissionState
    from intake.views import all_submissions

    with transaction(rt.engine) as session:
        rows = list(reversed(all_submissions(session, rt)))  # oldest first, as numbers were given
        kinds = _outbox_kinds(session)
        # What the citizen opens from the replies (issue 13 §4): machine mail got none.
        citizen = {
            row["id"]: status_url(rt, session, session.get_one(Submission, row["id"]))
            for row in rows
            if row["state"] != SubmissionState.IGNORED
        }
    replies = _write_outbox(mails, kinds, out / "outbox")
    receipts = _copy_receipts(rt, rows, out / "receipts")

    print()
    print(f"{'registration':<17} {'sender':<30} {'state':<10} {'documents':<23} replies sent")
    for row in rows:
        _print_row(row, replies.get(row["message_id"] or "", []))
        print(f"    case: {base}/cazuri/{row['id']}")
        if row["id"] in citizen:
            print(f"    citizen's page: {citizen[row['id']]}")
    print()
    print(f"signed receipts ({len(receipts)}):")
    for path in receipts:
        print(f"  {path}")
    print(f"mail captured by the SMTP sink ({len(mails)}), saved in {out / 'outbox'}:")
    for reply_list in replies.values():
        for reply in reply_list:
            print(f"  {reply.eml.name}  {reply.subject}")


def _print_row(row: dict[str, Any], replies: list[Reply]) -> None:
    # Machine mail stops at screening: its parts are stored but never checked, so they are not listed.
    checked = [doc for doc in row["documents"] if doc["accepted"] is not None]
    accepted = sum(1 for doc in checked if doc["accepted"])
    docs = f"{accepted} accepted, {len(checked) - accepted} rejected" if checked else "-"
    sent = ", ".join(reply.kind for reply in replies) or "none"
    number, sender = row["registration_number"] or "-", (row["sender"] or "-")[:30]
    print(f"{number:<17} {sender:<30} {row['state']:<10} {docs:<23} {sent}")
    if row.get("category") and row["category"] != "submission":
        print(f"    {row['category']}: {_short(row.get('screening') or '')}")
    if row.get("quarantine_reason"):
        print(f"    quarantined: {_short(row['quarantine_reason'])}")
    for doc in checked:
        print(_document_line(doc))
    if row.get("findings"):
        print(f"    findings: {', '.join(sorted({f['code'] for f in row['findings']}))}")
    if row.get("appointment"):
        appointment = row["appointment"]
        print(f"    appointment: {appointment['purpose']} on {appointment['start'][:16].replace('T', ' ')}")
    elif row.get("verification") == "pending":
        print("    verification: pending (complete; the decision visit is booked once a clerk confirms the file)")


def _document_line(doc: dict[str, Any]) -> str:
    kind = (doc["detected_type"] or "?").upper()
    pages = f", {doc['pages']} p." if kind == "PDF" and doc["pages"] else ""
    if doc["accepted"]:
        notes = " ".join(doc["notes"] or [])
        line = f"    ✓ {doc['filename']} ({kind}{pages})" + (f": {_short(notes)}" if notes else "")
        signature = doc.get("signature") or {}
        if signature.get("label") not in (None, "none"):
            listed = signature.get("trusted_list") or {}
            where = f", trusted list {listed['territory']} no. {listed['sequence']}" if listed else ""
            line += f"\n        signature {signature['label']}: {signature.get('signer') or '?'}{where}"
        return line
    return f"    ✗ {doc['filename']} ({kind}{pages}): {_short(doc['reason'] or doc['code'] or '')}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def _outbox_kinds(session: Any) -> dict[str, str]:
    from sqlmodel import select

    from intake.models import OutboxMessage

    return {message_id: kind for message_id, kind in session.exec(select(OutboxMessage.message_id, OutboxMessage.kind))}


def _write_outbox(mails: list[CapturedMail], kinds: dict[str, str], folder: Path) -> dict[str, list[Reply]]:
    """Every captured mail as an .eml file; returns the replies grouped by the Message-ID they answer."""
    folder.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, list[Reply]] = {}
    for index, mail in enumerate(mails, start=1):
        message = mail.message()
        message_id = str(message.get("Message-ID", "")).strip()
        kind = kinds.get(message_id, "mail")
        recipient = _safe(mail.recipients[0] if mail.recipients else "unknown")
        path = folder / f"{index:02d}-{kind}-{recipient}.eml"
        path.write_bytes(mail.data)
        answered = str(message.get("In-Reply-To", "")).strip()
        grouped.setdefault(answered, []).append(Reply(kind, str(message.get("Subject", "")), path))
    return grouped


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.@_-]+", "_", text)[:60]


def _copy_receipts(rt: Any, rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for row in rows:
        receipt = row["receipt"]
        if not receipt or not receipt.get("pdf_sha256"):
            continue
        target = folder / f"recipisa-{row['number']}-{row['year']}.pdf"
        shutil.copyfile(rt.store.path_for(receipt["pdf_sha256"]), target)
        copied.append(target)
    return copied
