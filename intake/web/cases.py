"""The registry's pages: the queue of cases that need a person (/cazuri), the case page and its actions.

Every route needs the registry role (admin passes too); every POST checks the CSRF token and, after the action,
redirects back to the case with a message key in the query string (never free text: a crafted link cannot
put words on the page). A case of another office, or one that does not exist, is a 404 either way.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException

from intake import case_link
from intake.db import read_transaction, transaction
from intake.models import Document, OutboxMessage, Submission
from intake.runtime import Runtime
from intake.texts import labels
from intake.web import case_actions as actions
from intake.web import previews, sent
from intake.web.app import templates
from intake.web.auth import CurrentUser, office_runtime, require_roles, staff_context, verify_csrf
from intake.web.gdpr import case_retention

router = APIRouter()
RegistryUser = Annotated[CurrentUser, Depends(require_roles("registry"))]

THUMBNAIL_PX = previews.THUMBNAIL_PX

MESSAGES_RO: dict[str, str] = {
    "rezolvat": "Cazul a fost marcat ca rezolvat și a ieșit din coadă.",
    "constatare_adaugata": "Constatarea a fost adăugată.",
    "constatare_inchisa": "Constatarea a fost închisă.",
    "programat": "Programarea a fost făcută; beneficiarul primește un e-mail cu invitația.",
    "fara_loc": "Nu există niciun loc liber în termenul legal: s-a adăugat o constatare, iar echipa tehnică "
    "a fost alertată. Stabiliți programarea direct cu beneficiarul.",
    "mutat": "Programarea a fost mutată; beneficiarul primește un e-mail cu noua oră.",
    "anulat": "Programarea a fost anulată; beneficiarul primește un e-mail de anulare.",
    "recipisa_retrimisa": "Recipisa a fost pusă din nou în coada de trimitere.",
    "reprocesat": "Mesajul a fost repus în procesare; va fi preluat la următorul ciclu.",
    "consimtamant": "Consimțământul a fost marcat ca primit.",
    "confirmat": "Dosarul a fost confirmat; vizita pentru verificarea identității a fost programată, iar "
    "beneficiarul primește invitația prin e-mail.",
    "confirmat_fara_loc": "Dosarul a fost confirmat, dar nu există niciun loc liber în orizontul de programare: "
    "s-a adăugat o constatare, iar echipa tehnică a fost alertată. Stabiliți programarea direct cu beneficiarul.",
    "retinere_pusa": "Dosarul este reținut: nu va fi șters la expirarea termenului de păstrare.",
    "retinere_ridicata": "Reținerea a fost ridicată: dosarul se șterge la expirarea termenului de păstrare.",
}

ERRORS_RO: dict[str, str] = {
    "nota_lipsa": "Scrieți o notă care explică rezolvarea.",
    "deja_rezolvat": "Cazul este deja rezolvat.",
    "cod_invalid": "Alegeți un cod de constatare din listă.",
    "mesaj_lipsa": "Scrieți textul constatării.",
    "constatare_inexistenta": "Constatarea nu există.",
    "constatare_deja_inchisa": "Constatarea era deja închisă.",
    "programare_existenta": "Cazul are deja o programare activă: mutați-o sau anulați-o.",
    "fara_programare": "Cazul nu are o programare activă.",
    "ora_invalida": "Ora aleasă nu este validă.",
    "ora_ocupata": "Ora aleasă nu mai este liberă sau nu este permisă. Alegeți alta.",
    "fara_recipisa": "Pentru acest caz nu a fost trimisă nicio recipisă prin e-mail.",
    "nu_e_carantina": "Mesajul nu este în carantină.",
    "consimtamant_deja": "Consimțământul era deja marcat ca primit.",
    "de_verificat": "Dosarul este complet și așteaptă verificarea: confirmați-l, iar vizita se programează atunci.",
    "nu_e_de_verificat": "Dosarul nu așteaptă verificarea (nu este complet sau a fost deja confirmat).",
    "constatari_deschise": "Dosarul are constatări deschise pentru beneficiar: nu poate fi confirmat încă.",
    "retinere_fara_motiv": "Scrieți motivul reținerii (de exemplu: contestație în instanță, control).",
    "retinere_deja": "Dosarul este deja reținut.",
    "retinere_lipsa": "Dosarul nu este reținut.",
}


def _rt(request: Request) -> Runtime:
    return office_runtime(request)  # the logged-in user's office: nothing of another office is found


def _case_or_404(session: Session, rt: Runtime, submission_id: int) -> Submission:
    submission = actions.load_case(session, rt, submission_id)
    if submission is None:
        raise HTTPException(404)
    return submission


def _back(submission_id: int, *, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    query = urlencode({"ok": ok} if ok else {"eroare": error or ""})
    return RedirectResponse(f"/cazuri/{submission_id}?{query}", status_code=303)


# --- the queue ---------------------------------------------------------------------------------------------


@router.get("/cazuri")
def queue(
    request: Request,
    user: RegistryUser,
    stare: str = "deschise",
    cod: str = "",
    de_la: str = "",
    pana_la: str = "",
    q: str = "",
    pagina: str = "1",
) -> Response:
    rt = _rt(request)
    filters = actions.QueueFilter(
        state=stare if stare in actions.STATE_FILTERS else "deschise",
        code=cod if cod in actions.FINDING_CODES else "",
        date_from=labels.parse_day(de_la),
        date_to=labels.parse_day(pana_la),
        search=q[:200],
        page=int(pagina) if pagina.isdigit() else 1,
    )
    with read_transaction(rt.engine) as session:
        page = actions.queue(session, rt, filters)
        awaiting_verification = actions.awaiting_verification_count(session, rt)
    params = {
        "stare": filters.state,
        "cod": filters.code,
        # Shown and linked as typed in Romania (dd.mm.yyyy); parse_day also takes ISO from older links.
        "de_la": labels.day(filters.date_from) if filters.date_from else "",
        "pana_la": labels.day(filters.date_to) if filters.date_to else "",
        "q": filters.search,
    }
    base_query = urlencode({key: value for key, value in params.items() if value})
    context = staff_context(
        request,
        user,
        page=page,
        params=params,
        base_query=base_query,
        states=actions.STATE_FILTERS,
        codes=actions.FINDING_CODES,
        awaiting_verification=awaiting_verification,
        bad_dates=[text for text in (de_la, pana_la) if text.strip() and labels.parse_day(text) is None],
    )
    return templates.TemplateResponse(request, "staff/queue.html", context)


# --- the case page -----------------------------------------------------------------------------------------


@router.get("/cazuri/{submission_id}")
def case_page(request: Request, user: RegistryUser, submission_id: int, ok: str = "", eroare: str = "") -> Response:
    rt = _rt(request)
    with read_transaction(rt.engine) as session:
        submission = _case_or_404(session, rt, submission_id)
        view: dict[str, Any] = actions.case_view(session, rt, submission)
        kept = case_retention(session, rt, submission)
        # What the citizen sees (the same page as their link): a clerk on the phone with them sees it too.
        citizen_view = case_link.status_url(rt, session, submission) if submission.number is not None else None
    context = staff_context(
        request,
        user,
        case=view,
        retention=kept,
        citizen_view=citizen_view,
        notice=MESSAGES_RO.get(ok),
        error=ERRORS_RO.get(eroare),
        signature_labels=actions.SIGNATURE_LABELS_RO,
    )
    return templates.TemplateResponse(request, "staff/case.html", context)


def _document(session: Session, rt: Runtime, submission_id: int, document_id: int) -> Document:
    _case_or_404(session, rt, submission_id)
    document = session.get(Document, document_id)
    if document is None or document.submission_id != submission_id:
        raise HTTPException(404)
    return document


# Characters that must not reach a header value or a saved file's name; the rest of Unicode is kept.
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')


def download_name(filename: str) -> str:
    """The attachment's name made harmless for a Content-Disposition header and a Save dialog."""
    name = unicodedata.normalize("NFC", filename)
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    return name[:150] or "document"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 5987 UTF-8 name (browsers use the latter)."""
    name = download_name(filename)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/cazuri/{submission_id}/documente/{document_id}")
def download(request: Request, user: RegistryUser, submission_id: int, document_id: int) -> Response:
    rt = _rt(request)
    with read_transaction(rt.engine) as session:
        document = _document(session, rt, submission_id, document_id)
        sha256, filename = document.sha256, document.filename
        media_type = document.content_type or "application/octet-stream"
    try:
        data = rt.store.get(sha256)
    except (OSError, ValueError):
        raise HTTPException(404) from None
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", media_type.lower()):
        media_type = "application/octet-stream"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            # Opened by mistake in a tab, the file still cannot run anything in the application's origin.
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )


@router.get("/cazuri/{submission_id}/documente/{document_id}/miniatura")
def thumbnail(request: Request, user: RegistryUser, submission_id: int, document_id: int) -> Response:
    rt = _rt(request)
    with read_transaction(rt.engine) as session:
        document = _document(session, rt, submission_id, document_id)
        if not document.accepted or document.detected_type not in actions.THUMBNAIL_TYPES:
            raise HTTPException(404)
        sha256 = document.sha256
    if not rt.store.exists(sha256):  # erased by `intake purge` (another process): no preview from the cache either
        raise HTTPException(404)
    # Rendered once per image and kept (LRU by SHA-256), a bounded number at a time, never from a full decode of
    # a large PNG (issue 10 point 2): `intake.web.previews`.
    png = previews.cached_preview(sha256, lambda: rt.store.get(sha256), rt.settings.limits.max_image_pixels)
    if png is None:  # too costly to render, unreadable, or too many renders under way: no preview, not a 500
        raise HTTPException(404)
    return Response(
        png,
        media_type="image/png",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


def make_thumbnail(data: bytes, max_pixels: int) -> bytes:
    """A PNG no larger than THUMBNAIL_PX on either side (`previews.preview`, uncached); ValueError when the image
    gets no preview."""
    png = previews.preview(data, max_pixels)
    if png is None:
        raise ValueError("no preview for this image")
    return png


@router.get("/cazuri/{submission_id}/trimise/{outbox_id}/{number}")
def sent_pdf(request: Request, user: RegistryUser, submission_id: int, outbox_id: int, number: int) -> Response:
    """The `number`-th PDF (from 1: ids in paths are never 0) of a message sent about this case, inline."""
    rt = _rt(request)
    with read_transaction(rt.engine) as session:
        submission = _case_or_404(session, rt, submission_id)
        root_id = submission.case_id or submission.id
        case_ids = {submission.id, root_id} | set(
            session.exec(select(Submission.id).where(col(Submission.case_id) == root_id)).all()
        )
        row = session.get(OutboxMessage, outbox_id)
        if row is None or row.office != rt.office or row.submission_id not in case_ids:
            raise HTTPException(404)
        raw = row.raw
    parts = sent.pdf_parts(raw)
    if not 1 <= number <= len(parts):
        raise HTTPException(404)
    part = parts[number - 1]
    data = part.get_content()
    name = part.get_filename() or f"document-{number}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            # Inline: the browser's own PDF viewer shows it beside the case; "Save" still offers the real name.
            "Content-Disposition": content_disposition(name).replace("attachment;", "inline;", 1),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- actions -----------------------------------------------------------------------------------------------


def _act(request: Request, submission_id: int, ok: str, action, *args: Any) -> Response:  # type: ignore[no-untyped-def]
    """Run one action in one transaction; an ActionError rolls it back and shows why."""
    rt = _rt(request)
    try:
        with transaction(rt.engine) as session:
            submission = _case_or_404(session, rt, submission_id)
            result = action(session, rt, submission, *args)
    except actions.ActionError as exc:
        return _back(submission_id, error=exc.key)
    if isinstance(result, str) and result in MESSAGES_RO:
        ok = result
    return _back(submission_id, ok=ok)


@router.post("/cazuri/{submission_id}/rezolva", dependencies=[Depends(verify_csrf)])
def resolve(request: Request, user: RegistryUser, submission_id: int, nota: str = Form("")) -> Response:
    return _act(request, submission_id, "rezolvat", lambda s, rt, sub: actions.resolve(s, rt, user, sub, nota))


@router.post("/cazuri/{submission_id}/constatari", dependencies=[Depends(verify_csrf)])
def add_finding(
    request: Request, user: RegistryUser, submission_id: int, cod: str = Form(""), mesaj: str = Form("")
) -> Response:
    return _act(
        request,
        submission_id,
        "constatare_adaugata",
        lambda s, rt, sub: actions.add_staff_finding(s, rt, user, sub, cod, mesaj),
    )


@router.post("/cazuri/{submission_id}/constatari/{finding_id}/inchide", dependencies=[Depends(verify_csrf)])
def clear_finding(request: Request, user: RegistryUser, submission_id: int, finding_id: int) -> Response:
    return _act(
        request,
        submission_id,
        "constatare_inchisa",
        lambda s, rt, sub: actions.clear_finding(s, rt, user, sub, finding_id),
    )


@router.post("/cazuri/{submission_id}/programare/rezerva", dependencies=[Depends(verify_csrf)])
def book(request: Request, user: RegistryUser, submission_id: int) -> Response:
    return _act(
        request,
        submission_id,
        "programat",
        lambda s, rt, sub: "programat" if actions.book(s, rt, user, sub) else "fara_loc",
    )


@router.post("/cazuri/{submission_id}/verificare/confirma", dependencies=[Depends(verify_csrf)])
def confirm_file(request: Request, user: RegistryUser, submission_id: int) -> Response:
    return _act(request, submission_id, "confirmat", lambda s, rt, sub: actions.confirm_file(s, rt, user, sub))


@router.post("/cazuri/{submission_id}/programare/muta", dependencies=[Depends(verify_csrf)])
def move(request: Request, user: RegistryUser, submission_id: int, start: str = Form("")) -> Response:
    return _act(request, submission_id, "mutat", lambda s, rt, sub: actions.move(s, rt, user, sub, start))


@router.post("/cazuri/{submission_id}/programare/anuleaza", dependencies=[Depends(verify_csrf)])
def cancel(request: Request, user: RegistryUser, submission_id: int) -> Response:
    return _act(request, submission_id, "anulat", lambda s, rt, sub: actions.cancel(s, rt, user, sub))


@router.post("/cazuri/{submission_id}/recipisa/retrimite", dependencies=[Depends(verify_csrf)])
def resend_receipt(request: Request, user: RegistryUser, submission_id: int) -> Response:
    return _act(
        request,
        submission_id,
        "recipisa_retrimisa",
        lambda s, rt, sub: actions.resend_receipt(s, rt, user, sub) and None,
    )


@router.post("/cazuri/{submission_id}/consimtamant", dependencies=[Depends(verify_csrf)])
def mark_consent(request: Request, user: RegistryUser, submission_id: int) -> Response:
    return _act(request, submission_id, "consimtamant", lambda s, rt, sub: actions.mark_consent(s, rt, user, sub))


@router.post("/cazuri/{submission_id}/reproceseaza", dependencies=[Depends(verify_csrf)])
def reprocess(request: Request, user: RegistryUser, submission_id: int) -> Response:
    # Not through _act: pipeline.replay opens its own transaction, and transactions never nest.
    try:
        actions.reprocess(_rt(request), user, submission_id)
    except LookupError:
        raise HTTPException(404) from None
    except actions.ActionError as exc:
        return _back(submission_id, error=exc.key)
    return _back(submission_id, ok="reprocesat")
