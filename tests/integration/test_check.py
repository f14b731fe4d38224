"""`intake check` against the real Dovecot and SMTP server, once configured well and once broken (a wrong IMAP
password, a loopback public address), and `intake run` refusing to start on what would harm citizens. One
Dovecot and one SMTP sink for the module."""

from __future__ import annotations

import json

import pytest

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for

pytestmark = pytest.mark.integration

# What the harness leaves out of a production-like configuration: secure cookies behind https, an ops address.
PRODUCTION = '[alerts]\nops_address = "ops@example.ro"\n\n[web]\nsecure_cookies = true\n'
BROKEN = {"INTAKE_IMAP__PASSWORD": "wrong", "INTAKE_APPOINTMENTS__PUBLIC_BASE_URL": "http://127.0.0.1:8080"}
EVERY_CHECK = [
    "configuration",
    "trust_sources",
    "database",
    "public_url",
    "secret_key",
    "secure_cookies",
    "ops_address",
    "receipt_key",
    "timestamp",
    "trusted_lists",
    "ocr",
    "imap",
    "smtp",
]


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory, module_dovecot, module_smtp_sink, signing_key) -> Intake:  # type: ignore[no-untyped-def]
    return intake_for(
        tmp_path_factory.mktemp("check") / "intake",
        dovecot=module_dovecot,
        smtp_sink=module_smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config=PRODUCTION,
    )


def _by_name(results: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(result["check"]): result for result in results}


def test_a_good_configuration_passes_every_check_and_creates_nothing(intake: Intake, module_dovecot, test_pki) -> None:  # type: ignore[no-untyped-def]
    results = json.loads(intake.run("check", "--json", INTAKE_SIGNING__TIMESTAMP_URL=test_pki.tsa_url).stdout)
    assert [result["check"] for result in results] == EVERY_CHECK
    assert [set(result) for result in results] == [{"check", "ok", "detail", "key"}] * len(EVERY_CHECK)
    assert all(result["ok"] and result["key"] is None for result in results), results
    checks = _by_name(results)
    assert f"{module_dovecot.host}:{module_dovecot.port}" in str(checks["imap"]["detail"])
    assert "EHLO accepted" in str(checks["smtp"]["detail"])
    assert "valid until" in str(checks["receipt_key"]["detail"])
    assert f"{test_pki.tsa_url} answered" in str(checks["timestamp"]["detail"])  # one real RFC 3161 request
    # A check on a fresh host leaves no database behind: the first start creates it.
    assert "not created yet" in str(checks["database"]["detail"])
    assert not (intake.workdir / "intake.db").exists()


def test_a_broken_configuration_names_each_key_to_fix(intake: Intake) -> None:
    # The human form (`--json` has the same results; its shape is checked above).
    human = intake.run("check", check=False, **BROKEN)
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == EVERY_CHECK, human.stdout
    problems = [line for line in lines if line.startswith("PROBLEM")]
    assert [line.split()[1] for line in problems] == ["public_url", "imap"], human.stdout
    assert problems[0].endswith("(set appointments.public_base_url)") and "local address" in problems[0]
    assert problems[1].endswith("(set imap.password)") and "login refused" in problems[1]
    assert lines[-1] == "2 problems"


def test_run_refuses_a_loopback_address_and_only_warns_about_a_server(intake: Intake, module_dovecot) -> None:  # type: ignore[no-untyped-def]
    module_dovecot.append(mailfactory.good_submission().as_bytes())
    refused = intake.run("run", check=False, timeout=60, INTAKE_WEB__SECRET_KEY="", **BROKEN)
    assert refused.returncode == 2, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("intake: ")]
    assert errors == [
        "intake: configuration error: appointments.public_base_url: http://127.0.0.1:8080 is a local address: "
        "the links in citizens' e-mails would not open",
        "intake: configuration error: web.secret_key: not set",
    ]
    # The IMAP login is a warning (the daemon would retry), not a refusal.
    assert "check imap:" in refused.stderr and "(set imap.password)" in refused.stderr
    assert refused.stdout == ""
    assert len(module_dovecot.uids("INBOX")) == 1  # nothing was fetched
