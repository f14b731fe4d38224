"""Issue 10 point 15: a session ends for real. The signed cookie carries the account's session version; logout,
a password change, deactivation and reactivation raise it, so a copied (stolen) cookie dies with the session.

Each attack keeps a copy of the victim's cookie in a second client, the "thief", and replays it afterwards.
"""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from intake import cli, schema
from intake.db import open_engine, transaction
from intake.models import AuditEvent, StaffUser
from intake.runtime import Runtime
from intake.schema import SchemaMismatch
from intake.web import auth
from intake.web.app import create_app
from tests.old_schema import database_at, insert_rows_of_0001
from tests.unit import runtimes

PASSWORD = "parola-foarte-lunga"
NEW_PASSWORD = "alta-parola-lunga-2"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = runtimes.make_runtime(tmp_path)
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
        auth.create_user(session, rt.office, "sefa", "admin", PASSWORD)
    return rt


@pytest.fixture
def app(rt: Runtime) -> FastAPI:
    return create_app(rt)


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, headers=BROWSER)


def token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> int:
    page = client.get("/login")
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token(page.text)},
                           follow_redirects=False)
    return response.status_code


def thief_of(app: FastAPI, victim: TestClient) -> TestClient:
    """Another browser holding a copy of the victim's session cookie."""
    thief = browser(app)
    thief.cookies.set(auth.COOKIE_NAME, victim.cookies[auth.COOKIE_NAME])
    return thief


def logged_in(client: TestClient) -> bool:
    response = client.get("/cazuri", follow_redirects=False)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
        return False
    assert response.status_code == 200, response.status_code
    return True


def user_id(rt: Runtime, name: str) -> int:
    with transaction(rt.engine) as session:
        return session.exec(select(StaffUser.id).where(StaffUser.name == name)).one()  # type: ignore[return-value]


def test_logout_ends_a_copied_cookie_too(app: FastAPI) -> None:
    clerk = browser(app)
    assert login(clerk, "ana") == 303
    thief = thief_of(app, clerk)
    assert logged_in(thief)  # the copy works while the session lives: that is what a stolen cookie is

    response = clerk.post("/logout", data={"csrf_token": token(clerk.get("/cazuri").text)}, follow_redirects=False)
    assert response.status_code == 303
    assert not logged_in(thief)
    assert not logged_in(clerk)

    # Control: the clerk logs in again, and the old copy stays dead.
    assert login(clerk, "ana") == 303
    assert logged_in(clerk)
    assert not logged_in(thief_of(app, thief))


def test_deactivation_and_reactivation_do_not_revive_an_old_cookie(app: FastAPI, rt: Runtime) -> None:
    clerk = browser(app)
    assert login(clerk, "ana") == 303
    thief = thief_of(app, clerk)
    admin = browser(app)
    assert login(admin, "sefa") == 303
    ana = user_id(rt, "ana")
    for action in ("dezactiveaza", "reactiveaza"):
        response = admin.post(f"/admin/utilizatori/{ana}/{action}",
                              data={"csrf_token": token(admin.get("/admin/utilizatori").text)})
        assert response.status_code == 200
    assert not logged_in(thief)
    assert not logged_in(clerk)
    # Control: the reactivated account logs in afresh.
    assert login(clerk, "ana") == 303
    assert logged_in(clerk)


def test_a_password_change_ends_the_sessions_of_the_account(app: FastAPI, rt: Runtime) -> None:
    clerk = browser(app)
    assert login(clerk, "ana") == 303
    thief = thief_of(app, clerk)
    other = browser(app)
    assert login(other, "sefa") == 303
    with transaction(rt.engine) as session:
        auth.set_password(session, rt.office, "ana", NEW_PASSWORD)
    assert not logged_in(thief)
    assert not logged_in(clerk)
    assert logged_in(other)  # another account's session is untouched
    assert login(browser(app), "ana", PASSWORD) == 401
    assert login(clerk, "ana", NEW_PASSWORD) == 303
    with transaction(rt.engine) as session:
        actions = [event.action for event in session.exec(select(AuditEvent))]
    assert "password_change" in actions


def test_intake_user_password_command(rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "intake.toml"
    config.write_text(f'[database]\nurl = "{rt.settings.database.url}"\n[storage]\npath = "{tmp_path / "store"}"\n',
                      encoding="utf-8")
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)  # pytest keeps its own log handlers
    before = _version(rt, "ana")
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert cli.main(["--config", str(config), "user", "password", "ana"]) == 0
    assert "sessions are ended" in capsys.readouterr().out
    assert _version(rt, "ana") == before + 1
    monkeypatch.setattr("sys.stdin", io.StringIO("scurta\n"))
    assert cli.main(["--config", str(config), "user", "password", "ana"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert cli.main(["--config", str(config), "user", "password", "nimeni"]) == 2


def _version(rt: Runtime, name: str) -> int:
    with transaction(rt.engine) as session:
        return session.exec(select(StaffUser.session_version).where(StaffUser.name == name)).one()


def test_a_cookie_without_the_version_is_no_session(app: FastAPI, rt: Runtime) -> None:
    """A cookie signed before the version existed (or crafted from one) does not pass for version 0."""
    from itsdangerous import URLSafeTimedSerializer

    clerk = browser(app)
    assert login(clerk, "ana") == 303
    serializer = URLSafeTimedSerializer(rt.link_secret, salt=auth.SESSION_SALT)
    data = serializer.loads(clerk.cookies[auth.COOKIE_NAME])
    assert data["sv"] == 0
    del data["sv"]
    old_style = browser(app)
    old_style.cookies.set(auth.COOKIE_NAME, serializer.dumps(data))
    assert not logged_in(old_style)
    assert logged_in(clerk)


def test_an_account_from_before_the_column_logs_in_after_the_upgrade(tmp_path: Path) -> None:
    """A database of the schema before issue 10 (revision 0001): start-up refuses it until `intake db upgrade`
    (issue 11, replacing the start-up stopgap that added the column); then its accounts have version 0 and
    their sessions work and end like any other."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    database_at(url, "0001")
    insert_rows_of_0001(url)
    with sqlite3.connect(tmp_path / "intake.db") as db:
        db.execute("UPDATE staffuser SET password_hash = ? WHERE name = 'ana'", (auth.hash_password(PASSWORD),))
    with pytest.raises(SchemaMismatch, match="older than the code"):
        runtimes.make_runtime(tmp_path)
    engine = open_engine(url)
    try:
        assert schema.upgrade(engine) == ("0001", schema.code_revision())
    finally:
        engine.dispose()
    with sqlite3.connect(tmp_path / "intake.db") as db:
        assert db.execute("SELECT name, session_version FROM staffuser").fetchall() == [("ana", 0)]

    clerk = browser(create_app(runtimes.make_runtime(tmp_path)))
    assert login(clerk, "ana") == 303
    assert logged_in(clerk)
