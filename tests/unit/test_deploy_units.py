"""deploy/*.service and *.timer: systemd accepts them, and the daemon's unit keeps its hardening."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("intake.service", "intake-backup.service", "intake-backup.timer")


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    # verify also checks that ExecStart exists: point the /opt/intake paths at this checkout's interpreter.
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace("/opt/intake/.venv/bin/intake", sys.executable)
        text = text.replace("/opt/intake/deploy/backup", str(DEPLOY / "backup"))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_daemon_unit_is_hardened() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "intake.service")
    service = unit["Service"]
    expected = {
        "User": "intake",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/intake",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "SystemCallFilter": "@system-service",
        "Restart": "on-failure",
        "RestartPreventExitStatus": "2",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert service["MemoryMax"] and service["CapabilityBoundingSet"] == ""
    # The Debian layout: configuration in /etc/intake, state in /var/lib/intake.
    assert "Environment=INTAKE_CONFIG=/etc/intake/intake.toml" in (DEPLOY / "intake.service").read_text().splitlines()
    assert service["WorkingDirectory"] == "/var/lib/intake" and service["StateDirectory"] == "intake"
