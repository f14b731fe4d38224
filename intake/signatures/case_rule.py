"""001 Art. 5(5) applied to the case as a whole, not to one e-mail.

The application (Anexa 3) and the declaration (Anexa 1^1) of a benefit request must carry an extended electronic
signature based on a qualified certificate, whichever e-mail of the case brought them: a QES-signed application
followed by a merely scanned declaration leaves the file non-compliant, and a declaration sent first as a scan
must be signed once the application shows the request is for the benefit. The two must be signed by the same
person. What counts is the case's current documents (`intake.case_file`): a document sent later replaces the
earlier one, so a correctly signed replacement settles the finding.

Pure: it reads the verdicts the `verify` stage stored on each document (`Document.signature`) and returns the
findings; the `assess` stage records them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from intake import texts
from intake.models import Document
from intake.signatures import policy as law
from intake.signatures.policy import SignaturePolicy
from intake.validation import identity

# Findings this rule owns: the case's re-assessment clears the old ones and adds what still holds.
CODES = (
    "signature_missing",
    "signature_invalid",
    "signature_not_qualified",
    "signature_indeterminate",
    "signer_mismatch",
)
NO_SIGNATURE_RO = "Documentul nu are semnătură electronică."


@dataclass(frozen=True)
class CaseFinding:
    code: str
    message: str  # Romanian, for the citizen and staff
    document_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def required_kinds(request_kinds: Collection[str] | None, present_kinds: Iterable[str]) -> frozenset[str]:
    """Kinds that need a qualified signature in this case: those the request type's checklist marks (when the type
    is known), else the application and the declaration as soon as an application is part of the case (the
    stricter rule wins where the declaration also serves a registration: procedure.md §7 item 1)."""
    if request_kinds:
        return frozenset(request_kinds)
    if law.requires_qualified_signatures(present_kinds):
        return frozenset(law.QUALIFIED_SIGNATURE_REQUIRED)
    return frozenset()


def signature_findings(
    documents: Iterable[Document], required: Collection[str], rule: SignaturePolicy, office_short: str = "AJOFM Cluj"
) -> list[CaseFinding]:
    """The findings the case's current documents give under 001 Art. 5(5)."""
    checked = [doc for doc in documents if doc.kind in required and doc.detected_type not in ("p7s", "p7m")]
    findings: list[CaseFinding] = []
    for doc in checked:
        label = _label(doc)
        code = rule.finding_code(label)
        if code is None:
            continue
        summary = (doc.signature or {}).get("summary") or NO_SIGNATURE_RO
        findings.append(
            CaseFinding(
                code,
                law.finding_message(
                    code, doc.kind or "other", doc.filename, summary, label=label, office_short=office_short
                ),
                document_id=doc.id,
                detail={"label": label},
            )
        )
    mismatch = _signer_mismatch(checked)
    if mismatch is not None:
        findings.append(mismatch)
    return findings


def _label(doc: Document) -> str:
    return str((doc.signature or {}).get("label") or "none")


def _signer_mismatch(documents: list[Document]) -> CaseFinding | None:
    """One person signs the application and the declaration (whichever e-mails brought them)."""
    by_kind: dict[str, Document] = {}
    for doc in documents:
        if (doc.signature or {}).get("signer") and doc.kind in law.QUALIFIED_SIGNATURE_REQUIRED:
            by_kind.setdefault(doc.kind or "", doc)
    application, declaration = by_kind.get("application"), by_kind.get("declaration")
    if application is None or declaration is None or _same_signer(application, declaration):
        return None
    a_signer, d_signer = application.signature["signer"], declaration.signature["signer"]  # type: ignore[index]
    return CaseFinding(
        "signer_mismatch",
        texts.render("constatare_signer_mismatch", semnatar_cerere=a_signer, semnatar_declaratie=d_signer),
        detail={"application_signer": a_signer, "declaration_signer": d_signer},
    )


def _same_signer(a: Document, b: Document) -> bool:
    # The stored identifiers are masked (PNORO-2*******5): different masks prove different people; equal masks
    # prove nothing, so the names decide then.
    id_a, id_b = _identifier(a), _identifier(b)
    if id_a and id_b and id_a != id_b:
        return False
    return identity.same_person(a.signature.get("signer") or "", b.signature.get("signer") or "")  # type: ignore[union-attr]


def _identifier(doc: Document) -> str | None:
    signature = doc.signature or {}
    signatures = signature.get("signatures") or []
    index = signature.get("applicant_signature")
    if isinstance(index, int) and 0 <= index < len(signatures):
        return signatures[index].get("signer_identifier")
    return None
