"""Issue 10 point 17: an integer path parameter out of the database's range is a 404, never a 500.

Before the fix /cazuri/99999999999999999999 raised OverflowError in SQLite (500). The test walks the
application's own routes, so a route added later with an `int` id is checked without anyone listing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from intake.db import transaction
from intake.runtime import Runtime
from intake.web import auth
from intake.web.app import create_app
from intake.web.paths import MAX_ID
from tests.unit import runtimes
from tests.unit.test_web_cases import add_document, add_submission, png_bytes

PASSWORD = "parola-foarte-lunga"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
OUT_OF_RANGE = [str(MAX_ID + 1), "9" * 20, "9" * 400, "-" + "9" * 20, "0", "-1", "abc", "1e3"]


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = runtimes.make_runtime(tmp_path)
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "sefa", "admin", PASSWORD)  # admin passes every role check
    return rt


@pytest.fixture
def app(rt: Runtime) -> FastAPI:
    return create_app(rt)


@pytest.fixture
def admin(app: FastAPI) -> TestClient:
    client = TestClient(app, headers=BROWSER, raise_server_exceptions=False, follow_redirects=False)
    found = CSRF_FIELD.search(client.get("/login").text)
    assert found
    response = client.post("/login", data={"name": "sefa", "password": PASSWORD, "csrf_token": found.group(1)})
    assert response.status_code == 303
    found = CSRF_FIELD.search(client.get("/admin/utilizatori").text)
    assert found
    client.headers["x-csrf-token"] = found.group(1)  # every POST below passes the CSRF check
    return client


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route), through the nested routers this FastAPI keeps for include_router."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes, prefix + (route.include_context.prefix or ""))


def int_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path, names of its int path parameters) of every route that takes an integer in its path."""
    found = []
    for path, route in _routes(app.routes):
        names = [field.alias for field in route.dependant.path_params if field.field_info.annotation is int]
        if names:
            found.extend((method, path, names) for method in sorted(route.methods - {"HEAD"}))
    return found


def fill(path: str, ints: dict[str, str]) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda match: ints.get(match.group(1), "x"), path)


def test_every_integer_path_parameter_is_bounded(app: FastAPI, admin: TestClient) -> None:
    routes = int_routes(app)
    assert len(routes) >= 15, routes  # cases, documents, findings, quarantine, users ...
    for method, path, names in routes:
        for bad in OUT_OF_RANGE:
            # One parameter out of range at a time, the others plausible.
            for name in names:
                url = fill(path, {other: "1" for other in names} | {name: bad})
                response = admin.request(method, url)
                assert response.status_code == 404, (method, url, response.status_code)
                assert "Pagina nu există" in response.text


ID_NAMES = re.compile(r"(_id|^id|number|numar|year|an)$")


def test_every_id_in_a_path_is_declared_an_integer(app: FastAPI) -> None:
    """The bound applies to `int` parameters: an id declared `str` would reach the database unchecked."""
    for path, route in _routes(app.routes):
        for field in route.dependant.path_params:
            if ID_NAMES.search(field.alias):
                assert field.field_info.annotation is int, (path, field.alias)


def test_the_largest_id_is_a_plain_not_found(admin: TestClient) -> None:
    assert admin.get(f"/cazuri/{MAX_ID}").status_code == 404
    assert admin.get(f"/cazuri/{MAX_ID}/documente/{MAX_ID}").status_code == 404


def test_without_a_session_a_huge_id_is_no_different(app: FastAPI) -> None:
    client = TestClient(app, headers=BROWSER, raise_server_exceptions=False, follow_redirects=False)
    assert client.get("/cazuri/" + "9" * 20).status_code == 404
    assert client.get("/cazuri/1").status_code == 303  # a normal id: the login comes first


def test_a_normal_id_works(rt: Runtime, admin: TestClient) -> None:
    with transaction(rt.engine) as session:
        submission = add_submission(session, rt, received=datetime(2026, 11, 12, 9, 0, tzinfo=UTC), number=10)
        document = add_document(session, rt, submission, "act.png", png_bytes((40, 30)), detected_type="png",
                                content_type="image/png", accepted=True)
    case = admin.get(f"/cazuri/{submission.id}")
    assert case.status_code == 200 and "Ion Popescu" in case.text
    assert admin.get(f"/cazuri/{submission.id}/documente/{document.id}").status_code == 200
    # Leading zeros and the like name the same id, as before.
    assert admin.get(f"/cazuri/00{submission.id}").status_code == 200
