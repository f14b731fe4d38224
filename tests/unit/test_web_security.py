"""Every staff route refuses a request without a session; public ones are exactly the intended few."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from intake.runtime import Runtime
from intake.settings import DatabaseSettings, Settings, StorageSettings
from intake.web.app import create_app

# Reachable without logging in, on purpose: probes, the login page itself, and the beneficiary's
# appointment and case status pages (protected by their signed link instead).
PUBLIC = re.compile(r"^/(healthz|readyz|metrics|login|programare/.*|dosar/.*)$")


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    rt = Runtime.from_settings(
        Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path}/i.db"), storage=StorageSettings(path=tmp_path))
    )
    return create_app(rt)


def _api_routes(routes):  # type: ignore[no-untyped-def]
    """Flatten the app's routes: this FastAPI keeps included routers as nested objects."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _staff_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    routes = []
    for route in _api_routes(app.routes):
        if PUBLIC.match(route.path):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        routes.extend((method, path) for method in sorted(route.methods - {"HEAD"}))
    return routes


def test_every_staff_route_refuses_without_a_session(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app, follow_redirects=False)
    routes = _staff_routes(app)
    assert len(routes) > 15, routes
    for method, path in routes:
        response = client.request(method, path, headers={"Accept": "text/html"})
        assert response.status_code in (303, 401, 403), (method, path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), (method, path)
        assert "Caz " not in response.text and "SHA-256" not in response.text
