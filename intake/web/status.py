"""The citizen's status page of a case, `/dosar/<token>` (issue 13 §4): no login, the signed link in every reply.

Anything that is not a genuine link to an existing case (malformed, tampered with, signed with another key, a case
erased since) gets one neutral 404 page, so the page tells a stranger nothing, not even that a case exists. A
genuine link past the end of its case says so (410). The token is never logged; the page is never cached.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from intake import case_link, case_status
from intake.db import read_transaction
from intake.runtime import Runtime
from intake.web.app import templates
from intake.web.auth import office_label
from intake.web.rate_limit import refused

router = APIRouter()

LIMITER = "dosar"
# A page with personal data: no shared cache keeps it, no search engine lists it, no other site learns its address.
PRIVATE = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow", "referrer-policy": "no-referrer"}


def _page(request: Request, status: int, title: str, text: str, headers: dict[str, str] | None = None) -> Response:
    context = {"title": title, "text": text, "office_short": office_label(request)}
    return templates.TemplateResponse(
        request, "message.html", context, status_code=status, headers={**PRIVATE, **(headers or {})}
    )


@router.get("/dosar/{token}", response_class=HTMLResponse)
def show(request: Request, token: str) -> Response:
    wait = refused(request, LIMITER)
    if wait is not None:
        return _page(
            request,
            429,
            "Prea multe cereri",
            "Ați deschis această pagină de prea multe ori într-un timp scurt. Încercați din nou peste câteva minute.",
            {"retry-after": str(wait)},
        )
    deployment: Runtime = request.app.state.rt
    with read_transaction(deployment.engine) as session:
        root = case_link.find_case(session, token, deployment.link_secret)
        rt = deployment.for_office(root.office) if root is not None else None
        if root is None or rt is None:
            return _page(
                request,
                404,
                "Link invalid",
                "Linkul nu este valid. Verificați că l-ați copiat complet din e-mailul primit de la noi.",
            )
        if rt.clock.now() >= case_link.case_end(rt, session, root):
            return _page(
                request,
                410,
                "Link expirat",
                "Dosarul s-a încheiat, iar acest link nu mai este valabil. "
                "Pentru informații, răspundeți la e-mailul nostru sau contactați registratura.",
            )
        status = case_status.build(rt, session, root)
    context = {"status": status, "office": rt.settings.office, "office_short": rt.settings.office.short_name}
    return templates.TemplateResponse(request, "case_status.html", context, headers=PRIVATE)
