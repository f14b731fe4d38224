"""From the facts about one signature to its verdict: qualification (only for a signature that is otherwise valid),
judged at the best signature time and at issuance, then the label (`labels.label_for`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asn1crypto import x509 as asn1_x509

from intake.privacy import redact
from intake.signatures.engine import Engine
from intake.signatures.facts import SignatureFacts, error_evidence, safe, signer_display_name
from intake.signatures.labels import INDETERMINATE_REASONS, INVALID_REASONS, label_for, merge
from intake.signatures.qualification import Qualification, read_qc_statements
from intake.signatures.timing import check_claimed_time
from intake.signatures.verdicts import SignatureVerdict


def decide(engine: Engine, facts: SignatureFacts) -> SignatureVerdict:
    if engine.revocation == "off":
        facts.reasons.append("revocation_not_checked")
    if facts.proven_time is None:
        facts.reasons.append("claimed_time_unproven")
    check_claimed_time(facts)
    facts.reasons.extend(facts.timestamp_reasons)
    qualification = None
    identifier = None
    if facts.signer_cert is not None:
        try:
            identifier = read_qc_statements(facts.signer_cert).semantics_identifier
        except Exception as exc:
            facts.evidence["qc_statements_error"] = error_evidence(exc)
    blocking = (INVALID_REASONS | INDETERMINATE_REASONS) & set(facts.reasons)
    if not blocking and facts.signer_cert is not None and facts.best_time is not None:
        issuer = facts.chain[-2] if len(facts.chain) >= 2 else None
        try:
            qualification = engine.trust.assess(facts.signer_cert, issuer, facts.best_time, at=facts.validation_time)
        except Exception as exc:
            facts.reasons.append("library_error")
            facts.evidence["qualification_error"] = error_evidence(exc)
    label, reasons = label_for(facts.reasons, qualification)
    facts.evidence.update(_qualification_evidence(qualification))
    facts.evidence["chain"] = [redact(cert.subject.human_friendly) for cert in facts.chain]
    facts.evidence["best_signature_time"] = facts.best_time.isoformat() if facts.best_time else None
    if facts.modifications:
        facts.evidence["modifications"] = list(facts.modifications)
    return SignatureVerdict(
        label=label,
        signer=signer_display_name(facts.signer_cert),
        signer_identifier=identifier,
        signed_at=facts.signed_at,
        time_source=facts.time_source,
        coverage=facts.coverage,
        modified_after_signing=facts.modified_after_signing,
        field_name=facts.field_name,
        reasons=reasons,
        qualification=qualification,
        evidence=facts.evidence,
        timestamp_qualified=facts.timestamp_qualified,
        trusted_list=_list_of(qualification),
        modifications=tuple(facts.modifications),
    )


def _list_of(q: Qualification | None) -> dict[str, Any] | None:
    if q is None or q.source != "trusted_list":
        return None
    return {"territory": q.tl_territory, "sequence": q.tl_sequence}


def _qualification_evidence(q: Qualification | None) -> dict[str, Any]:
    if q is None:
        return {"qualification": None}
    return {
        "qualification": {
            "qualified": q.qualified,
            "qscd": q.qscd,
            "qc_type": q.qc_type,
            "source": q.source,
            "service_name": q.service_name,
            "at_signing": q.at_signing,
            "at_issuance": q.at_issuance,
            "reasons": list(q.reasons),
        },
        "tl_sequence": q.tl_sequence,
        "tl_territory": q.tl_territory,
    }


def library_error_verdict(
    exc: BaseException,
    *,
    field_name: str | None = None,
    signer_cert: asn1_x509.Certificate | None = None,
    evidence: dict[str, Any] | None = None,
    extra_reasons: Sequence[str] = (),
) -> SignatureVerdict:
    """A signature the library could not process: staff must look. Never QES."""
    return SignatureVerdict(
        label="indeterminate",
        signer=safe(lambda: signer_display_name(signer_cert)),
        signer_identifier=None,
        signed_at=None,
        time_source=None,
        coverage=None,
        modified_after_signing=None,
        field_name=field_name,
        reasons=merge(("library_error",), extra_reasons),
        qualification=None,
        evidence={**(evidence or {}), "library_error": error_evidence(exc)},
    )


def undecided_verdict(
    reasons: Sequence[str],
    *,
    field_name: str | None = None,
    signer_cert: asn1_x509.Certificate | None = None,
    signed_at: Any = None,
    evidence: dict[str, Any] | None = None,
) -> SignatureVerdict:
    """A signature found but not checkable (unsupported format, orphan dictionary): indeterminate, with why."""
    return SignatureVerdict(
        label="indeterminate",
        signer=safe(lambda: signer_display_name(signer_cert)),
        signer_identifier=None,
        signed_at=signed_at,
        time_source="claimed" if signed_at else None,
        coverage=None,
        modified_after_signing=None,
        field_name=field_name,
        reasons=tuple(reasons),
        qualification=None,
        evidence=evidence or {},
    )
