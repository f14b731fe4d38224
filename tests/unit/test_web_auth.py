"""Staff accounts, sessions, CSRF, roles, the failed-login limit and the user admin pages (intake/web/auth.py).

Each test builds the real application on a SQLite database in tmp_path, adds a throwaway registry-only and
ops-only route, and drives it with TestClient as a browser would (Accept: text/html).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import AuditEvent, StaffUser
from intake.runtime import Runtime
from intake.settings import WebSettings
from intake.web import auth, throttle
from intake.web.app import create_app
from tests.unit import runtimes

PASSWORD = "parola-foarte-lunga"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def make_runtime(tmp_path: Path, **web: object) -> Runtime:
    return runtimes.make_runtime(tmp_path, web=WebSettings(**web))  # type: ignore[arg-type]


def make_app(rt: Runtime) -> FastAPI:
    app = create_app(rt)
    auth.install(app, rt)

    @app.get("/proba/registratura", response_class=HTMLResponse)
    def cases(request: Request, user: Annotated[auth.CurrentUser, Depends(auth.require_roles("registry"))]) -> str:
        return f"cazuri pentru {user.name}"

    @app.post("/proba/actiune", dependencies=[Depends(auth.verify_csrf)])
    def act(user: Annotated[auth.CurrentUser, Depends(auth.require_roles("registry"))]) -> dict[str, str]:
        return {"done_by": user.name}

    @app.get("/proba/ops", response_class=HTMLResponse)
    def dashboard(user: Annotated[auth.CurrentUser, Depends(auth.require_roles("ops"))]) -> str:
        return f"panou pentru {user.name}"

    return app


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = make_runtime(tmp_path)
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
        auth.create_user(session, rt.office, "sefa", "admin", PASSWORD)
    return rt


@pytest.fixture
def app(rt: Runtime) -> FastAPI:
    return make_app(rt)


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, headers=BROWSER)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD, next_path: str = "") -> object:
    page = client.get("/login")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": form_token(page.text), "next": next_path},
        follow_redirects=False,
    )


def session_token(client: TestClient, path: str = "/admin/utilizatori") -> str:
    """The logged-in session's CSRF token, read from a staff page (admin) or the login redirect target."""
    return form_token(client.get(path).text)


def audit_actions(rt: Runtime) -> list[tuple[str, str]]:
    with transaction(rt.engine) as session:
        return [(event.actor, event.action) for event in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


# ------------------------------------------------------------------------------------------- passwords


def test_passwords_are_hashed_with_argon2id() -> None:
    hashed = auth.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert auth.verify_password(hashed, PASSWORD)
    assert not auth.verify_password(hashed, PASSWORD + "x")
    assert not auth.verify_password("not-a-hash", PASSWORD)


def test_create_user_refuses_bad_role_duplicate_and_short_password(rt: Runtime) -> None:
    with transaction(rt.engine) as session:
        with pytest.raises(ValueError, match="role"):
            auth.create_user(session, rt.office, "nou", "boss", PASSWORD)
        with pytest.raises(ValueError, match="already exists"):
            auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
        with pytest.raises(ValueError, match="at least 10"):
            auth.create_user(session, rt.office, "nou", "registry", "123456789")
        with pytest.raises(ValueError, match="name"):
            auth.create_user(session, rt.office, "a b<script>", "registry", PASSWORD)
        created = auth.create_user(session, rt.office, "nou", "registry", "1234567890")
        assert created.id is not None and created.password_hash.startswith("$argon2id$")


# ------------------------------------------------------------------------------------- login and logout


def test_login_then_logout(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    response = login(client, "ana")
    assert response.status_code == 303
    assert response.headers["location"] == "/cazuri"
    assert client.get("/proba/registratura").text == "cazuri pentru ana"
    with transaction(rt.engine) as session:
        row = session.exec(select(StaffUser).where(StaffUser.name == "ana")).one()
        assert row.last_login_at is not None

    # The logout form needs the session's token: a bare POST is refused and the session survives.
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/proba/registratura").status_code == 200
    token = client.cookies.get(auth.COOKIE_NAME)
    assert token
    csrf = auth.SessionMiddleware(app, secret=rt.link_secret, hours=10, secure=False)._load(token)["csrf"]
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    response = client.get("/proba/registratura", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert audit_actions(rt) == [("ana", "login"), ("ana", "logout")]


def test_ops_lands_on_the_dashboard_and_a_logged_in_user_skips_the_form(app: FastAPI) -> None:
    client = browser(app)
    assert login(client, "ion").headers["location"] == "/panou"
    response = client.get("/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/panou"


def test_login_issues_a_fresh_csrf_token(app: FastAPI) -> None:
    # A token planted before login (session fixation) must not be the token of the logged-in session.
    client = browser(app)
    before = form_token(client.get("/login").text)
    login(client, "sefa")
    after = session_token(client)
    assert before != after


def test_wrong_password_and_unknown_user_look_the_same(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    wrong = login(client, "ana", "parola-gresita-123")
    unknown = login(client, "nimeni", "parola-gresita-123")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Nume de utilizator sau parolă greșită." in response.text
    assert client.get("/proba/registratura", follow_redirects=False).status_code == 303
    assert audit_actions(rt) == [("ana", "login_failed"), ("nimeni", "login_failed")]
    with transaction(rt.engine) as session:
        event = session.exec(select(AuditEvent)).first()
        assert event is not None and event.after == {"ip": "testclient"}


def test_login_without_csrf_token_is_refused(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    client.get("/login")
    response = client.post("/login", data={"name": "ana", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "Acces interzis" in response.text
    # Without any cookie at all (a cross-site form post) as well.
    fresh = browser(app)
    response = fresh.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert audit_actions(rt) == []


# --------------------------------------------------------------------------------------- rate limiting


def test_five_failures_block_the_name_even_with_the_right_password(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    for _ in range(throttle.MAX_FAILURES_PER_NAME):
        assert login(client, "ana", "parola-gresita-123").status_code == 401
    blocked = login(client, "ana")
    assert blocked.status_code == 429
    assert "Prea multe încercări eșuate" in blocked.text
    assert client.get("/proba/registratura", follow_redirects=False).status_code == 303
    actions = audit_actions(rt)
    assert actions.count(("ana", "login_failed")) == 5
    assert actions[-1] == ("ana", "login_blocked")
    # Another account from the same address is not affected by one name's failures.
    assert login(browser(app), "ion").status_code == 303

    # Once the failures are older than the window and the lockout, the right password works again.
    with transaction(rt.engine) as session:
        for event in session.exec(select(AuditEvent).where(AuditEvent.actor == "ana")):
            event.at = event.at - throttle.FAILURE_WINDOW - throttle.LOCKOUT - timedelta(minutes=1)
    assert login(client, "ana").status_code == 303


def test_a_successful_login_restarts_the_count_for_the_name(app: FastAPI) -> None:
    client = browser(app)
    for _ in range(throttle.MAX_FAILURES_PER_NAME - 1):
        login(client, "ana", "parola-gresita-123")
    assert login(client, "ana").status_code == 303
    other = browser(app)
    login(other, "ana", "parola-gresita-123")
    assert login(other, "ana").status_code == 303


def test_many_failures_from_one_address_block_every_name_from_it(app: FastAPI, rt: Runtime) -> None:
    # Recorded directly rather than through twenty slow argon2 checks; the login path reads the same rows.
    with transaction(rt.engine) as session:
        for index in range(throttle.MAX_FAILURES_PER_ADDRESS):
            session.add(
                AuditEvent(
                    office=rt.office,
                    at=utcnow(),
                    actor=f"ghicit{index}",
                    action="login_failed",
                    after={"ip": "testclient"},
                )
            )
        session.add(
            AuditEvent(office=rt.office, at=utcnow(), actor="x", action="login_failed", after={"ip": "10.9.9.9"})
        )
    assert login(browser(app), "ion").status_code == 429
    assert audit_actions(rt)[-1] == ("ion", "login_blocked")


def test_blocked_rule_needs_the_failures_close_together() -> None:
    now = utcnow()
    spread = [now - timedelta(minutes=minutes) for minutes in (1, 5, 10, 20, 25)]  # 5 in 24 min
    assert not throttle.bursts(spread, 5, now)
    burst = [now - timedelta(minutes=20, seconds=seconds) for seconds in range(5)]  # 5 in 4 s, 20 min ago
    assert not throttle.bursts(burst, 5, now)
    recent = [now - timedelta(minutes=10, seconds=seconds) for seconds in range(5)]
    assert throttle.bursts(recent, 5, now)


# ------------------------------------------------------------------------------------- sessions, roles


def test_no_session_redirects_a_browser_and_refuses_anything_else(app: FastAPI) -> None:
    client = browser(app)
    response = client.get("/proba/registratura?stare=flagged", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fproba%2Fregistratura%3Fstare%3Dflagged"
    api = TestClient(app, headers={"accept": "application/json"})
    assert api.get("/proba/registratura").status_code == 401
    assert api.get("/admin/utilizatori").status_code == 401
    page = client.get("/admin/utilizatori")  # followed: the login form, carrying `next`
    assert page.status_code == 200
    assert 'name="next" value="/admin/utilizatori"' in page.text
    # A POST without a session is refused (its missing CSRF token already stops it).
    assert client.post("/proba/actiune", follow_redirects=False).status_code in (401, 403)
    assert client.post("/admin/utilizatori", data={"name": "x"}, follow_redirects=False).status_code in (401, 403)


def test_role_matrix(app: FastAPI) -> None:
    expected = {
        "ana": {"/proba/registratura": 200, "/proba/ops": 403, "/admin/utilizatori": 403},
        "ion": {"/proba/registratura": 403, "/proba/ops": 200, "/admin/utilizatori": 403},
        "sefa": {"/proba/registratura": 200, "/proba/ops": 200, "/admin/utilizatori": 200},
    }
    for name, routes in expected.items():
        client = browser(app)
        login(client, name)
        for path, status in routes.items():
            response = client.get(path, follow_redirects=False)
            assert response.status_code == status, (name, path)
            if status == 403:
                assert "Acces interzis" in response.text
                role = "registry" if name == "ana" else "ops"
                assert f'<span class="user-name" title="{role}">{name}</span>' in response.text


def test_registry_cannot_use_admin_forms_even_with_a_valid_token(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    login(client, "ana")
    token = auth.SessionMiddleware(app, secret=rt.link_secret, hours=10, secure=False)._load(
        client.cookies.get(auth.COOKIE_NAME)
    )["csrf"]
    response = client.post(
        "/admin/utilizatori", data={"csrf_token": token, "name": "intrus", "role": "admin", "password": PASSWORD}
    )
    assert response.status_code == 403
    response = client.post("/admin/utilizatori/1/dezactiveaza", data={"csrf_token": token})
    assert response.status_code == 403
    with transaction(rt.engine) as session:
        assert session.exec(select(StaffUser).where(StaffUser.name == "intrus")).first() is None
        assert all(row.active for row in session.exec(select(StaffUser)))


def test_post_without_the_session_csrf_token_is_refused(app: FastAPI, rt: Runtime) -> None:
    client = browser(app)
    login(client, "ana")
    other = browser(app)
    login(other, "ana")
    loader = auth.SessionMiddleware(app, secret=rt.link_secret, hours=10, secure=False)
    token = loader._load(client.cookies.get(auth.COOKIE_NAME))["csrf"]
    foreign = loader._load(other.cookies.get(auth.COOKIE_NAME))["csrf"]
    assert client.post("/proba/actiune").status_code == 403
    assert client.post("/proba/actiune", data={"csrf_token": ""}).status_code == 403
    assert client.post("/proba/actiune", data={"csrf_token": foreign}).status_code == 403
    assert client.post("/proba/actiune", data={"csrf_token": token}).json() == {"done_by": "ana"}
    assert client.post("/proba/actiune", headers={"x-csrf-token": token}).json() == {"done_by": "ana"}
    multipart = client.post("/proba/actiune", data={"csrf_token": token}, files={"f": ("a.txt", b"x")})
    assert multipart.status_code == 200


def test_session_cookie_flags(tmp_path: Path) -> None:
    for secure in (False, True):
        rt = make_runtime(tmp_path / str(secure), secure_cookies=secure, session_hours=8)
        app = make_app(rt)
        auth.install(app, rt)  # a second install (create_app may have done it already) changes nothing
        response = browser(app).get("/login")
        assert len(response.headers.get_list("set-cookie")) == 1
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{auth.COOKIE_NAME}=")
        flags = [part.strip() for part in cookie.split(";")]
        assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
        assert "Max-Age=28800" in flags
        assert ("Secure" in flags) is secure


def test_security_headers_and_no_caching_of_staff_pages(app: FastAPI) -> None:
    client = browser(app)
    login(client, "ana")
    response = client.get("/proba/registratura")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_an_expired_or_forged_session_is_no_session(app: FastAPI, rt: Runtime) -> None:
    serializer = URLSafeTimedSerializer(rt.link_secret, salt=auth.SESSION_SALT)
    old = int(time.time()) - rt.settings.web.session_hours * 3600 - 60
    client = browser(app)
    client.cookies.set(auth.COOKIE_NAME, serializer.dumps({"uid": 1, "sv": 0, "csrf": "t", "iat": old}))
    response = client.get("/proba/registratura", follow_redirects=False)
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]
    forged = URLSafeTimedSerializer("another key", salt=auth.SESSION_SALT)
    client = browser(app)
    client.cookies.set(auth.COOKIE_NAME, forged.dumps({"uid": 1, "sv": 0, "csrf": "t", "iat": int(time.time())}))
    assert client.get("/proba/registratura", follow_redirects=False).status_code == 303
    # A valid cookie (same key and salt) is a session: the check above is about the key, not the format.
    client = browser(app)
    client.cookies.set(auth.COOKIE_NAME, serializer.dumps({"uid": 1, "sv": 0, "csrf": "t", "iat": int(time.time())}))
    assert client.get("/proba/registratura").text == "cazuri pentru ana"


def test_a_deactivated_user_is_logged_out_at_once(app: FastAPI, rt: Runtime) -> None:
    clerk = browser(app)
    login(clerk, "ana")
    assert clerk.get("/proba/registratura").status_code == 200

    admin = browser(app)
    login(admin, "sefa")
    page = admin.get("/admin/utilizatori")
    with transaction(rt.engine) as session:
        ana_id = session.exec(select(StaffUser.id).where(StaffUser.name == "ana")).one()
    assert f"/admin/utilizatori/{ana_id}/dezactiveaza" in page.text
    response = admin.post(f"/admin/utilizatori/{ana_id}/dezactiveaza", data={"csrf_token": form_token(page.text)})
    assert response.status_code == 200 and "Utilizatorul a fost dezactivat." in response.text

    response = clerk.get("/proba/registratura", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert login(clerk, "ana").status_code == 401
    assert ("sefa", "user_deactivate") in audit_actions(rt)

    # Reactivated, the account can log in again.
    page = admin.get("/admin/utilizatori")
    admin.post(f"/admin/utilizatori/{ana_id}/reactiveaza", data={"csrf_token": form_token(page.text)})
    assert login(clerk, "ana").status_code == 303
    assert ("sefa", "user_activate") in audit_actions(rt)


def test_an_admin_cannot_deactivate_themself(app: FastAPI, rt: Runtime) -> None:
    admin = browser(app)
    login(admin, "sefa")
    with transaction(rt.engine) as session:
        own_id = session.exec(select(StaffUser.id).where(StaffUser.name == "sefa")).one()
    response = admin.post(f"/admin/utilizatori/{own_id}/dezactiveaza", data={"csrf_token": session_token(admin)})
    assert response.status_code == 400
    assert "propriul cont" in response.text
    assert (
        admin.post("/admin/utilizatori/9999/dezactiveaza", data={"csrf_token": session_token(admin)}).status_code == 404
    )


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\tevil",
        "evil.example",
        "/login",
        "",
    ],
)
def test_next_never_leaves_the_site(app: FastAPI, target: str) -> None:
    response = login(browser(app), "ana", next_path=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/cazuri"


def test_next_to_a_local_page_is_followed(app: FastAPI) -> None:
    response = login(browser(app), "ana", next_path="/cazuri/12?tab=istoric")
    assert response.headers["location"] == "/cazuri/12?tab=istoric"
    assert auth.safe_next("/cazuri/12") == "/cazuri/12"
    assert auth.safe_next("/\r\nSet-Cookie: x") is None


# -------------------------------------------------------------------------------------------- user admin


def test_admin_adds_a_user_and_every_change_is_audited(app: FastAPI, rt: Runtime) -> None:
    admin = browser(app)
    login(admin, "sefa")
    token = session_token(admin)
    short = admin.post(
        "/admin/utilizatori", data={"csrf_token": token, "name": "maria", "role": "registry", "password": "scurta"}
    )
    assert short.status_code == 400 and "cel puțin 10 caractere" in short.text
    duplicate = admin.post(
        "/admin/utilizatori", data={"csrf_token": token, "name": "ana", "role": "registry", "password": PASSWORD}
    )
    assert duplicate.status_code == 400 and "Există deja" in duplicate.text
    bad_role = admin.post(
        "/admin/utilizatori", data={"csrf_token": token, "name": "maria", "role": "root", "password": PASSWORD}
    )
    assert bad_role.status_code == 400 and "Rol necunoscut" in bad_role.text
    added = admin.post(
        "/admin/utilizatori", data={"csrf_token": token, "name": "maria", "role": "registry", "password": PASSWORD}
    )
    assert added.status_code == 200 and "Utilizatorul a fost adăugat." in added.text
    assert "<td>maria</td>" in added.text
    with transaction(rt.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "user_add")).one()
        assert (event.actor, event.after) == ("sefa", {"user": "maria", "role": "registry"})
    assert login(browser(app), "maria").status_code == 303


def test_the_password_hash_is_never_logged_or_shown(
    app: FastAPI, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = browser(app)
    login(admin, "sefa")
    new_password = "alta-parola-secreta"
    admin.post(
        "/admin/utilizatori",
        data={"csrf_token": session_token(admin), "name": "maria", "role": "ops", "password": new_password},
    )
    login(browser(app), "maria", new_password)
    login(browser(app), "maria", "parola-gresita-123")
    page = admin.get("/admin/utilizatori").text
    with transaction(rt.engine) as session:
        hashes = [row.password_hash for row in session.exec(select(StaffUser))]
        audit_text = repr([(e.before, e.after, e.note) for e in session.exec(select(AuditEvent))])
    for shown in (caplog.text, page, audit_text):
        assert "$argon2" not in shown
        assert new_password not in shown and PASSWORD not in shown and "parola-gresita-123" not in shown
        for hashed in hashes:
            assert hashed not in shown


# ------------------------------------------------------------------------------------------- error pages


def test_error_pages_are_romanian_for_browsers_and_json_otherwise(app: FastAPI) -> None:
    client = browser(app)
    missing = client.get("/nu-exista")
    assert missing.status_code == 404
    assert "Pagina nu există" in missing.text and 'lang="ro"' in missing.text
    assert TestClient(app).get("/nu-exista").json() == {"detail": "Not Found"}
    unauthorised = client.post("/proba/actiune", headers={"x-csrf-token": "x"}, follow_redirects=False)
    assert unauthorised.status_code == 403  # no session: the token cannot match
    login(client, "ion")
    forbidden = client.get("/proba/registratura")
    assert forbidden.status_code == 403
    assert "Acces interzis" in forbidden.text and "Panou" in forbidden.text  # the menu stays


def test_401_page_for_a_browser_post_without_session(app: FastAPI) -> None:
    # A browser POST with a matching pre-session token but no login reaches require_roles: 401, in Romanian.
    client = browser(app)
    token = form_token(client.get("/login").text)
    response = client.post("/proba/actiune", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 401
    assert "Autentificare necesară" in response.text


def test_staff_context_has_what_base_html_needs(app: FastAPI) -> None:
    seen: dict[str, object] = {}

    @app.get("/proba")
    def probe(request: Request) -> dict[str, str]:
        seen.update(auth.staff_context(request, None, extra=1))
        return {}

    browser(app).get("/proba")
    assert set(seen) == {"request", "user", "csrf_token", "office_short", "extra"}
    assert isinstance(seen["csrf_token"], str) and seen["csrf_token"]
