"""Several offices in one deployment (`[[offices]]`): the settings and their inheritance, one Runtime per office
sharing the database and the store, the CLI's --office, /metrics labelled by office, and staff pages scoped to the
user's office (another office's case, file or preview is a 404), through TestClient on a real SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from intake.cli import main
from intake.clock import Clock
from intake.db import transaction
from intake.models import AuditEvent
from intake.runtime import Runtime
from intake.settings import ConfigError, DatabaseSettings, Settings, StorageSettings, load_settings, office_views
from intake.validation.territory import BY_CODE, Address, competence
from intake.web import auth
from intake.web.app import create_app
from tests.unit.test_web_cases import (
    BROWSER,
    CLUJ,
    CSRF_FIELD,
    PASSWORD,
    add_document,
    add_submission,
    login,
    png_bytes,
)

NOW = datetime(2026, 11, 17, 10, 0, tzinfo=CLUJ)

BIHOR = {
    "code": "BH",
    "name": "Agenția Județeană pentru Ocuparea Forței de Muncă Bihor",
    "name_genitive": "Agenției Județene pentru Ocuparea Forței de Muncă Bihor",
    "short_name": "AJOFM Bihor",
    "address": "Oradea, județul Bihor",
}
CLUJ_OFFICE = {
    "code": "CJ",
    "name": "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
    "name_genitive": "Agenției Județene pentru Ocuparea Forței de Muncă Cluj",
    "short_name": "AJOFM Cluj",
    "address": "Cluj-Napoca, județul Cluj",
}

TWO_OFFICES = """
[imap]
host = "mail.anofm.example"
port = 1143
security = "none"
username = "cluj"

[smtp]
host = "smtp.anofm.example"
from_address = "cluj@anofm.gov.ro"

[appointments]
desks = 3

[signing]
pkcs12_path = "/etc/intake/cluj.p12"

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
imap = { username = "bihor", processed_folder = "Procesate" }
smtp = { from_address = "bihor@anofm.gov.ro", from_name = "AJOFM Bihor – Registratură" }
appointments = { desks = 1, hours = { monday = ["08:00-12:00"] } }
signing = { pkcs12_path = "/etc/intake/bihor.p12" }
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "intake.toml"
    path.write_text(
        text + f'\n[database]\nurl = "sqlite:///{tmp_path / "intake.db"}"\n[storage]\npath = "{tmp_path / "store"}"\n',
        encoding="utf-8",
    )
    return path


# --- settings ------------------------------------------------------------------------------------------------


def test_each_office_inherits_what_it_does_not_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    cluj, bihor = office_views(load_settings(_config(tmp_path, TWO_OFFICES)))
    assert (cluj.office.code, bihor.office.code) == ("CJ", "BH")
    assert bihor.office.short_name == "AJOFM Bihor" and bihor.office.address == "Oradea, str. Exemplu 2"
    assert bihor.office.timezone == "Europe/Bucharest"  # the top-level office.timezone
    # The mailbox: server and port shared, the account and a folder its own.
    assert (bihor.imap.host, bihor.imap.port, bihor.imap.username) == ("mail.anofm.example", 1143, "bihor")
    assert (bihor.imap.folder, bihor.imap.processed_folder) == ("INBOX", "Procesate")
    assert (cluj.imap.username, cluj.imap.processed_folder) == ("cluj", "Processed")
    assert (bihor.smtp.host, bihor.smtp.from_address) == ("smtp.anofm.example", "bihor@anofm.gov.ro")
    assert cluj.smtp.from_address == "cluj@anofm.gov.ro"
    assert (cluj.appointments.desks, bihor.appointments.desks) == (3, 1)
    assert list(bihor.appointments.hours) == ["monday"] and "friday" in cluj.appointments.hours
    assert bihor.appointments.slot_minutes == cluj.appointments.slot_minutes == 15
    assert (str(cluj.signing.pkcs12_path), str(bihor.signing.pkcs12_path)) == (
        "/etc/intake/cluj.p12",
        "/etc/intake/bihor.p12",
    )
    assert cluj.offices == bihor.offices == []  # a view is a single-office configuration


def test_offices_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bihor = {**BIHOR, "imap": {"username": "bihor"}, "smtp": {"from_address": "bihor@anofm.gov.ro"}}
    monkeypatch.setenv("INTAKE_OFFICES", json.dumps([CLUJ_OFFICE, bihor]))
    views = office_views(load_settings(_config(tmp_path, "")))
    assert [(view.office.code, view.imap.username) for view in views] == [("CJ", ""), ("BH", "bihor")]


@pytest.mark.parametrize(
    ("second", "key"),
    [
        ({**CLUJ_OFFICE, "imap": {"username": "b"}, "smtp": {"from_address": "b@x.ro"}}, "offices.1.code"),
        ({**BIHOR, "smtp": {"from_address": "b@x.ro"}}, "offices.1.imap.username"),
        ({**BIHOR, "imap": {"username": "b"}}, "offices.1.smtp.from_address"),
        ({**BIHOR, "short_name": None}, "offices.1.short_name"),
        ({**BIHOR, "code": "bh"}, "offices.1.code"),
        ({**BIHOR, "imap": {"prot": 1}}, "offices.1.imap.prot: unknown key"),
        ({**BIHOR, "timezone": "Mars/Olympus"}, "offices.1.timezone"),
    ],
)
def test_a_bad_office_is_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: dict[str, Any], key: str
) -> None:
    second = {name: value for name, value in second.items() if value is not None}
    monkeypatch.setenv("INTAKE_OFFICES", json.dumps([CLUJ_OFFICE, second]))
    with pytest.raises(ConfigError) as error:
        load_settings(_config(tmp_path, ""))
    assert key in str(error.value) and "\n" not in str(error.value)


def test_duplicate_office_code_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    config = _config(tmp_path, TWO_OFFICES.replace('code = "BH"', 'code = "CJ"'))
    assert main(["--config", str(config), "status"]) == 2
    assert "offices.1.code: office CJ is already offices.0" in capsys.readouterr().err


def test_single_office_configuration_is_unchanged(tmp_path: Path) -> None:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'intake.db'}"),
        storage=StorageSettings(path=tmp_path / "store"),
    )
    assert office_views(settings) == [settings]
    rt = Runtime.from_settings(settings)
    assert rt.offices == [rt] and rt.for_office("CJ") is rt and rt.for_office("BH") is None
    assert rt.settings is settings and rt.trust_office == "CJ"


def test_each_office_is_competent_for_its_own_county() -> None:
    bihor, cluj = BY_CODE["BH"], BY_CODE["CJ"]
    assert competence(Address(domicile=bihor), "BH", "AJOFM Bihor") is None
    elsewhere = competence(Address(domicile=cluj), "BH", "AJOFM Bihor")
    assert elsewhere is not None and elsewhere.message.endswith("nu a AJOFM Bihor.") and "Cluj" in elsewhere.message
    moved = competence(Address(domicile=cluj, residence=bihor), "BH", "AJOFM Bihor")
    assert moved is not None and "reședința în județul Bihor" in moved.message and moved.to_check
    assert competence(Address(domicile=cluj), "XX", "Birou de test") is None  # an office code that is no county


# --- runtimes ------------------------------------------------------------------------------------------------


def two_office_runtime(tmp_path: Path) -> Runtime:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'intake.db'}"),
        storage=StorageSettings(path=tmp_path / "store"),
        offices=[CLUJ_OFFICE, {**BIHOR, "imap": {"username": "bihor"}, "smtp": {"from_address": "bihor@x.ro"}}],
    )
    return Runtime.from_settings(settings, clock=Clock(fixed=NOW.astimezone(UTC)))


def test_office_runtimes_share_the_deployment(tmp_path: Path) -> None:
    cluj = two_office_runtime(tmp_path)
    bihor = cluj.for_office("BH")
    assert bihor is not None and [rt.office for rt in cluj.offices] == ["CJ", "BH"]
    assert bihor.for_office("CJ") is cluj and bihor.offices == cluj.offices
    assert bihor.engine is cluj.engine and bihor.store is cluj.store and bihor.clock is cluj.clock
    assert bihor.link_secret == cluj.link_secret and bihor.trust_office == "CJ"
    assert bihor.trust_store is cluj.trust_store
    assert bihor.settings.smtp.from_address == "bihor@x.ro" and bihor.settings.office.short_name == "AJOFM Bihor"


# --- the web interface ---------------------------------------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path) -> dict[str, Any]:
    """Case no. 1 of each office, each with an image; a Cluj clerk, a Bihor clerk and a Cluj admin."""
    cluj = two_office_runtime(tmp_path)
    bihor = cluj.for_office("BH")
    assert bihor is not None
    ids: dict[str, Any] = {"rt": cluj}
    with transaction(cluj.engine) as session:
        auth.create_user(session, "CJ", "ana", "registry", PASSWORD)
        auth.create_user(session, "BH", "bogdan", "registry", PASSWORD)
        auth.create_user(session, "CJ", "sef", "admin", PASSWORD)
        for rt, subject in ((cluj, "Dosar Cluj"), (bihor, "Dosar Bihor")):
            case = add_submission(
                session,
                rt,
                received=datetime(2026, 11, 12, 9, 0, tzinfo=CLUJ),
                number=1,
                subject=subject,
                office=rt.office,
                findings=(("missing_document", "Lipsește actul de identitate."),),
            )
            image = add_document(
                session, rt, case, "buletin.png", png_bytes(), detected_type="png", content_type="image/png",
                accepted=True, kind="id_document",
            )  # fmt: skip
            ids[rt.office] = (case.id, image.id)
    return ids


def _client(rt: Runtime, name: str) -> TestClient:
    client = TestClient(create_app(rt), headers=BROWSER)
    client.csrf = login(client, name)  # type: ignore[attr-defined]
    return client


def test_a_clerk_sees_her_own_office_only(deployment: dict[str, Any]) -> None:
    rt: Runtime = deployment["rt"]
    for name, own, other in (("ana", "CJ", "BH"), ("bogdan", "BH", "CJ")):
        client = _client(rt, name)
        own_case, own_image = deployment[own]
        other_case, other_image = deployment[other]
        queue = client.get("/cazuri").text
        assert ("Dosar Cluj" in queue, "Dosar Bihor" in queue) == ((own == "CJ"), (own == "BH"))
        assert client.get(f"/cazuri/{own_case}").status_code == 200
        assert f"{'AJOFM Cluj' if own == 'CJ' else 'AJOFM Bihor'} · Intrări e-mail" in queue  # the header names it
        assert client.get(f"/cazuri/{own_case}/documente/{own_image}").status_code == 200
        assert client.get(f"/cazuri/{own_case}/documente/{own_image}/miniatura").status_code == 200
        # Another office's case is not found: the answer does not reveal that it exists.
        for path in (
            f"/cazuri/{other_case}",
            f"/cazuri/{other_case}/documente/{other_image}",
            f"/cazuri/{other_case}/documente/{other_image}/miniatura",
            f"/cazuri/{own_case}/documente/{other_image}",
        ):
            assert client.get(path).status_code == 404, path
        for action in ("rezolva", "programare/rezerva", "verificare/confirma", "consimtamant", "reproceseaza"):
            response = client.post(
                f"/cazuri/{other_case}/{action}", data={"csrf_token": client.csrf}, follow_redirects=False
            )  # type: ignore[attr-defined]
            assert response.status_code == 404, action
    with transaction(rt.engine) as session:
        logins = {event.actor: event.office for event in session.exec(select(AuditEvent)) if event.action == "login"}
    assert logins == {"ana": "CJ", "bogdan": "BH"}


def test_the_shared_login_page_names_no_office(deployment: dict[str, Any]) -> None:
    page = TestClient(create_app(deployment["rt"]), headers=BROWSER).get("/login").text
    assert "ANOFM · Intrări e-mail" in page and "AJOFM Cluj" not in page


def test_an_admin_manages_her_own_office_only(deployment: dict[str, Any]) -> None:
    client = _client(deployment["rt"], "sef")
    page = client.get("/admin/utilizatori").text
    assert "ana" in page and "bogdan" not in page
    with transaction(deployment["rt"].engine) as session:
        bogdan = session.exec(select(auth.StaffUser).where(auth.StaffUser.name == "bogdan")).one()
    response = client.post(
        f"/admin/utilizatori/{bogdan.id}/dezactiveaza",
        data={"csrf_token": client.csrf},  # type: ignore[attr-defined]
        follow_redirects=False,
    )
    assert response.status_code == 404
    # A new account made on the web belongs to the admin's office.
    token = CSRF_FIELD.search(client.get("/admin/utilizatori").text)
    assert token is not None
    client.post(
        "/admin/utilizatori",
        data={"name": "maria", "role": "registry", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    with transaction(deployment["rt"].engine) as session:
        assert session.exec(select(auth.StaffUser).where(auth.StaffUser.name == "maria")).one().office == "CJ"


def test_metrics_carry_the_office(deployment: dict[str, Any]) -> None:
    client = TestClient(create_app(deployment["rt"]))
    families = {family.name: family for family in text_string_to_metric_families(client.get("/metrics").text)}
    submissions = {
        (sample.labels["office"], sample.labels["state"]): sample.value
        for sample in families["intake_submissions"].samples
    }
    assert submissions[("CJ", "receipted")] == submissions[("BH", "receipted")] == 1
    mailboxes = {(s.labels["office"], s.labels["mailbox"]) for s in families["intake_poll_failures"].samples}
    assert mailboxes == {("CJ", "CJ"), ("BH", "BH")}
    assert [sample.labels for sample in families["intake_trust_ok"].samples] == [{}]  # the deployment's, once


# --- the command line ----------------------------------------------------------------------------------------


def test_cli_names_the_office(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    config = str(_config(tmp_path, TWO_OFFICES))
    monkeypatch.setattr("sys.stdin", _Stdin(PASSWORD))
    assert main(["--config", config, "user", "add", "ana", "--role", "registry"]) == 2
    assert "--office: several offices are configured (CJ, BH)" in capsys.readouterr().err
    assert main(["--config", config, "user", "add", "ana", "--role", "registry", "--office", "XX"]) == 2
    assert "no office 'XX'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", _Stdin(PASSWORD))
    assert main(["--config", config, "user", "add", "ana", "--role", "registry", "--office", "bh"]) == 0
    capsys.readouterr()
    assert main(["--config", config, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [view["office"] for view in status["offices"]] == ["CJ", "BH"]
    assert main(["--config", config, "status", "--json", "--office", "BH"]) == 0
    assert json.loads(capsys.readouterr().out)["office"] == "BH"  # one office: today's shape
    assert main(["--config", config, "show", "1"]) == 2
    assert "--office" in capsys.readouterr().err
    assert main(["--config", config, "confirm", "1", "--by", "nobody"]) == 2
    assert "no active staff account 'nobody'" in capsys.readouterr().err
    rt = Runtime.from_settings(load_settings(config))
    with transaction(rt.engine) as session:
        assert session.exec(select(auth.StaffUser)).one().office == "BH"


class _Stdin:
    def __init__(self, line: str) -> None:
        self.line = line + "\n"

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        line, self.line = self.line, ""
        return line
