"""GDPR on the staff pages (intake/web/gdpr.py): the legal hold on the case page and the admin's subject-access
export (GDPR Art. 15). TestClient as a logged-in browser on a real SQLite database; one app for the module."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from intake import purge
from intake.db import read_transaction, transaction
from intake.models import AuditEvent, LegalHold
from intake.runtime import Runtime
from intake.validation.identity import cnp_check_digit
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
    make_runtime,
    png_bytes,
)

CNP = "2850101" + "12345" + str(cnp_check_digit("285010112345"))


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    rt = make_runtime(tmp_path_factory.mktemp("gdpr-web"))
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
        auth.create_user(session, rt.office, "sef", "admin", PASSWORD)
        add_submission(session, rt, received=datetime(2026, 11, 16, 9, 0, tzinfo=CLUJ), number=7,
                       sender="maria@example.ro")  # fmt: skip
    return rt


@pytest.fixture(scope="module")
def clerk(rt: Runtime) -> TestClient:
    client = TestClient(create_app(rt), headers=BROWSER)
    client.csrf = login(client, "ana")  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="module")
def admin(rt: Runtime) -> TestClient:
    client = TestClient(create_app(rt), headers=BROWSER)
    client.csrf = login(client, "sef")  # type: ignore[attr-defined]
    return client


def audit_actions(rt: Runtime) -> list[tuple[str, str]]:
    with read_transaction(rt.engine) as session:
        return [(e.actor, e.action) for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def test_a_clerk_holds_a_case_with_a_reason_and_lifts_it_both_audited(
    rt: Runtime, clerk: TestClient, admin: TestClient
) -> None:
    page = clerk.get("/cazuri/1")
    assert "Datele dosarului se șterg după" in page.text and "Reține dosarul" in page.text
    refused = clerk.post("/cazuri/1/retinere", data={"csrf_token": clerk.csrf, "motiv": " "})  # type: ignore[attr-defined]
    assert "Scrieți motivul reținerii" in refused.text
    held = clerk.post("/cazuri/1/retinere", data={"csrf_token": clerk.csrf, "motiv": "Contestație 3/2026"})  # type: ignore[attr-defined]
    assert "Dosar reținut" in held.text and "Contestație 3/2026" in held.text
    with read_transaction(rt.engine) as session:
        assert session.exec(select(LegalHold.set_by)).all() == ["ana"]
    assert "Contestație 3/2026" in admin.get("/admin/date-personale").text  # the admin's list of held cases
    lifted = clerk.post("/cazuri/1/retinere/ridica", data={"csrf_token": clerk.csrf})  # type: ignore[attr-defined]
    assert "Reținerea a fost ridicată" in lifted.text
    assert [action for actor, action in audit_actions(rt) if actor == "ana"][-2:] == [
        "legal_hold_set", "legal_hold_clear"
    ]  # fmt: skip
    no_token = clerk.post("/cazuri/1/retinere", data={"motiv": "x"})
    assert no_token.status_code == 403


def test_the_export_page_needs_an_admin_a_clerk_gets_403_and_a_stranger_the_login(
    rt: Runtime, clerk: TestClient
) -> None:
    assert clerk.get("/admin/date-personale").status_code == 403
    answer = clerk.post("/admin/date-personale", data={"csrf_token": clerk.csrf, "persoana": CNP})  # type: ignore[attr-defined]
    assert answer.status_code == 403
    stranger = TestClient(create_app(rt), headers=BROWSER)
    assert stranger.get("/admin/date-personale", follow_redirects=False).status_code in (302, 303)
    assert "subject_export" not in [action for _actor, action in audit_actions(rt)]


def test_the_admin_downloads_the_zip_by_post_and_the_audit_has_no_address_or_cnp(
    rt: Runtime, admin: TestClient
) -> None:
    page = admin.get("/admin/date-personale")
    assert 'method="post"' in page.text and "CNP sau adresă de e-mail" in page.text
    assert "<title>Date personale · " in page.text and page.text.count("Dosare reținute") == 1
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    bad = admin.post("/admin/date-personale", data={"csrf_token": token.group(1), "persoana": "nimeni"})
    assert bad.status_code == 400 and "Introduceți un CNP" in bad.text
    answer = admin.post("/admin/date-personale", data={"csrf_token": token.group(1), "persoana": "Maria@example.ro"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert "maria" not in answer.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert {"CITESTE.txt", "manifest.json", "dosare/7_16.11.2026/date.json"} <= set(archive.namelist())
    by_cnp = admin.post("/admin/date-personale", data={"csrf_token": token.group(1), "persoana": CNP})
    assert json.loads(zipfile.ZipFile(io.BytesIO(by_cnp.content)).read("manifest.json"))[0]["path"] == "CITESTE.txt"
    with read_transaction(rt.engine) as session:
        entries = session.exec(select(AuditEvent).where(AuditEvent.action == "subject_export")).all()
    assert [(e.actor, e.after["subject_kind"], e.after["cases"]) for e in entries] == [
        ("sef", "email", 1), ("sef", "cnp", 0)
    ]  # fmt: skip
    text = json.dumps([e.after for e in entries])
    assert "maria" not in text and CNP not in text


def test_a_purged_case_still_opens_without_its_files_and_its_thumbnail_is_gone(rt: Runtime, clerk: TestClient) -> None:
    old = datetime(2012, 5, 3, 9, 0, tzinfo=CLUJ)  # past the default ten years on the module's clock (2026)
    with transaction(rt.engine) as session:
        case = add_submission(session, rt, received=old, number=3, sender="vechi@example.ro")
        document = add_document(session, rt, case, "buletin.png", png_bytes((40, 30)), accepted=True,
                                detected_type="png", content_type="image/png")  # fmt: skip
        ids = (case.id, document.id)
    assert clerk.get(f"/cazuri/{ids[0]}/documente/{ids[1]}/miniatura").status_code == 200  # cached from here on
    report = purge.purge(rt)
    assert {item.submission_id for item in report.purged} == {ids[0]}
    page = clerk.get(f"/cazuri/{ids[0]}")
    assert page.status_code == 200 and "vechi@example.ro" not in page.text and "3/03.05.2012" in page.text
    # The history says what went and why, in words.
    assert "Date șterse la expirarea termenului de păstrare" in page.text
    assert "ce s-a șters: mesajul original și datele expeditorului" in page.text
    assert clerk.get(f"/cazuri/{ids[0]}/documente/{ids[1]}/miniatura").status_code == 404
    assert clerk.get(f"/cazuri/{ids[0]}/documente/{ids[1]}").status_code == 404


def test_only_the_admin_menu_shows_the_export(clerk: TestClient, admin: TestClient) -> None:
    assert "/admin/date-personale" in admin.get("/cazuri").text
    assert "/admin/date-personale" not in clerk.get("/cazuri").text
