"""GDPR on the staff pages: the legal hold of a case (registry staff) and the subject-access export (admin).

Both are audited. The export page takes the CNP or address in a POST body, never in the URL (which the proxy's
access log and the browser's history keep), and the audit keeps a keyed hash of it, never the value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from intake import retention, subject_export
from intake.clock import local
from intake.db import read_transaction, transaction
from intake.models import LegalHold, Submission
from intake.registry import registration_label
from intake.runtime import Runtime
from intake.web.app import templates
from intake.web.auth import CurrentUser, audit, office_runtime, require_roles, staff_context, verify_csrf
from intake.web.case_actions import load_case

router = APIRouter()
RegistryUser = Annotated[CurrentUser, Depends(require_roles("registry"))]
AdminUser = Annotated[CurrentUser, Depends(require_roles("admin"))]
EXPORT_PAGE = "/admin/date-personale"


def case_retention(session: Session, rt: Runtime, submission: Submission) -> dict[str, Any]:
    """What the case page shows: the hold (if any) and when the case's data will be erased."""
    root_id = submission.case_id or submission.id or 0
    hold = retention.held(session, root_id)
    return {
        "hold": hold,
        "expires_at": retention.case_expires_at(session, rt.settings.retention, submission),
    }


def _root_or_404(session: Session, rt: Runtime, submission_id: int) -> Submission:
    from starlette.exceptions import HTTPException

    submission = load_case(session, rt, submission_id)
    root = session.get(Submission, submission.case_id or submission.id) if submission is not None else None
    if root is None:
        raise HTTPException(404)
    return root


def _back(submission_id: int, key: str, *, ok: bool) -> RedirectResponse:
    return RedirectResponse(f"/cazuri/{submission_id}?{'ok' if ok else 'eroare'}={key}#pastrare", status_code=303)


@router.post("/cazuri/{submission_id}/retinere", dependencies=[Depends(verify_csrf)])
def set_hold(request: Request, user: RegistryUser, submission_id: int, motiv: str = Form("")) -> Response:
    rt = office_runtime(request)
    try:
        with transaction(rt.engine) as session:
            root = _root_or_404(session, rt, submission_id)
            hold = retention.set_hold(session, root, motiv, user.name, rt.clock.now())
            audit(session, rt.office, user, "legal_hold_set", submission_id=root.id, after={"hold_reason": hold.reason})
    except retention.HoldError as exc:
        return _back(submission_id, exc.key, ok=False)
    return _back(submission_id, "retinere_pusa", ok=True)


@router.post("/cazuri/{submission_id}/retinere/ridica", dependencies=[Depends(verify_csrf)])
def clear_hold(request: Request, user: RegistryUser, submission_id: int) -> Response:
    rt = office_runtime(request)
    try:
        with transaction(rt.engine) as session:
            root = _root_or_404(session, rt, submission_id)
            hold = retention.clear_hold(session, root)
            audit(session, rt.office, user, "legal_hold_clear", submission_id=root.id,
                  before={"hold_reason": hold.reason, "by": hold.set_by})  # fmt: skip
    except retention.HoldError as exc:
        return _back(submission_id, exc.key, ok=False)
    return _back(submission_id, "retinere_ridicata", ok=True)


# --------------------------------------------------------------------------------------- subject access export


@router.get(EXPORT_PAGE)
def export_page(request: Request, user: AdminUser) -> Response:
    return _export_form(request, user)


def _export_form(request: Request, user: CurrentUser, error: str | None = None, status: int = 200) -> Response:
    rt = office_runtime(request)
    with read_transaction(rt.engine) as session:  # the held cases, for the admin who reviews them
        holds = [
            {"hold": hold, "case": registration_label(root, rt.settings.office.timezone) or f"#{root.id}"}
            for hold, root in session.exec(
                select(LegalHold, Submission)
                .join(Submission, col(Submission.id) == LegalHold.submission_id)
                .where(LegalHold.office == rt.office)
                .order_by(col(LegalHold.set_at))
            ).all()
        ]
    context = staff_context(request, user, error=error, retention=rt.settings.retention, holds=holds)
    return templates.TemplateResponse(request, "staff/subject_export.html", context, status_code=status)


@router.post(EXPORT_PAGE, dependencies=[Depends(verify_csrf)])
def export_download(request: Request, user: AdminUser, persoana: str = Form("")) -> Response:
    rt = office_runtime(request)
    try:
        subject = subject_export.parse_subject(persoana)
    except subject_export.SubjectError as exc:
        return _export_form(request, user, exc.ro, 400)
    result = subject_export.export(rt, subject)
    with transaction(rt.engine) as session:
        audit(session, rt.office, user, "subject_export", after=subject_export.audit_detail(rt, subject, result))
    day = local(rt.clock.now(), rt.settings.office.timezone)
    return Response(
        result.data,
        media_type="application/zip",
        headers={
            # Neither the CNP nor the address in the file name: it ends up in the download folder's listing.
            "Content-Disposition": f'attachment; filename="date-personale-{day:%Y%m%d-%H%M}.zip"',
            "Cache-Control": "no-store",
        },
    )
