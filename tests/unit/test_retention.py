"""GDPR retention (issue 13 §5, intake/retention.py, intake/purge.py, intake/subject_export.py) on a real SQLite
database and blob store: the arithmetic of the periods and of the case's last activity, legal holds, what a purge
erases and keeps, and the subject-access ZIP (GDPR Art. 15)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from intake import purge, retention, subject_export
from intake.clock import Clock
from intake.db import read_transaction, transaction
from intake.models import (
    Appointment,
    AuditEvent,
    Document,
    Event,
    Finding,
    OutboxMessage,
    PurgeRecord,
    Receipt,
    Submission,
    SubmissionState,
)
from intake.runtime import Runtime
from intake.settings import DatabaseSettings, RetentionSettings, Settings, StorageSettings
from intake.validation.identity import cnp_check_digit
from intake.views import all_submissions
from tests.unit import runtimes
from tests.unit.test_reports import form_pdf

T0 = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetentionSettings(raw_mail_days=100, attachments_days=200, evidence_days=300, audit_days=400)
CNP_ANA = "2850101" + "12345" + str(cnp_check_digit("285010112345"))
CNP_ION = "1790202" + "12345" + str(cnp_check_digit("179020212345"))


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    return runtimes.make_runtime(tmp_path, clock=Clock(fixed=T0), retention=POLICY)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def rt_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """The same on SQLite and on the real PostgreSQL of tests/servers/postgres.py (its SQL must run on both)."""
    if request.param == "sqlite":
        yield runtimes.make_runtime(tmp_path, clock=Clock(fixed=T0), retention=POLICY)
        return
    settings = Settings(
        database=DatabaseSettings(url=str(request.getfixturevalue("postgres_url"))),
        storage=StorageSettings(path=tmp_path / "store"),
        retention=POLICY,
    )
    rt = Runtime.from_settings(settings, clock=Clock(fixed=T0))
    yield rt
    rt.engine.dispose()  # before the fixture drops the database


def add_case(
    rt: Runtime,
    *,
    number: int,
    sender: str,
    received: datetime = T0,
    attachment: bytes | None = None,
    form_cnp: str | None = None,
    signer_cnp: str | None = None,
    case_id: int | None = None,
    state: str = SubmissionState.RECEIPTED,
) -> int:
    raw = f"From: {sender}\r\nSubject: cerere {number}\r\n\r\ncorp {number}\r\n".encode()
    with transaction(rt.engine) as session:
        submission = Submission(
            office=rt.office, sha256=rt.store.put(raw), size=len(raw), received_at=received, claimed_at=received,
            state=state, sender=sender, sender_name="Nume Persoană", subject=f"cerere {number}", text_body="corp",
            number=number, year=received.year, registered_at=received, case_id=case_id,
        )  # fmt: skip
        session.add(submission)
        session.flush()
        assert submission.id is not None
        data = attachment if attachment is not None else f"scan {number}".encode()
        signature = {"label": "QES", "signer": "Nume", "signatures": [{"signer_identifier": f"PNORO-{signer_cnp}"}]}
        session.add(
            Document(
                submission_id=submission.id, position=0, filename=f"buletin-{sender}.pdf", declared_type="x",
                origin="attachment", sha256=rt.store.put(data), size=len(data), detected_type="pdf", kind="other",
                signature=signature if signer_cnp else None,
            )
        )  # fmt: skip
        if form_cnp:
            form = form_pdf(f"CERERE pentru acordarea indemnizației de șomaj\nSubsemnata Ana Pop, CNP: {form_cnp}")
            session.add(
                Document(
                    submission_id=submission.id, position=1, filename="cerere.pdf", declared_type="application/pdf",
                    origin="attachment", sha256=rt.store.put(form), size=len(form), detected_type="pdf",
                    kind="application",
                )
            )  # fmt: skip
        session.add(Finding(submission_id=submission.id, code="identity_mismatch", message="Nume diferit.",
                            created_at=received, detail={"form_name": "Ana Pop", "signer": "Nume"}))  # fmt: skip
        pdf = f"%PDF recipisa {number}".encode()
        session.add(Receipt(submission_id=submission.id, pdf_sha256=rt.store.put(pdf), created_at=received))
        session.add(
            OutboxMessage(
                office=rt.office, submission_id=submission.id, kind="receipt", message_id=f"<r{number}@x>",
                recipient=sender, raw=b"reply to " + sender.encode(), state="sent", next_attempt_at=received,
                created_at=received, sent_at=received,
            )
        )  # fmt: skip
        session.add(Event(submission_id=submission.id, at=received, action="stage:receipt"))
        session.add(Event(submission_id=submission.id, at=received, action="error",
                          detail={"stage": "parse", "error": f"bad {sender}", "traceback": "Traceback …"}))  # fmt: skip
        return submission.id


def blobs_of(rt: Runtime, submission_id: int) -> dict[str, str]:
    with read_transaction(rt.engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        documents = session.exec(select(Document).where(Document.submission_id == submission_id)).all()
        receipt = session.exec(select(Receipt).where(Receipt.submission_id == submission_id)).one()
        return {"raw": submission.sha256, "document": documents[0].sha256, "receipt": receipt.pdf_sha256}


def at(rt: Runtime, moment: datetime) -> None:
    rt.clock = Clock(fixed=moment)  # time passes for the purge


# --- the arithmetic ------------------------------------------------------------------------------------------


def test_each_period_counts_from_the_last_activity_and_machine_mail_has_its_own() -> None:
    last = datetime(2020, 1, 1, tzinfo=UTC)
    assert retention.ends_at(POLICY, "raw_mail", last) == last + timedelta(days=100)
    assert retention.ends_at(POLICY, "evidence", last) == last + timedelta(days=300)
    assert retention.ends_at(POLICY, "evidence", last, ignored=True) == last + timedelta(days=365)
    clock = retention.CaseClock(1, "CJ", last, ignored=False)
    assert retention.due(POLICY, clock, last + timedelta(days=99)) == []
    assert retention.due(POLICY, clock, last + timedelta(days=100)) == ["raw_mail"]  # the period's end is included
    assert retention.due(POLICY, clock, last + timedelta(days=300)) == ["raw_mail", "attachments", "evidence"]


def test_defaults_keep_ten_years_the_conservative_reading_of_legea_16_1996() -> None:
    defaults = RetentionSettings()
    assert {defaults.raw_mail_days, defaults.attachments_days, defaults.evidence_days, defaults.audit_days} == {3653}


def test_a_follow_up_an_event_or_a_visit_restarts_the_count_for_the_whole_case(rt: Runtime) -> None:
    root = add_case(rt, number=1, sender="ana@example.ro")
    later = T0 + timedelta(days=40)
    add_case(rt, number=2, sender="ana@example.ro", received=later, case_id=root)
    visit = T0 + timedelta(days=50)
    with transaction(rt.engine) as session:
        session.add(Appointment(office=rt.office, submission_id=root, purpose="clarification", start=visit,
                                end=visit + timedelta(minutes=15), uid="u", created_at=T0, updated_at=T0))  # fmt: skip
        (clock,) = retention.case_clocks(session, [root])
        assert clock.last_activity == visit + timedelta(minutes=15)
        submission = session.get(Submission, root)
        assert submission is not None
        assert retention.case_expires_at(session, POLICY, submission) == clock.last_activity + timedelta(days=300)


def test_a_held_case_has_no_end_and_a_hold_needs_a_reason(rt: Runtime) -> None:
    root = add_case(rt, number=1, sender="ana@example.ro")
    with transaction(rt.engine) as session:
        submission = session.get(Submission, root)
        assert submission is not None
        with pytest.raises(retention.HoldError, match="retinere_fara_motiv"):
            retention.set_hold(session, submission, "  ", "ana", T0)
        retention.set_hold(session, submission, "contestație nr. 12/2020", "ana", T0)
        assert retention.case_expires_at(session, POLICY, submission) is None
        with pytest.raises(retention.HoldError, match="retinere_deja"):
            retention.set_hold(session, submission, "alt motiv", "ana", T0)
        retention.clear_hold(session, submission)
        assert retention.case_expires_at(session, POLICY, submission) is not None


# --- purge ---------------------------------------------------------------------------------------------------


def test_dry_run_lists_and_erases_nothing_then_purge_erases_by_kind_keeps_the_registry_and_audits(
    rt_any: Runtime,
) -> None:
    rt = rt_any
    shared_scan = b"the same ID card scan, sent in two cases"
    old = add_case(rt, number=1, sender="ana@example.ro", attachment=shared_scan, form_cnp=CNP_ANA)
    recent = add_case(rt, number=2, sender="ana@example.ro", received=T0 + timedelta(days=150), attachment=shared_scan)
    held = add_case(rt, number=3, sender="ion@example.ro")
    with transaction(rt.engine) as session:
        retention.set_hold(session, session.get(Submission, held), "litigiu", "ana", T0)  # type: ignore[arg-type]
    old_blobs, recent_blobs, held_blobs = blobs_of(rt, old), blobs_of(rt, recent), blobs_of(rt, held)

    at(rt, T0 + timedelta(days=210))  # old: raw mail and attachments past; recent: nothing; held: kept
    dry = purge.purge(rt, dry_run=True)
    assert {(item.submission_id, item.what) for item in dry.purged} == {(old, "raw_mail"), (old, "attachments")}
    assert [entry["submission_id"] for entry in dry.held] == [held]
    assert all(rt.store.exists(blob) for blob in old_blobs.values())
    with read_transaction(rt.engine) as session:
        assert session.exec(select(PurgeRecord)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "purge")).all() == []

    report = purge.purge(rt, actor="cli:root")
    assert [(item.what, item.case) for item in report.purged] == [
        ("raw_mail", "1/02.03.2020"),
        ("attachments", "1/02.03.2020"),
    ]
    assert not rt.store.exists(old_blobs["raw"])
    # The scan is also the recent case's attachment: one file for both, kept until neither needs it.
    assert rt.store.exists(old_blobs["document"]) and rt.store.exists(recent_blobs["document"])
    assert rt.store.exists(old_blobs["receipt"])  # evidence is kept 300 days
    assert all(rt.store.exists(blob) for blob in held_blobs.values())
    with read_transaction(rt.engine) as session:
        row = session.get(Submission, old)
        assert row is not None
        assert (row.number, row.year, row.registered_at, row.state) == (1, 2020, T0, "receipted")  # the registry line
        assert (row.sender, row.sender_name, row.subject, row.text_body) == (None, None, None, None)
        documents = session.exec(select(Document).where(Document.submission_id == old)).all()
        assert [d.filename for d in documents] == ["document-1", "document-2"]
        assert session.exec(select(Finding.detail).where(Finding.submission_id == old)).one() == {}
        error = session.exec(select(Event.detail).where(Event.submission_id == old, Event.action == "error")).one()
        assert error == {"stage": "parse"}
        entries = session.exec(select(AuditEvent).where(AuditEvent.action == "purge")).all()
        assert [(e.actor, e.submission_id, e.after["what"]) for e in entries] == [
            ("cli:root", old, "raw_mail"), ("cli:root", old, "attachments")
        ]  # fmt: skip
        text = json.dumps([[e.before, e.after, e.note] for e in entries])
        assert "ana@example.ro" not in text and CNP_ANA not in text and "Nume" not in text
        views = all_submissions(session, rt)  # what `intake submissions` prints still works
        assert {view["registration_number"] for view in views} >= {"1/02.03.2020", "2/30.07.2020"}

    assert purge.purge(rt).purged == []  # done once

    at(rt, T0 + timedelta(days=150 + 301))  # now everything of both unheld cases is past
    purge.purge(rt)
    assert not any(rt.store.exists(blob) for blob in [*old_blobs.values(), *recent_blobs.values()])
    assert all(rt.store.exists(blob) for blob in held_blobs.values())
    with read_transaction(rt.engine) as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.submission_id == recent)).one()
        assert (sent.raw, sent.recipient) == (b"", "")


def test_audit_entries_older_than_their_period_go_except_a_held_cases(rt_any: Runtime) -> None:
    rt = rt_any
    held = add_case(rt, number=1, sender="ion@example.ro")
    with transaction(rt.engine) as session:
        retention.set_hold(session, session.get(Submission, held), "control", "ana", T0)  # type: ignore[arg-type]
        for submission_id in (None, held):
            session.add(AuditEvent(office=rt.office, at=T0, actor="ana", action="login", submission_id=submission_id))
    at(rt, T0 + timedelta(days=401))
    assert purge.purge(rt, dry_run=True).audit_entries == 1
    assert purge.purge(rt).audit_entries == 1
    with read_transaction(rt.engine) as session:
        left = session.exec(select(AuditEvent.action, AuditEvent.submission_id)).all()
    assert sorted(left, key=str) == sorted([("login", held), ("purge", None)], key=str)


# --- subject export (GDPR Art. 15) ---------------------------------------------------------------------------


def _zip(result: subject_export.ExportResult) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(result.data))


def test_export_by_email_and_by_cnp_holds_the_persons_cases_only_with_a_manifest_of_hashes(rt_any: Runtime) -> None:
    rt = rt_any
    ana = add_case(rt, number=1, sender="Ana@Example.ro", form_cnp=CNP_ANA)
    add_case(rt, number=2, sender="ana.noua@example.ro", received=T0 + timedelta(days=1), signer_cnp=CNP_ANA)
    add_case(rt, number=3, sender="ion@example.ro", signer_cnp=CNP_ION)

    by_email = subject_export.export(rt, subject_export.parse_subject(" ana@example.RO "))
    assert by_email.cases == 1
    by_cnp = subject_export.export(rt, subject_export.parse_subject(CNP_ANA))
    assert by_cnp.cases == 2  # the form of case 1 (read again from the stored PDF), the certificate of case 2
    archive = _zip(by_cnp)
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["case"] for entry in manifest} == {None, "1/02.03.2020", "2/03.03.2020"}
    for entry in manifest:
        assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
    assert {"raw_mail", "attachment", "receipt", "reply", "data", "readme"} <= {e["what"] for e in manifest}
    assert f"dosare/1_02.03.2020/mesaj-{ana}/mesaj.eml" in archive.namelist()
    data = json.loads(archive.read("dosare/1_02.03.2020/date.json"))
    assert data["case"] == "1/02.03.2020" and data["appointments"] == []
    (message,) = data["messages"]
    assert [f["code"] for f in message["all_findings"]] == ["identity_mismatch"]
    assert "Ana Pop" not in json.dumps(message["all_findings"])  # the finding's detail (names, CNPs) stays out
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"ion@example.ro" not in everything and CNP_ION.encode() not in everything
    assert CNP_ANA.encode() not in archive.read("CITESTE.txt")
    assert "art. 15" in archive.read("CITESTE.txt").decode()


def test_export_refuses_what_is_neither_a_cnp_nor_an_address() -> None:
    for text in ("1234567890123", "ana", "12345"):
        with pytest.raises(subject_export.SubjectError):
            subject_export.parse_subject(text)


def test_the_export_audit_keeps_a_keyed_hash_never_the_cnp(rt: Runtime) -> None:
    add_case(rt, number=1, sender="ana@example.ro", signer_cnp=CNP_ANA)
    subject = subject_export.parse_subject(CNP_ANA)
    result = subject_export.export(rt, subject)
    with transaction(rt.engine) as session:
        subject_export.record_export(session, rt, "cli:root", subject, result)
    with read_transaction(rt.engine) as session:
        (entry,) = session.exec(select(AuditEvent).where(AuditEvent.action == "subject_export")).all()
    assert entry.after["subject"] == subject.fingerprint(rt) and CNP_ANA not in json.dumps(entry.after)
    assert entry.after["cases"] == 1


def test_the_daemons_daily_job_purges_each_office_it_polls(rt: Runtime) -> None:
    from intake.scheduler import Daemon

    old = add_case(rt, number=1, sender="ana@example.ro")
    at(rt, T0 + timedelta(days=301))
    Daemon(rt).purge_job()  # SQLite: one host, always the office's poller
    with read_transaction(rt.engine) as session:
        assert session.exec(select(PurgeRecord.what).where(PurgeRecord.submission_id == old)).all() != []
        actors = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "purge")).all()
    assert set(actors) == {"intake"}
