"""GDPR retention and access (issue 13 §5) with the real `intake` command on mail the pipeline really processed:
real Dovecot, a real SQLite database and blob store. Two cases: Ioana's, and Ion's under a legal hold.

One cycle, then the exports of GDPR Art. 15 (by e-mail and by the CNP on Ioana's form), then the clock is aged
eleven years (`--now`): `purge --dry-run` lists and erases nothing, `purge` erases Ioana's mail, documents and
evidence (audited), leaves Ion's held case as it was, and keeps the registry gap-free; `status` and `submissions`
still work. Everything runs once in the module fixture; each test reads its part.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from intake import retention, subject_export
from intake.db import make_engine, transaction
from intake.models import Submission
from intake.runtime import Runtime
from intake.settings import load_settings
from intake.store import BlobStore
from tests import forms, mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import intake_for
from tests.pki.documents import APPLICANT, Applicant, make_cnp

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
RECEIVED = datetime(2027, 2, 1, 10, 0, tzinfo=BUCHAREST)  # a Monday
AGED = (RECEIVED + timedelta(days=11 * 365)).isoformat()  # past the default ten years (3653 days)
IOANA = "ioana.gdpr@example.ro"
ION = "ion.retinut@example.ro"
ION_APPLICANT = Applicant("Ion", "Pop", make_cnp(1, date(1980, 2, 2), 12, 678), "Cluj-Napoca")


@dataclass
class Run:
    workdir: Path
    before: list[dict[str, Any]]
    exports: dict[str, zipfile.ZipFile] = field(default_factory=dict)
    dry: dict[str, Any] = field(default_factory=dict)
    done: dict[str, Any] = field(default_factory=dict)
    blobs_before: dict[str, list[str]] = field(default_factory=dict)
    blobs_dry: dict[str, list[bool]] = field(default_factory=dict)  # which of them exist after the dry run
    after: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    audit: list[tuple[str, str, int, str]] = field(default_factory=list)

    def store(self) -> BlobStore:
        return BlobStore(self.workdir / "storage")


def _blobs(db: Path, sender: str) -> list[str]:
    with sqlite3.connect(db) as connection:
        (submission_id, raw) = connection.execute(
            "SELECT id, sha256 FROM submission WHERE sender = ?", (sender,)
        ).fetchone()
        documents = [row[0] for row in connection.execute(
            "SELECT sha256 FROM document WHERE submission_id = ?", (submission_id,))]  # fmt: skip
        receipts = [row[0] for row in connection.execute(
            "SELECT pdf_sha256 FROM receipt WHERE submission_id = ?", (submission_id,))]  # fmt: skip
    return [raw, *documents, *receipts]


@pytest.fixture(scope="module")
def run(tmp_path_factory, module_dovecot, module_smtp_sink, signing_key) -> Run:  # type: ignore[no-untyped-def]
    workdir = tmp_path_factory.mktemp("retention") / "intake"
    intake = intake_for(
        workdir, dovecot=module_dovecot, smtp_sink=module_smtp_sink, pkcs12=signing_key[0], password=KEY_PASSWORD
    )
    for index, (sender, applicant) in enumerate(((IOANA, APPLICANT), (ION, ION_APPLICANT))):
        attachments = [("cerere.pdf", forms.benefit_application(applicant), "application/pdf")]
        message = mailfactory.submission(sender=sender, sender_name=applicant.full_name, attachments=attachments)
        module_dovecot.append(message.as_bytes(), internaldate=RECEIVED + timedelta(minutes=index))
    intake.poll(now=(RECEIVED + timedelta(minutes=5)).isoformat())
    result = Run(workdir=workdir, before=intake.json("submissions"))

    target = workdir / "export-email.zip"
    intake.run("subject-export", IOANA.upper(), "--output", str(target))  # the command, once
    result.exports["email"] = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    deployment = Runtime.from_settings(load_settings(str(workdir / "intake.toml")))
    by_cnp = subject_export.export(deployment, subject_export.parse_subject(APPLICANT.cnp))  # the same code, in-process
    deployment.engine.dispose()
    result.exports["cnp"] = zipfile.ZipFile(io.BytesIO(by_cnp.data))

    db = workdir / "intake.db"
    engine = make_engine(f"sqlite:///{db}")
    with transaction(engine) as session:  # what the case page's "Reține dosarul" does
        ion = session.exec(select(Submission).where(Submission.sender == ION)).one()
        retention.set_hold(session, ion, "Contestație în instanță", "ana", RECEIVED)
    engine.dispose()
    result.blobs_before = {sender: _blobs(db, sender) for sender in (IOANA, ION)}

    result.dry = intake.json("purge", "--dry-run", "--now", AGED)
    store = result.store()
    result.blobs_dry = {sender: [store.exists(blob) for blob in blobs] for sender, blobs in result.blobs_before.items()}
    result.done = intake.json("purge", "--now", AGED)
    result.after = intake.json("submissions")
    result.status = intake.json("status")
    with sqlite3.connect(db) as connection:
        result.audit = list(
            connection.execute("SELECT actor, action, submission_id, after FROM auditevent WHERE action = 'purge'")
        )
    return result


def _case_of(rows: list[dict[str, Any]], sender: str) -> str:
    return next(row["registration_number"] for row in rows if row["sender"] == sender)


def test_the_export_by_email_and_by_cnp_hold_ioanas_case_with_verified_hashes_and_nothing_of_ion(run: Run) -> None:
    case = _case_of(run.before, IOANA).replace("/", "_")
    for archive in run.exports.values():
        manifest = json.loads(archive.read("manifest.json"))
        assert {entry["what"] for entry in manifest} >= {"raw_mail", "attachment", "receipt", "reply", "data"}
        for entry in manifest:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"], entry["path"]
        assert all(name.startswith(f"dosare/{case}/") for name in archive.namelist() if name.startswith("dosare/"))
        everything = b"".join(archive.read(name) for name in archive.namelist())
        assert ION.encode() not in everything and ION_APPLICANT.cnp.encode() not in everything
        assert "art. 15" in archive.read("CITESTE.txt").decode()


def test_dry_run_lists_ioanas_case_keeps_ions_held_case_and_erases_nothing(run: Run) -> None:
    ioana = _case_of(run.before, IOANA)
    assert {(item["case"], item["what"]) for item in run.dry["purged"]} == {
        (ioana, "raw_mail"), (ioana, "attachments"), (ioana, "evidence")
    }  # fmt: skip
    assert [entry["case"] for entry in run.dry["held"]] == [_case_of(run.before, ION)]
    assert run.dry["dry_run"] is True
    assert all(all(found) for found in run.blobs_dry.values())


def test_purge_erases_ioanas_files_audited_and_leaves_the_held_case_and_the_registry(run: Run) -> None:
    assert run.done["dry_run"] is False
    assert {item["what"] for item in run.done["purged"]} == {"raw_mail", "attachments", "evidence"}
    store = run.store()
    assert not any(store.exists(blob) for blob in run.blobs_before[IOANA])
    assert all(store.exists(blob) for blob in run.blobs_before[ION])
    # Her case's three erasures, and the audit entries past retention.audit_days (the export's, eleven years old).
    assert sorted(json.loads(after)["what"] for _actor, _action, _id, after in run.audit) == [
        "attachments", "audit", "evidence", "raw_mail"
    ]  # fmt: skip
    assert all(actor.startswith("cli:") for actor, *_ in run.audit)
    assert not any(IOANA in after or APPLICANT.cnp in after for *_, after in run.audit)
    # The registry stays gap-free: the same numbers, Ioana's without her address.
    assert sorted(row["registration_number"] for row in run.after) == sorted(
        row["registration_number"] for row in run.before
    )
    assert {row["sender"] for row in run.after} == {None, ION}
    assert sum(run.status["queues"].values()) == 2  # `status` still counts both
