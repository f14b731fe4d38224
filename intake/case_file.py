"""The case file: every message of a case (the first submission and its follow-ups) and the documents that count.

The law judges the file, not the e-mail (procedure 000 steps 6-8; 001 Art. 5): a document sent later completes
the file or replaces the earlier one of the same kind. A form is one document, so the latest application,
declaration, fișa, … is the one that counts; kinds that come in several pieces (the two sides of an identity
card, several diplomas, the pages of a record book, anything unrecognised) only ever add up. Within one message
nothing replaces anything: a .p7m and the PDF inside it, or a PDF and its .p7s, are one document together.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from intake.models import Document, Finding, Submission
from intake.records import documents_of, open_findings, staff_findings
from intake.validation.documents import OTHER, SEVERAL_KINDS

# Kinds a case may hold several of (the classifier's table says which: both sides of an ID card, several diplomas,
# record-book pages, contracts, timesheets …): a later one adds to the earlier ones instead of replacing them.
ACCUMULATING_KINDS = frozenset({*SEVERAL_KINDS, OTHER})


@dataclass(frozen=True)
class CaseDocument:
    document: Document
    message: Submission
    replaced_by: Document | None  # the later document of the same kind that counts instead

    @property
    def counts(self) -> bool:
        return self.replaced_by is None and bool(self.document.accepted)


def case_messages(session: Session, submission: Submission) -> list[Submission]:
    """The messages of the case this submission belongs to, oldest first (just itself if it starts one). Later
    messages that are not registered yet (still in the pipeline) are left out; `submission` itself never is."""
    root_id = submission.case_id or submission.id
    rows = session.exec(
        select(Submission)
        .where((Submission.id == root_id) | (Submission.case_id == root_id))
        .order_by(col(Submission.received_at), col(Submission.id))
    ).all()
    messages = [row for row in rows if row.id == submission.id or row.number is not None]
    return messages if submission in messages else [*messages, submission]


def case_documents(session: Session, case: list[Submission]) -> list[CaseDocument]:
    """Every document of the case, oldest message first, each with the document that replaced it (if any)."""
    by_message = [(message, documents_of(session, message)) for message in case]
    latest: dict[str, Document] = {}  # kind -> the first accepted document of that kind in the latest message
    for _message, documents in reversed(by_message):
        for document in documents:
            kind = document.kind
            if document.accepted and kind and kind not in ACCUMULATING_KINDS and kind not in latest:
                latest[kind] = document
    out = []
    for message, documents in by_message:
        for document in documents:
            newer = latest.get(document.kind or "")
            replaced = (
                newer is not None
                and document.accepted
                and document.kind not in ACCUMULATING_KINDS
                and newer.submission_id != document.submission_id
            )
            out.append(CaseDocument(document, message, newer if replaced else None))
    return out


def current_documents(session: Session, case: list[Submission]) -> list[Document]:
    """The accepted documents that count for the case now."""
    return [item.document for item in case_documents(session, case) if item.counts]


def case_findings(session: Session, submission: Submission, *, staff: bool = False) -> list[Finding]:
    """The open findings of the whole case `submission` belongs to, oldest first: what the citizen must clarify
    (`staff=True`: staff-only ones too). The file is judged as a whole, so every e-mail of it shows them all."""
    collect = staff_findings if staff else open_findings
    found = [finding for message in case_messages(session, submission) for finding in collect(session, message)]
    return sorted(found, key=lambda finding: finding.id or 0)
