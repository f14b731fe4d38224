"""What a verification decides, as values: one `SignatureVerdict` per signature, one `DocumentVerdict` per file.

The document's verdict is that of the applicant's own signature (EN 319 102-1 validates each signature on its own;
the law's question, 001 Art. 5(5), is whether *the applicant* signed the form with a qualified signature):
1. the signature whose certificate carries the applicant's CNP (PNORO-<CNP>), else
2. the first signature whose signer has the applicant's name, else
3. the earliest signature in the file (the one over the form as it was filled in).
Every other signature is reported beside it; one by someone else is flagged (`third_party_signature`). The label
is never stronger than what the last revision of the file supports (`cap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intake.privacy import redact
from intake.signatures.labels import LABEL_STRENGTH, VALID_LABELS, merge
from intake.signatures.qualification import Qualification
from intake.validation import identity


@dataclass(frozen=True)
class ApplicantHint:
    """Who the form says the applicant is (read from the document's text and fields)."""

    name: str | None = None
    cnp: str | None = None


@dataclass(frozen=True)
class SignatureVerdict:
    label: str
    signer: str | None
    signer_identifier: str | None
    signed_at: datetime | None
    time_source: str | None  # "timestamp" | "claimed" | "validation"
    coverage: str | None
    modified_after_signing: bool | None
    field_name: str | None
    reasons: tuple[str, ...]
    qualification: Qualification | None
    evidence: dict[str, Any] = field(default_factory=dict)
    timestamp_qualified: bool | None = None
    trusted_list: dict[str, Any] | None = None  # {"territory", "sequence"} of the list that qualified the signer
    modifications: tuple[str, ...] = ()  # what changed after this signature, in plain words

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "time_source": self.time_source,
            "timestamp_qualified": self.timestamp_qualified,
            "trusted_list": self.trusted_list,
            "coverage": self.coverage,
            "modified_after_signing": self.modified_after_signing,
            "modifications": list(self.modifications),
            "reasons": list(self.reasons),
            "signer_identifier": redact(self.signer_identifier) if self.signer_identifier else None,
            "field": self.field_name,
        }


@dataclass(frozen=True)
class DocumentVerdict:
    label: str
    signer: str | None
    signed_at: datetime | None
    reasons: tuple[str, ...]
    signatures: tuple[SignatureVerdict, ...]
    summary_ro: str
    decided_at: datetime
    report_xml: str | None
    enveloped_content: bytes | None = None
    applicant_signature: int | None = None  # index in `signatures` of the signature that decides

    @property
    def decisive(self) -> SignatureVerdict | None:
        return self.signatures[self.applicant_signature] if self.applicant_signature is not None else None

    @property
    def time_source(self) -> str | None:
        decisive = self.decisive
        return decisive.time_source if decisive else None

    @property
    def signer_identifier(self) -> str | None:
        decisive = self.decisive
        return decisive.signer_identifier if decisive else None

    def others(self) -> list[SignatureVerdict]:
        return [s for i, s in enumerate(self.signatures) if i != self.applicant_signature]

    def as_json(self) -> dict[str, Any]:
        decisive = self.decisive
        return {
            "label": self.label,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "time_source": decisive.time_source if decisive else None,
            "timestamp_qualified": decisive.timestamp_qualified if decisive else None,
            "trusted_list": decisive.trusted_list if decisive else None,
            "reasons": list(self.reasons),
            "summary": self.summary_ro,
            "applicant_signature": self.applicant_signature,
            "signatures": [signature.as_json() for signature in self.signatures],
        }


def applicant_signature_index(signatures: Sequence[SignatureVerdict], hint: ApplicantHint | None) -> int | None:
    """The applicant's own signature (see the module docstring), or None when there is no signature."""
    if not signatures:
        return None
    if hint and hint.cnp:
        for index, signature in enumerate(signatures):
            if identity.semantics_cnp(signature.signer_identifier) == hint.cnp:
                return index
    if hint and hint.name:
        for index, signature in enumerate(signatures):
            if signature.signer and identity.same_person(hint.name, signature.signer):
                return index
    return 0


def same_signer(a: SignatureVerdict, b: SignatureVerdict) -> bool:
    if a.signer_identifier and b.signer_identifier:
        return a.signer_identifier == b.signer_identifier
    return bool(a.signer and b.signer and identity.same_person(a.signer, b.signer))


def decide_document(
    signatures: Sequence[SignatureVerdict],
    doc_reasons: Sequence[str],
    *,
    cap: str | None,
    hint: ApplicantHint | None,
    decided_at: datetime,
    report_xml: str | None = None,
    enveloped_content: bytes | None = None,
) -> DocumentVerdict:
    """The document-level verdict (summary left empty: `report.summary_ro` writes it)."""
    signatures = tuple(signatures)
    if not signatures:
        label = "indeterminate" if "library_error" in doc_reasons else "none"
        reasons = merge(("no_signature",) if label == "none" else (), doc_reasons)
        return DocumentVerdict(label, None, None, reasons, (), "", decided_at, report_xml, enveloped_content, None)
    index = applicant_signature_index(signatures, hint)
    assert index is not None
    decisive = signatures[index]
    label = decisive.label
    if cap and LABEL_STRENGTH[label] > LABEL_STRENGTH[cap]:
        label = cap
    notes: list[str] = []
    others = [s for i, s in enumerate(signatures) if i != index]
    if any(not same_signer(decisive, other) for other in others if other.signer or other.signer_identifier):
        notes.append("third_party_signature")
    if any(other.label not in VALID_LABELS for other in others):
        notes.append("other_signature_not_valid")
    return DocumentVerdict(
        label=label,
        signer=decisive.signer,
        signed_at=decisive.signed_at,
        reasons=merge(decisive.reasons, doc_reasons, notes),
        signatures=signatures,
        summary_ro="",
        decided_at=decided_at,
        report_xml=report_xml,
        enveloped_content=enveloped_content,
        applicant_signature=index,
    )
