"""The web application: the beneficiaries' appointment pages (public, by signed link) and, for staff and
ops, the pages of the staff interface. Server-rendered, no external assets: everything ships with the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from intake.clock import utcnow
from intake.runtime import Runtime
from intake.texts import labels

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
labels.install(templates.env)  # codes and dates in Romanian on every staff page (intake/texts/labels.py)


def create_app(rt: Runtime) -> FastAPI:
    from intake.web import auth, cases, day, gdpr, ops, public, reports, status
    from intake.web.paths import bounded_path_ints

    app = FastAPI(title="intake", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(bounded_path_ints)])
    app.state.rt = rt
    app.state.started_at = utcnow()  # /readyz allows a short start-up grace before the first poll
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(public.router)
    app.include_router(status.router)
    app.include_router(cases.router)
    app.include_router(day.router)
    app.include_router(ops.router)
    app.include_router(reports.router)
    app.include_router(gdpr.router)
    auth.install(app, rt)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(rt: Runtime) -> None:
    """The web interface on web.host:web.port until stopped (`intake serve`, or a thread of `intake run`)."""
    import uvicorn

    web = rt.settings.web
    # proxy_headers=False: uvicorn would otherwise rewrite the client address from X-Forwarded-For for any
    # request from 127.0.0.1; which proxies are believed is web.trusted_proxies alone (intake/web/client.py).
    # log_config=None: uvicorn's lines go through intake's one handler (time with offset, JSON, CNP masking)
    # instead of handlers and formats of its own.
    uvicorn.run(create_app(rt), host=web.host, port=web.port, log_level="warning", proxy_headers=False, log_config=None)
