"""Signature verification "like DSS does", the entry point: every signature of a PDF (PAdES / adbe.pkcs7.*) or a
CAdES container (.p7s / .p7m) gets a label with machine-readable reasons, and the document gets the verdict of the
applicant's own signature, never stronger than what its last revision supports.

Where things live (split the way pyHanko splits its validation):
- `labels.py`     the verdict rules, as a table: which reason gives which label (pure);
- `verdicts.py`   the verdict values and the document-level decision (whose signature decides);
- `engine.py`     the policy and the validation contexts; `timing.py` best signature time and time-stamp trust;
  `chain.py` chain, expiry and revocation; `decision.py` qualification and the label of one signature;
- `pdf.py`        the PDF passes (revisions, DSS, fields); `modifications.py` what changed after a signature;
- `cms.py`        CAdES; `trust_store.py` + `qualification.py` + `trustlists.py` the trusted lists; `report.py`
  what a verdict says to people.

`verify_document` never raises: whatever goes wrong becomes `indeterminate` + `library_error`, never `QES`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from intake.privacy import redact
from intake.signatures import report
from intake.signatures.engine import VerificationPolicy, decision_time, engine_for, run
from intake.signatures.facts import Outcome, error_evidence, short_error
from intake.signatures.labels import label_for
from intake.signatures.verdicts import ApplicantHint, DocumentVerdict, SignatureVerdict, decide_document

__all__ = [
    "ApplicantHint",
    "DocumentVerdict",
    "SignatureVerdict",
    "VerificationPolicy",
    "label_for",
    "verify_document",
    "verify_files",
]

log = logging.getLogger(__name__)


def verify_document(
    filename: str,
    data: bytes,
    policy: VerificationPolicy,
    detached_content: bytes | None = None,
    applicant: ApplicantHint | None = None,
) -> DocumentVerdict:
    """The verdict on every signature of a PDF, .p7s (detached content given by the caller) or .p7m. `applicant`:
    who the form names, to find the applicant's own signature. Never raises."""
    decided_at = decision_time(policy)
    try:
        outcome = run(_verify(filename, data, policy, detached_content, decided_at))
    except Exception as exc:
        log.warning("signature verification of %s failed: %s", redact(filename), short_error(exc))
        outcome = Outcome(signatures=[], doc_reasons=["library_error"], evidence={"error": error_evidence(exc)})
    try:
        return _document_verdict(outcome, decided_at, applicant)
    except Exception as exc:
        log.warning("building the verdict of %s failed: %s", redact(filename), short_error(exc))
        failed = Outcome(signatures=[], doc_reasons=["library_error"], evidence={"error": error_evidence(exc)})
        return _document_verdict(failed, decided_at, None)


def verify_files(paths: Sequence[Path], policy: VerificationPolicy) -> list[dict[str, Any]]:
    """The JSON of `intake verify FILE... --json`: a .p7s signs the file beside it with the same name minus .p7s."""
    results = []
    for path in paths:
        data = path.read_bytes()
        detached = None
        if path.suffix.lower() == ".p7s":
            content_path = path.with_name(path.name[: -len(path.suffix)])
            detached = content_path.read_bytes() if content_path.is_file() else None
        hint = applicant_from_file(detached if detached is not None else data)
        verdict = verify_document(path.name, data, policy, detached_content=detached, applicant=hint)
        document = verdict.as_json()
        signatures = document.pop("signatures")
        results.append({"file": str(path), "signature": document, "signatures": signatures})
    return results


def applicant_from_file(data: bytes) -> ApplicantHint | None:
    """The applicant a PDF form names (text and fields), read the way the pipeline reads it."""
    if b"%PDF-" not in data[:1024]:
        return None
    from intake.validation import documents, identity

    try:
        applicant = identity.applicant_from_form(documents.extract_pdf_text(data), documents.pdf_form_fields(data))
    except Exception:  # no hint is better than no verdict
        return None
    return ApplicantHint(applicant.name, applicant.cnp)


async def _verify(
    filename: str, data: bytes, policy: VerificationPolicy, detached: bytes | None, decided_at: datetime
) -> Outcome:
    engine = engine_for(policy)
    if _container_kind(filename, data) == "cms":
        from intake.signatures.cms import verify_cms

        return await verify_cms(engine, data, detached, decided_at)
    from intake.signatures.pdf import verify_pdf

    return await verify_pdf(engine, data, decided_at)


def _container_kind(filename: str, data: bytes) -> str:
    """By name first (a .p7m envelops a PDF, so "%PDF" may well appear in its first bytes), then by content."""
    if filename.lower().endswith((".p7s", ".p7m", ".p7", ".p7c")):
        return "cms"
    head = data[:1024].lstrip()
    if b"%PDF-" in head:
        return "pdf"
    if head[:1] == b"\x30" or head.startswith(b"-----BEGIN"):
        return "cms"
    return "pdf"


def _document_verdict(outcome: Outcome, decided_at: datetime, applicant: ApplicantHint | None) -> DocumentVerdict:
    verdict = decide_document(
        outcome.signatures,
        outcome.doc_reasons,
        cap=outcome.cap,
        hint=applicant,
        decided_at=decided_at,
        report_xml=outcome.report_xml,
        enveloped_content=outcome.enveloped_content,
    )
    return replace(verdict, summary_ro=report.summary_ro(verdict))
