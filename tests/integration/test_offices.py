"""Two offices in one deployment (`[[offices]]`), end to end: Cluj and Bihor, two mailboxes of one Dovecot, one SMTP
server, one SQLite database, each office with its own sender and receipt key.

One `intake poll --once` for the whole module: each office numbers its submissions 1..n on its own, answers from its
own address with a recipisă in its own name, signed with its own key, and moves its mail in its own mailbox. Then the
real `intake serve`: a Cluj clerk sees Cluj's cases and gets 404 for Bihor's case, files and preview.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for
from tests.integration.receipts import Reply, check_signature, pdf_text, replies
from tests.servers.dovecot import DovecotServer, make_dovecot_base, start_dovecot
from tests.servers.smtp_sink import SmtpSink, start_smtp_sink

pytestmark = pytest.mark.integration

CLUJ_SENDERS = ("ana.cluj@example.ro", "bogdan.cluj@example.ro", "carmen.cluj@example.ro")
BIHOR_SENDERS = ("dan.bihor@example.ro", "elena.bihor@example.ro")
STAFF_PASSWORD = "parola-lunga-2026"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Deployment:
    intake: Intake
    cluj_box: DovecotServer
    bihor_box: DovecotServer
    replies: list[Reply]
    submissions: list[dict[str, Any]]
    cluj_ca: Path
    bihor_ca: Path
    database: Path
    base_url: str


def _offices(bihor_p12: Path, port: int) -> str:
    return f"""
[web]
host = "127.0.0.1"
port = {port}

[[offices]]
code = "CJ"
name = "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj"
name_genitive = "Agenției Județene pentru Ocuparea Forței de Muncă Cluj"
short_name = "AJOFM Cluj"
address = "Cluj-Napoca, str. Exemplu 1"

[[offices]]
code = "BH"
name = "Agenția Județeană pentru Ocuparea Forței de Muncă Bihor"
name_genitive = "Agenției Județene pentru Ocuparea Forței de Muncă Bihor"
short_name = "AJOFM Bihor"
address = "Oradea, str. Exemplu 2"
imap = {{ username = "bihor", password = "secret-bh" }}
smtp = {{ from_address = "bihor@anofm.gov.ro", from_name = "AJOFM Bihor – Registratură" }}
signing = {{ pkcs12_path = "{bihor_p12}" }}
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, signing_key: tuple[Path, Path]) -> Iterator[Deployment]:
    base = make_dovecot_base()
    dovecot: DovecotServer | None = None
    smtp: SmtpSink | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        dovecot = start_dovecot(base, username="cluj", password="secret-cj", extra_users=[("bihor", "secret-bh")])
        bihor_box = dovecot.as_user("bihor", "secret-bh")
        smtp = start_smtp_sink()
        workdir = tmp_path_factory.mktemp("offices")
        bihor_p12, bihor_ca = generate_ca_and_leaf_pkcs12(workdir / "bihor-pki", KEY_PASSWORD)
        port = _free_port()
        intake = intake_for(
            workdir / "intake",
            dovecot=dovecot,
            smtp_sink=smtp,
            pkcs12=signing_key[0],
            password=KEY_PASSWORD,
            extra_config=_offices(bihor_p12, port),
        )
        for box, senders in ((dovecot, CLUJ_SENDERS), (bihor_box, BIHOR_SENDERS)):
            for sender in senders:
                box.append(mailfactory.good_submission(sender=sender).as_bytes())
        intake.poll()
        for name, office in (("ana.cj", "CJ"), ("dan.bh", "BH")):
            _add_user(intake, name, office)
        server = _serve(intake, workdir / "serve.log", port)
        yield Deployment(
            intake=intake,
            cluj_box=dovecot,
            bihor_box=bihor_box,
            replies=replies(smtp.messages),
            submissions=intake.json("submissions"),
            cluj_ca=signing_key[1],
            bihor_ca=bihor_ca,
            database=intake.workdir / "intake.db",
            base_url=f"http://127.0.0.1:{port}",
        )
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        if smtp is not None:
            smtp.stop()
        if dovecot is not None:
            dovecot.stop()


def _add_user(intake: Intake, name: str, office: str) -> None:
    result = subprocess.run(
        intake.command("user", "add", name, "--role", "registry", "--office", office),
        cwd=intake.workdir,
        env=intake.environment(),
        input=STAFF_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"intake user add: {result.returncode}\n{result.stdout}\n{result.stderr}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(intake: Intake, log: Path, port: int) -> subprocess.Popen[bytes]:
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            intake.command("serve"),
            cwd=intake.workdir,
            env=intake.environment(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"intake serve exited {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"intake serve did not answer within 60 s:\n{log.read_text(errors='replace')}")


def _office_of(sender: str) -> str:
    return "CJ" if sender in CLUJ_SENDERS else "BH"


# --- the poll ------------------------------------------------------------------------------------------------


def test_each_office_numbers_its_own_submissions(deployment: Deployment) -> None:
    numbers: dict[str, list[int]] = {"CJ": [], "BH": []}
    for submission in deployment.submissions:
        assert submission["office"] == _office_of(submission["sender"]), submission
        numbers[submission["office"]].append(submission["number"])
    assert sorted(numbers["CJ"]) == [1, 2, 3] and sorted(numbers["BH"]) == [1, 2]


def test_each_office_answers_in_its_own_name_and_key(deployment: Deployment) -> None:
    receipts = [reply for reply in deployment.replies if reply.is_receipt]
    assert sorted(reply.recipient for reply in receipts) == sorted(CLUJ_SENDERS + BIHOR_SENDERS)
    signers: dict[str, set[str]] = {"CJ": set(), "BH": set()}
    for reply in deployment.replies:  # acknowledgements and receipts alike come from the office's address
        office = _office_of(reply.recipient)
        expected = "bihor@anofm.gov.ro" if office == "BH" else "cluj@anofm.gov.ro"
        assert reply.message["From"].addresses[0].addr_spec == expected, reply.subject
        bodies = [part.get_content() for part in reply.message.walk() if part.get_content_type() == "text/plain"]
        assert bodies and all(("Cluj" in body) == (office == "CJ") for body in bodies), (office, bodies)
    for reply in receipts:
        office = _office_of(reply.recipient)
        assert reply.pdf is not None
        text = pdf_text(reply.pdf)
        assert ("Bihor" in text, "Oradea, str. Exemplu 2" in text) == (office == "BH",) * 2
        assert ("Cluj" in text) == (office == "CJ"), [line for line in text.splitlines() if "Cluj" in line]
        check = check_signature(reply.pdf, deployment.bihor_ca if office == "BH" else deployment.cluj_ca)
        assert check.intact and check.valid and check.trusted, office
        signers[office].add(check.signer_sha256)
        assert _signature_location(reply.pdf) == (
            "Oradea, str. Exemplu 2" if office == "BH" else "Cluj-Napoca, str. Exemplu 1"
        )
    assert len(signers["CJ"]) == len(signers["BH"]) == 1 and signers["CJ"] != signers["BH"]


def test_each_office_settles_its_own_mailbox(deployment: Deployment) -> None:
    for box, senders in ((deployment.cluj_box, CLUJ_SENDERS), (deployment.bihor_box, BIHOR_SENDERS)):
        assert box.uids("INBOX") == []
        assert len(box.uids("Processed")) == len(senders)
    status = deployment.intake.json("status")
    accounts = {view["office"]: [box["account"] for box in view["mailboxes"]] for view in status["offices"]}
    assert accounts == {"CJ": ["cluj@127.0.0.1"], "BH": ["bihor@127.0.0.1"]}
    shown = deployment.intake.json("show", "2", "--office", "BH")
    assert shown["office"] == "BH" and shown["sender"] in BIHOR_SENDERS


# --- the web interface ---------------------------------------------------------------------------------------


def _documents(database: Path) -> dict[str, tuple[int, int]]:
    """One (submission id, image document id) per office, read from the real database."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT s.office, s.id, d.id FROM submission s JOIN document d ON d.submission_id = s.id "
            "WHERE d.detected_type = 'jpeg' ORDER BY s.id"
        ).fetchall()
    return {office: (submission_id, document_id) for office, submission_id, document_id in rows}


def _logged_in(base_url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, headers={"accept": "text/html"}, timeout=30)
    token = CSRF_FIELD.search(client.get("/login").text)
    assert token is not None
    response = client.post("/login", data={"name": name, "password": STAFF_PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text
    return client


def test_a_clerk_sees_only_her_office(deployment: Deployment) -> None:
    documents = _documents(deployment.database)
    for name, own, other in (("ana.cj", "CJ", "BH"), ("dan.bh", "BH", "CJ")):
        client = _logged_in(deployment.base_url, name)
        try:
            own_case, own_image = documents[own]
            other_case, other_image = documents[other]
            queue = client.get("/cazuri").text
            own_senders = CLUJ_SENDERS if own == "CJ" else BIHOR_SENDERS
            assert any(sender in queue for sender in own_senders), queue
            assert all(sender not in queue for sender in (BIHOR_SENDERS if own == "CJ" else CLUJ_SENDERS))
            assert client.get(f"/cazuri/{own_case}").status_code == 200
            assert any(sender in client.get(f"/cazuri/{own_case}").text for sender in own_senders)
            assert client.get(f"/cazuri/{own_case}/documente/{own_image}").status_code == 200
            assert client.get(f"/cazuri/{own_case}/documente/{own_image}/miniatura").status_code == 200
            for path in (
                f"/cazuri/{other_case}",
                f"/cazuri/{other_case}/documente/{other_image}",
                f"/cazuri/{other_case}/documente/{other_image}/miniatura",
            ):
                assert client.get(path).status_code == 404, (name, path)
        finally:
            client.close()


def test_an_appointment_link_opens_in_its_own_office(deployment: Deployment) -> None:
    """The beneficiary's link carries no login: the appointment names its office, whose calendar the page shows."""
    links = {
        _office_of(reply.recipient): match.group(0)
        for reply in deployment.replies
        for part in reply.message.walk()
        if part.get_content_type() == "text/plain"
        for match in [re.search(r"/programare/[A-Za-z0-9._~-]+", part.get_content())]
        if match
    }
    assert set(links) == {"CJ", "BH"}, links
    for office, path in links.items():
        page = httpx.get(deployment.base_url + path, timeout=30)
        assert page.status_code == 200, (office, page.text)
        assert ("Bihor" in page.text) == (office == "BH") and ("Cluj" in page.text) == (office == "CJ"), office


def _signature_location(pdf: bytes) -> str:
    """The /Location of the recipisă's signature: the office that signed it."""
    fields = PdfReader(io.BytesIO(pdf)).get_fields() or {}
    values = [field.get("/V") for field in fields.values() if field.get("/FT") == "/Sig"]
    return str(values[0].get_object()["/Location"])
