"""`intake archive refresh` (issue 13 §2): a receipt whose time-stamp certificate is about to expire gets a document
time-stamp from a TSA certificate that lives longer, so it still verifies after the first one has expired.

The material is aged with the test PKI: the receipt is time-stamped by a TSA whose certificate is valid 30 days,
then validated as of 60 days from now (pyHanko's validation time) before and after the refresh. The OCSP, CRL and
TSA answers come from the loopback services of tests/pki (real HTTP, no network).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
from sqlmodel import Session, select

from intake import archive, cli
from intake.models import AuditEvent, Event, EvidenceVersion, Receipt, Submission, SubmissionState
from intake.receipts.render import ReceiptData, render_receipt
from intake.receipts.sign import ReceiptSigner
from intake.runtime import Runtime
from intake.scheduler import Daemon
from intake.settings import SigningSettings
from tests import pdfa
from tests.pki.certs import CertificateAuthority, Issued, ca_name, issue, make_root_ca, new_rsa_key
from tests.pki.services import PkiServices
from tests.unit.runtimes import make_runtime

PASSWORD = b"parola"
NOW = datetime.now(UTC)
LATER = NOW + timedelta(days=60)  # both the seal's and the first TSA's certificates have expired by then


@dataclass
class Pki:
    services: PkiServices
    root: CertificateAuthority
    seal_p12: Path
    short_tsa: Issued
    long_tsa: Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    services = PkiServices()
    services.start()
    try:
        root = make_root_ca(
            "arhiva-root",
            ca_name("Test Archive Root", "Test"),
            NOW - timedelta(days=1),
            NOW + timedelta(days=3650),
            services.url,
        )
        services.register_ca(root)
        seal = issue(
            root,
            "sigiliu",
            ca_name("Registratura AJOFM Cluj (test)", "AJOFM Cluj"),
            NOW - timedelta(days=1),
            NOW + timedelta(days=40),
        )
        short_tsa = issue(
            root,
            "tsa-scurt",
            ca_name("Test TSA 30 zile", "Test"),
            NOW - timedelta(days=1),
            NOW + timedelta(days=30),
            time_stamping=True,
            key=new_rsa_key(),
        )
        long_tsa = issue(
            root,
            "tsa-lung",
            ca_name("Test TSA 8 ani", "Test"),
            NOW - timedelta(days=1),
            NOW + timedelta(days=3000),
            time_stamping=True,
            key=new_rsa_key(),
        )
        seal_p12 = tmp_path_factory.mktemp("sigiliu") / "sigiliu.p12"
        seal_p12.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"sigiliu", seal.key, seal.cert, [root.cert], BestAvailableEncryption(PASSWORD)
            )
        )
        yield Pki(services, root, seal_p12, short_tsa, long_tsa)
    finally:
        services.stop()


def receipt_pdf(signer: ReceiptSigner) -> bytes:
    data = ReceiptData(
        office_name="AJOFM Cluj",
        office_address="Str. Călărașilor nr. 1, Cluj-Napoca",
        registration_number="12/23.11.2026",
        registered_at=NOW,
        received_at=NOW,
        sender="ana@exemplu.ro",
        subject="Cerere",
        documents=(),
    )
    return signer.sign(render_receipt(data), registration="12/23.11.2026")


def stored_receipt(rt: Runtime, pdf: bytes) -> int:
    with Session(rt.engine) as session:
        submission = Submission(
            office="CJ",
            sha256="00" * 32,
            size=10,
            received_at=NOW,
            claimed_at=NOW,
            state=SubmissionState.RECEIPTED,
            number=12,
            year=2026,
            registered_at=NOW,
        )
        session.add(submission)
        session.flush()
        receipt = Receipt(submission_id=submission.id or 0, pdf_sha256=rt.store.put(pdf), created_at=NOW)
        session.add(receipt)
        session.commit()
        return receipt.id or 0


def newest_timestamp_trusted_at(pdf: bytes, root: CertificateAuthority, moment: datetime) -> bool:
    """PAdES-LTA's rule: the newest document time-stamp must verify at the validation time; it covers everything
    before it (the signature, its time-stamp, the DSS with their revocation answers)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(
        trust_roots=[root.asn1], moment=moment, allow_fetching=False, revocation_mode="soft-fail"
    )
    status = validate_pdf_timestamp(reader.embedded_timestamp_signatures[-1], validation_context=context)
    return bool(status.intact and status.valid and status.trusted)


def config_file(rt: Runtime, tmp_path: Path, timestamp_url: str | None) -> Path:
    path = tmp_path / "intake.toml"
    text = f'[database]\nurl = "{rt.settings.database.url}"\n[storage]\npath = "{rt.settings.storage.path}"\n'
    if timestamp_url:
        text += f'[signing]\ntimestamp_url = "{timestamp_url}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def test_refresh_keeps_a_receipt_verifiable_after_its_timestamp_certificate_expires(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)  # pytest keeps its own log handlers
    pki.services.set_tsa(pki.short_tsa, [pki.root])
    rt = make_runtime(tmp_path, signing=SigningSettings(timestamp_url=pki.services.tsa_url))
    original = receipt_pdf(ReceiptSigner(pki.seal_p12, PASSWORD.decode(), timestamp_url=pki.services.tsa_url))
    receipt_id = stored_receipt(rt, original)
    assert newest_timestamp_trusted_at(original, pki.root, NOW)
    assert not newest_timestamp_trusted_at(original, pki.root, LATER)  # aged: the TSA certificate has expired

    # --dry-run only lists: the horizon is the 30-day TSA certificate, within refresh_before_days (180).
    config = config_file(rt, tmp_path, pki.services.tsa_url)
    assert cli.main(["--config", str(config), "archive", "refresh", "--dry-run", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["dry_run"], listed["refreshed"], len(listed["due"])) == (True, 0, 1)
    due = listed["due"][0]
    assert (due["registration"][:3], due["version"], due["new_sha256"]) == ("12/", 1, None)
    assert "Test TSA 30 zile" in due["expiring"]

    # The TSA renewed its certificate (in production: the same URL, a later key); the daemon's daily job (the
    # mailbox's leader) time-stamps again.
    pki.services.set_tsa(pki.long_tsa, [pki.root])
    daemon = Daemon(rt)
    try:
        daemon.archive_job()
    finally:
        for poller in daemon.pollers.values():
            poller.close()
    with Session(rt.engine) as session:
        refreshed_sha = session.exec(select(EvidenceVersion.sha256)).one()
    refreshed = rt.store.get(refreshed_sha)
    assert refreshed.startswith(original)  # an incremental update: the signed bytes are untouched
    assert newest_timestamp_trusted_at(refreshed, pki.root, LATER)
    signature = validate_pdf_signature(
        PdfFileReader(io.BytesIO(refreshed)).embedded_regular_signatures[0],
        ValidationContext(trust_roots=[pki.root.asn1]),
    )
    assert signature.intact and signature.valid
    assert pdfa.problems(refreshed) == []  # still PDF/A-3b

    with Session(rt.engine) as session:
        receipt = session.get(Receipt, receipt_id)
        assert receipt is not None and rt.store.get(receipt.pdf_sha256) == original  # the sent version is kept
        [version] = session.exec(select(EvidenceVersion)).all()
        assert (version.version, version.sha256, version.previous_sha256) == (2, refreshed_sha, receipt.pdf_sha256)
        assert version.expires_at is not None and version.expires_at > NOW + timedelta(days=2000)
        assert archive.newest_version(session, receipt)["sha256"] == refreshed_sha
        [event] = session.exec(select(Event).where(Event.action == "evidence_refreshed")).all()
        assert event.submission_id == receipt.submission_id and event.detail["version"] == 2
        [audit] = session.exec(select(AuditEvent).where(AuditEvent.action == "evidence_refreshed")).all()
        assert (audit.actor, audit.after["sha256"]) == ("intake", refreshed_sha)

    # Now good for years: the daily run finds nothing to do.
    again = archive.refresh(rt)
    assert (again.checked, again.refreshed) == (0, 0)


def test_a_due_receipt_without_a_timestamp_authority_is_a_configuration_error(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    rt = make_runtime(tmp_path)
    pdf = receipt_pdf(ReceiptSigner(pki.seal_p12, PASSWORD.decode()))  # B-B: the seal expires in 40 days
    stored_receipt(rt, pdf)
    config = config_file(rt, tmp_path, None)
    assert cli.main(["--config", str(config), "archive", "refresh"]) == 2
    assert "signing.timestamp_url" in capsys.readouterr().err
    assert cli.main(["--config", str(config), "archive", "refresh", "--dry-run"]) == 0
    assert "1 receipt(s) due" in capsys.readouterr().out
    with Session(rt.engine) as session:
        assert session.exec(select(EvidenceVersion)).all() == []
    # A receipt lost from the store is reported (exit 1), not a crash of the whole run.
    rt.store.path_for(hashlib.sha256(pdf).hexdigest()).unlink()
    assert cli.main(["--config", str(config), "archive", "refresh", "--dry-run"]) == 1
    assert "stored receipt unreadable" in capsys.readouterr().out


def test_lta_signing_works_when_neither_chain_reaches_its_root(pki: Pki, tmp_path: Path) -> None:
    """A PKCS#12 without the root, a TSA that sends only its own certificate: validation data is still collected
    (for what lies below the last certificate at hand) rather than every receipt failing."""
    seal = issue(
        pki.root,
        "sigiliu-singur",
        ca_name("Registratura fără lanț", "AJOFM Cluj"),
        NOW - timedelta(days=1),
        NOW + timedelta(days=40),
    )
    alone = tmp_path / "singur.p12"
    alone.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"s",
            seal.key,
            seal.cert,
            None,
            BestAvailableEncryption(PASSWORD),
        )
    )
    pki.services.set_tsa(pki.long_tsa, [])
    pdf = receipt_pdf(ReceiptSigner(alone, PASSWORD.decode(), timestamp_url=pki.services.tsa_url))
    reader = PdfFileReader(io.BytesIO(pdf))
    assert "/DSS" in reader.root and len(reader.embedded_timestamp_signatures) == 1
    assert newest_timestamp_trusted_at(pdf, pki.root, NOW)
