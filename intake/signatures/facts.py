"""What the format-specific code (PDF, CMS) learns about one signature, before anything is decided, and the small
readers they share. `decision.decide` turns the facts into a verdict."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509

from intake.privacy import redact

WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
_T = TypeVar("_T")


@dataclass
class SignatureFacts:
    field_name: str | None = None
    signer_cert: asn1_x509.Certificate | None = None
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    chain: list[asn1_x509.Certificate] = field(default_factory=list)  # root first, signer last
    # Time. `claimed_time`: the signer's own signing-time (never proof). `proven_time`: a trusted signature
    # time-stamp. `validation_time`: when (as of when) we validate. The best signature time is the proven time,
    # else the validation time (EN 319 102-1 5.6.2.1).
    claimed_time: datetime | None = None
    proven_time: datetime | None = None
    validation_time: datetime | None = None
    timestamp_qualified: bool | None = None
    timestamp_reasons: list[str] = field(default_factory=list)  # e.g. the TSA's list has expired
    coverage: str | None = None
    modified_after_signing: bool | None = None
    modifications: list[str] = field(default_factory=list)

    @property
    def time_source(self) -> str:
        if self.proven_time is not None:
            return "timestamp"
        return "claimed" if self.claimed_time is not None else "validation"

    @property
    def best_time(self) -> datetime | None:
        return self.proven_time or self.validation_time

    @property
    def signed_at(self) -> datetime | None:
        """The time shown to people: proven if we can, else what the signer claims (flagged as unproven)."""
        return self.proven_time or self.claimed_time


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


def short_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return redact(f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__)


def error_evidence(exc: BaseException, where: str | None = None) -> dict[str, Any]:
    text = redact(" ".join(str(exc).split())[:300])
    return {"type": type(exc).__name__, "message": text, **({"where": where} if where else {})}


def safe(fn: Callable[[], _T]) -> _T | None:
    """For reading optional details off library objects: a failure means "unknown", never a crash."""
    try:
        return fn()
    except Exception:
        return None


def path_certs(path: Any) -> list[asn1_x509.Certificate]:
    """The certificates of a pyhanko-certvalidator ValidationPath, root first."""
    try:
        return [cert for cert in path.iter_certs(include_root=True) if isinstance(cert, asn1_x509.Certificate)]
    except Exception:
        return []


@dataclass
class Outcome:
    """What a format-specific verifier (PDF, CMS) found in one file, before the document-level decision."""

    signatures: list[Any]  # SignatureVerdict, in file order
    doc_reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    report_xml: str | None = None
    enveloped_content: bytes | None = None
    cap: str | None = None  # the strongest label the last revision supports
