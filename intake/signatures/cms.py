"""CAdES containers: `.p7s` (detached: the caller gives the signed file) and `.p7m` (enveloping: the signed file is
inside, handed back as `enveloped_content` so the pipeline checks it as a document of its own).

pyHanko's generic CMS validation does the cryptography; time, chain and decision are shared with the PDF path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Any

from asn1crypto import cms, core

from intake.signatures.chain import assess_chain
from intake.signatures.decision import decide, library_error_verdict
from intake.signatures.engine import Engine
from intake.signatures.facts import Outcome, SignatureFacts, digest_algorithms, error_evidence, is_weak, safe
from intake.signatures.timing import check_validity_at_proven_time, establish_time


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


async def verify_cms(engine: Engine, data: bytes, detached: bytes | None, decided_at: datetime) -> Outcome:
    try:
        signed_data = _load_signed_data(data)
        signer_infos = list(signed_data["signer_infos"])
        content = _encapsulated_content(signed_data)
    except Exception as exc:
        return Outcome(
            signatures=[], doc_reasons=["library_error", "unreadable_cms"], evidence={"error": error_evidence(exc)}
        )
    outcome = Outcome(signatures=[], enveloped_content=content)
    outcome.evidence["format"] = "enveloping" if content is not None else "detached"
    backend = engine.fetcher_backend()
    try:
        for index, signer_info in enumerate(signer_infos):
            single = _with_one_signer(signed_data, signer_info) if len(signer_infos) > 1 else signed_data
            label = f"signer-{index + 1}"
            try:
                verdict = await _check_signer(engine, single, content, detached, backend, label, decided_at)
            except Exception as exc:
                verdict = library_error_verdict(exc, field_name=label, signer_cert=safe(lambda s=single: _cert(s)))
            outcome.signatures.append(verdict)
    finally:
        if backend is not None:
            await backend.close()
    return outcome


def _load_signed_data(data: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(decode_cms_bytes(data))
    if info["content_type"].native != "signed_data":
        raise ValueError(f"CMS content type {info['content_type'].native}, not signed_data")
    signed_data = info["content"]
    # touch what pyHanko reads, so a malformed structure fails here (never `.native` on all of it: that would
    # parse the whole enveloped document as ASN.1, seconds for a PDF)
    for signer_info in signed_data["signer_infos"]:
        signer_info["sid"].native  # noqa: B018
    signed_data["certificates"].native  # noqa: B018
    return signed_data


def _encapsulated_content(signed_data: cms.SignedData) -> bytes | None:
    content = signed_data["encap_content_info"]["content"]
    if isinstance(content, core.Void):
        return None
    return bytes(content)  # merges the chunks of a BER constructed OCTET STRING


def _with_one_signer(signed_data: cms.SignedData, signer_info: cms.SignerInfo) -> cms.SignedData:
    """pyHanko validates SignedData with exactly one SignerInfo: one copy per parallel signer."""
    copy = cms.SignedData.load(signed_data.dump())
    copy["signer_infos"] = cms.SignerInfos([cms.SignerInfo.load(signer_info.dump())])
    return copy


def _cert(signed_data: cms.SignedData) -> Any:
    from pyhanko.sign.validation.generic_cms import extract_certs_for_validation

    return extract_certs_for_validation(signed_data).signer_cert


async def _check_signer(
    engine: Engine,
    signed_data: cms.SignedData,
    content: bytes | None,
    detached: bytes | None,
    backend: Any,
    label: str,
    decided_at: datetime,
) -> Any:
    from pyhanko.sign.validation.generic_cms import (
        async_validate_detached_cms,
        extract_certs_for_validation,
        extract_signer_info,
    )

    signer_info = extract_signer_info(signed_data)
    cert_info = extract_certs_for_validation(signed_data)
    facts = SignatureFacts(field_name=label, signer_cert=cert_info.signer_cert, validation_time=decided_at)
    md, mechanism = digest_algorithms(signer_info)
    facts.evidence.update(digest_algorithm=md, signature_mechanism=mechanism)
    if is_weak(md, mechanism):
        facts.reasons.append("weak_algorithm")
    signed_content = content if content is not None else detached
    if signed_content is None:
        facts.reasons.append("detached_content_missing")
        return decide(engine, facts)
    facts.evidence["content_sha256"] = hashlib.sha256(signed_content).hexdigest()
    other_certs = list(cert_info.other_certs)
    context = engine.context(other_certs=other_certs, fetcher_backend=backend)
    ts_context = engine.context(other_certs=other_certs, fetcher_backend=backend, for_timestamps=True)
    if content is None:
        status = await async_validate_detached_cms(
            signed_content, signed_data, signer_validation_context=context, ts_validation_context=ts_context
        )
    else:
        status = await _validate_enveloping(signed_data, signed_content, context, ts_context)
    facts.evidence["pyhanko"] = {
        "intact": status.intact,
        "valid": status.valid,
        "trusted": safe(lambda: status.trusted),
        "trust_problem": getattr(status.trust_problem_indic, "name", None),
        "md_algorithm": status.md_algorithm,
        "summary": safe(lambda: status.summary()),
    }
    if not status.intact:
        facts.reasons.append("tampered")
    elif not status.valid:
        facts.reasons.append("signature_cryptographically_invalid")
    establish_time(engine, facts, status)
    if status.intact and status.valid:
        await assess_chain(engine, facts, status, context, other_certs, ([], []))
    check_validity_at_proven_time(facts)
    facts.coverage, facts.modified_after_signing = "entire_file", False
    return decide(engine, facts)


async def _validate_enveloping(signed_data: cms.SignedData, content: bytes, context: Any, ts_context: Any) -> Any:
    """async_validate_detached_cms refuses encapsulated content; the same steps for an enveloping signature."""
    from cryptography.hazmat.primitives import hashes
    from pyhanko.sign.validation import generic_cms
    from pyhanko.sign.validation.status import StandardCMSSignatureStatus
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    signer_info = generic_cms.extract_signer_info(signed_data)

    def digest(algorithm: str) -> bytes:
        h = hashes.Hash(get_pyca_cryptography_hash(algorithm))
        h.update(content)
        return h.finalize()

    status_kwargs = await generic_cms.collect_timing_info(
        signer_info, ts_validation_context=ts_context, raw_digest=digest
    )
    status_kwargs = await generic_cms.cms_basic_validation(
        signed_data,
        raw_digest=None,
        validation_context=context,
        status_kwargs=status_kwargs,
        key_usage_settings=StandardCMSSignatureStatus.default_usage_constraints(None),
    )
    cert_info = generic_cms.extract_certificate_info(signed_data)
    status_kwargs.update(
        await generic_cms.collect_signer_attr_status(
            sd_attr_certificates=cert_info.attribute_certs,
            signer_cert=cert_info.signer_cert,
            validation_context=None,
            sd_signed_attrs=signer_info["signed_attrs"],
        )
    )
    return StandardCMSSignatureStatus(**status_kwargs)
