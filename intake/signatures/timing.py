"""When was the signature made, and what does that prove? (EN 319 102-1 5.6.2.1, TS 119 615)

- A signature time-stamp whose authority we trust at the time-stamp's time proves the signature existed then: the
  best signature time. Its authority is trusted when the chain pyHanko validated ends at a listed CA or anchor, or
  at a TSA/QTST service that the trusted list grants (QTST: the time-stamp is qualified) at that time.
- Otherwise the best signature time is the validation time. The signer's claimed signing-time is shown, flagged as
  unproven, and is never enough to raise a label: expiry and qualification are judged at the validation time. A
  claim can still lower a label: a claimed time outside the certificate's validity is inconsistent
  (indeterminate), and a claimed time after a revocation is the signer's own admission (invalid, see chain.py).
"""

from __future__ import annotations

from typing import Any

from intake.privacy import redact
from intake.signatures.engine import Engine
from intake.signatures.facts import SignatureFacts, path_certs, safe


def establish_time(engine: Engine, facts: SignatureFacts, status: Any) -> None:
    """Fill the time facts from a pyHanko signature status (PDF or CMS)."""
    facts.claimed_time = getattr(status, "signer_reported_dt", None)
    if facts.claimed_time is not None:
        facts.evidence["claimed_time"] = facts.claimed_time.isoformat()
    ts = getattr(status, "timestamp_validity", None)
    if ts is None:
        return
    evidence: dict[str, Any] = {
        "time": ts.timestamp.isoformat() if ts.timestamp else None,
        "intact": ts.intact,
        "valid": ts.valid,
        "trusted": ts.trusted,
        "tsa": redact(ts.signing_cert.subject.human_friendly) if ts.signing_cert is not None else None,
    }
    facts.evidence["timestamp"] = evidence
    if not (ts.intact and ts.valid) or ts.timestamp is None:
        facts.reasons.append("timestamp_invalid")
        return
    trust = None
    if ts.trusted and ts.signing_cert is not None:
        chain = path_certs(ts.validation_path) if ts.validation_path is not None else []
        issuer = chain[-2] if len(chain) >= 2 else None
        anchor = safe(lambda: ts.validation_path.trust_anchor.authority.certificate)
        trust = engine.trust.assess_timestamp(
            ts.signing_cert,
            issuer,
            ts.timestamp,
            at=facts.validation_time or ts.timestamp,
            anchored_by_ca=anchor is not None and engine.trust.is_ca_root(anchor),
        )
        evidence.update(
            tsa_trust=trust.source,
            qualified=trust.qualified,
            tsa_service=trust.service_name,
            tsa_list={"territory": trust.territory, "sequence": trust.tl_sequence} if trust.territory else None,
        )
    if trust is None or not trust.trusted:
        facts.reasons.append("timestamp_untrusted")
        if trust is not None:
            facts.reasons.extend(trust.reasons)
        return
    facts.proven_time = ts.timestamp
    facts.timestamp_qualified = trust.qualified
    facts.timestamp_reasons.extend(trust.reasons)


def check_validity_at_proven_time(facts: SignatureFacts) -> None:
    """Certificate validity at a proven signing time, for every certificate of the chain (pyHanko's AdES-with-time
    validation once answered OK for a certificate expired before signing). A proven time outside the validity makes
    the signature invalid: EN 319 102-1 EXPIRED / NOT_YET_VALID need that proof."""
    when = facts.proven_time
    if when is None:
        return
    certs = facts.chain or ([facts.signer_cert] if facts.signer_cert is not None else [])
    for cert in certs:
        window = _validity(cert)
        if window is None:
            continue
        not_before, not_after = window
        if when > not_after:
            facts.reasons.append("expired_at_signing_time")
            facts.evidence.setdefault("expired_certificate", redact(cert.subject.human_friendly))
        elif when < not_before:
            facts.reasons.append("not_yet_valid_at_signing_time")
            facts.evidence.setdefault("not_yet_valid_certificate", redact(cert.subject.human_friendly))


def check_claimed_time(facts: SignatureFacts) -> None:
    """A claimed signing time outside the signer certificate's validity: the claim contradicts the certificate.
    Without proof it cannot make the signature expired or not yet valid, so it leaves it undecided."""
    if facts.proven_time is not None or facts.claimed_time is None or facts.signer_cert is None:
        return
    window = _validity(facts.signer_cert)
    if window is None:
        return
    not_before, not_after = window
    if facts.claimed_time > not_after:
        facts.reasons.append("claimed_time_after_certificate_expiry")
    elif facts.claimed_time < not_before:
        facts.reasons.append("claimed_time_before_certificate_issuance")


def _validity(cert: Any) -> tuple[Any, Any] | None:
    try:
        validity = cert["tbs_certificate"]["validity"]
        return validity["not_before"].native, validity["not_after"].native
    except Exception:
        return None
