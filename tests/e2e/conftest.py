"""Browser tests: the real pipeline makes the data, the real `intake serve` serves it, Debian's Chromium
(driven by Playwright, no browser download) clicks through it. Screenshots go to test-artifacts/e2e/.

The site is built once per module: Dovecot and the SMTP sink receive and send the mail, `intake poll --once`
registers it, `intake user add` makes the clerk, and `intake serve` runs as a subprocess on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD, signing_key  # noqa: F401  (session fixture used below)
from tests.integration.harness import REPO, Intake, intake_for
from tests.servers.dovecot import make_dovecot_base, start_dovecot
from tests.servers.smtp_sink import start_smtp_sink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
BUCHAREST = ZoneInfo("Europe/Bucharest")

CLERK = "grefier"
CLERK_PASSWORD = "parola-grefier-2026"
NO_CONSENT = "Bună ziua,\n\nVă trimit cererea semnată.\n\nIon Popescu\n"
TAMPERED_SENDER = "semnatura.stricata@example.ro"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser tests (Playwright driving /usr/bin/chromium)")


@dataclass
class Site:
    base_url: str
    intake: Intake
    flagged_id: int  # the submission with the tampered application and no consent
    flagged_number: str  # its registration number, as shown in the queue
    clerk: str
    password: str

    def url(self, path: str) -> str:
        return self.base_url + path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"intake serve exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"intake serve did not answer {url} within {timeout} s:\n{log.read_text(errors='replace')}")


def _add_user(intake: Intake, config: Path, name: str, role: str, password: str) -> None:
    result = subprocess.run(
        intake.command("--config", str(config), "user", "add", name, "--role", role),
        cwd=intake.workdir, env=intake.environment(), input=password + "\n", capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"intake user add: {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, signing_key: tuple[Path, Path], test_pki: Any) -> Iterator[Site]:  # noqa: F811
    dovecot_base = make_dovecot_base()
    dovecot = smtp = server = None
    try:
        dovecot = start_dovecot(dovecot_base)
        smtp = start_smtp_sink()
        workdir = tmp_path_factory.mktemp("e2e")
        port = _free_port()
        extra = (
            f'[trust]\nlists = [{{source = "{test_pki.trusted_list}", signer = "{test_pki.tl_operator_cert}"}}]\n'
            f'\n[web]\nhost = "127.0.0.1"\nport = {port}\n'
        )
        intake = intake_for(workdir, dovecot=dovecot, smtp_sink=smtp, pkcs12=signing_key[0], password=KEY_PASSWORD,
                            extra_config=extra)
        config = workdir / "intake.toml"

        # Received a few minutes ago, processed now: the appointment falls in the coming working days.
        received = datetime.now(BUCHAREST).replace(microsecond=0) - timedelta(minutes=10)
        tampered = test_pki.scenarios["tampered"]
        dovecot.append(
            mailfactory.submission(
                sender=TAMPERED_SENDER, subject="Cerere indemnizație — semnătură", body=NO_CONSENT,
                attachments=[("cerere.pdf", tampered.path.read_bytes(), "application/pdf"),
                             ("buletin.jpg", mailfactory.jpeg_image(), "image/jpeg")],
            ).as_bytes(),
            internaldate=received,
        )
        # A second case, so the queue has more than one row.
        dovecot.append(mailfactory.good_submission(sender="maria.pop@example.ro", body=NO_CONSENT).as_bytes(),
                       internaldate=received + timedelta(minutes=1))
        intake.poll()
        smtp.wait_for(2, timeout=60)  # the replies went out: the pipeline ran to the end

        (flagged,) = [s for s in intake.json("submissions") if s["sender"] == TAMPERED_SENDER]
        assert flagged["flagged"], flagged
        assert flagged["appointment"] and flagged["appointment"]["purpose"] == "clarification", flagged
        assert {"signature_invalid", "consent_missing"} <= {f["code"] for f in flagged["findings"]}, flagged

        _add_user(intake, config, CLERK, "registry", CLERK_PASSWORD)

        log = workdir / "serve.log"
        with open(log, "wb") as sink:
            server = subprocess.Popen(
                intake.command("--config", str(config), "serve"), cwd=workdir, env=intake.environment(),
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url + "/healthz", server, log)
        yield Site(base_url=base_url, intake=intake, flagged_id=int(flagged["id"]),
                   flagged_number=str(flagged["number"]), clerk=CLERK, password=CLERK_PASSWORD)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=15)
        if smtp is not None:
            smtp.stop()
        if dovecot is not None:
            dovecot.stop()
        shutil.rmtree(dovecot_base, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (the tests never download a browser)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ro-RO")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
