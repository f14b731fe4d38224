"""Run the real `intake` command against test servers, configured only through the documented contract:
a TOML file plus INTAKE_* environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# What `intake run` requires before it starts (intake/check.py): a public https address and a secret key. The
# address is never opened (tests take the token out of the link and ask the app by path).
PUBLIC_BASE_URL = "https://intake.test"
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"


@dataclass
class Intake:
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "intake.cli", *args]

    def environment(self, **extra: str) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("INTAKE_")}
        environment.update(self.env)
        environment.update(extra)
        environment["PYTHONPATH"] = str(REPO)
        return environment

    def run(
        self, *args: str, check: bool = True, timeout: float = 300, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*args),
            cwd=self.workdir,
            env=self.environment(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"intake {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def hostile(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run `intake ARGS` with the hostile stages of hostile_at.py (markers in a message's subject)."""
        result = subprocess.run(
            [sys.executable, "-m", "tests.integration.hostile_at", *args],
            cwd=self.workdir,
            env=self.environment(**extra_env),
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"intake {' '.join(args)} exited {result.returncode}\n{result.stderr}"
        return result

    def crash(self, point: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `intake ARGS` killed with SIGKILL at POINT (see crash_at.py)."""
        result = subprocess.run(
            crash_command(point, *args),
            cwd=self.workdir,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == -9, f"expected SIGKILL at {point}, got {result.returncode}: {result.stderr}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def poll(self, now: str | None = None, **extra_env: str) -> subprocess.CompletedProcess[str]:
        args = ["poll", "--once"] + (["--now", now] if now else [])
        return self.run(*args, **extra_env)


def intake_for(
    workdir: Path, *, dovecot: Any, smtp_sink: Any, pkcs12: Path, password: str, extra_config: str = ""
) -> Intake:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "intake.toml"
    config.write_text(
        f"""
[imap]
host = "{dovecot.host}"
port = {dovecot.port}
security = "none"
username = "{dovecot.username}"
password = "{dovecot.password}"

[smtp]
host = "{smtp_sink.host}"
port = {smtp_sink.port}
security = "none"

[database]
url = "sqlite:///{workdir / "intake.db"}"

[storage]
path = "{workdir / "storage"}"

[signing]
pkcs12_path = "{pkcs12}"
{extra_config}
""",
        encoding="utf-8",
    )
    _set_unless_given(config, "appointments", "public_base_url", PUBLIC_BASE_URL)
    _set_unless_given(config, "web", "secret_key", SECRET_KEY)
    # `run` and `poll` refuse to start without a trust source. Unless the test brings its own [trust] (TOML forbids
    # a second one), the CA that issued the test signing key is the anchor: it issues no citizen's certificate,
    # so no verdict changes.
    if "trust" not in tomllib.loads(config.read_text(encoding="utf-8")):
        anchor = _issuing_ca(pkcs12, password, workdir / "trust-anchor.pem")
        with config.open("a", encoding="utf-8") as file:
            file.write(f'\n[trust]\nanchors = ["{anchor}"]\n')
    return Intake(
        workdir=workdir,
        env={"INTAKE_CONFIG": str(config), "INTAKE_SIGNING__PKCS12_PASSWORD": password},
    )


def _set_unless_given(config: Path, section: str, key: str, value: str) -> None:
    """Add `key = value` to `[section]` unless the test's own configuration gave it (TOML forbids a second
    `[section]`, so the line goes under the test's header when it has one)."""
    text = config.read_text(encoding="utf-8")
    if key in tomllib.loads(text).get(section, {}):
        return
    line = f'{key} = "{value}"'
    header = f"\n[{section}]\n"
    text = text.replace(header, f"{header}{line}\n", 1) if header in text else f"{text}\n[{section}]\n{line}\n"
    config.write_text(text, encoding="utf-8")
    assert tomllib.loads(text)[section][key] == value, f"{config}: [{section}] {key}"


def _issuing_ca(pkcs12_path: Path, password: str, pem: Path) -> Path:
    """Write the PEM of the CA certificate carried in the PKCS#12 (`generate_ca_and_leaf_pkcs12` puts it there);
    a PKCS#12 without one holds a self-signed certificate, its own issuer."""
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    _key, certificate, chain = pkcs12.load_key_and_certificates(pkcs12_path.read_bytes(), password.encode())
    issuer = chain[0] if chain else certificate
    assert issuer is not None, f"{pkcs12_path} holds no certificate"
    pem.write_bytes(issuer.public_bytes(Encoding.PEM))
    return pem


def crash_command(point: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.integration.crash_at", point, *args]
