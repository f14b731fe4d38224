"""Signature verification "like DSS does": every signature of a PDF (PAdES / adbe.pkcs7.*) or CAdES container gets
a label (QES, AdES-QC, AdES, invalid, indeterminate) with machine-readable reasons, and the document gets the
weakest of them, never stronger than what its last revision supports.

pyHanko does the cryptography (integrity, signature value, chain, revocation, time-stamps, difference analysis);
this module decides. It re-checks what pyHanko is known to get wrong or not to decide (stack-notes.md):
certificate validity at the best signature time, revocation before/after that time, SHA-1, signatures with a
SubFilter pyHanko skips, hybrid-xref files, exceptions on real files. `verify_document` never raises: whatever
goes wrong becomes `indeterminate` + `library_error`, never `QES`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509

from intake.privacy import redact
from intake.signatures import report
from intake.signatures.qualification import Qualification, TrustStore, read_qc_statements

log = logging.getLogger(__name__)

# pyHanko logs full tracebacks at WARNING for failures we expect and report ourselves.
for _noisy in ("pyhanko", "pyhanko_certvalidator", "pypdf"):
    if logging.getLogger(_noisy).getEffectiveLevel() < logging.ERROR:
        logging.getLogger(_noisy).setLevel(logging.ERROR)

RevocationMode = Literal["require", "soft-fail", "off"]

# ------------------------------------------------------------------------------------------------ the decision rules
VALID_LABELS = ("QES", "AdES-QC", "AdES")
# Any of these makes a signature `invalid`: the signature is broken or was made with a certificate that could not
# sign at that time.
INVALID_REASONS = frozenset(
    {
        "tampered",
        "signature_cryptographically_invalid",
        "untrusted_chain",
        "expired_at_signing_time",
        "not_yet_valid_at_signing_time",
        "revoked_before_signing",
        "weak_algorithm",
        "certificate_not_for_signing",
    }
)
# Any of these (and no invalid reason) makes it `indeterminate`: staff must look.
INDETERMINATE_REASONS = frozenset(
    {
        "revocation_unreachable",
        "modified_after_signing",
        "docmdp_violation",
        "library_error",
        "unsupported_subfilter",
        "unsupported_signature_algorithm",
        "revoked_time_unproven",
        "certificate_expired_time_unproven",
        "chain_validation_failed",
        "timestamp_invalid",
        "detached_content_missing",
        "signature_not_in_form",
    }
)
# Strength of a label: the document gets the weakest of its signatures.
LABEL_STRENGTH = {"QES": 5, "AdES-QC": 4, "AdES": 3, "indeterminate": 2, "invalid": 1, "none": 0}
WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
# PDF signature SubFilters pyHanko validates as signatures (the others it skips or refuses).
SUPPORTED_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
TIMESTAMP_SUBFILTER = "/ETSI.RFC3161"
# pyHanko's difference analysis: these levels of change after a signature are legitimate.
ALLOWED_MODIFICATIONS = frozenset({"NONE", "LTA_UPDATES", "FORM_FILLING", "ANNOTATIONS"})


@dataclass(frozen=True)
class VerificationPolicy:
    trust: TrustStore
    revocation: RevocationMode = "require"
    validation_time: datetime | None = None  # None = now
    allow_fetching: bool = True  # OCSP/CRL over the network (tests: 127.0.0.1 only)


@dataclass(frozen=True)
class SignatureVerdict:
    label: str
    signer: str | None
    signer_identifier: str | None
    signed_at: datetime | None
    time_source: str | None
    coverage: str | None
    modified_after_signing: bool | None
    field_name: str | None
    reasons: tuple[str, ...]
    qualification: Qualification | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "time_source": self.time_source,
            "coverage": self.coverage,
            "modified_after_signing": self.modified_after_signing,
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

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "reasons": list(self.reasons),
            "summary": self.summary_ro,
            "signatures": [signature.as_json() for signature in self.signatures],
        }


def label_for(reasons: Sequence[str], qualification: Qualification | None) -> tuple[str, tuple[str, ...]]:
    """The label of one signature from its reasons and its qualification; returns (label, reasons incl. added)."""
    reasons = tuple(dict.fromkeys(reasons))
    if INVALID_REASONS.intersection(reasons):
        return "invalid", reasons
    if INDETERMINATE_REASONS.intersection(reasons):
        return "indeterminate", reasons
    if qualification is None or not qualification.qualified:
        extra = ("not_qualified",) if "not_qualified" not in reasons else ()
        return "AdES", _merge(reasons, extra, qualification.reasons if qualification else ())
    q = qualification
    if q.qc_type == "eseal":  # a qualified seal belongs to an organisation: not a citizen's signature
        return "AdES", _merge(reasons, ("qc_type_eseal",), q.reasons)
    if q.qc_type == "web":
        return "AdES", _merge(reasons, ("qc_type_web",), q.reasons)
    if q.qscd is True and q.qc_type in ("esign", None):
        return "QES", _merge(reasons, (), q.reasons)
    return "AdES-QC", _merge(reasons, ("no_qscd",), q.reasons)


def _merge(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reason for group in groups for reason in group))


def weakest(labels: Sequence[str]) -> str:
    return min(labels, key=lambda label: LABEL_STRENGTH.get(label, 0), default="none")


# ------------------------------------------------------------------------------------------------ entry points
def verify_document(
    filename: str, data: bytes, policy: VerificationPolicy, detached_content: bytes | None = None
) -> DocumentVerdict:
    """The verdict on every signature of a PDF, .p7s (detached content given by the caller) or .p7m. Never raises."""
    decided_at = datetime.now(UTC)
    try:
        result = _run(_verify(filename, data, policy, detached_content, decided_at))
    except Exception as exc:
        log.warning("signature verification of %s failed: %s", redact(filename), _short(exc))
        result = _Outcome(signatures=[], doc_reasons=["library_error"], evidence={"error": _error_evidence(exc)})
    try:
        return _document_verdict(result, decided_at)
    except Exception as exc:
        log.warning("building the verdict of %s failed: %s", redact(filename), _short(exc))
        return _document_verdict(
            _Outcome(signatures=[], doc_reasons=["library_error"], evidence={"error": _error_evidence(exc)}),
            decided_at,
        )


def verify_files(paths: Sequence[Path], policy: VerificationPolicy) -> list[dict[str, Any]]:
    """The JSON of `intake verify FILE... --json`: a .p7s signs the file beside it with the same name minus .p7s."""
    results = []
    for path in paths:
        data = path.read_bytes()
        detached = None
        if path.suffix.lower() == ".p7s":
            content_path = path.with_name(path.name[: -len(path.suffix)])
            detached = content_path.read_bytes() if content_path.is_file() else None
        verdict = verify_document(path.name, data, policy, detached_content=detached)
        document = verdict.as_json()
        signatures = document.pop("signatures")
        results.append({"file": str(path), "signature": document, "signatures": signatures})
    return results


# ------------------------------------------------------------------------------------------------ plumbing
_T = TypeVar("_T")


def _run(coro: Awaitable[_T]) -> _T:
    """asyncio.run, also when called from inside a running event loop (then in a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="verify-signature")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return redact(f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__)


def _error_evidence(exc: BaseException, where: str | None = None) -> dict[str, Any]:
    text = redact(" ".join(str(exc).split())[:300])
    return {"type": type(exc).__name__, "message": text, **({"where": where} if where else {})}


@dataclass
class _Outcome:
    """What the format-specific verifiers found, before the document-level decision."""

    signatures: list[SignatureVerdict]
    doc_reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    report_xml: str | None = None
    enveloped_content: bytes | None = None
    cap: str | None = None  # the strongest label the last revision supports


async def _verify(
    filename: str, data: bytes, policy: VerificationPolicy, detached: bytes | None, decided_at: datetime
) -> _Outcome:
    engine = _engine_for(policy)
    kind = _container_kind(filename, data)
    if kind == "cms":
        return await _verify_cms(engine, filename, data, detached, decided_at)
    return await _verify_pdf(engine, data, decided_at)


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


def _document_verdict(outcome: _Outcome, decided_at: datetime) -> DocumentVerdict:
    signatures = tuple(outcome.signatures)
    doc_reasons = list(outcome.doc_reasons)
    if not signatures:
        label = "indeterminate" if "library_error" in doc_reasons else "none"
        if label == "none":
            doc_reasons.insert(0, "no_signature")
        decisive = None
    else:
        label = weakest([s.label for s in signatures])
        decisive = next(s for s in signatures if s.label == label)
        if outcome.cap and LABEL_STRENGTH[label] > LABEL_STRENGTH[outcome.cap]:
            label = outcome.cap
        # every signature at the weakest label says why (e.g. two invalid signatures, one tampered, one untrusted)
        doc_reasons = list(_merge(*(s.reasons for s in signatures if s.label == decisive.label), doc_reasons))
    verdict = DocumentVerdict(
        label=label,
        signer=decisive.signer if decisive else None,
        signed_at=decisive.signed_at if decisive else None,
        reasons=tuple(dict.fromkeys(doc_reasons)),
        signatures=signatures,
        summary_ro="",
        decided_at=decided_at,
        report_xml=outcome.report_xml,
        enveloped_content=outcome.enveloped_content,
    )
    return replace(verdict, summary_ro=report.summary_ro(verdict))


# ------------------------------------------------------------------------------------------------ validation engine
class _Engine:
    """What is built once per policy: the trust manager over the trust roots and the validation settings."""

    def __init__(self, policy: VerificationPolicy) -> None:
        from pyhanko_certvalidator.authority import CertTrustAnchor
        from pyhanko_certvalidator.context import SimpleTrustManager

        self.policy = policy
        roots = list(policy.trust.trust_roots)
        self.trust_roots = roots
        self.trust_manager = SimpleTrustManager.build(trust_roots=[CertTrustAnchor(cert) for cert in roots])

    @property
    def revocation(self) -> RevocationMode:
        return self.policy.revocation

    def validation_time(self) -> datetime | None:
        return self.policy.validation_time

    def context(
        self,
        *,
        other_certs: Sequence[asn1_x509.Certificate] = (),
        crls: Sequence[Any] = (),
        ocsps: Sequence[Any] = (),
        fetcher_backend: Any = None,
        moment: datetime | None = None,
        point_in_time: bool = False,
    ) -> Any:
        """A fresh ValidationContext (it caches fetched revocation data and the decision moment: one per document)."""
        from pyhanko_certvalidator import ValidationContext

        mode = self.revocation
        fetching = self.policy.allow_fetching and mode != "off" and not point_in_time and moment is None
        kwargs: dict[str, Any] = {
            "trust_manager": self.trust_manager,
            "other_certs": list(other_certs),
            "allow_fetching": fetching,
            # pyhanko-certvalidator: "require" = revocation information must be found for every certificate
            "revocation_mode": {"require": "require", "soft-fail": "soft-fail", "off": "soft-fail"}[mode],
            "crls": [] if mode == "off" else list(crls),
            "ocsps": [] if mode == "off" else list(ocsps),
            "retroactive_revinfo": point_in_time,
        }
        if moment is not None:
            kwargs["moment"] = moment
        if fetching and fetcher_backend is not None:
            kwargs["fetcher_backend"] = fetcher_backend
        return ValidationContext(**kwargs)

    def fetcher_backend(self) -> Any:
        if not self.policy.allow_fetching or self.revocation == "off":
            return None
        from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

        return AIOHttpFetcherBackend(per_request_timeout=10)


_ENGINES: dict[int, tuple[VerificationPolicy, tuple[int, ...], _Engine]] = {}
_ENGINES_LOCK = threading.Lock()


def _engine_for(policy: VerificationPolicy) -> _Engine:
    """One engine per policy, rebuilt when the trust store's roots change (the daily trusted-list refresh)."""
    roots_key = tuple(id(cert) for cert in policy.trust.trust_roots)
    with _ENGINES_LOCK:
        cached = _ENGINES.get(id(policy))
        if cached is not None and cached[0] is policy and cached[1] == roots_key:
            return cached[2]
        engine = _Engine(policy)
        if len(_ENGINES) > 32:  # policies are long-lived; this only bounds tests that make many
            _ENGINES.clear()
        _ENGINES[id(policy)] = (policy, roots_key, engine)
        return engine


# ------------------------------------------------------------------------------------------------ shared checks
@dataclass
class SignatureFacts:
    """What the format-specific code learned about one CMS signature; `decide` turns it into a verdict."""

    field_name: str | None = None
    signer_cert: asn1_x509.Certificate | None = None
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    signed_at: datetime | None = None
    time_source: str | None = None
    coverage: str | None = None
    modified_after_signing: bool | None = None
    chain: list[asn1_x509.Certificate] = field(default_factory=list)  # root first, signer last
    ades_subindication: str | None = None  # for the ETSI report
    best_time: datetime | None = None


def signer_display_name(cert: asn1_x509.Certificate | None) -> str | None:
    """Given name + surname when the certificate has them (ETSI EN 319 412-2), else the common name."""
    if cert is None:
        return None
    try:
        subject = cert.subject.native
    except Exception:
        return None

    def one(key: str) -> str | None:
        value = subject.get(key)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        return str(value).strip() if value else None

    given, surname = one("given_name"), one("surname")
    if given and surname:
        return f"{given} {surname}"
    return one("common_name") or one("organization_name") or redact(cert.subject.human_friendly)


def digest_algorithms(signer_info: cms.SignerInfo) -> tuple[str | None, str | None]:
    """(message digest algorithm, signature mechanism), read by us so SHA-1 is named even when pyHanko refuses."""
    try:
        md = signer_info["digest_algorithm"]["algorithm"].native
    except Exception:
        md = None
    try:
        mechanism = signer_info["signature_algorithm"]["algorithm"].native
    except Exception:
        mechanism = None
    return md, mechanism


def is_weak(md: str | None, mechanism: str | None) -> bool:
    if md and md.lower() in WEAK_DIGESTS:
        return True
    return bool(mechanism and re.match(r"^(md2|md5|sha1)_", str(mechanism).lower()))


def check_times(facts: SignatureFacts) -> None:
    """Certificate validity at the best signature time, checked here for every certificate of the chain
    (pyHanko's AdES-with-time validation once answered OK for a certificate expired before signing)."""
    when = facts.best_time
    if when is None:
        return
    certs = facts.chain or ([facts.signer_cert] if facts.signer_cert is not None else [])
    for cert in certs:
        try:
            validity = cert["tbs_certificate"]["validity"]
            not_before, not_after = validity["not_before"].native, validity["not_after"].native
        except Exception:
            continue
        if when > not_after:
            facts.reasons.append("expired_at_signing_time")
            facts.evidence.setdefault("expired_certificate", redact(cert.subject.human_friendly))
        elif when < not_before:
            facts.reasons.append("not_yet_valid_at_signing_time")
            facts.evidence.setdefault("not_yet_valid_certificate", redact(cert.subject.human_friendly))


async def assess_chain(
    engine: _Engine,
    facts: SignatureFacts,
    status: Any,
    validation_context: Any,
    other_certs: Sequence[asn1_x509.Certificate],
    revinfo: tuple[list[Any], list[Any]],
) -> None:
    """Turn pyHanko's trust verdict into reasons, deciding revocation and expiry against the best signature time."""
    from pyhanko.sign.ades.report import AdESIndeterminate

    indic = status.trust_problem_indic
    path = status.validation_path
    if path is not None:
        facts.chain = _path_certs(path)
    facts.evidence["trust_problem"] = indic.name if indic is not None else None
    if indic is None:
        return
    if indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        facts.reasons.append("untrusted_chain")
        return
    if indic in (AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE, AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE):
        facts.reasons.append("weak_algorithm")
        return
    if indic in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE):
        _decide_revocation(facts, status.revocation_details)
        return
    if indic == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE:
        await _decide_out_of_bounds(engine, facts, other_certs, revinfo)
        return
    # CHAIN_CONSTRAINTS_FAILURE, CERTIFICATE_CHAIN_GENERAL_FAILURE, TRY_LATER, NO_POE: pyHanko folds several
    # causes into these; ask pyhanko-certvalidator again (revocation data is cached in the context) for the cause.
    await _classify_chain_failure(facts, validation_context, other_certs)


def _path_certs(path: Any) -> list[asn1_x509.Certificate]:
    try:
        return [cert for cert in path.iter_certs(include_root=True) if isinstance(cert, asn1_x509.Certificate)]
    except Exception:
        return []


def _decide_revocation(facts: SignatureFacts, details: Any) -> None:
    revoked_at = getattr(details, "revocation_date", None)
    facts.evidence["revoked_at"] = revoked_at.isoformat() if revoked_at else None
    facts.evidence["revoked_ca"] = bool(getattr(details, "ca_revoked", False))
    if revoked_at is None or facts.best_time is None or revoked_at <= facts.best_time:
        facts.reasons.append("revoked_before_signing")
    elif facts.time_source == "timestamp":
        facts.reasons.append("revoked_after_signing")  # proven to exist before the revocation: still valid
    else:
        # revoked after a time only the signer claims: nothing proves the signature is older than the revocation
        facts.reasons.extend(("revoked_after_signing", "revoked_time_unproven"))


async def _decide_out_of_bounds(
    engine: _Engine,
    facts: SignatureFacts,
    other_certs: Sequence[asn1_x509.Certificate],
    revinfo: tuple[list[Any], list[Any]],
) -> None:
    """The signer's certificate is outside its validity now. Expired at signing time: invalid (check_times). Valid
    at a time-stamped signing time: validate the chain at that time with the embedded revocation data (PAdES-LT)."""
    check_times(facts)
    if {"expired_at_signing_time", "not_yet_valid_at_signing_time"} & set(facts.reasons):
        return
    if facts.time_source != "timestamp" or facts.best_time is None or facts.signer_cert is None:
        facts.reasons.append("certificate_expired_time_unproven")
        return
    from pyhanko_certvalidator import CertificateValidator

    context = engine.context(
        other_certs=other_certs, crls=revinfo[0], ocsps=revinfo[1], moment=facts.best_time, point_in_time=True
    )
    try:
        path = await CertificateValidator(facts.signer_cert, other_certs, context).async_validate_path()
        facts.chain = _path_certs(path)
        facts.evidence["validated_at_signing_time"] = True
    except Exception as exc:
        _reason_from_certvalidator_error(facts, exc, best_time=facts.best_time)


async def _classify_chain_failure(
    facts: SignatureFacts, validation_context: Any, other_certs: Sequence[asn1_x509.Certificate]
) -> None:
    from pyhanko_certvalidator import CertificateValidator

    if facts.signer_cert is None:
        facts.reasons.append("chain_validation_failed")
        return
    try:
        path = await CertificateValidator(facts.signer_cert, other_certs, validation_context).async_validate_path()
    except Exception as exc:
        _reason_from_certvalidator_error(facts, exc, best_time=facts.best_time)
        return
    # the path itself is fine: what failed was the certificate's key usage for signing
    facts.chain = _path_certs(path)
    facts.reasons.append("certificate_not_for_signing")


def _reason_from_certvalidator_error(facts: SignatureFacts, exc: Exception, best_time: datetime | None) -> None:
    from pyhanko_certvalidator import errors

    facts.evidence["chain_error"] = _error_evidence(exc)
    original = getattr(exc, "original_path", None)
    if original is not None and not facts.chain:
        facts.chain = _path_certs(original)
    if isinstance(exc, errors.InsufficientRevinfoError):
        facts.reasons.append("revocation_unreachable")
    elif isinstance(exc, errors.RevokedError):
        if getattr(exc, "is_side_validation", False):
            facts.reasons.append("chain_validation_failed")
        else:
            _decide_revocation(facts, _Revoked(exc.revocation_dt, not exc.is_ee_cert))
    elif isinstance(exc, (errors.ExpiredError, errors.NotYetValidError)):
        check_times(facts)
        if not {"expired_at_signing_time", "not_yet_valid_at_signing_time"} & set(facts.reasons):
            facts.reasons.append("certificate_expired_time_unproven")
    elif isinstance(exc, errors.DisallowedAlgorithmError):
        facts.reasons.append("weak_algorithm")
    elif isinstance(exc, errors.PathBuildingError):
        facts.reasons.append("untrusted_chain")
    elif isinstance(exc, errors.InvalidCertificateError) and "self-signed" in str(exc):
        facts.reasons.extend(("untrusted_chain", "self_signed_certificate"))
    elif isinstance(exc, errors.InvalidCertificateError):
        facts.reasons.append("certificate_not_for_signing")
    else:
        facts.reasons.append("chain_validation_failed")


@dataclass(frozen=True)
class _Revoked:
    revocation_date: datetime | None
    ca_revoked: bool


def decide(engine: _Engine, facts: SignatureFacts) -> SignatureVerdict:
    """Qualification (only for a signature that is otherwise valid) and the label."""
    if engine.revocation == "off":
        facts.reasons.append("revocation_not_checked")
    if facts.time_source != "timestamp":
        facts.reasons.append("claimed_time_unproven")
    qualification = None
    identifier = None
    if facts.signer_cert is not None:
        try:
            identifier = read_qc_statements(facts.signer_cert).semantics_identifier
        except Exception as exc:
            facts.evidence["qc_statements_error"] = _error_evidence(exc)
    blocking = (INVALID_REASONS | INDETERMINATE_REASONS) & set(facts.reasons)
    if not blocking and facts.signer_cert is not None:
        issuer = facts.chain[-2] if len(facts.chain) >= 2 else None
        when = facts.best_time or engine.validation_time() or datetime.now(UTC)
        try:
            qualification = engine.policy.trust.assess(facts.signer_cert, issuer, when)
        except Exception as exc:
            facts.reasons.append("library_error")
            facts.evidence["qualification_error"] = _error_evidence(exc)
    label, reasons = label_for(facts.reasons, qualification)
    facts.evidence.update(_qualification_evidence(qualification))
    facts.evidence["chain"] = [redact(cert.subject.human_friendly) for cert in facts.chain]
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
    )


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
        signer=_safe(lambda: signer_display_name(signer_cert)),
        signer_identifier=None,
        signed_at=None,
        time_source=None,
        coverage=None,
        modified_after_signing=None,
        field_name=field_name,
        reasons=_merge(("library_error",), extra_reasons),
        qualification=None,
        evidence={**(evidence or {}), "library_error": _error_evidence(exc)},
    )


def _safe(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except Exception:
        return None


def timestamp_time(status: Any, facts: SignatureFacts) -> None:
    """The best signature time: a valid, trusted signature time-stamp; else the signer's claim (unproven)."""
    ts = getattr(status, "timestamp_validity", None)
    claimed = getattr(status, "signer_reported_dt", None)
    if ts is not None:
        facts.evidence["timestamp"] = {
            "time": ts.timestamp.isoformat() if ts.timestamp else None,
            "intact": ts.intact,
            "valid": ts.valid,
            "trusted": ts.trusted,
            "tsa": redact(ts.signing_cert.subject.human_friendly) if ts.signing_cert is not None else None,
        }
        if ts.intact and ts.valid and ts.trusted and ts.timestamp is not None:
            facts.signed_at = facts.best_time = ts.timestamp
            facts.time_source = "timestamp"
            return
        if not (ts.intact and ts.valid):
            facts.reasons.append("timestamp_invalid")
        else:
            facts.reasons.append("timestamp_untrusted")
    if claimed is not None:
        facts.signed_at = facts.best_time = claimed
        facts.time_source = "claimed"
        facts.evidence["claimed_time"] = claimed.isoformat()


async def _verify_cms(
    engine: _Engine, filename: str, data: bytes, detached: bytes | None, decided_at: datetime
) -> _Outcome:
    from intake.signatures import cms as cades

    return await cades.verify_cms(engine, filename, data, detached, decided_at)


def decode_cms_bytes(data: bytes) -> bytes:
    """DER as is; PEM or bare base64 (some mail clients send .p7m that way) decoded."""
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        body = b"".join(line for line in stripped.splitlines() if not line.startswith(b"-----"))
        return base64.b64decode(body)
    if stripped[:1] != b"\x30":
        try:
            return base64.b64decode(stripped, validate=False)
        except (binascii.Error, ValueError):
            return data
    return data


# ------------------------------------------------------------------------------------------------ PDF (PAdES)
@dataclass
class _PdfPass:
    outcome: _Outcome
    retry_reason: str | None = None  # set when a strict pass must be redone non-strictly


async def _verify_pdf(engine: _Engine, data: bytes, decided_at: datetime) -> _Outcome:
    first = await _pdf_pass(engine, data, strict=True, decided_at=decided_at)
    if first.retry_reason is None:
        return first.outcome
    # Hybrid-xref and slightly malformed files: pyHanko refuses them in strict mode; read them leniently and say so.
    second = await _pdf_pass(engine, data, strict=False, decided_at=decided_at)
    second.outcome.doc_reasons.insert(0, first.retry_reason)
    for i, verdict in enumerate(second.outcome.signatures):
        second.outcome.signatures[i] = replace(verdict, reasons=_merge(verdict.reasons, (first.retry_reason,)))
    return second.outcome


def _open_reader(data: bytes, strict: bool) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(data), strict=strict)


async def _pdf_pass(engine: _Engine, data: bytes, *, strict: bool, decided_at: datetime) -> _PdfPass:
    try:
        return await _pdf_pass_inner(engine, data, strict=strict, decided_at=decided_at)
    except Exception as exc:
        if strict and _strictness_error(exc):
            return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))


async def _pdf_pass_inner(engine: _Engine, data: bytes, *, strict: bool, decided_at: datetime) -> _PdfPass:
    try:
        reader = _open_reader(data, strict)
    except Exception as exc:
        if strict:
            return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))
    if strict and _hybrid(reader):
        return _PdfPass(_Outcome(signatures=[]), retry_reason="hybrid_xref_retried_non_strict")
    if reader.encrypted:
        try:
            reader.decrypt(b"")  # the usual case: an owner password only, the user password is empty
        except Exception as exc:
            outcome = _unreadable_pdf(data, exc)
            outcome.doc_reasons.append("encrypted")
            return _PdfPass(outcome)
    try:
        from pyhanko.sign.fields import enumerate_sig_fields

        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:
        if strict and _strictness_error(exc):
            return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))
    return await _check_pdf_fields(engine, reader, data, fields, strict=strict, decided_at=decided_at)


def _hybrid(reader: Any) -> bool:
    try:
        return bool(reader.xrefs.hybrid_xrefs_present)
    except Exception:
        return False


def _strictness_error(exc: BaseException) -> bool:
    from pyhanko.pdf_utils.misc import PdfStrictReadError

    return isinstance(exc, PdfStrictReadError) or "hybrid-reference" in str(exc)


@dataclass
class _PdfSignature:
    """One filled signature field, in file order (signed revision)."""

    name: str
    sig_object: Any
    field_ref: Any
    subfilter: str | None
    kind: str  # "signature" | "timestamp" | "unsupported"
    revision: int = -1
    embedded: Any = None
    object_id: int | None = None


def _classify_fields(reader: Any, fields: list[tuple[str, Any, Any]]) -> list[_PdfSignature]:
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    found = []
    for name, value, field_ref in fields:
        sig_object = value.get_object()
        subfilter = _name(sig_object.get("/SubFilter"))
        sig_type = _name(sig_object.get("/Type"))
        if subfilter == TIMESTAMP_SUBFILTER or sig_type == "/DocTimeStamp":
            kind = "timestamp"
        elif subfilter in SUPPORTED_SUBFILTERS:
            kind = "signature"
        else:
            kind = "unsupported"
        item = _PdfSignature(str(name), sig_object, field_ref, subfilter, kind, object_id=getattr(value, "idnum", None))
        try:
            item.embedded = EmbeddedPdfSignature(reader, field_ref, str(name))
            item.revision = item.embedded.signed_revision
        except Exception as exc:
            item.embedded = exc
        found.append(item)
    found.sort(key=lambda s: s.revision)
    return found


def _name(value: Any) -> str | None:
    return None if value is None else str(value)


async def _check_pdf_fields(
    engine: _Engine,
    reader: Any,
    data: bytes,
    fields: list[tuple[str, Any, Any]],
    *,
    strict: bool,
    decided_at: datetime,
) -> _PdfPass:
    try:
        items = _classify_fields(reader, fields)
    except Exception as exc:
        if strict and _strictness_error(exc):
            return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))
    doc_certs, doc_crls, doc_ocsps, dss_error = _dss_revinfo(reader)
    backend = engine.fetcher_backend()
    outcome = _Outcome(signatures=[])
    outcome.evidence["document_timestamps"] = [s.name for s in items if s.kind == "timestamp"]
    if dss_error:
        outcome.evidence["dss_error"] = dss_error
    reported: list[tuple[Any, Any, SignatureFacts, SignatureVerdict]] = []
    object_ids = [s.object_id for s in items if s.object_id is not None]
    try:
        for item in items:
            if item.kind == "timestamp":
                continue
            if isinstance(item.embedded, Exception):
                if strict and _strictness_error(item.embedded):
                    return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
                outcome.signatures.append(library_error_verdict(item.embedded, field_name=item.name))
                continue
            if item.kind == "unsupported":
                outcome.signatures.append(_unsupported_subfilter(item))
                continue
            try:
                facts, status = await _check_pdf_signature(engine, item, (doc_certs, doc_crls, doc_ocsps), backend)
            except Exception as exc:
                if strict and _strictness_error(exc):
                    return _PdfPass(_Outcome(signatures=[]), retry_reason="retried_non_strict")
                signer_cert = _safe(lambda emb=item.embedded: emb.signer_cert)
                outcome.signatures.append(library_error_verdict(exc, field_name=item.name, signer_cert=signer_cert))
                continue
            if item.object_id is not None and object_ids.count(item.object_id) > 1:
                facts.reasons.append("signature_referenced_from_multiple_fields")
            verdict = decide(engine, facts)
            outcome.signatures.append(verdict)
            reported.append((item.embedded, status, facts, verdict))
    finally:
        if backend is not None:
            await _close(backend)
    if not items and b"/ByteRange" in data:
        # a signature dictionary no signature field points at: not a valid PDF signature, but staff should see it
        outcome.signatures.append(_orphan_signature())
    outcome.cap = _last_revision_cap(items, outcome.signatures)
    outcome.report_xml = report.etsi_report_xml(reported, decided_at)
    return _PdfPass(outcome)


async def _close(backend: Any) -> None:
    try:
        await backend.close()
    except Exception:
        log.debug("closing the revocation fetcher failed", exc_info=True)


def _dss_revinfo(reader: Any) -> tuple[list[Any], list[Any], list[Any], dict[str, Any] | None]:
    """Certificates, CRLs and OCSP responses of the document security store (PAdES-LT/LTA)."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError

    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return [], [], [], None
    except Exception as exc:
        return [], [], [], _error_evidence(exc, "dss")
    certs, crls, ocsps = [], [], []
    error = None
    try:
        from asn1crypto import crl as asn1_crl
        from asn1crypto import ocsp as asn1_ocsp
        from pyhanko.pdf_utils.generic import DecodePurpose

        certs = list(dss.load_certs())
        for ref in dss.ocsps:
            ocsps.append(asn1_ocsp.OCSPResponse.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE)))
        for ref in dss.crls:
            crls.append(asn1_crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)))
    except Exception as exc:
        error = _error_evidence(exc, "dss")
    return certs, crls, ocsps, error


def _adobe_revinfo(signer_info: cms.SignerInfo) -> tuple[list[Any], list[Any]]:
    """The Adobe revocation-info archival attribute (adbe.pkcs7.detached signatures carry their OCSP/CRL there)."""
    try:
        from pyhanko.sign.general import find_unique_cms_attribute

        archival = find_unique_cms_attribute(signer_info["signed_attrs"], "adobe_revocation_info_archival")
    except Exception:
        return [], []
    crls = [crl for crl in archival["crl"]] if archival["crl"] else []
    ocsps = [resp for resp in archival["ocsp"]] if archival["ocsp"] else []
    return crls, ocsps


class _GuardedDiffPolicy:
    """pyHanko's default difference analysis, with its crashes (KeyError on some LT/LTA files) recorded instead of
    raised: the signature is then judged as modified in an unknown way (at most indeterminate)."""

    def __init__(self) -> None:
        from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY

        self._policy = DEFAULT_DIFF_POLICY
        self.error: Exception | None = None

    def review_file(self, reader: Any, base_revision: Any, field_mdp_spec: Any = None, doc_mdp: Any = None) -> Any:
        from pyhanko.sign.diff_analysis import SuspiciousModification

        try:
            return self._policy.review_file(reader, base_revision, field_mdp_spec=field_mdp_spec, doc_mdp=doc_mdp)
        except SuspiciousModification as exc:
            return exc
        except Exception as exc:
            self.error = exc
            return SuspiciousModification(f"difference analysis failed: {type(exc).__name__}")


async def _check_pdf_signature(
    engine: _Engine, item: _PdfSignature, dss: tuple[list[Any], list[Any], list[Any]], backend: Any
) -> tuple[SignatureFacts, Any]:
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    emb = item.embedded
    facts = SignatureFacts(field_name=item.name)
    facts.evidence["subfilter"] = item.subfilter
    md, mechanism = digest_algorithms(emb.signer_info)
    facts.evidence.update(digest_algorithm=md, signature_mechanism=mechanism)
    facts.signer_cert = emb.signer_cert
    if is_weak(md, mechanism):
        facts.reasons.append("weak_algorithm")
    adobe_crls, adobe_ocsps = _adobe_revinfo(emb.signer_info)
    other_certs = [*dss[0], *emb.other_embedded_certs]
    revinfo = ([*dss[1], *adobe_crls], [*dss[2], *adobe_ocsps])
    context = engine.context(
        other_certs=other_certs,
        crls=revinfo[0],
        ocsps=revinfo[1],
        fetcher_backend=backend,
        moment=engine.validation_time(),
    )
    guard = _GuardedDiffPolicy()
    status = await async_validate_pdf_signature(emb, context, diff_policy=guard)  # type: ignore[arg-type]
    facts.evidence["pyhanko"] = _status_evidence(status)
    if guard.error is not None:
        facts.reasons.extend(("library_error", "difference_analysis_failed"))
        facts.evidence["library_error"] = _error_evidence(guard.error, "difference analysis")
    _integrity(facts, status, mechanism)
    timestamp_time(status, facts)
    if status.intact and status.valid:
        await assess_chain(engine, facts, status, context, other_certs, revinfo)
    check_times(facts)
    _coverage(facts, status, emb, guard)
    _soft_fail_note(engine, facts, context)
    return facts, status


def _integrity(facts: SignatureFacts, status: Any, mechanism: str | None) -> None:
    if not status.intact:
        facts.reasons.append("tampered")
    elif not status.valid:
        if _unsupported_mechanism(mechanism):
            # pyHanko cannot check plain-ECDSA (BSI TR-03111) signatures: that is not evidence of a broken one
            facts.reasons.append("unsupported_signature_algorithm")
        else:
            facts.reasons.append("signature_cryptographically_invalid")


def _unsupported_mechanism(mechanism: str | None) -> bool:
    name = str(mechanism or "")
    return "plain" in name.lower() or name.startswith("0.4.0.127.0.7.1.1.4.1")


def _coverage(facts: SignatureFacts, status: Any, emb: Any, guard: _GuardedDiffPolicy) -> None:
    coverage = status.coverage.name if status.coverage is not None else None
    facts.coverage = {"ENTIRE_FILE": "entire_file", "ENTIRE_REVISION": "entire_revision"}.get(coverage or "", "partial")
    if facts.coverage == "partial":
        facts.reasons.append("not_whole_document")
    level = status.modification_level.name if status.modification_level is not None else None
    if guard.error is not None or level is None:
        facts.modified_after_signing = None
    elif level in ALLOWED_MODIFICATIONS:
        facts.modified_after_signing = False
    else:
        facts.modified_after_signing = True
        facts.reasons.append("modified_after_signing")
    certified = _safe(lambda: emb.docmdp_level) is not None
    if status.docmdp_ok is False and (certified or level in ALLOWED_MODIFICATIONS):
        facts.reasons.append("docmdp_violation")


def _soft_fail_note(engine: _Engine, facts: SignatureFacts, context: Any) -> None:
    if engine.revocation != "soft-fail":
        return
    failures = _safe(lambda: list(context.soft_fail_exceptions)) or []
    if failures:
        facts.reasons.append("revocation_soft_failed")
        facts.evidence["revocation_soft_failures"] = [_short(exc) for exc in failures[:5]]


def _status_evidence(status: Any) -> dict[str, Any]:
    def name(value: Any) -> Any:
        return getattr(value, "name", value)

    evidence: dict[str, Any] = {
        "intact": status.intact,
        "valid": status.valid,
        "trusted": _safe(lambda: status.trusted),
        "trust_problem": name(status.trust_problem_indic),
        "coverage": name(status.coverage),
        "modification_level": name(_safe(lambda: status.modification_level)),
        "docmdp_ok": status.docmdp_ok,
        "md_algorithm": status.md_algorithm,
        "signature_mechanism": status.pkcs7_signature_mechanism,
        "seed_value_ok": _safe(lambda: status.seed_value_ok),
        "summary": _safe(lambda: status.summary()),
    }
    diff = status.diff_result
    if diff is not None and not hasattr(diff, "modification_level"):
        evidence["difference_analysis"] = _short(diff)
    return evidence


def _unsupported_subfilter(item: _PdfSignature) -> SignatureVerdict:
    emb = item.embedded
    signer_cert = _safe(lambda: emb.signer_cert)
    md = _safe(lambda: digest_algorithms(emb.signer_info)[0])
    return SignatureVerdict(
        label="indeterminate",
        signer=_safe(lambda: signer_display_name(signer_cert)),
        signer_identifier=None,
        signed_at=_safe(lambda: emb.self_reported_timestamp),
        time_source="claimed" if _safe(lambda: emb.self_reported_timestamp) else None,
        coverage=None,
        modified_after_signing=None,
        field_name=item.name,
        reasons=("unsupported_subfilter",),
        qualification=None,
        evidence={"subfilter": item.subfilter, "digest_algorithm": md},
    )


def _orphan_signature() -> SignatureVerdict:
    return SignatureVerdict(
        label="indeterminate",
        signer=None,
        signer_identifier=None,
        signed_at=None,
        time_source=None,
        coverage=None,
        modified_after_signing=None,
        field_name=None,
        reasons=("signature_not_in_form",),
        qualification=None,
        evidence={"detail": "a /ByteRange signature dictionary that no signature field references"},
    )


def _last_revision_cap(items: list[_PdfSignature], verdicts: list[SignatureVerdict]) -> str | None:
    """What the last revision supports: changes after the last signature that are not LTV/DSS/annotation/form
    updates leave the document at most indeterminate."""
    signed = [v for v in verdicts if v.coverage is not None]
    if not signed:
        return None
    last = signed[-1]
    if last.modified_after_signing or "difference_analysis_failed" in last.reasons:
        return "indeterminate"
    return None


def _unreadable_pdf(data: bytes, exc: BaseException) -> _Outcome:
    """pyHanko cannot read the file: still find the signatures (pypdf, then the raw bytes) so staff see them."""
    names = _pypdf_signature_names(data)
    count = len(names) if names is not None else data.count(b"/ByteRange")
    signatures = [
        library_error_verdict(exc, field_name=names[i] if names else None, evidence={"unreadable_pdf": True})
        for i in range(count)
    ]
    return _Outcome(
        signatures=signatures,
        doc_reasons=["library_error", "unreadable_pdf"],
        evidence={"error": _error_evidence(exc, "pdf reader")},
    )


def _pypdf_signature_names(data: bytes) -> list[str] | None:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        fields = reader.get_fields() or {}
        return [str(name) for name, f in fields.items() if f.get("/FT") == "/Sig" and f.get("/V") is not None]
    except Exception:
        return None
