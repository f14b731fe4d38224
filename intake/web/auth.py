"""Staff accounts, sessions, CSRF, roles and the audit trail of the web interface.

The session lives in one signed cookie (user id, the account's session version, the session's CSRF token,
issue time): nothing to store on the server, and the user row is read again on every request. The version must
equal the account's: logout, a password change, deactivation and reactivation raise it, which ends every
session issued before, on every device, a copied cookie included. Failed logins are throttled by
intake/web/throttle.py, on the address intake/web/client.py finds.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.clock import local, utcnow
from intake.db import transaction
from intake.models import AuditEvent, StaffUser
from intake.runtime import Runtime
from intake.texts import labels
from intake.web import throttle
from intake.web.client import client_address, parse_networks

log = logging.getLogger(__name__)

ROLES = ("registry", "ops", "admin")  # admin may do everything
ROLE_LABELS = labels.ROLES

COOKIE_NAME = "intake_session"
SESSION_SALT = "intake-session"
MIN_PASSWORD_LENGTH = 10
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the agency's domain are not ours

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    role: str
    office: str


class UserError(ValueError):
    """A refused account change; str() is English (the CLI), .ro is shown on the web page."""

    def __init__(self, message: str, ro: str) -> None:
        super().__init__(message)
        self.ro = ro


class LoginRequired(Exception):
    """Raised by require_roles without a valid session: a browser is sent to /login, anything else gets 401."""


# ----------------------------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            f"Parola trebuie să aibă cel puțin {MIN_PASSWORD_LENGTH} caractere.",
        )


def end_sessions(row: StaffUser) -> None:
    """Every session cookie issued to this account so far stops working (the caller commits)."""
    row.session_version = (row.session_version or 0) + 1


def create_user(session: Session, office: str, name: str, role: str, password: str) -> StaffUser:
    name = name.strip()
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of {', '.join(ROLES)})", f"Rol necunoscut: {role}.")
    if not NAME_PATTERN.match(name):
        raise UserError(
            "the name must be 2-64 characters: letters, digits, . _ @ -",
            "Numele trebuie să aibă 2–64 de caractere: litere fără diacritice, cifre, . _ @ -",
        )
    _check_password(password)
    if session.exec(select(StaffUser).where(StaffUser.name == name)).first() is not None:
        raise UserError(f"a user named {name!r} already exists", f"Există deja un utilizator cu numele {name}.")
    user = StaffUser(
        office=office, name=name, role=role, password_hash=hash_password(password), created_at=utcnow()
    )
    session.add(user)
    session.flush()
    log.info("staff user %s (%s) created", name, role)
    return user


def set_password(session: Session, office: str, name: str, password: str) -> StaffUser:
    """A new password for an existing account; whoever held a session of it (with the old password) is out."""
    _check_password(password)
    row = session.exec(select(StaffUser).where(StaffUser.name == name.strip(), StaffUser.office == office)).first()
    if row is None:
        raise UserError(f"no user named {name!r}", f"Nu există utilizatorul {name}.")
    row.password_hash = hash_password(password)
    end_sessions(row)
    _record(session, office, "cli", "password_change", after={"user": row.name})
    log.info("password of staff user %s changed; its sessions are ended", row.name)
    return row


# -------------------------------------------------------------------------------------------------- audit


def _record(session: Session, office: str, actor: str, action: str, *, submission_id: int | None = None,
            before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
            note: str | None = None) -> None:
    session.add(AuditEvent(
        office=office, at=utcnow(), actor=actor[:128], action=action, submission_id=submission_id,
        before=before or {}, after=after or {}, note=note,
    ))


def audit(session: Session, office: str, user: CurrentUser, action: str, *, submission_id: int | None = None,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
          note: str | None = None) -> None:
    """One action of a person: who (the user), when (now, real time), what, and the state before and after."""
    _record(session, office, user.name, action, submission_id=submission_id, before=before, after=after, note=note)


# ------------------------------------------------------------------------------------------------ sessions


class SessionMiddleware:
    """The signed session cookie: read into scope["session"] (so request.session works), written back only
    when the handler changed it. Expiry is absolute: `web.session_hours` after login, however active."""

    def __init__(self, app: ASGIApp, *, secret: str, hours: int, secure: bool) -> None:
        self.app = app
        self.serializer = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        self.max_age = hours * 3600
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        had_cookie = COOKIE_NAME in HTTPConnection(scope).cookies
        initial = self._load(HTTPConnection(scope).cookies.get(COOKIE_NAME))
        scope["session"] = dict(initial)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session = scope["session"]
                if session != initial or (had_cookie and not session):
                    headers.append("set-cookie", self._cookie(session))
                _security_headers(headers, scope, bool(session.get("uid")), self.secure)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("iat"), int):
            return {}
        if time.time() - data["iat"] > self.max_age:
            return {}
        return data

    def _cookie(self, session: dict[str, Any]) -> str:
        flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.secure else "")
        if not session:
            return f"{COOKIE_NAME}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{flags}"
        session.setdefault("iat", int(time.time()))
        remaining = max(1, self.max_age - (int(time.time()) - session["iat"]))
        return f"{COOKIE_NAME}={self.serializer.dumps(session)}; Max-Age={remaining}{flags}"


# The interface shows personal data and no page needs anything from another site.
_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _security_headers(headers: MutableHeaders, scope: Scope, logged_in: bool, secure: bool) -> None:
    defaults = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",  # the beneficiaries' links carry a token in the path
        "content-security-policy": _CSP,
    }
    if secure:  # served over HTTPS (behind the TLS proxy): browsers must never come back over plain HTTP
        defaults["strict-transport-security"] = HSTS
    if logged_in and not str(scope.get("path", "")).startswith("/static/"):
        defaults["cache-control"] = "no-store"  # staff pages must not stay in a shared browser's cache
    for name, value in defaults.items():
        if name not in headers:
            headers[name] = value


def _deployment(request: Request) -> Runtime:
    """The first office's runtime, which knows every office (`Runtime.offices`)."""
    return request.app.state.rt  # type: ignore[no-any-return]


def office_runtime(request: Request) -> Runtime:
    """The runtime of the logged-in user's office: every staff page, query and action works on that office alone
    (its cases, files, reports, appointments, audit), so another office's case id is simply not found (404).
    Before login, and on pages that need none, the first office's."""
    deployment = _deployment(request)
    user = _session_user(request) if "session" in request.scope else None
    if user is None:
        return deployment
    return deployment.for_office(user.office) or deployment  # _session_user admits configured offices only


_rt = office_runtime

NATIONAL = "ANOFM"  # the page header when several offices share the login page and nobody is logged in


def office_label(request: Request) -> str:
    """The office the page header names: the logged-in user's, the only office, or ANOFM before login when several
    offices share the site. Reads only what the request already resolved (an error page must not need the database)."""
    deployment = _deployment(request)
    user = getattr(request.state, "user", None)
    if isinstance(user, CurrentUser):
        deployment = deployment.for_office(user.office) or deployment
    elif len(deployment.offices) > 1:
        return NATIONAL
    return deployment.settings.office.short_name


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the login form gets one before anyone is logged in)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
        request.session.setdefault("iat", int(time.time()))
    return token


async def verify_csrf(request: Request) -> None:
    """Dependency of every POST: the form field csrf_token (or header X-CSRF-Token) equals the session's."""
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not expected or not sent or not secrets.compare_digest(sent, expected):
        raise StarletteHTTPException(403, "Formularul a expirat sau nu provine din această aplicație.")


def _session_user(request: Request) -> CurrentUser | None:
    """The logged-in user, read again from the database; a deactivated or vanished account ends the session."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, CurrentUser):
        return cached
    uid = request.session.get("uid")
    version = request.session.get("sv")
    if not isinstance(uid, int) or not isinstance(version, int):
        return None
    rt = _deployment(request)
    with transaction(rt.engine) as session:
        row = session.get(StaffUser, uid)
        # An account of an office taken out of the configuration has nothing it may see.
        valid = (row is not None and row.active and rt.for_office(row.office) is not None and row.role in ROLES
                 and row.session_version == version)
        user = CurrentUser(id=uid, name=row.name, role=row.role, office=row.office) if valid and row else None
    if user is None:
        request.session.clear()
        return None
    request.state.user = user
    return user


def require_roles(*roles: str) -> Callable[..., CurrentUser]:
    """FastAPI dependency factory: `user: CurrentUser = Depends(require_roles("registry"))`; admin always passes."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def dependency(request: Request) -> CurrentUser:
        user = _session_user(request)
        if user is None:
            raise LoginRequired()
        if user.role != "admin" and user.role not in roles:
            raise StarletteHTTPException(403, "Contul dumneavoastră nu are acces la această pagină.")
        return user

    return dependency


def staff_context(request: Request, user: CurrentUser | None, **extra: Any) -> dict[str, Any]:
    """The context every staff template needs (base.html uses user and csrf_token)."""
    token = csrf_token(request) if "session" in request.scope else ""  # "" on a 500 raised outside the middleware
    return {"request": request, "user": user, "csrf_token": token, "office_short": office_label(request), **extra}


def _templates():  # type: ignore[no-untyped-def]
    from intake.web.app import templates  # late: app.py may import this module while it is being built

    return templates


# --------------------------------------------------------------------------------------------- error pages

ERROR_TEXTS = {
    400: ("Cerere invalidă", "Datele trimise nu sunt valide."),
    401: ("Autentificare necesară", "Pentru această pagină trebuie să vă autentificați."),
    403: ("Acces interzis", "Nu aveți dreptul să accesați această pagină."),
    404: ("Pagina nu există", "Pagina sau dosarul căutat nu există."),
    405: ("Operație nepermisă", "Această operație nu este permisă aici."),
    409: ("Conflict", "Operația nu mai este posibilă în starea actuală a dosarului."),
    422: ("Date invalide", "Formularul conține date lipsă sau invalide."),
    429: ("Prea multe încercări", "Încercați din nou mai târziu."),
    500: ("Eroare internă", "A apărut o eroare. Încercați din nou sau anunțați echipa tehnică."),
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: str | None = None,
               headers: dict[str, str] | None = None) -> Response:
    title, text = ERROR_TEXTS.get(status, ("Eroare", "Cererea nu a putut fi îndeplinită."))
    user = getattr(request.state, "user", None)
    context = staff_context(request, user if isinstance(user, CurrentUser) else None,
                            status=status, title=title, text=text, detail=detail)
    return _templates().TemplateResponse(request, "staff/error.html", context, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _wants_html(request) and exc.status_code >= 400:
        if "session" in request.scope and request.session.get("uid"):
            await run_in_threadpool(_session_user, request)  # the page keeps its menu for a logged-in user
        # Our own Romanian details are shown; Starlette's English defaults ("Not Found") are not.
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        return error_page(request, exc.status_code, detail, exc.headers)
    return await http_exception_handler(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_html(request):
        return error_page(request, 422)
    return await request_validation_exception_handler(request, exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    if _wants_html(request):
        return error_page(request, 500)
    return Response("Internal Server Error", status_code=500, media_type="text/plain")


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.method in ("GET", "HEAD") and _wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if _wants_html(request):
        return error_page(request, 401)
    return Response('{"detail":"Not authenticated"}', status_code=401, media_type="application/json")


# ------------------------------------------------------------------------------------------ login / logout

router = APIRouter()


def safe_next(value: str | None) -> str | None:
    """A local path to return to after login, or None: never another host (//evil, /\\evil, https://...)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    if parts.path in ("/login", "/logout"):
        return None
    return value


def landing(role: str) -> str:
    return "/panou" if role == "ops" else "/cazuri"


def _client_address(request: Request) -> str:
    return client_address(request, getattr(request.app.state, "trusted_proxies", ()))


_REFUSALS = {
    throttle.NAME_FROM_ADDRESS: "Prea multe încercări eșuate. Încercați din nou peste 15 minute.",
    throttle.ADDRESS: "Prea multe încercări eșuate. Încercați din nou peste 15 minute.",
    throttle.NAME_SLOT_TAKEN: "Prea multe încercări pentru acest cont. Încercați din nou peste un minut.",
}


def _login_page(request: Request, *, next_path: str | None, error: str | None = None, name: str = "",
                status: int = 200) -> Response:
    context = staff_context(request, None, next=next_path or "", error=error, name=name)
    return _templates().TemplateResponse(request, "staff/login.html", context, status_code=status)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    user = _session_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next) or landing(user.role), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(request: Request, name: str = Form(""), password: str = Form(""),
          next: str = Form("")) -> Response:
    rt = _deployment(request)
    # One login page for every office: failures count across offices, and each attempt is audited in the office
    # of the account it names (the first office's when no account has that name).
    offices = tuple(office.office for office in rt.offices)
    name = name.strip()[:128]
    address = _client_address(request)
    next_path = safe_next(next)
    now = utcnow()
    with transaction(rt.engine) as session:
        row = session.exec(select(StaffUser).where(StaffUser.name == name)).first()
        audit_office = row.office if row is not None and row.office in offices else rt.office
        verdict = throttle.judge(session, offices, name, address, now)
        if verdict.refused:
            _record(session, audit_office, name or "-", "login_blocked",
                    after={"ip": address, "rule": verdict.refused})
        else:
            stored = ((row.password_hash, row.id, row.role, row.active, row.office, row.session_version)
                      if row is not None else None)
    if verdict.refused:
        log.warning("login refused for %r from %s: too many failed attempts (%s)", name, address, verdict.refused)
        response = _login_page(request, next_path=next_path, name=name, status=429,
                               error=_REFUSALS[verdict.refused])
        response.headers["retry-after"] = str(verdict.retry_after_seconds)
        return response
    # The slow hash check runs outside the transaction: with SQLite a transaction holds the write lock.
    valid = verify_password(stored[0] if stored else _DUMMY_HASH, password) and stored is not None
    if not valid or stored is None or not stored[3] or stored[4] not in offices:
        with transaction(rt.engine) as session:
            _record(session, audit_office, name or "-", "login_failed",
                    after=throttle.failure_record(address, verdict))
        log.info("failed login for %r from %s", name, address)
        return _login_page(request, next_path=next_path, name=name, status=401,
                           error="Nume de utilizator sau parolă greșită.")
    password_hash, user_id, role, _, _, session_version = stored
    with transaction(rt.engine) as session:
        row = session.get_one(StaffUser, user_id)
        row.last_login_at = now
        if _hasher.check_needs_rehash(password_hash):
            row.password_hash = hash_password(password)
        _record(session, audit_office, name, "login", after={"ip": address})
    # A new token at login: a token planted before login (session fixation) is worthless afterwards.
    request.session.clear()
    request.session.update({"uid": user_id, "sv": session_version, "csrf": secrets.token_urlsafe(32),
                            "iat": int(time.time())})
    log.info("%s logged in from %s", name, address)
    return RedirectResponse(next_path or landing(role), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    user = _session_user(request)
    if user is not None:
        rt = _rt(request)
        with transaction(rt.engine) as session:
            # Clearing the cookie is not enough: a copy of it (stolen, or another tab) must die too.
            end_sessions(session.get_one(StaffUser, user.id))
            audit(session, rt.office, user, "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# ------------------------------------------------------------------------------------------ user admin

AdminUser = Annotated[CurrentUser, Depends(require_roles("admin"))]


def _when(moment: datetime | None, timezone: str) -> str:
    return local(moment, timezone).strftime("%d.%m.%Y %H:%M") if moment else "—"


def _users_page(request: Request, user: CurrentUser, *, error: str | None = None, notice: str | None = None,
                form: dict[str, str] | None = None, status: int = 200) -> Response:
    rt = _rt(request)
    timezone = rt.settings.office.timezone
    with transaction(rt.engine) as session:
        rows = session.exec(
            select(StaffUser).where(StaffUser.office == rt.office).order_by(col(StaffUser.name))
        ).all()
        # Only what the page shows: the password hash never reaches a template.
        users = [{"id": row.id, "name": row.name, "role": row.role, "role_label": ROLE_LABELS.get(row.role, row.role),
                  "active": row.active, "created_at": _when(row.created_at, timezone),
                  "last_login_at": _when(row.last_login_at, timezone)}
                 for row in rows]
    context = staff_context(request, user, users=users, roles=ROLE_LABELS, error=error, notice=notice,
                            form=form or {})
    return _templates().TemplateResponse(request, "staff/users.html", context, status_code=status)


@router.get("/admin/utilizatori")
def users_list(request: Request, user: AdminUser, ok: str | None = None) -> Response:
    notices = {"adaugat": "Utilizatorul a fost adăugat.", "dezactivat": "Utilizatorul a fost dezactivat.",
               "reactivat": "Utilizatorul a fost reactivat."}
    return _users_page(request, user, notice=notices.get(ok or ""))


@router.post("/admin/utilizatori", dependencies=[Depends(verify_csrf)])
def users_add(request: Request, user: AdminUser, name: str = Form(""), role: str = Form(""),
              password: str = Form("")) -> Response:
    rt = _rt(request)
    try:
        with transaction(rt.engine) as session:
            created = create_user(session, rt.office, name, role, password)
            audit(session, rt.office, user, "user_add", after={"user": created.name, "role": created.role})
    except UserError as exc:
        return _users_page(request, user, error=exc.ro, form={"name": name, "role": role}, status=400)
    return RedirectResponse("/admin/utilizatori?ok=adaugat", status_code=303)


def _set_active(request: Request, user: CurrentUser, user_id: int, active: bool) -> Response:
    rt = _rt(request)
    if user_id == user.id and not active:
        return _users_page(request, user, error="Nu vă puteți dezactiva propriul cont.", status=400)
    with transaction(rt.engine) as session:
        row = session.get(StaffUser, user_id)
        if row is None or row.office != rt.office:
            raise StarletteHTTPException(404)
        if row.active != active:
            before = {"user": row.name, "active": row.active}
            row.active = active
            # Reactivation too: a cookie from before the deactivation must not come back to life with the account.
            end_sessions(row)
            audit(session, rt.office, user, "user_activate" if active else "user_deactivate",
                  before=before, after={"user": row.name, "active": active})
    return RedirectResponse(f"/admin/utilizatori?ok={'reactivat' if active else 'dezactivat'}", status_code=303)


@router.post("/admin/utilizatori/{user_id}/dezactiveaza", dependencies=[Depends(verify_csrf)])
def users_deactivate(request: Request, user_id: int,
                     user: AdminUser) -> Response:
    return _set_active(request, user, user_id, False)


@router.post("/admin/utilizatori/{user_id}/reactiveaza", dependencies=[Depends(verify_csrf)])
def users_reactivate(request: Request, user_id: int,
                     user: AdminUser) -> Response:
    return _set_active(request, user, user_id, True)


# -------------------------------------------------------------------------------------------------- wiring


def install(app: FastAPI, rt: Runtime) -> None:
    """Session cookie, login/logout, user admin and the Romanian error pages. Idempotent."""
    if getattr(app.state, "auth_installed", False):
        return
    app.state.auth_installed = True
    web = rt.settings.web
    app.state.trusted_proxies = parse_networks(web.trusted_proxies)
    app.add_middleware(SessionMiddleware, secret=rt.link_secret, hours=web.session_hours,
                       secure=web.secure_cookies)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)  # the traceback is still logged by the server
    app.include_router(router)
