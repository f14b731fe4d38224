"""`intake check` (intake/check.py): the table of checks on its own, and the exit codes of configuration problems.
The servers (IMAP login, SMTP EHLO) are checked for real in tests/integration/test_check.py."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from intake import check
from intake.check import Check, Outcome, Probe, run_checks
from intake.cli import main
from intake.receipts.keys import generate_pkcs12
from intake.settings import ConfigError, Settings, WebSettings, load_settings

LONG_KEY = "k" * 40


def _settings(tmp_path: Path, toml: str = "") -> Settings:
    config = tmp_path / "intake.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config)


def _probe(settings: Settings) -> Probe:
    return Probe(settings, settings, lambda: None)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://programari.ajofm-cluj.ro", True),
        ("https://intake.cluj.anofm.gov.ro/", True),
        ("http://127.0.0.1:8080", False),  # the default: loopback
        ("https://localhost", False),
        ("https://10.1.2.3", False),  # private
        ("https://192.168.0.10:8443", False),
        ("https://[::1]", False),
        ("https://169.254.1.1", False),  # link-local
        ("https://intranet", False),  # a name only this network knows
        ("https://server.local", False),
        ("http://programari.ajofm-cluj.ro", False),  # public, but citizens' case pages would travel in clear
        ("programari.ajofm-cluj.ro", False),  # no scheme: not an address
    ],
)
def test_public_url_must_open_from_a_citizens_home(tmp_path: Path, url: str, ok: bool) -> None:
    outcome = check.public_url(_probe(_settings(tmp_path, f'[appointments]\npublic_base_url = "{url}"\n')))
    assert outcome.ok is ok, outcome


def test_secret_key_set_and_long_enough(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    base = f'[storage]\npath = "{storage}"\n'
    assert check.secret_key(_probe(_settings(tmp_path, base))) == Outcome(False, "not set")
    # A deployment that ran on the generated key is told where it is, so the links already sent keep working.
    storage.mkdir()
    (storage / "link-secret").write_text("generated", encoding="ascii")
    outcome = check.secret_key(_probe(_settings(tmp_path, base)))
    assert not outcome.ok and str(storage / "link-secret") in outcome.detail
    short = check.secret_key(_probe(_settings(tmp_path, base + '[web]\nsecret_key = "short"\n')))
    assert not short.ok and "too short" in short.detail
    assert check.secret_key(_probe(_settings(tmp_path, base + f'[web]\nsecret_key = "{LONG_KEY}"\n'))).ok


def test_secure_cookies_when_the_site_is_https(tmp_path: Path) -> None:
    https = '[appointments]\npublic_base_url = "https://programari.ajofm-cluj.ro"\n'
    assert not check.secure_cookies(_probe(_settings(tmp_path, https))).ok
    assert check.secure_cookies(_probe(_settings(tmp_path, https + "[web]\nsecure_cookies = true\n"))).ok
    assert check.secure_cookies(_probe(_settings(tmp_path))).ok  # http: the public_url check is the one that fails


def test_ops_address(tmp_path: Path) -> None:
    assert not check.ops_address(_probe(_settings(tmp_path))).ok
    assert not check.ops_address(_probe(_settings(tmp_path, '[alerts]\nops_address = "ops"\n'))).ok
    assert check.ops_address(_probe(_settings(tmp_path, '[alerts]\nops_address = "ops@anofm.ro"\n'))).ok


def test_receipt_key_is_opened(tmp_path: Path) -> None:
    unset = check.receipt_key(_probe(_settings(tmp_path)))
    assert not unset.ok and unset.detail.startswith("not set (receipts must be signed")
    assert unset.key == "signing.pkcs12_path"
    missing = check.receipt_key(_probe(_settings(tmp_path, f'[signing]\npkcs12_path = "{tmp_path / "no.p12"}"\n')))
    assert not missing.ok and "no.p12" in missing.detail
    key = tmp_path / "registry.p12"
    generate_pkcs12(key, "parola")
    signing = f'[signing]\npkcs12_path = "{key}"\npkcs12_password = '
    assert not check.receipt_key(_probe(_settings(tmp_path, signing + '"wrong"\n'))).ok
    opened = check.receipt_key(_probe(_settings(tmp_path, signing + '"parola"\n')))
    assert opened.ok and "valid until" in opened.detail, opened


def test_timestamp_authority_is_asked_when_configured(tmp_path: Path) -> None:
    unset = check.timestamp_authority(_probe(_settings(tmp_path)))
    assert unset.ok and "B-B" in unset.detail
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = check.timestamp_authority(
        _probe(_settings(tmp_path, f'[signing]\ntimestamp_url = "http://127.0.0.1:{port}/tsa"\n'))
    )
    assert not down.ok and f"127.0.0.1:{port}" in down.detail and down.key is None  # the check's own key


def test_identity_card_ocr_needs_tesseract_and_its_romanian_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.validation import mrz_scan

    settings = _settings(tmp_path)
    found = check.identity_card_ocr(_probe(settings))
    assert found.ok and "'ron'" in found.detail
    monkeypatch.setattr(mrz_scan, "LANGUAGE", "xyz")
    assert "no 'xyz' model" in check.identity_card_ocr(_probe(settings)).detail
    monkeypatch.setattr(mrz_scan, "TESSERACT", str(tmp_path / "no-tesseract"))
    missing = check.identity_card_ocr(_probe(settings))
    assert not missing.ok and "go to staff unchecked" in missing.detail


def test_database_check_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db" / "intake.db"
    outcome = check.database(_probe(_settings(tmp_path, f'[database]\nurl = "sqlite:///{db}"\n')))
    assert outcome.ok and "not created yet" in outcome.detail
    assert not db.parent.exists()


TWO_OFFICES = """
[appointments]
public_base_url = "https://programari.ajofm-cluj.ro"

[[offices]]
code = "CJ"
name = "Cluj"
name_genitive = "Clujului"
short_name = "AJOFM Cluj"
address = "Cluj-Napoca"

[[offices]]
code = "BH"
name = "Bihor"
name_genitive = "Bihorului"
short_name = "AJOFM Bihor"
address = "Oradea"
imap = { username = "bihor" }
smtp = { from_address = "bihor@anofm.gov.ro" }
appointments = { public_base_url = "http://127.0.0.1:8081" }
"""


def test_per_office_checks_run_once_per_office_and_a_crash_is_a_failed_check(tmp_path: Path) -> None:
    def explode(_probe: Probe) -> Outcome:
        raise RuntimeError("boom\nsecond line")

    table = (
        Check("public_url", "appointments.public_base_url", "refuse", True, check.public_url),
        Check("ops_address", "alerts.ops_address", "warn", False, check.ops_address),
        Check("exploding", "imap.host", "warn", False, explode),
    )
    results = run_checks(_settings(tmp_path, TWO_OFFICES), checks=table)
    assert [(r.check, r.ok, r.key, r.refuses) for r in results] == [
        ("public_url (CJ)", True, None, False),
        ("public_url (BH)", False, "appointments.public_base_url", True),  # run would refuse
        ("ops_address", False, "alerts.ops_address", False),  # run only warns
        ("exploding", False, "imap.host", False),
    ]
    assert results[-1].detail == "RuntimeError: boom"
    assert set(results[0].as_json()) == {"check", "ok", "detail", "key"}
    assert results[1].line().startswith("PROBLEM  public_url (BH)") and "(set appointments.public_base_url)" in (
        results[1].line()
    )


# --- where the state lives, and exit codes ----------------------------------------------------------------------


def test_status_in_a_random_directory_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    for command in (["status"], ["submissions"], ["show", "1"], ["db", "current"], ["poll", "--once"]):
        assert main(command) == 2, command
        error = capsys.readouterr().err
        assert "database.url" in error and str(tmp_path / "config" / "intake.toml") in error, error
        assert str(tmp_path / "var" / "intake.db") in error and "--init" in error
        assert error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    assert main(["status", "--init", "--json"]) == 0
    assert (tmp_path / "var" / "intake.db").exists()
    assert main(["status"]) == 0  # the database is there now: nothing to create


def test_a_configured_database_is_created_where_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "lib" / "intake.db"
    config = tmp_path / "intake.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[storage]\npath = "{tmp_path / "st"}"\n', encoding="utf-8")
    assert main(["--config", str(config), "status", "--json"]) == 0
    assert db.exists()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"INTAKE_DATABASE__URL": "mysql://x/y"}, "configuration error: database.url: 'mysql' databases"),
        ({"INTAKE_DATABASE__URL": "nonsense"}, "configuration error: database.url: 'nonsense' is not a database URL"),
        (
            {"INTAKE_TRUST__ANCHORS": "/etc/intake/root.pem"},
            "configuration error: trust.anchors (INTAKE_TRUST__ANCHORS): not valid JSON",
        ),
        ({"INTAKE_IMAP__PORT": "abc"}, "configuration error: imap.port: "),
    ],
)
def test_every_configuration_problem_exits_2_naming_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["status"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"intake: {expected}") and error.count("\n") == 1 and "None" not in error, error
    # `check` reports it as its first line, with the key, and the same exit code.
    assert main(["check", "--json"]) == 2
    assert '"ok": false' in capsys.readouterr().out


def test_a_busy_web_port_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as error:
            check.ensure_port_free(WebSettings(port=port))
        assert error.value.key == "web.port" and "already in use" in str(error.value)
        config = tmp_path / "intake.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[storage]\npath = "{tmp_path / "st"}"\n'
            f"[web]\nport = {port}\n",
            encoding="utf-8",
        )
        assert main(["--config", str(config), "serve"]) == 2
        assert f"web.port: 127.0.0.1:{port}: already in use" in capsys.readouterr().err


def test_a_missing_corpus_says_where_it_is_expected() -> None:
    from tests.shared_corpus import CORPUS, corpus

    assert corpus("mail") == CORPUS / "mail"
    with pytest.raises(pytest.fail.Exception) as failure:
        corpus("no-such-part")
    assert f"expected {CORPUS / 'no-such-part'}" in str(failure.value) and "README" in str(failure.value)
