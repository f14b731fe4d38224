"""The web application: the beneficiaries' appointment pages (public, by signed link) and, for staff and
ops, the pages of the staff interface. Server-rendered, no external assets: everything ships with the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from intake.clock import utcnow
from intake.runtime import Runtime

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def create_app(rt: Runtime) -> FastAPI:
    from intake.web import auth, cases, ops, public, reports

    app = FastAPI(title="intake", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.rt = rt
    app.state.started_at = utcnow()  # /readyz allows a short start-up grace before the first poll
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(public.router)
    app.include_router(cases.router)
    app.include_router(ops.router)
    app.include_router(reports.router)
    auth.install(app, rt)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
