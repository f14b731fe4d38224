"""The verdict rules, as data: which reason gives which label, and what each reason means.

A signature gets one label (`QES`, `AdES-QC`, `AdES`, `invalid`, `indeterminate`; a document without one `none`)
and the reasons behind it. The rule, in the order ETSI EN 319 102-1 and the eIDAS Regulation apply it:

1. any reason whose effect is INVALID   → `invalid`       (broken, tampered, or made with a certificate that could
                                                          not sign at a proven time: EN 319 102-1 TOTAL-FAILED)
2. else any reason whose effect is UNDECIDED → `indeterminate` (the evidence does not allow a decision, often through
                                                          no fault of the citizen: EN 319 102-1 INDETERMINATE)
3. else the qualification of the signer's certificate (eIDAS Art. 3(12), 3(15), Annex I/II; ETSI TS 119 615),
   judged at the best signature time and at issuance:
   qualified, for e-signatures, key on a QSCD → `QES`; qualified without QSCD evidence → `AdES-QC`;
   anything else → `AdES`.
Reasons whose effect is NOTE never change a label; QUALIFICATION reasons explain a step-3 result.

The best signature time is the time a trusted time-stamp proves; the signer's own claimed signing time is never
proof (EN 319 102-1 5.6.2.1: without a proof of existence the best-signature-time is the validation time), so it
can lower a label (a claimed time after revocation or outside the certificate's validity) but never raise one.

This module is pure: no I/O, no pyHanko. A lawyer can read `REASONS` top to bottom.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from intake.signatures.qualification import Qualification

Effect = Literal["invalid", "undecided", "qualification", "note"]
INVALID: Effect = "invalid"
UNDECIDED: Effect = "undecided"
QUALIFICATION: Effect = "qualification"
NOTE: Effect = "note"

LABELS = ("QES", "AdES-QC", "AdES", "indeterminate", "invalid", "none")
VALID_LABELS = ("QES", "AdES-QC", "AdES")
# Strongest first: a label satisfies a rule that asks for a weaker one.
LABEL_STRENGTH = {"QES": 5, "AdES-QC": 4, "AdES": 3, "indeterminate": 2, "invalid": 1, "none": 0}


@dataclass(frozen=True)
class Reason:
    code: str
    effect: Effect
    meaning: str  # English, for staff documentation and the README
    cause_ro: str | None = None  # Romanian, completes the recipisă sentence ("...: <cause_ro>.")


REASONS: tuple[Reason, ...] = (
    # ---- invalid: the signature is broken or could not have been made (EN 319 102-1 TOTAL-FAILED) ----------------
    Reason("tampered", INVALID, "the signed bytes were changed after signing (hash mismatch)",
           "documentul a fost modificat după semnare"),
    Reason("signature_cryptographically_invalid", INVALID, "the signature value does not match the signed data",
           "valoarea semnăturii nu corespunde documentului"),
    Reason("revoked_before_signing", INVALID,
           "the certificate was revoked before the proven signing time, or before the time the signer claims",
           "certificatul semnatarului fusese revocat înainte de semnare"),
    Reason("expired_at_signing_time", INVALID, "a time-stamp proves the signature was made after the certificate "
           "expired", "certificatul semnatarului era expirat la data semnării"),
    Reason("not_yet_valid_at_signing_time", INVALID, "a time-stamp proves the signature was made before the "
           "certificate was valid", "certificatul semnatarului nu era încă valabil la data semnării"),
    Reason("weak_algorithm", INVALID, "a broken algorithm (MD5, SHA-1) protects the signature",
           "semnătura folosește un algoritm criptografic depășit (SHA-1)"),
    Reason("untrusted_chain", INVALID, "the certificate does not chain to any trusted list or configured anchor",
           "certificatul nu provine de la un furnizor de servicii de încredere"),
    Reason("certificate_not_for_signing", INVALID, "the certificate's key usage does not allow signatures",
           "certificatul nu este destinat semnăturii electronice"),
    # ---- indeterminate: no decision on this evidence (EN 319 102-1 INDETERMINATE); staff look --------------------
    Reason("trusted_list_unavailable", UNDECIDED, "a configured trusted list could not be loaded or verified: the "
           "fault is ours, the signer's CA may well be in it",
           "lista de încredere necesară verificării nu este disponibilă momentan"),
    Reason("trusted_list_expired", UNDECIDED, "the trusted list the verdict depends on is past its NextUpdate "
           "(plus trust.next_update_grace_hours) or its operator certificate has expired",
           "lista de încredere necesară verificării nu este actualizată"),
    Reason("trust_not_configured", UNDECIDED, "no trusted list, LOTL or anchor is configured: nothing can be trusted",
           "nu este configurată nicio sursă de încredere"),
    Reason("revocation_unreachable", UNDECIDED, "no OCSP or CRL answer for a certificate of the chain",
           "starea de revocare a certificatului nu a putut fi obținută"),
    Reason("revoked_time_unproven", UNDECIDED, "the certificate is revoked and no time-stamp proves the signature is "
           "older than the revocation", "certificatul a fost revocat, iar momentul semnării nu este dovedit prin "
           "marcă temporală"),
    Reason("certificate_expired_time_unproven", UNDECIDED, "the certificate has expired and no time-stamp proves "
           "the signature was made while it was valid", "certificatul a expirat, iar momentul semnării nu este "
           "dovedit prin marcă temporală"),
    Reason("claimed_time_after_certificate_expiry", UNDECIDED, "the signer claims a signing time after the "
           "certificate's notAfter; only a proven time could make the signature expired",
           "ora declarată a semnării este ulterioară expirării certificatului"),
    Reason("claimed_time_before_certificate_issuance", UNDECIDED, "the signer claims a signing time before the "
           "certificate's notBefore", "ora declarată a semnării este anterioară emiterii certificatului"),
    Reason("modified_after_signing", UNDECIDED, "the PDF was changed after the signature in a way other than new "
           "signatures, document time-stamps and validation data (field values, annotations over the signed "
           "content, page content, removed validation data)", "documentul a fost modificat după semnare"),
    Reason("docmdp_violation", UNDECIDED, "changes forbidden by the certifying signature's DocMDP permissions",
           "documentul a fost modificat contrar restricțiilor stabilite la semnare"),
    Reason("not_whole_document", UNDECIDED, "the signature does not cover its whole revision of the file",
           "semnătura nu acoperă întregul document"),
    Reason("timestamp_invalid", UNDECIDED, "the signature time-stamp is broken",
           "marca temporală a semnăturii nu este validă"),
    Reason("chain_validation_failed", UNDECIDED, "the chain could not be validated for another reason",
           "lanțul de certificate nu a putut fi validat"),
    Reason("unsupported_subfilter", UNDECIDED, "a PDF signature format the library cannot check (e.g. "
           "adbe.pkcs7.sha1)", "formatul semnăturii nu este suportat"),
    Reason("unsupported_signature_algorithm", UNDECIDED, "a signature algorithm the library cannot check "
           "(plain-ECDSA)", "algoritmul semnăturii nu este suportat"),
    Reason("detached_content_missing", UNDECIDED, "a detached signature (.p7s) without the file it signs",
           "lipsește documentul semnat"),
    Reason("signature_not_in_form", UNDECIDED, "a signature dictionary no signature field references",
           "semnătura nu este legată de un câmp de semnătură al documentului"),
    Reason("library_error", UNDECIDED, "the verification library failed on this file; never a positive verdict",
           "eroare la analiza semnăturii"),
    # ---- qualification: why a valid signature is AdES-QC or AdES rather than QES (TS 119 615) ---------------------
    Reason("not_qualified", QUALIFICATION, "the certificate is not a qualified certificate"),
    Reason("no_qscd", QUALIFICATION, "qualified certificate without evidence that the key is on a QSCD"),
    Reason("qc_type_eseal", QUALIFICATION, "a qualified certificate for electronic seals (an organisation)"),
    Reason("qc_type_web", QUALIFICATION, "a qualified certificate for website authentication"),
    Reason("qc_type_ambiguous", QUALIFICATION, "several certificate types and nothing to choose between them"),
    Reason("qc_type_not_in_service_scope", QUALIFICATION, "the trust service is restricted to other certificate "
           "types"),
    Reason("ca_not_in_trusted_list_at_signing_time", QUALIFICATION, "the issuing CA was not a granted CA/QC service "
           "at the best signature time (the proven time, else the validation time)"),
    Reason("ca_not_in_trusted_list_at_issuance", QUALIFICATION, "the issuing CA was not a granted CA/QC service "
           "when the certificate was issued"),
    # ---- notes: recorded for staff and auditors, never change a label ----------------------------------------------
    Reason("claimed_time_unproven", NOTE, "no trusted time-stamp: the time shown is the signer's claim; the verdict "
           "was decided at the validation time"),
    Reason("timestamp_untrusted", NOTE, "the signature time-stamp's authority is not trusted (not a granted "
           "TSA/QTST of a trusted list at the time-stamp's time, nor chained to a trusted CA)"),
    Reason("revoked_after_signing", NOTE, "the certificate was revoked after the proven signing time"),
    Reason("revocation_not_checked", NOTE, "trust.revocation = off"),
    Reason("revocation_soft_failed", NOTE, "trust.revocation = soft-fail and revocation data was missing"),
    Reason("self_signed_certificate", NOTE, "the signer's certificate is self-signed"),
    Reason("signature_referenced_from_multiple_fields", NOTE, "one signature object is used by several fields"),
    Reason("difference_analysis_failed", NOTE, "the modification analysis crashed (comes with library_error)"),
    Reason("retried_non_strict", NOTE, "the PDF was read leniently after a strict read failed"),
    Reason("hybrid_xref_retried_non_strict", NOTE, "a hybrid-reference PDF, read leniently"),
    Reason("third_party_signature", NOTE, "document level: someone other than the applicant also signed the file"),
    Reason("other_signature_not_valid", NOTE, "document level: a signature beside the applicant's is invalid or "
           "indeterminate"),
    Reason("no_signature", NOTE, "the document carries no signature"),
    Reason("unreadable_pdf", NOTE, "the PDF could not be parsed (comes with library_error)"),
    Reason("encrypted", NOTE, "the PDF is encrypted (comes with library_error when it cannot be opened)"),
    Reason("unreadable_cms", NOTE, "the CMS container could not be parsed (comes with library_error)"),
)  # fmt: skip

BY_CODE = {reason.code: reason for reason in REASONS}
INVALID_REASONS = frozenset(r.code for r in REASONS if r.effect == INVALID)
INDETERMINATE_REASONS = frozenset(r.code for r in REASONS if r.effect == UNDECIDED)


def effect_of(code: str) -> Effect:
    reason = BY_CODE.get(code)
    return reason.effect if reason else NOTE


def label_for(reasons: Sequence[str], qualification: Qualification | None) -> tuple[str, tuple[str, ...]]:
    """The label of one signature from its reasons and its qualification; returns (label, reasons incl. added)."""
    reasons = tuple(dict.fromkeys(reasons))
    if INVALID_REASONS.intersection(reasons):
        return "invalid", reasons
    if INDETERMINATE_REASONS.intersection(reasons):
        return "indeterminate", reasons
    if qualification is not None and INDETERMINATE_REASONS.intersection(qualification.reasons):
        # e.g. the list that would say whether the CA is qualified is expired or could not be loaded
        return "indeterminate", merge(reasons, qualification.reasons)
    if qualification is None or not qualification.qualified:
        extra = ("not_qualified",) if "not_qualified" not in reasons else ()
        return "AdES", merge(reasons, extra, qualification.reasons if qualification else ())
    q = qualification
    if q.qc_type == "eseal":  # a qualified seal belongs to an organisation: not a citizen's signature
        return "AdES", merge(reasons, ("qc_type_eseal",), q.reasons)
    if q.qc_type == "web":
        return "AdES", merge(reasons, ("qc_type_web",), q.reasons)
    if q.qscd is True and q.qc_type in ("esign", None):
        return "QES", merge(reasons, (), q.reasons)
    return "AdES-QC", merge(reasons, ("no_qscd",), q.reasons)


def merge(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reason for group in groups for reason in group))


def weakest(labels: Iterable[str]) -> str:
    return min(labels, key=lambda label: LABEL_STRENGTH.get(label, 0), default="none")


def strongest(labels: Iterable[str]) -> str:
    return max(labels, key=lambda label: LABEL_STRENGTH.get(label, 0), default="none")


def cause_ro(label: str, reasons: Sequence[str]) -> str | None:
    """The first Romanian cause of `label` among `reasons`, in the order of `REASONS` (most telling first)."""
    wanted = INVALID if label == "invalid" else UNDECIDED
    present = set(reasons)
    return next((r.cause_ro for r in REASONS if r.effect == wanted and r.code in present and r.cause_ro), None)
