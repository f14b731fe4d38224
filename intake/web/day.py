"""The clerk's day (`/ziua`, issue 12 point 8): the cases waiting for a clerk, then today's and tomorrow's visits
at each desk (`intake.appointments.day_plan`), on one page that prints on A4 (the counter's sheet for the day).
And `/`, which sends a person to where they work: the queue (ops: the dashboard) when logged in, the login page
otherwise."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from intake.appointments.day_plan import day_plans
from intake.db import read_transaction
from intake.web import case_actions as actions
from intake.web.app import templates
from intake.web.auth import _session_user, landing, staff_context
from intake.web.cases import RegistryUser, _rt

router = APIRouter()


@router.get("/")
def home(request: Request) -> Response:
    user = _session_user(request)
    return RedirectResponse(landing(user.role) if user else "/login", status_code=303)


@router.get("/ziua")
def clerk_day(request: Request, user: RegistryUser) -> Response:
    rt = _rt(request)
    today = rt.clock.now().astimezone(ZoneInfo(rt.settings.office.timezone)).date()
    with read_transaction(rt.engine) as session:
        verification = actions.queue(session, rt, actions.QueueFilter(state="de_verificat"))
        flagged = actions.queue(session, rt, actions.QueueFilter(state="deschise"))
        plans = day_plans(session, rt, today)
    context = staff_context(
        request,
        user,
        verification=verification,
        flagged=flagged,
        plans=plans,
        today=today,
        printed_at=rt.clock.now(),
        timezone=rt.settings.office.timezone,
    )
    return templates.TemplateResponse(request, "staff/day.html", context)
