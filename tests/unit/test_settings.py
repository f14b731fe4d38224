"""Configuration: TOML, INTAKE_<SECTION>__<KEY> overrides, one clear line on a bad value (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.cli import main
from intake.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_documented_file_matches_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    documented = load_settings(REPO / "config" / "intake.toml")
    assert documented.imap.processed_folder == "Processed"
    assert documented.office.code == "CJ"
    assert documented.office.timezone == "Europe/Bucharest"
    assert documented.smtp.from_address == "cluj@anofm.gov.ro"
    assert documented.trust.revocation == "require"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "intake.toml"
    config.write_text('[imap]\nport = 1143\nhost = "mail.example.ro"\n')
    monkeypatch.setenv("INTAKE_IMAP__PORT", "10143")
    monkeypatch.setenv("INTAKE_TRUST__ANCHORS", '["/etc/intake/root.pem"]')
    settings = load_settings(config)
    assert settings.imap.port == 10143
    assert settings.imap.host == "mail.example.ro"
    assert [str(p) for p in settings.trust.anchors] == ["/etc/intake/root.pem"]


@pytest.mark.parametrize(
    ("content", "env", "expected"),
    [
        ("[imap]\nport = 'abc'\n", {}, "imap.port"),
        ("[imap]\nprot = 1\n", {}, "imap.prot: unknown key"),
        ("", {"INTAKE_IMAP__SECURITY": "tls"}, "imap.security"),
        ("", {"INTAKE_OFFICE__TIMEZONE": "Mars/Olympus"}, "office.timezone"),
        ("[imap\n", {}, "cannot read configuration"),
    ],
)
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, env: dict[str, str], expected: str
) -> None:
    config = tmp_path / "intake.toml"
    config.write_text(content)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "intake.toml"
    config.write_text("[imap]\nport = 0\n")
    assert main(["--config", str(config), "status"]) == 2
    assert "imap.port" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2
    assert main(["--config", str(tmp_path / "missing.toml"), "status"]) == 2
