"""The beneficiary's appointment page, reached by the signed link in our e-mails: no login, no account.

The link names the appointment and the version (ICS SEQUENCE) it was sent for; once the appointment changes,
older links stop working, so a forwarded old e-mail cannot move someone's new appointment.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from intake.appointments import service
from intake.appointments.notices import day_in_words, visit_purpose
from intake.appointments.tokens import TokenExpired, TokenInvalid, read_token
from intake.clock import local
from intake.db import read_transaction, transaction
from intake.models import Appointment, AppointmentState, Submission
from intake.runtime import Runtime
from intake.web.app import templates
from intake.web.auth import office_label
from intake.web.rate_limit import refused

router = APIRouter()


def _purpose(appointment: Appointment, root: Submission) -> str:
    request = service.request_of(root)
    words = visit_purpose(
        appointment.purpose, applicant=request.applicant, decision=request.decision, request_name=request.name
    )
    return words.removeprefix("pentru ")


def _rt(request: Request) -> Runtime:
    # The first office's: the link's appointment names its own office (`_load`), whoever is logged in.
    return request.app.state.rt  # type: ignore[no-any-return]


def _problem(
    request: Request, status: int, title: str, text: str, headers: dict[str, str] | None = None
) -> Response:
    context = {"title": title, "text": text, "office_short": office_label(request)}
    return templates.TemplateResponse(request, "message.html", context, status_code=status, headers=headers)


def _load(request: Request, token: str, session) -> tuple[Appointment, Runtime] | Response:  # type: ignore[no-untyped-def]
    """The appointment the link names, with the runtime of its office (its calendar and desks). Rate-limited per
    client address like the case status page (intake.web.rate_limit): no script walks through links."""
    wait = refused(request, "programare")
    if wait is not None:
        return _problem(
            request,
            429,
            "Prea multe cereri",
            "Ați deschis această pagină de prea multe ori într-un timp scurt. Încercați din nou peste câteva minute.",
            {"retry-after": str(wait)},
        )
    rt = _rt(request)
    try:
        appointment_id, sequence = read_token(token, rt.link_secret, rt.clock.now())
    except TokenExpired:
        return _problem(request, 410, "Link expirat", "Acest link nu mai este valabil. Răspundeți la e-mailul "
                        "nostru dacă doriți să schimbați programarea.")
    except TokenInvalid:
        return _problem(request, 404, "Link invalid", "Linkul nu este valid. Verificați că l-ați copiat complet.")
    appointment = session.get(Appointment, appointment_id)
    office = rt.for_office(appointment.office) if appointment is not None else None
    if appointment is None or office is None:
        return _problem(request, 404, "Link invalid", "Linkul nu este valid.")
    if appointment.state != AppointmentState.BOOKED or appointment.sequence != sequence:
        return _problem(request, 410, "Programare modificată", "Programarea a fost între timp modificată sau "
                        "anulată. Folosiți linkul din cel mai recent e-mail primit de la noi.")
    return appointment, office


@router.get("/programare/{token}", response_class=HTMLResponse)
def show(request: Request, token: str, ok: str | None = None) -> Response:
    with read_transaction(_rt(request).engine) as session:
        loaded = _load(request, token, session)
        if isinstance(loaded, Response):
            return loaded
        found, rt = loaded
        timezone = rt.settings.office.timezone
        root = session.get_one(Submission, found.submission_id)
        # Never a day past the legal deadline of a clarification (the same window as the staff page).
        slots = service.free_slots(rt, session, found)
        days: dict[str, list[dict[str, str]]] = defaultdict(list)
        for slot in slots:
            start = local(slot.start, timezone)
            days[day_in_words(start.date())].append({"value": start.isoformat(), "label": f"{start:%H:%M}"})
        start = local(found.start, timezone)
        context = {
            "when": f"{day_in_words(start.date())}, la ora {start:%H:%M}",
            # The words of the e-mail: no decision promised to a request that ends without one, nor to a company.
            "purpose": _purpose(found, root),
            "deadline": day_in_words(local(found.deadline, timezone).date()) if found.deadline else None,
            "office": rt.settings.office,
            "office_short": rt.settings.office.short_name,
            "days": dict(days),
            "token": token,
            "ok": ok,
        }
    return templates.TemplateResponse(request, "appointment.html", context)


@router.post("/programare/{token}/muta")
def move(request: Request, token: str, start: str = Form(...)) -> Response:
    try:
        wanted = datetime.fromisoformat(start)
    except ValueError:
        return _problem(request, 400, "Oră invalidă", "Ora aleasă nu este validă.")
    with transaction(_rt(request).engine) as session:
        loaded = _load(request, token, session)
        if isinstance(loaded, Response):
            return loaded
        found, rt = loaded
        try:
            service.reschedule(rt, session, found, wanted, actor="beneficiary")
        except ValueError:
            return _problem(request, 409, "Ora nu mai este liberă", "Ora aleasă nu mai este disponibilă. "
                            "Reveniți la pagina anterioară și alegeți alta.")
        new_token, _ = service.manage_token(rt, found)
    return RedirectResponse(f"/programare/{new_token}?ok=mutat", status_code=303)


@router.post("/programare/{token}/anuleaza")
def cancel(request: Request, token: str) -> Response:
    with transaction(_rt(request).engine) as session:
        loaded = _load(request, token, session)
        if isinstance(loaded, Response):
            return loaded
        found, rt = loaded
        service.cancel(rt, session, found, actor="beneficiary")
    return _problem(request, 200, "Programare anulată", "Programarea a fost anulată. Veți primi o confirmare "
                    "prin e-mail. Pentru o nouă programare, răspundeți la e-mailul nostru.")
