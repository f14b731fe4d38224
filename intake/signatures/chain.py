"""Chain, expiry and revocation: pyHanko's trust verdict turned into our reasons, decided against the best
signature time (a proven time, else the validation time; see timing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509

from intake.signatures.engine import Engine
from intake.signatures.facts import SignatureFacts, error_evidence, path_certs
from intake.signatures.timing import check_validity_at_proven_time


async def assess_chain(
    engine: Engine,
    facts: SignatureFacts,
    status: Any,
    validation_context: Any,
    other_certs: Sequence[asn1_x509.Certificate],
    revinfo: tuple[list[Any], list[Any]],
) -> None:
    from pyhanko.sign.ades.report import AdESIndeterminate

    indic = status.trust_problem_indic
    path = status.validation_path
    if path is not None:
        facts.chain = path_certs(path)
    facts.evidence["trust_problem"] = indic.name if indic is not None else None
    if indic is None:
        return
    if indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        untrusted(engine, facts)
        return
    if indic in (AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE, AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE):
        facts.reasons.append("weak_algorithm")
        return
    if indic in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE):
        details = status.revocation_details
        decide_revocation(facts, getattr(details, "revocation_date", None), bool(getattr(details, "ca_revoked", 0)))
        return
    if indic == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE:
        await _decide_out_of_bounds(engine, facts, other_certs, revinfo)
        return
    # CHAIN_CONSTRAINTS_FAILURE, CERTIFICATE_CHAIN_GENERAL_FAILURE, TRY_LATER, NO_POE: pyHanko folds several
    # causes into these; ask pyhanko-certvalidator again (revocation data is cached in the context) for the cause.
    await _classify_chain_failure(engine, facts, validation_context, other_certs)


def untrusted(engine: Engine, facts: SignatureFacts) -> None:
    """No chain to anything we trust. When a configured list could not be loaded, or nothing is configured at all,
    that is our fault, not the signer's: undecided rather than invalid."""
    if not engine.trust.configured:
        facts.reasons.append("trust_not_configured")
    elif engine.trust.unavailable:
        facts.reasons.append("trusted_list_unavailable")
    else:
        facts.reasons.append("untrusted_chain")


def decide_revocation(facts: SignatureFacts, revoked_at: datetime | None, ca_revoked: bool) -> None:
    """Revoked before a proven time: invalid. Revoked before the time the signer claims: invalid too, on the
    signer's own word. Otherwise, without a proof that the signature is older than the revocation: undecided."""
    facts.evidence["revoked_at"] = revoked_at.isoformat() if revoked_at else None
    facts.evidence["revoked_ca"] = ca_revoked
    if revoked_at is None:
        facts.reasons.append("revoked_before_signing")
    elif facts.proven_time is not None:
        facts.reasons.append("revoked_before_signing" if revoked_at <= facts.proven_time else "revoked_after_signing")
    elif facts.claimed_time is not None and revoked_at <= facts.claimed_time:
        facts.reasons.append("revoked_before_signing")
    else:
        facts.reasons.extend(("revoked_after_signing", "revoked_time_unproven"))


async def _decide_out_of_bounds(
    engine: Engine,
    facts: SignatureFacts,
    other_certs: Sequence[asn1_x509.Certificate],
    revinfo: tuple[list[Any], list[Any]],
) -> None:
    """The signer's certificate is outside its validity at the validation time. Outside it at a proven time:
    invalid. Inside it at a proven time: validate the chain at that time with the embedded revocation data
    (PAdES-LT). No proven time: undecided."""
    check_validity_at_proven_time(facts)
    if {"expired_at_signing_time", "not_yet_valid_at_signing_time"} & set(facts.reasons):
        return
    if facts.proven_time is None or facts.signer_cert is None:
        facts.reasons.append("certificate_expired_time_unproven")
        return
    from pyhanko_certvalidator import CertificateValidator

    context = engine.context(
        other_certs=other_certs, crls=revinfo[0], ocsps=revinfo[1], moment=facts.proven_time, point_in_time=True
    )
    try:
        path = await CertificateValidator(facts.signer_cert, other_certs, context).async_validate_path()
        facts.chain = path_certs(path)
        facts.evidence["validated_at_signing_time"] = True
    except Exception as exc:
        reason_from_certvalidator_error(engine, facts, exc)


async def _classify_chain_failure(
    engine: Engine, facts: SignatureFacts, validation_context: Any, other_certs: Sequence[asn1_x509.Certificate]
) -> None:
    from pyhanko_certvalidator import CertificateValidator

    if facts.signer_cert is None:
        facts.reasons.append("chain_validation_failed")
        return
    try:
        path = await CertificateValidator(facts.signer_cert, other_certs, validation_context).async_validate_path()
    except Exception as exc:
        reason_from_certvalidator_error(engine, facts, exc)
        return
    # the path itself is fine: what failed was the certificate's key usage for signing
    facts.chain = path_certs(path)
    facts.reasons.append("certificate_not_for_signing")


def reason_from_certvalidator_error(engine: Engine, facts: SignatureFacts, exc: Exception) -> None:
    from pyhanko_certvalidator import errors

    facts.evidence["chain_error"] = error_evidence(exc)
    original = getattr(exc, "original_path", None)
    if original is not None and not facts.chain:
        facts.chain = path_certs(original)
    if isinstance(exc, errors.InsufficientRevinfoError):
        facts.reasons.append("revocation_unreachable")
    elif isinstance(exc, errors.RevokedError):
        if getattr(exc, "is_side_validation", False):
            facts.reasons.append("chain_validation_failed")
        else:
            decide_revocation(facts, exc.revocation_dt, not exc.is_ee_cert)
    elif isinstance(exc, (errors.ExpiredError, errors.NotYetValidError)):
        check_validity_at_proven_time(facts)
        if not {"expired_at_signing_time", "not_yet_valid_at_signing_time"} & set(facts.reasons):
            facts.reasons.append("certificate_expired_time_unproven")
    elif isinstance(exc, errors.DisallowedAlgorithmError):
        facts.reasons.append("weak_algorithm")
    elif isinstance(exc, errors.PathBuildingError):
        untrusted(engine, facts)
    elif isinstance(exc, errors.InvalidCertificateError) and "self-signed" in str(exc):
        untrusted(engine, facts)
        facts.reasons.append("self_signed_certificate")
    elif isinstance(exc, errors.InvalidCertificateError):
        facts.reasons.append("certificate_not_for_signing")
    else:
        facts.reasons.append("chain_validation_failed")
