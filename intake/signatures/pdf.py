"""PAdES and the `adbe.pkcs7.*` PDF signatures: find every signature in revision order, validate each on its own
(pyHanko does the cryptography), and judge what changed after it (`modifications.py`).

Hybrid-xref and slightly malformed files are read leniently after a strict read fails, and say so; a file pyHanko
cannot read still has its signatures found (pypdf, then the raw bytes) so staff see them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from asn1crypto import cms

from intake.signatures import hex_strings, report
from intake.signatures.chain import assess_chain
from intake.signatures.decision import decide, library_error_verdict, undecided_verdict
from intake.signatures.engine import Engine
from intake.signatures.facts import (
    Outcome,
    SignatureFacts,
    digest_algorithms,
    error_evidence,
    is_weak,
    safe,
    short_error,
)
from intake.signatures.labels import merge
from intake.signatures.modifications import ALLOWED_LEVELS, ChangeAnalyzer, GuardedDiffPolicy
from intake.signatures.timing import check_validity_at_proven_time, establish_time
from intake.signatures.verdicts import SignatureVerdict

log = logging.getLogger(__name__)

# PDF signature SubFilters pyHanko validates as signatures (the others it skips or refuses).
SUPPORTED_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"})
TIMESTAMP_SUBFILTER = "/ETSI.RFC3161"


@dataclass
class _PdfPass:
    outcome: Outcome
    retry_reason: str | None = None  # set when a strict pass must be redone non-strictly


async def verify_pdf(engine: Engine, data: bytes, decided_at: datetime) -> Outcome:
    first = await _pdf_pass(engine, data, strict=True, decided_at=decided_at)
    if first.retry_reason is None:
        return first.outcome
    # Hybrid-xref and slightly malformed files: pyHanko refuses them in strict mode; read them leniently and say so.
    second = await _pdf_pass(engine, data, strict=False, decided_at=decided_at)
    second.outcome.doc_reasons.insert(0, first.retry_reason)
    for i, verdict in enumerate(second.outcome.signatures):
        second.outcome.signatures[i] = replace(verdict, reasons=merge(verdict.reasons, (first.retry_reason,)))
    return second.outcome


def _open_reader(data: bytes, strict: bool) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    hex_strings.install()
    return PdfFileReader(io.BytesIO(data), strict=strict)


async def _pdf_pass(engine: Engine, data: bytes, *, strict: bool, decided_at: datetime) -> _PdfPass:
    try:
        return await _pdf_pass_inner(engine, data, strict=strict, decided_at=decided_at)
    except Exception as exc:
        if strict and _strictness_error(exc):
            return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))


async def _pdf_pass_inner(engine: Engine, data: bytes, *, strict: bool, decided_at: datetime) -> _PdfPass:
    try:
        reader = _open_reader(data, strict)
    except Exception as exc:
        if strict:
            return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))
    if strict and _hybrid(reader):
        return _PdfPass(Outcome(signatures=[]), retry_reason="hybrid_xref_retried_non_strict")
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
            return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
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
    engine: Engine,
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
            return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
        return _PdfPass(_unreadable_pdf(data, exc))
    doc_certs, doc_crls, doc_ocsps, dss_error = _dss_revinfo(reader)
    backend = engine.fetcher_backend()
    outcome = Outcome(signatures=[])
    outcome.evidence["document_timestamps"] = [s.name for s in items if s.kind == "timestamp"]
    if dss_error:
        outcome.evidence["dss_error"] = dss_error
    reported: list[tuple[Any, Any, SignatureFacts, SignatureVerdict]] = []
    changes = ChangeAnalyzer(reader, data)
    object_ids = [s.object_id for s in items if s.object_id is not None]
    try:
        for item in items:
            if item.kind == "timestamp":
                continue
            if isinstance(item.embedded, Exception):
                if strict and _strictness_error(item.embedded):
                    return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
                outcome.signatures.append(library_error_verdict(item.embedded, field_name=item.name))
                continue
            if item.kind == "unsupported":
                outcome.signatures.append(_unsupported_subfilter(item))
                continue
            try:
                facts, status = await _check_pdf_signature(
                    engine, changes, item, (doc_certs, doc_crls, doc_ocsps), backend, decided_at
                )
            except Exception as exc:
                if strict and _strictness_error(exc):
                    return _PdfPass(Outcome(signatures=[]), retry_reason="retried_non_strict")
                signer_cert = safe(lambda emb=item.embedded: emb.signer_cert)
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
        outcome.signatures.append(
            undecided_verdict(
                ("signature_not_in_form",),
                evidence={"detail": "a /ByteRange signature dictionary that no signature field references"},
            )
        )
    outcome.cap = _last_revision_cap(outcome.signatures)
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
        return [], [], [], error_evidence(exc, "dss")
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
        error = error_evidence(exc, "dss")
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


async def _check_pdf_signature(
    engine: Engine,
    changes: ChangeAnalyzer,
    item: _PdfSignature,
    dss: tuple[list[Any], list[Any], list[Any]],
    backend: Any,
    decided_at: datetime,
) -> tuple[SignatureFacts, Any]:
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    emb = item.embedded
    facts = SignatureFacts(field_name=item.name, validation_time=decided_at)
    facts.evidence["subfilter"] = item.subfilter
    facts.evidence["revision"] = item.revision
    md, mechanism = digest_algorithms(emb.signer_info)
    facts.evidence.update(digest_algorithm=md, signature_mechanism=mechanism)
    facts.signer_cert = emb.signer_cert
    if is_weak(md, mechanism):
        facts.reasons.append("weak_algorithm")
    adobe_crls, adobe_ocsps = _adobe_revinfo(emb.signer_info)
    other_certs = [*dss[0], *emb.other_embedded_certs]
    revinfo = ([*dss[1], *adobe_crls], [*dss[2], *adobe_ocsps])
    context = engine.context(other_certs=other_certs, crls=revinfo[0], ocsps=revinfo[1], fetcher_backend=backend)
    ts_context = engine.context(
        other_certs=other_certs, crls=revinfo[0], ocsps=revinfo[1], fetcher_backend=backend, for_timestamps=True
    )
    guard = GuardedDiffPolicy()
    status = await async_validate_pdf_signature(
        emb,
        context,
        ts_validation_context=ts_context,
        diff_policy=guard,  # type: ignore[arg-type]
    )
    facts.evidence["pyhanko"] = _status_evidence(status)
    if guard.error is not None:
        facts.reasons.extend(("library_error", "difference_analysis_failed"))
        facts.evidence["library_error"] = error_evidence(guard.error, "difference analysis")
    _integrity(facts, status, mechanism)
    establish_time(engine, facts, status)
    if status.intact and status.valid:
        await assess_chain(engine, facts, status, context, other_certs, revinfo)
    check_validity_at_proven_time(facts)
    _coverage(facts, status, emb, guard, changes, item.revision)
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


def _coverage(
    facts: SignatureFacts, status: Any, emb: Any, guard: GuardedDiffPolicy, changes: ChangeAnalyzer, revision: int
) -> None:
    coverage = status.coverage.name if status.coverage is not None else None
    facts.coverage = {"ENTIRE_FILE": "entire_file", "ENTIRE_REVISION": "entire_revision"}.get(coverage or "", "partial")
    if facts.coverage == "partial":
        facts.reasons.append("not_whole_document")
    level = status.modification_level.name if status.modification_level is not None else None
    try:
        facts.modifications = changes.describe(revision) if revision >= 0 else []
    except Exception as exc:  # a structure we cannot walk: pyHanko's strict verdict still stands
        facts.evidence["modification_analysis_error"] = error_evidence(exc)
        log.debug("structural comparison failed: %s", short_error(exc))
    if guard.error is not None or level is None:
        facts.modified_after_signing = None
    elif level in ALLOWED_LEVELS and not facts.modifications:
        facts.modified_after_signing = False
    else:
        facts.modified_after_signing = True
        facts.reasons.append("modified_after_signing")
        if not facts.modifications:
            facts.modifications.append("alte modificări după semnare (obiecte ale documentului înlocuite)")
    if guard.suspicion:
        facts.evidence["difference_analysis"] = guard.suspicion
    certified = safe(lambda: emb.docmdp_level) is not None
    if status.docmdp_ok is False and (certified or level in ALLOWED_LEVELS):
        facts.reasons.append("docmdp_violation")


def _soft_fail_note(engine: Engine, facts: SignatureFacts, context: Any) -> None:
    if engine.revocation != "soft-fail":
        return
    failures = safe(lambda: list(context.soft_fail_exceptions)) or []
    if failures:
        facts.reasons.append("revocation_soft_failed")
        facts.evidence["revocation_soft_failures"] = [short_error(exc) for exc in failures[:5]]


def _status_evidence(status: Any) -> dict[str, Any]:
    def name(value: Any) -> Any:
        return getattr(value, "name", value)

    return {
        "intact": status.intact,
        "valid": status.valid,
        "trusted": safe(lambda: status.trusted),
        "trust_problem": name(status.trust_problem_indic),
        "coverage": name(status.coverage),
        "modification_level": name(safe(lambda: status.modification_level)),
        "docmdp_ok": status.docmdp_ok,
        "md_algorithm": status.md_algorithm,
        "signature_mechanism": status.pkcs7_signature_mechanism,
        "seed_value_ok": safe(lambda: status.seed_value_ok),
        "summary": safe(lambda: status.summary()),
    }


def _unsupported_subfilter(item: _PdfSignature) -> SignatureVerdict:
    emb = item.embedded
    md = safe(lambda: digest_algorithms(emb.signer_info)[0])
    return undecided_verdict(
        ("unsupported_subfilter",),
        field_name=item.name,
        signer_cert=safe(lambda: emb.signer_cert),
        signed_at=safe(lambda: emb.self_reported_timestamp),
        evidence={"subfilter": item.subfilter, "digest_algorithm": md},
    )


def _last_revision_cap(verdicts: Sequence[SignatureVerdict]) -> str | None:
    """What the last revision supports: changes after the last signature that are not new signatures, document
    time-stamps or added validation data leave the document at most indeterminate."""
    signed = [v for v in verdicts if v.coverage is not None]
    if not signed:
        return None
    last = signed[-1]
    if last.modified_after_signing or "difference_analysis_failed" in last.reasons:
        return "indeterminate"
    return None


def _unreadable_pdf(data: bytes, exc: BaseException) -> Outcome:
    """pyHanko cannot read the file: still find the signatures (pypdf, then the raw bytes) so staff see them."""
    names = _pypdf_signature_names(data)
    count = len(names) if names is not None else data.count(b"/ByteRange")
    signatures: list[Any] = [
        library_error_verdict(exc, field_name=names[i] if names else None, evidence={"unreadable_pdf": True})
        for i in range(count)
    ]
    return Outcome(
        signatures=signatures,
        doc_reasons=["library_error", "unreadable_pdf"],
        evidence={"error": error_evidence(exc, "pdf reader")},
    )


def _pypdf_signature_names(data: bytes) -> list[str] | None:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        fields = reader.get_fields() or {}
        return [str(name) for name, f in fields.items() if f.get("/FT") == "/Sig" and f.get("/V") is not None]
    except Exception:
        return None
