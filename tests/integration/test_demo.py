"""`intake demo` for real: a subprocess with embedded IMAP and SMTP servers, checked from the outside; with
`--serve` it then serves the staff interface on the demo's data, which the tests log in to."""

from __future__ import annotations

import email
import hashlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from intake.demo import DEMO_ACCOUNTS, OUTPUT_MARKER, SIGNING_PASSWORD

REPO = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 120  # seconds; the demo itself takes a few, this only stops a hung run
REGISTRATION = r"\d+/\d{2}\.\d{2}\.\d{4}"


@dataclass
class DemoRun:
    output: Path
    returncode: int | None  # None while `--serve` is still serving
    stdout: str
    stderr: str
    seconds: float  # until the demo's report was complete
    port: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)


def _environment() -> dict[str, str]:
    # The demo must not depend on (or be redirected by) the caller's configuration.
    env = {key: value for key, value in os.environ.items() if not key.startswith("INTAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVING = "Serving the staff interface on "


def _serve_demo(workdir: Path, output: Path) -> DemoRun:
    """`intake demo --serve`, returned once it says it serves (the web server answers /healthz)."""
    port = _free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "demo", "--output", str(output), "--serve", "--port", str(port)],
        cwd=workdir,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=(workdir / "demo.err").open("w"),
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )
    lines: list[str] = []
    serving = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(SERVING):
                serving.set()
        serving.set()  # the process ended: let the caller see why

    threading.Thread(target=read, daemon=True).start()
    serving.wait(DEMO_TIMEOUT)
    seconds = time.monotonic() - started
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    stderr = (workdir / "demo.err").read_text(encoding="utf-8")
    return DemoRun(output, process.poll(), "".join(lines), stderr, seconds, port, process)


def _run_demo(workdir: Path, output: Path) -> DemoRun:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "intake.cli", "demo", "--output", str(output)],
        cwd=workdir,
        env=_environment(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return DemoRun(output, result.returncode, result.stdout, result.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    workdir = tmp_path_factory.mktemp("demo")
    output = workdir / "demo-output"
    # What an earlier run left behind: the demo must start from scratch.
    output.mkdir()
    (output / OUTPUT_MARKER).write_text("earlier run\n")
    (output / "stale.txt").write_text("left over from an earlier run\n")
    run = _serve_demo(workdir, output)
    try:
        yield run
    finally:
        if run.process is not None and run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait(timeout=15)


def _row(stdout: str, sender: str) -> str:
    rows = [line for line in stdout.splitlines() if re.search(rf"\s{re.escape(sender)}\s", line)]
    assert len(rows) == 1, f"expected one table row for {sender}, got {rows}\n{stdout}"
    return rows[0]


def _outbox(demo: DemoRun) -> list[EmailMessage]:
    files = sorted((demo.output / "outbox").glob("*.eml"))
    return [cast(EmailMessage, email.message_from_bytes(f.read_bytes(), policy=policy.default)) for f in files]


def test_demo_runs_quickly_then_serves(demo: DemoRun) -> None:
    assert demo.returncode is None, f"stdout:\n{demo.stdout}\nstderr:\n{demo.stderr}"
    assert f"{SERVING}http://127.0.0.1:{demo.port}" in demo.stdout
    assert demo.seconds < 60, f"the demo took {demo.seconds:.1f} s"
    assert not (demo.output / "stale.txt").exists(), "the output directory must start fresh"
    assert "Traceback" not in demo.stderr, demo.stderr


def test_demo_refuses_to_wipe_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("not the demo's\n")
    run = _run_demo(tmp_path, tmp_path)
    assert run.returncode == 2, run.stderr
    assert "was not made by `intake demo`" in run.stderr
    assert precious.read_text() == "not the demo's\n"


def test_first_cycle_handles_everything_and_second_does_nothing(demo: DemoRun) -> None:
    assert re.search(r"^cycle 1: claimed 5, processed 5, moved 5, sent 6, deferred 0, failed 0$", demo.stdout, re.M)
    assert re.search(r"^cycle 2: claimed 0, processed 0, moved 0, sent 0, deferred 0, failed 0$", demo.stdout, re.M)
    assert "mailbox after the cycles: INBOX 0, Processed 5, Quarantine 0" in demo.stdout


def test_outcome_table(demo: DemoRun) -> None:
    out = demo.stdout
    good = _row(out, "ion.popescu@example.ro")
    assert re.match(
        rf"{REGISTRATION}\s+ion\.popescu@example\.ro\s+receipted\s+5 accepted, 0 rejected\s+"
        r"acknowledgement, receipt$",
        good,
    ), good
    forbidden = _row(out, "maria.ionescu@example.com")
    assert re.search(r"receipted\s+1 accepted, 2 rejected\s+acknowledgement, receipt$", forbidden), forbidden
    corrupt = _row(out, "andrei.muresan@example.net")
    # The PDF named .jpg is accepted as the PDF it is (issue 9 point 8); the truncated JPEG is not.
    assert re.search(r"receipted\s+1 accepted, 1 rejected\s+acknowledgement, receipt$", corrupt), corrupt
    for machine in ("elena.pop@example.org", "MAILER-DAEMON@mx.example.ro"):
        row = _row(out, machine)
        assert re.match(rf"-\s+{re.escape(machine)}\s+ignored\s+-\s+none$", row), row
    # The reasons are the Romanian text shown to the sender: diacritics must survive the whole way.
    assert "✗ CV Maria Ionescu.docx (DOCX): Fișierul „CV Maria Ionescu.docx” are formatul DOCX" in out
    assert "✗ IMG_4032.HEIC (HEIC):" in out
    assert "✗ buletin.jpg (JPEG): Fișierul „buletin.jpg”" in out
    assert "✓ adeverinta.jpg (PDF" in out and "Numele fișierului „adeverinta.jpg” nu corespunde" in out
    assert "auto_reply: auto-reply (Auto-Submitted: auto-replied)" in out
    numbers = re.findall(rf"^({REGISTRATION})\s", out, re.M)
    assert [n.split("/")[0] for n in numbers] == ["1", "2", "3"], "numbers follow the order of receipt"


def _signing_certificate(output: Path) -> asn1_x509.Certificate:
    bundle = pkcs12.load_pkcs12((output / "demo-signing.p12").read_bytes(), SIGNING_PASSWORD.encode())
    assert bundle.cert is not None
    return asn1_x509.Certificate.load(bundle.cert.certificate.public_bytes(Encoding.DER))


def test_receipts_are_signed_pdfs(demo: DemoRun) -> None:
    receipts = sorted((demo.output / "receipts").glob("recipisa-*.pdf"))
    year = re.search(r"^\d+/\d{2}\.\d{2}\.(\d{4})\s", demo.stdout, re.M)
    assert year is not None
    assert [p.name for p in receipts] == [f"recipisa-{n}-{year.group(1)}.pdf" for n in (1, 2, 3)]
    trust = ValidationContext(trust_roots=[_signing_certificate(demo.output)])
    for path in receipts:
        assert str(path) in demo.stdout
        reader = PdfReader(path)
        fields = reader.get_fields() or {}
        signatures = [f for f in fields.values() if f.get("/FT") == "/Sig" and f.get("/V") is not None]
        assert len(signatures) == 1, f"{path.name}: {fields}"
        number = path.name.split("-")[1]
        assert f"Nr. de înregistrare: {number}/" in reader.pages[0].extract_text()
        with path.open("rb") as handle:
            embedded = PdfFileReader(handle).embedded_signatures
            assert len(embedded) == 1
            status = validate_pdf_signature(embedded[0], trust)
        assert status.intact and status.valid and status.trusted, f"{path.name}: {status.pretty_print_details()}"
        assert status.coverage.name == "ENTIRE_FILE"


def test_replies_captured_only_for_citizens(demo: DemoRun) -> None:
    messages = _outbox(demo)
    recipients = sorted(str(m["To"]) for m in messages)
    assert recipients == sorted(
        [
            addr
            for addr in ("ion.popescu@example.ro", "maria.ionescu@example.com", "andrei.muresan@example.net")
            for _ in range(2)
        ]
    )
    receipts = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (demo.output / "receipts").glob("*.pdf")}
    attached = set()
    for message in messages:
        assert message["Auto-Submitted"] == "auto-replied"
        assert message["In-Reply-To"], "replies are threaded to the citizen's message"
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                attached.add(hashlib.sha256(part.get_content()).hexdigest())
    assert attached == receipts, "each reply carries exactly the receipt saved under receipts/"
    subjects = [str(m["Subject"]) for m in messages]
    assert sum(s.startswith("Confirmare de primire: ") for s in subjects) == 3
    assert sum(s.startswith("Recipisă nr. ") for s in subjects) == 3


def test_complete_application_is_qualified_through_the_demo_trusted_list(demo: DemoRun) -> None:
    good = demo.stdout[demo.stdout.index("ion.popescu@example.ro      ") :]
    good = good[: good.index("maria.ionescu@example.com")]
    assert "findings:" not in good, good
    assert good.count("signature QES: Ion Popescu, trusted list RO no. 1") == 2, good
    assert "verification: pending" in good
    # The signed forms are there to open, as the citizen sent them.
    for name in ("cerere-indemnizatie.pdf", "declaratie-anexa-1-1.pdf"):
        fields = PdfReader(demo.output / "samples" / "good" / name).get_fields() or {}
        assert [f for f in fields.values() if f.get("/FT") == "/Sig" and f.get("/V") is not None], name
    assert (demo.output / "samples" / "bounce" / "message.eml").is_file()


def test_links_and_accounts_lead_to_the_running_interface(demo: DemoRun) -> None:
    base = f"http://127.0.0.1:{demo.port}"
    for name, _, password, _ in DEMO_ACCOUNTS:
        assert re.search(rf"^  {name}\s+/ {password}\s", demo.stdout, re.M), demo.stdout
    cases = re.findall(rf"^    case: ({re.escape(base)}/cazuri/\d+)$", demo.stdout, re.M)
    assert len(cases) == 5, demo.stdout
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = browser.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token, login
    name, _, password, _ = DEMO_ACCOUNTS[0]
    form = urllib.parse.urlencode({"name": name, "password": password, "csrf_token": token.group(1)}).encode()
    assert browser.open(f"{base}/login", data=form, timeout=10).status == 200
    for url in cases:
        with browser.open(url, timeout=10) as page:
            assert page.status == 200, url
    # The reschedule link of a clarification reply opens the citizen's page on the same server.
    reply = next(m for m in _outbox(demo) if str(m["Subject"]).startswith("Recipisă nr. 2/"))
    html = reply.get_body(("html",))
    assert html is not None
    link = re.search(rf'<a href="({re.escape(base)}/programare/[^"]+)">', html.get_content())
    assert link, html.get_content()
    with urllib.request.urlopen(link.group(1), timeout=10) as page:
        assert page.status == 200
    # And so does the case status link of every reply (issue 13 §4), printed for each answered case too.
    status = re.search(rf'<a href="({re.escape(base)}/dosar/[^"]+)">', html.get_content())
    assert status, html.get_content()
    assert f"    citizen's page: {status.group(1)}" in demo.stdout
    with urllib.request.urlopen(status.group(1), timeout=10) as page:
        assert page.status == 200 and "Documente primite" in page.read().decode()


def test_follow_up_command_can_be_run_as_printed(demo: DemoRun) -> None:
    hint = re.search(r"^The demo's data from the command line: (.*) submissions$", demo.stdout, re.M)
    assert hint, demo.stdout
    command = hint.group(1).split()[2:]  # after the two INTAKE_ variables
    # `intake` only when it is on PATH; here (python -m intake.cli, no console script) the interpreter's own path.
    assert command == [sys.executable, "-m", "intake.cli"] or command == ["intake"], command
    env = {**_environment(), **dict(v.split("=", 1) for v in hint.group(1).split()[:2])}
    listed = subprocess.run([*command, "submissions", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count('"registration_number"') == 5


def test_serve_stops_cleanly(demo: DemoRun) -> None:
    assert demo.process is not None and demo.process.poll() is None
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=30) == 0
