"""The `verify` stage: what each document is, whose signature it carries, and whether the law is met.

For every accepted attachment: recognise its kind (application, declaration, ...), verify the signatures of
PDFs and CAdES containers, keep the evidence, and raise the findings that belong to one document: its signer is
not the applicant named on it, the CNP written on it is impossible, someone else signed it too. Whether the
case's application and declaration carry the qualified signature 001 Art. 5(5) asks for, and are signed by the
same person, is decided on the case as a whole by the `assess` stage (`intake.signatures.case_rule`): a later
e-mail may complete or replace them.

The verdict of a document is that of the applicant's own signature (the one whose certificate carries the CNP or
the name on the form; else the earliest): a third party's signature beside it neither makes nor breaks the
application, but staff are told (a staff-only finding, `third_party_signature`).

The identity card's machine-readable zone is read here too (OCR, the slow part, in `prepare`; at most
`MAX_ID_CARDS` images a message) and compared in `record` with the applicant on the forms and with the signer of
the application and the declaration (`intake.validation.id_card`): a different CNP or name, or a card expired
before the e-mail arrived, is a finding; a card that could not be read is a staff-only note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePath

from sqlmodel import Session, col, select

from intake import texts
from intake.case_file import case_messages
from intake.clock import local
from intake.models import Document, Finding, SignatureCheck, Submission
from intake.privacy import mask_cnp
from intake.records import add_finding, documents_of
from intake.runtime import Runtime
from intake.signatures import policy as law
from intake.signatures.verify import ApplicantHint, DocumentVerdict, verify_document
from intake.stages.assess import MACHINE
from intake.validation import documents as kinds
from intake.validation import id_card, identity, mrz, mrz_scan
from intake.validation.filetypes import check_attachment, note

VERIFIABLE_TYPES = frozenset({"pdf", "p7s", "p7m"})
# OCR costs a third of a second or more a card: a message's first two identity documents (front and back, or
# two cards) are read, never more, and within OCR_BUDGET_SECONDS in all (a card Tesseract chokes on must not use up
# the message's own time budget, worker.message_timeout_seconds, 30 s by default: it is left to staff instead).
MAX_ID_CARDS = 2
OCR_BUDGET_SECONDS = 6.0
# Forms that name the applicant (name and CNP) the identity card is compared with.
APPLICANT_FORMS = ("application", "declaration", "registration_form")


@dataclass
class _Checked:
    document: Document  # a detached copy while prepared; the row itself once recorded
    verdict: DocumentVerdict | None
    applicant: identity.Applicant
    # The document's own signature check, kept as a SignatureCheck row (`verdict` may become a detached .p7s's).
    checked: DocumentVerdict | None = None
    card: mrz.CardReading | None = None  # the MRZ of an identity document (read in prepare)


@dataclass(frozen=True)
class Snapshot:
    documents: tuple[Document, ...]  # the accepted ones, detached copies: prepare fills in kind and signature
    next_position: int  # of the content of a .p7m, added after the message's own documents


def snapshot(rt: Runtime, session: Session, submission: Submission) -> Snapshot:
    docs = documents_of(session, submission)
    return Snapshot(tuple(doc for doc in docs if doc.accepted), len(docs) + 1)


def prepare(rt: Runtime, snapshot: Snapshot) -> list[_Checked]:
    """Recognition and signature validation (with its revocation fetches): outside any transaction."""
    checked = [_check_document(rt, doc) for doc in snapshot.documents]
    checked += _unpack_enveloped(rt, checked, next_position=snapshot.next_position)
    _apply_detached_signatures(rt, checked)
    _read_id_cards(rt, checked)
    return checked


def record(rt: Runtime, session: Session, submission: Submission, checked: list[_Checked]) -> None:
    for item in checked:
        if item.document.id is None:
            session.add(item.document)  # the content of a .p7m
            continue
        row = session.get_one(Document, item.document.id)
        row.kind, row.signature, row.notes = item.document.kind, item.document.signature, item.document.notes
        session.add(row)
        item.document = row
    session.flush()
    for item in checked:
        if item.checked is not None:
            _record_verdict(rt, session, item.document, item.checked)
    _check_form_cnps(rt, session, submission, checked)
    _check_id_cards(rt, session, submission, checked)
    if law.requires_qualified_signatures(item.document.kind for item in checked):
        _check_identity(rt, session, submission, checked)
        _flag_third_party_signatures(rt, session, submission, checked)


def _check_form_cnps(rt: Runtime, session: Session, submission: Submission, checked: list[_Checked]) -> None:
    """A CNP written on a form must be a possible CNP (checksum, date of birth, county code)."""
    today = rt.clock.now().date()
    for item in checked:
        cnp = item.applicant.cnp
        if not cnp or item.document.kind not in law.KIND_NAMES_RO:
            continue
        check = identity.validate_cnp(cnp, today=today)
        if check.valid:
            continue
        add_finding(
            session,
            rt,
            submission,
            "invalid_cnp",
            texts.render(
                "constatare_invalid_cnp",
                document=law.KIND_NAMES_RO[item.document.kind],
                fisier=item.document.filename,
                motiv=check.reason or "",
            ),
            document_id=item.document.id,
            detail={"form_cnp": cnp, "reason": check.reason},
        )


def _read_id_cards(rt: Runtime, checked: list[_Checked]) -> None:
    cards = [
        item
        for item in checked
        if item.document.kind == "id_document" and item.document.detected_type in mrz_scan.TYPES
    ]
    today = rt.clock.now().date()
    deadline = time.monotonic() + OCR_BUDGET_SECONDS
    for item in cards[:MAX_ID_CARDS]:
        data = rt.store.get(item.document.sha256)
        left = max(0.0, deadline - time.monotonic())
        item.card = mrz_scan.read_card(data, item.document.detected_type or "", today=today, timeout=left)


def _check_id_cards(rt: Runtime, session: Session, submission: Submission, checked: list[_Checked]) -> None:
    """The card against the forms and the signers of this message (issue 13, §1; `intake.validation.id_card`)."""
    people = [
        id_card.Person(
            id_card.SOURCE_FORM, law.KIND_NAMES_RO[item.document.kind], item.applicant.name, item.applicant.cnp
        )
        for item in checked
        if item.document.kind in APPLICANT_FORMS and (item.applicant.name or item.applicant.cnp)
    ]
    people += [
        id_card.Person(
            id_card.SOURCE_SIGNER,
            law.KIND_NAMES_RO[item.document.kind],
            item.verdict.signer,
            identity.semantics_cnp(item.verdict.signer_identifier),
        )
        for item in checked
        if item.document.kind in law.QUALIFIED_SIGNATURE_REQUIRED and item.verdict and item.verdict.signer
    ]
    received_on = local(submission.received_at, rt.settings.office.timezone).date()
    # The two sides of one card come as two images and only one side carries the MRZ (the front of a CI, the back
    # of a CEI): a side without one is "not checked" only when no image of the message was read.
    any_read = any(item.card.read for item in checked if item.card is not None)
    for item in checked:
        if item.card is None or (any_read and not item.card.read):
            continue
        issues = id_card.cross_check(item.card, people, received_on=received_on)
        if not issues:
            _settle_expired_cards(rt, session, submission, item.card)
        for issue in issues:
            add_finding(
                session,
                rt,
                submission,
                issue.code,
                texts.render(issue.template, **issue.wording),
                document_id=item.document.id,
                detail=issue.detail,
                staff_only=issue.staff_only,
            )


def _settle_expired_cards(rt: Runtime, session: Session, submission: Submission, card: mrz.CardReading) -> None:
    """A valid card of the same holder, read and matching, sent later in the case: the expired one an earlier
    e-mail carried no longer stands against the file. (Cards do not replace one another in the case file, since
    the two sides of one card come as two images; so this is said here.)"""
    earlier = [message.id for message in case_messages(session, submission) if message.id != submission.id]
    if not earlier:
        return
    for finding in session.exec(
        select(Finding).where(
            col(Finding.submission_id).in_(earlier), Finding.code == "id_expired", col(Finding.cleared_at).is_(None)
        )
    ).all():
        if not id_card.same_holder(card, (finding.detail or {}).get("holder") or {}):
            continue
        finding.cleared_at = rt.clock.now()
        finding.cleared_by = MACHINE
        session.add(finding)


def _check_document(rt: Runtime, doc: Document) -> _Checked:
    data = rt.store.get(doc.sha256)
    text, fields = "", {}
    if doc.detected_type == "pdf":
        text, fields = kinds.extract_pdf_text(data), kinds.pdf_form_fields(data)
    doc.kind = kinds.classify(_content_name(doc.filename), text, fields).kind
    applicant = identity.applicant_from_form(text, fields)
    verdict = None
    if doc.detected_type in VERIFIABLE_TYPES and doc.detected_type != "p7s":
        hint = ApplicantHint(applicant.name, applicant.cnp)
        verdict = verify_document(doc.filename, data, rt.verification_policy, applicant=hint)
        doc.signature = verdict.as_json()
    return _Checked(doc, verdict, applicant, checked=verdict)


def _unpack_enveloped(rt: Runtime, checked: list[_Checked], next_position: int) -> list[_Checked]:
    """The document inside a .p7m is checked like any attachment and carries the container's verdict."""
    added = []
    for item in checked:
        if item.document.detected_type != "p7m" or not item.verdict or not item.verdict.enveloped_content:
            continue
        content = item.verdict.enveloped_content
        name = _content_name(item.document.filename)
        limits = rt.settings.limits
        check = check_attachment(
            name,
            content,
            max_bytes=limits.max_attachment_bytes,
            max_pixels=limits.max_image_pixels,
            office_short=rt.settings.office.short_name,
            max_decoded_bytes=limits.max_decoded_image_bytes,
        )
        inner = Document(
            submission_id=item.document.submission_id,
            position=next_position + len(added),
            filename=name,
            declared_type=check.content_type,
            origin="p7m",
            sha256=rt.store.put(content),
            size=len(content),
            detected_type=check.detected_type,
            content_type=check.content_type,
            pages=check.pages,
            accepted=check.accepted,
            code=check.code,
            reason=check.reason,
            notes=[note("p7m_content", item.document.filename), *check.notes],
        )
        text, fields = "", {}
        if check.detected_type == "pdf":
            text, fields = kinds.extract_pdf_text(content), kinds.pdf_form_fields(content)
        inner.kind = item.document.kind = kinds.classify(name, text, fields).kind
        inner.signature = item.verdict.as_json()
        added.append(_Checked(inner, item.verdict, identity.applicant_from_form(text, fields)))
    return added


def _apply_detached_signatures(rt: Runtime, checked: list[_Checked]) -> None:
    """A .p7s signs the attachment of the same name without `.p7s` (or the only PDF of the message)."""
    by_name = {item.document.filename: item for item in checked if item.document.detected_type != "p7s"}
    pdfs = [item for item in checked if item.document.detected_type == "pdf"]
    for item in checked:
        if item.document.detected_type != "p7s":
            continue
        target = by_name.get(_content_name(item.document.filename)) or (pdfs[0] if len(pdfs) == 1 else None)
        if target is None:
            item.document.notes = [*item.document.notes, note("p7s_without_document", item.document.filename)]
            continue
        content = rt.store.get(target.document.sha256)
        hint = ApplicantHint(target.applicant.name, target.applicant.cnp)
        verdict = verify_document(
            item.document.filename,
            rt.store.get(item.document.sha256),
            rt.verification_policy,
            detached_content=content,
            applicant=hint,
        )
        item.verdict = verdict
        item.document.kind = target.document.kind
        item.document.signature = verdict.as_json()
        if law.LABEL_STRENGTH.get(verdict.label, 0) > law.LABEL_STRENGTH.get(_label(target), 0):
            target.verdict = verdict
            target.document.signature = {**verdict.as_json(), "via": item.document.filename}


def _check_identity(rt: Runtime, session: Session, submission: Submission, checked: list[_Checked]) -> None:
    """The signer of the application and of the declaration is the applicant named on that form."""
    for item in checked:
        doc = item.document
        if doc.kind in law.QUALIFIED_SIGNATURE_REQUIRED and item.verdict and item.verdict.signer:
            _compare_with_form(rt, session, submission, item)


def _compare_with_form(rt: Runtime, session: Session, submission: Submission, item: _Checked) -> None:
    verdict, form = item.verdict, item.applicant
    assert verdict is not None
    doc = item.document

    def mismatch(motiv: str, detail: dict[str, str], **wording: str) -> None:
        message = texts.render(
            "constatare_identity_mismatch", motiv=motiv, document=law.KIND_NAMES_RO[doc.kind], **wording
        )
        add_finding(session, rt, submission, "identity_mismatch", message, document_id=doc.id, detail=detail)

    if form.name and verdict.signer and not identity.same_person(form.name, verdict.signer):
        mismatch(
            "name",
            {"signer": verdict.signer, "form_name": form.name},
            semnatar=verdict.signer,
            nume_formular=form.name,
        )
    signer_cnp = identity.semantics_cnp(verdict.signer_identifier)
    if form.cnp and signer_cnp and form.cnp != signer_cnp:
        mismatch(
            "cnp",
            {"signer_cnp": signer_cnp, "form_cnp": form.cnp},
            cnp_semnatar=mask_cnp(signer_cnp),
            cnp_formular=mask_cnp(form.cnp),
        )


def _flag_third_party_signatures(
    rt: Runtime, session: Session, submission: Submission, checked: list[_Checked]
) -> None:
    """Someone else also signed the application or the declaration (an employer, a proxy, a stranger): the
    applicant's own signature still decides, but a clerk should see who else signed and why."""
    for item in checked:
        verdict, doc = item.verdict, item.document
        if verdict is None or doc.kind not in law.QUALIFIED_SIGNATURE_REQUIRED or doc.detected_type == "p7s":
            continue
        if "third_party_signature" not in verdict.reasons:
            continue
        decisive = verdict.decisive
        others = sorted({s.signer or "semnatar necunoscut" for s in verdict.others()} - {verdict.signer or ""})
        add_finding(
            session,
            rt,
            submission,
            "third_party_signature",
            texts.render(
                "constatare_third_party_signature",
                document=law.KIND_NAMES_RO[doc.kind],
                feminin=doc.kind in law.FEMININE_KINDS,
                fisier=doc.filename,
                semnatar=verdict.signer or "",
                altii=others,
            ),
            document_id=doc.id,
            detail={
                "applicant_signature": verdict.applicant_signature,
                "applicant_signer": decisive.signer if decisive else None,
                "other_signers": others,
                "other_labels": [s.label for s in verdict.others()],
            },
            staff_only=True,
        )


def _record_verdict(rt: Runtime, session: Session, doc: Document, verdict: DocumentVerdict) -> None:
    session.add(
        SignatureCheck(
            document_id=doc.id or 0,
            label=verdict.label,
            verdict=verdict.as_json(),
            evidence=[signature.evidence for signature in verdict.signatures],
            report_xml=verdict.report_xml,
            trusted_lists=[
                {"source": tl.source, "sequence_number": tl.sequence_number, "territory": tl.territory}
                for tl in rt.trust_store.lists
            ],
            decided_at=verdict.decided_at,
        )
    )


def _label(item: _Checked) -> str:
    return item.verdict.label if item.verdict else "none"


def _content_name(filename: str) -> str:
    """`cerere.pdf.p7m` → `cerere.pdf`: the name of what a CAdES container signs."""
    path = PurePath(filename)
    return path.stem if path.suffix.lower() in (".p7m", ".p7s") else filename
