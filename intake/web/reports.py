"""The registry's monthly reports (procedure 001 Art. 12, 17, 23) as CSV and PDF downloads.

Every download is recorded in the audit trail: the lists name people, so who took which list matters.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from intake import reports
from intake.clock import local
from intake.db import read_transaction, transaction
from intake.runtime import Runtime
from intake.web.app import templates
from intake.web.auth import CurrentUser, audit, office_runtime, require_roles, staff_context

router = APIRouter()
RegistryUser = Annotated[CurrentUser, Depends(require_roles("registry"))]

FORMATS = {
    "csv": ("text/csv; charset=utf-8", reports.to_csv),
    "pdf": ("application/pdf", reports.to_pdf),
}


def _rt(request: Request) -> Runtime:
    return office_runtime(request)  # the logged-in user's office: nothing of another office is found


def _previous_month(today: date) -> str:
    # Lists are drawn up after the month has ended, so the page offers the month before by default.
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@router.get("/rapoarte")
def reports_page(request: Request, user: RegistryUser, luna: str | None = None) -> Response:
    rt = _rt(request)
    today = local(rt.clock.now(), rt.settings.office.timezone).date()
    month = luna or _previous_month(today)
    error = None
    counts: dict[str, int] = {}
    try:
        year, month_number = reports.parse_month(month)
    except reports.ReportError as exc:
        error, month = str(exc), _previous_month(today)
        year, month_number = reports.parse_month(month)
    with read_transaction(rt.engine) as session:
        # A count per list without reading the forms again (that happens only on download).
        for code in reports.KINDS:
            counts[code] = reports.count_rows(session, rt, code, year, month_number)
    kinds = [
        {
            "code": kind.code,
            "title": kind.title,
            "basis": kind.legal_basis,
            "columns": kind.columns[1:],
            "count": counts[kind.code],
        }
        for kind in reports.KINDS.values()
    ]
    context = staff_context(
        request,
        user,
        kinds=kinds,
        month=month,
        error=error,
        month_label=f"{reports.MONTHS_RO[month_number - 1]} {year}",
    )
    return templates.TemplateResponse(request, "staff/reports.html", context, status_code=400 if error else 200)


@router.get("/rapoarte/{kind}.{fmt}")
def report_download(request: Request, kind: str, fmt: str, user: RegistryUser, luna: str = "") -> Response:
    rt = _rt(request)
    if kind not in reports.KINDS or fmt not in FORMATS:
        raise StarletteHTTPException(404)
    try:
        year, month = reports.parse_month(luna)
    except reports.ReportError as exc:
        raise StarletteHTTPException(400, "Luna raportului trebuie dată ca AAAA-LL (de exemplu 2026-03).") from exc
    media_type, render = FORMATS[fmt]
    report = reports.build_report(rt, kind, year, month)  # its own transaction; forms are read outside it
    with transaction(rt.engine) as session:
        audit(
            session,
            rt.office,
            user,
            "report_download",
            after={"report": kind, "month": f"{year:04d}-{month:02d}", "format": fmt, "rows": len(report.rows)},
        )
    body = render(report)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{report.filename_stem}.{fmt}"'},
    )
