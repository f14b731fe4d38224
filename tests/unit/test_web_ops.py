"""Ops pages and endpoints (intake/web/ops.py) and the registry's report downloads (intake/web/reports.py),
driven through the real application with TestClient as a browser would."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pypdf import PdfReader
from sqlmodel import col, select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import AuditEvent, Document, Event, OutboxMessage, PollState, Submission, TrustListState
from intake.monitoring import check_health
from intake.runtime import Runtime
from intake.settings import ImapSettings, TrustSettings, WebSettings
from intake.web import auth
from intake.web.app import create_app
from tests.unit import runtimes

PASSWORD = "parola-foarte-lunga"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def make_runtime(tmp_path: Path, **sections: Any) -> Runtime:
    return runtimes.make_runtime(
        tmp_path,
        imap=ImapSettings(username="intake", host="mail.example", poll_interval_seconds=60),
        web=WebSettings(report_secret="cheie"),  # type: ignore[arg-type]
        **sections,
    )


def make_app(rt: Runtime) -> FastAPI:
    return create_app(rt)


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    rt = make_runtime(tmp_path)
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ana", "registry", PASSWORD)
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
        auth.create_user(session, rt.office, "sefa", "admin", PASSWORD)
    return rt


@pytest.fixture
def app(rt: Runtime) -> FastAPI:
    return make_app(rt)


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no csrf token on the page"
    return match.group(1)


def login(app: FastAPI, name: str) -> TestClient:
    client = TestClient(app, headers=BROWSER)
    page = client.get("/login")
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


def add_submission(rt: Runtime, **fields: object) -> int:
    now = utcnow()
    with transaction(rt.engine) as session:
        count = len(session.exec(select(Submission)).all())
        submission = Submission(
            office=rt.office, sha256=f"{count:064d}", size=1, received_at=now, claimed_at=now, **fields
        )  # type: ignore[arg-type]
        session.add(submission)
        session.flush()
        assert submission.id is not None
        return submission.id


# ------------------------------------------------------------------------------------------------ access
def test_unauthenticated_endpoints_and_refused_pages(app: FastAPI) -> None:
    client = TestClient(app)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(metrics.text)}
    assert {"intake_messages_fetched", "intake_submissions", "intake_outbox_backlog", "intake_poll_failures",
            "intake_processing_seconds"} <= names  # fmt: skip
    assert client.get("/readyz").status_code == 200  # a fresh process, no poll yet: "starting"
    for path in ("/panou", "/carantina", "/rapoarte", "/rapoarte/art12.csv?luna=2026-03"):
        assert client.get(path).status_code == 401, path
        redirect = client.get(path, headers=BROWSER, follow_redirects=False)
        assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login?next=")
    assert client.post("/carantina/1/reproceseaza").status_code == 403  # no session, no CSRF token


def test_roles(app: FastAPI) -> None:
    registry = login(app, "ana")
    assert registry.get("/panou").status_code == 403
    assert registry.get("/carantina").status_code == 403
    assert registry.get("/rapoarte").status_code == 200

    ops_user = login(app, "ion")
    assert ops_user.get("/panou").status_code == 200
    assert ops_user.get("/carantina").status_code == 200
    assert ops_user.get("/rapoarte").status_code == 403
    assert ops_user.get("/rapoarte/art12.csv?luna=2026-03").status_code == 403

    admin = login(app, "sefa")
    for path in ("/panou", "/carantina", "/rapoarte"):
        assert admin.get(path).status_code == 200, path


# ------------------------------------------------------------------------------------------------ readyz
def set_poll(rt: Runtime, last_success_at: datetime) -> None:
    with transaction(rt.engine) as session:
        session.add(
            PollState(account="intake@mail.example", folder="INBOX", office=rt.office, last_success_at=last_success_at)
        )


def test_readyz_recent_poll(rt: Runtime, app: FastAPI) -> None:
    set_poll(rt, utcnow() - timedelta(seconds=30))
    response = TestClient(app).get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_readyz_old_poll_is_503(rt: Runtime, app: FastAPI) -> None:
    set_poll(rt, utcnow() - timedelta(minutes=10))  # older than 3 x 60 s
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503
    assert "last successful poll" in response.json()["reason"]


def test_readyz_no_poll_long_after_start_is_503(app: FastAPI) -> None:
    app.state.started_at = utcnow() - timedelta(minutes=5)
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503 and response.json()["reason"] == "no successful poll yet"


# ------------------------------------------------------------------------------------------------ dashboard
def test_dashboard_shows_the_figures(rt: Runtime, app: FastAPI) -> None:
    now = utcnow()
    first = add_submission(rt, state="receipted")
    add_submission(rt, state="quarantined", quarantine_reason="x")
    pending = add_submission(rt, state="received")
    with transaction(rt.engine) as session:
        session.get_one(Submission, pending).claimed_at = now - timedelta(hours=3, minutes=5)
        for ms in (400, 600):
            session.add(Event(submission_id=first, at=now, action="stage:parse", detail={"duration_ms": ms}))
        session.add(
            PollState(account="intake@mail.example", folder="INBOX", office=rt.office, last_success_at=now,
                      consecutive_failures=0, last_error="<b>IMAP4 error</b>", last_error_at=now - timedelta(hours=1))
        )  # fmt: skip
        session.add(
            OutboxMessage(office=rt.office, kind="receipt", message_id="<f@x>", recipient="a@b.c", raw=b"x",
                          state="failed", attempts=12, last_error="550 no such user", next_attempt_at=now,
                          created_at=now)
        )  # fmt: skip
    page = login(app, "ion").get("/panou")
    assert page.status_code == 200
    html = page.text
    assert "Panou de funcționare" in html
    assert "în carantină" in html
    assert "3 h 5 min" in html  # the oldest unprocessed message
    assert "intake@mail.example / INBOX" in html
    assert "&lt;b&gt;IMAP4 error&lt;/b&gt;" in html and "<b>IMAP4 error</b>" not in html  # escaped
    assert "550 no such user" in html
    assert "1,00 s" in html  # median processing time of the one submission: 0.4 + 0.6 s


# ------------------------------------------------------------------------------------------------ trusted lists
RO = "https://tl.example/ro.xml"
EU = "https://tl.example/eu.xml"
TRUST_TILE = re.compile(r'<span class="label">Liste de încredere</span>\s*<span class="value( bad)?">([^<]*)</span>')


def trusted_rt(tmp_path: Path) -> Runtime:
    """A deployment with a trust source (an anchor; nothing is loaded here) and an ops account."""
    rt = make_runtime(tmp_path, trust=TrustSettings(anchors=[tmp_path / "anchor.pem"]))
    with transaction(rt.engine) as session:
        auth.create_user(session, rt.office, "ion", "ops", PASSWORD)
    return rt


def add_list(rt: Runtime, source: str, *, next_update_in: timedelta) -> None:
    now = utcnow()
    with transaction(rt.engine) as session:
        session.add(
            TrustListState(source=source, office=rt.office, territory=source[-6:-4].upper(), sequence_number=61,
                           issued_at=now - timedelta(days=60), next_update=now + next_update_in,
                           loaded_at=now - timedelta(hours=1), signature_verified=True)
        )  # fmt: skip


def trust_tile(html: str) -> tuple[bool, str]:
    """(red, value) of the trusted-lists tile."""
    match = TRUST_TILE.search(html)
    assert match, "no trusted-lists tile on the dashboard"
    return bool(match.group(1)), match.group(2)


def list_row(html: str, source: str) -> str:
    match = re.search(rf"<tr[^>]*><td class=\"wrap\">{re.escape(source)}</td>.*?</tr>", html, re.S)
    assert match, f"no row for {source}"
    return match.group(0)


def test_dashboard_trusted_list_tile_is_red_when_a_list_is_not_ok(tmp_path: Path) -> None:
    rt = trusted_rt(tmp_path)
    add_list(rt, RO, next_update_in=-timedelta(days=2))  # expired
    add_list(rt, EU, next_update_in=timedelta(days=100))
    check_health(rt)
    html = login(make_app(rt), "ion").get("/panou").text
    assert trust_tile(html) == (True, "1 din 2 cu probleme")
    assert 'class="problem"' in list_row(html, RO) and "<td>expirată</td>" in list_row(html, RO)
    assert 'class="problem"' not in list_row(html, EU) and "<td>în regulă</td>" in list_row(html, EU)
    assert "listă de încredere expirată" in html  # the open alert, by its Romanian name


def test_dashboard_trusted_list_tile_is_not_red_when_every_list_is_ok(tmp_path: Path) -> None:
    rt = trusted_rt(tmp_path)
    add_list(rt, RO, next_update_in=timedelta(days=100))
    check_health(rt)
    html = login(make_app(rt), "ion").get("/panou").text
    assert trust_tile(html) == (False, "1 în regulă")
    assert 'class="problem"' not in list_row(html, RO)
    assert "Nicio alertă deschisă." in html


def test_dashboard_trusted_list_tile_is_red_without_a_trust_source(app: FastAPI) -> None:
    html = login(app, "ion").get("/panou").text
    assert trust_tile(html) == (True, "neconfigurate")
    assert "Nicio sursă de încredere configurată" in html


# ------------------------------------------------------------------------------------------------ quarantine
def test_quarantine_list_and_reprocess(rt: Runtime, app: FastAPI) -> None:
    quarantined = add_submission(
        rt, state="quarantined", stage="parse", quarantine_reason="failed 3 times", last_error="<script>x</script>",
        subject="Cerere <script>alert(1)</script>",
    )  # fmt: skip
    add_submission(rt, state="receipted", subject="nu apare")
    client = login(app, "ion")
    page = client.get("/carantina")
    assert page.status_code == 200
    assert "failed 3 times" in page.text and "nu apare" not in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    token = token_of(page.text)

    # Without the CSRF token: refused, nothing changes.
    refused = client.post(f"/carantina/{quarantined}/reproceseaza", follow_redirects=False)
    assert refused.status_code == 403

    response = client.post(f"/carantina/{quarantined}/reproceseaza", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/carantina?ok=reprocesat"
    with transaction(rt.engine) as session:
        submission = session.get_one(Submission, quarantined)
        assert submission.state == "received" and submission.quarantine_reason is None
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "replay")).one()
        assert audit.actor == "ion" and audit.submission_id == quarantined
        assert audit.before["state"] == "quarantined" and audit.after["state"] == "received"

    again = client.post(f"/carantina/{quarantined}/reproceseaza", data={"csrf_token": token}, follow_redirects=False)
    assert again.headers["location"] == "/carantina?ok=deja"
    missing = client.post("/carantina/99999/reproceseaza", data={"csrf_token": token}, follow_redirects=False)
    assert missing.status_code == 404


def test_reprocess_refuses_another_office(rt: Runtime, app: FastAPI) -> None:
    now = utcnow()
    with transaction(rt.engine) as session:
        other = Submission(office="BH", sha256="e" * 64, size=1, received_at=now, claimed_at=now, state="quarantined")
        session.add(other)
        session.flush()
        other_id = other.id
    client = login(app, "ion")
    token = token_of(client.get("/carantina").text)
    response = client.post(f"/carantina/{other_id}/reproceseaza", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 404


# ------------------------------------------------------------------------------------------------ reports
def test_report_page_and_downloads_are_audited(rt: Runtime, app: FastAPI) -> None:
    registered = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    submission_id = add_submission(
        rt, state="receipted", number=12, year=2026, registered_at=registered, request_type="unemployment_benefit",
        sender_name="Ana Ionescu",
    )  # fmt: skip
    with transaction(rt.engine) as session:
        session.add(
            Document(submission_id=submission_id, position=0, filename="cerere.pdf", declared_type="application/pdf",
                     origin="attachment", sha256="0" * 64, size=1, detected_type="p7m", kind="application",
                     signature={"signer": "Ionescu Ștefania", "signatures": [{"signer_identifier": None}]})
        )  # fmt: skip
    client = login(app, "ana")
    page = client.get("/rapoarte?luna=2026-03")
    assert page.status_code == 200 and "martie 2026" in page.text
    assert 'href="/rapoarte/art12.csv?luna=2026-03"' in page.text

    response = client.get("/rapoarte/art12.csv?luna=2026-03")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="raport-art12-2026-03.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1] == ["1", "10.03.2026", "Ionescu Ștefania", "—"]

    pdf = client.get("/rapoarte/art23.pdf?luna=2026-03")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Ionescu Ștefania" in text and "12/10.03.2026" in text

    assert client.get("/rapoarte/art99.csv?luna=2026-03").status_code == 404
    assert client.get("/rapoarte/art12.xlsx?luna=2026-03").status_code == 404
    assert client.get("/rapoarte/art12.csv?luna=martie").status_code == 400
    with transaction(rt.engine) as session:
        downloads = session.exec(
            select(AuditEvent).where(AuditEvent.action == "report_download").order_by(col(AuditEvent.id))
        ).all()
    assert [(d.actor, d.after["report"], d.after["format"], d.after["month"]) for d in downloads] == [
        ("ana", "art12", "csv", "2026-03"),
        ("ana", "art23", "pdf", "2026-03"),
    ]
