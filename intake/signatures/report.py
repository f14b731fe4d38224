"""What a verdict says to people and to auditors: one Romanian sentence for the recipisă, a JSON evidence record,
and pyHanko's ETSI TS 119 102-2 validation report (XML) where pyHanko can produce one."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from intake.signatures.labels import cause_ro

if TYPE_CHECKING:
    from intake.signatures.facts import SignatureFacts
    from intake.signatures.verdicts import DocumentVerdict, SignatureVerdict

log = logging.getLogger(__name__)

BUCHAREST = ZoneInfo("Europe/Bucharest")

NO_SIGNATURE_RO = "Documentul nu are semnătură electronică."


def format_time_ro(moment: datetime) -> str:
    local = moment.astimezone(BUCHAREST)
    return f"{local:%d.%m.%Y}, ora {local:%H:%M}"


def _signer_and_time(signer: str | None, signed_at: datetime | None, time_source: str | None) -> str:
    parts = []
    if signer:
        parts.append(f"semnatar {signer}")
    if signed_at is not None:
        proof = "marcă temporală" if time_source == "timestamp" else "ora declarată de semnatar, nedovedită"
        parts.append(f"semnată la {format_time_ro(signed_at)} ({proof})")
    return "".join(f"; {part}" for part in parts)


def signature_summary_ro(signature: SignatureVerdict) -> str:
    """One sentence about one signature."""
    return _sentence(signature.label, signature.reasons, signature.signer, signature.signed_at, signature.time_source)


def summary_ro(verdict: DocumentVerdict) -> str:
    """One sentence about the document (the applicant's own signature), for the recipisă and the findings."""
    text = _sentence(verdict.label, verdict.reasons, verdict.signer, verdict.signed_at, verdict.time_source)
    if len(verdict.signatures) > 1:
        text += f" Documentul conține {len(verdict.signatures)} semnături"
        third_party = "third_party_signature" in verdict.reasons
        text += "; o altă persoană a semnat de asemenea documentul." if third_party else "."
    return text


def _sentence(
    label: str, reasons: Sequence[str], signer: str | None, signed_at: datetime | None, time_source: str | None
) -> str:
    who_when = _signer_and_time(signer, signed_at, time_source)
    if label == "none":
        return NO_SIGNATURE_RO
    if label == "QES":
        return f"Semnătură electronică calificată validă{who_when}."
    if label == "AdES-QC":
        return (
            "Semnătură electronică avansată bazată pe un certificat calificat, validă, dar fără dovada unui dispozitiv "
            f"calificat de creare a semnăturii{who_when}."
        )
    if label == "AdES":
        if "qc_type_eseal" in reasons:
            return f"Sigiliu electronic al unei organizații, nu semnătura unei persoane fizice{who_when}."
        if "ca_not_in_trusted_list_at_signing_time" in reasons and "not_qualified" in reasons:
            moment = "la data semnării" if time_source == "timestamp" else "la data verificării (ora semnării nu "
            moment += "" if time_source == "timestamp" else "este dovedită prin marcă temporală)"
            return (
                "Semnătură electronică avansată, dar furnizorul certificatului nu figura ca furnizor calificat în "
                f"lista de încredere {moment}{who_when}."
            )
        if "qc_type_web" in reasons:
            return f"Semnătură electronică avansată, dar certificatul este destinat site-urilor web{who_when}."
        return f"Semnătură electronică avansată, dar certificatul nu este calificat{who_when}."
    if label == "invalid":
        cause = cause_ro(label, reasons) or "semnătura nu este validă"
        return f"Semnătură electronică invalidă: {cause}."
    cause = cause_ro(label, reasons)
    detail = f" ({cause})" if cause else ""
    return f"Semnătura nu a putut fi verificată complet{detail}; documentul va fi verificat de un funcționar."


# ------------------------------------------------------------------------------------------------ JSON evidence
def evidence_json(verdict: DocumentVerdict) -> dict[str, Any]:
    """The full evidence record kept with a submission: verdict, per-signature evidence, decision time."""
    return {
        **verdict.as_json(),
        "decided_at": verdict.decided_at.isoformat(),
        "evidence": [
            {**signature.as_json(), "summary": signature_summary_ro(signature), "evidence": signature.evidence}
            for signature in verdict.signatures
        ],
        "has_etsi_report": verdict.report_xml is not None,
    }


# ------------------------------------------------------------------------------------------------ ETSI report
def ades_subindication(reasons: Sequence[str], label: str) -> Any:
    """Our decision expressed as an ETSI EN 319 102-1 (sub)indication, for the report."""
    from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed

    if label in ("QES", "AdES-QC", "AdES"):
        return AdESPassed.OK
    mapping = (
        ("tampered", AdESFailure.HASH_FAILURE),
        ("signature_cryptographically_invalid", AdESFailure.SIG_CRYPTO_FAILURE),
        ("revoked_before_signing", AdESFailure.REVOKED),
        ("not_yet_valid_at_signing_time", AdESFailure.NOT_YET_VALID),
        ("expired_at_signing_time", AdESIndeterminate.EXPIRED),
        ("weak_algorithm", AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE),
        ("untrusted_chain", AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND),
        ("certificate_not_for_signing", AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE),
        ("revocation_unreachable", AdESIndeterminate.TRY_LATER),
        ("revoked_time_unproven", AdESIndeterminate.REVOKED_NO_POE),
        ("certificate_expired_time_unproven", AdESIndeterminate.OUT_OF_BOUNDS_NO_POE),
        ("claimed_time_after_certificate_expiry", AdESIndeterminate.OUT_OF_BOUNDS_NO_POE),
        ("trusted_list_unavailable", AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND),
        ("trust_not_configured", AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND),
    )
    return next((indication for reason, indication in mapping if reason in reasons), AdESIndeterminate.GENERIC)


def etsi_report_xml(
    reported: Sequence[tuple[Any, Any, SignatureFacts, SignatureVerdict]], decided_at: datetime
) -> str | None:
    """pyHanko's ETSI TS 119 102-2 report for the PDF signatures it validated, carrying our indication.
    pyHanko's generator is incubating and handles one signature per call; None where it cannot report."""
    if not reported:
        return None
    try:
        from pyhanko.generated.etsi import ts_11910202
        from pyhanko.sign.validation.report import tools

        reports, objects = [], {}
        for embedded, status, facts, verdict in reported:
            result = _ades_result(status, facts, verdict, decided_at)
            reports.append(tools._generate_report(embedded, result))
            for vo in result.validation_objects:
                package = tools._package_validation_object(vo)
                objects[package.id] = package
        report = ts_11910202.ValidationReport(
            signature_validation_report=tuple(reports),
            signature_validation_objects=ts_11910202.ValidationObjectListType(tuple(objects.values())),
        )
        return _serializer().render(report, ns_map=tools.NAMESPACES)
    except Exception as exc:
        log.debug("no ETSI report: %s: %s", type(exc).__name__, exc)
        return None


@functools.cache
def _serializer() -> Any:
    """One serializer per process: xsdata builds its class metadata once instead of on every report (~10 ms)."""
    from xsdata.formats.dataclass.serializers import XmlSerializer
    from xsdata.formats.dataclass.serializers.config import SerializerConfig

    return XmlSerializer(config=SerializerConfig(indent="  "))


def _ades_result(status: Any, facts: SignatureFacts, verdict: SignatureVerdict, decided_at: datetime) -> Any:
    from pyhanko.sign.validation.ades import AdESWithTimeValidationResult, ValidationObjectSet
    from pyhanko_certvalidator.ltv.poe import ValidationObject, ValidationObjectType

    certs = list(facts.chain) or ([facts.signer_cert] if facts.signer_cert is not None else [])
    objects = ValidationObjectSet(
        [ValidationObject(object_type=ValidationObjectType.CERTIFICATE, value=cert) for cert in certs]
    )
    return AdESWithTimeValidationResult(
        ades_subindic=ades_subindication(verdict.reasons, verdict.label),
        api_status=status,
        failure_msg=None,
        validation_objects=objects,
        best_signature_time=facts.best_time or decided_at,
        signature_not_before_time=None,
    )
