"""Is a signer's certificate qualified — for e-signatures, on a QSCD — the way DSS decides it? (The rules; the
trusted lists and anchors they read are held by `trust_store.TrustStore`.)

The decision (`assess_listed`, `assess_anchor`, called by `TrustStore.assess`) follows ETSI TS 119 615 and DSS:

1. Find the trusted-list CA/QC services whose certificate issued the signer's certificate (issuer name plus key
   identifier or public key; the issuer's issuer too, since some lists name the root). If none, a configured
   anchor that issued it counts as a qualified CA at all times. If neither: not qualified.
2. Evaluate at TWO moments, the signing time and the certificate's issuance (notBefore) — pyHanko looks at one:
   the service must be in a granting status at both (`granted`; before eIDAS also `undersupervision`,
   `supervisionincessation`, `accredited`).
3. At each moment, the certificate's own QCStatements (ETSI EN 319 412-5) give qualified / QSCD / type, and the
   qualifiers of that period of the service override them where their criteria match the certificate (rules in
   `QUALIFIER_*` below). A service restricted by AdditionalServiceInformation to other certificate types does not
   qualify the certificate. Lists without qualifiers (the Romanian one) leave the QCStatements in charge.
4. Qualified only if qualified at both moments; QSCD and type as at the signing time.

"The signing time" is the best signature time: the time a trusted time-stamp proves, else the validation time
(EN 319 102-1 5.6.2.1). The signer's own claimed time never counts here: a claim cannot make a CA that has since
been withdrawn qualified again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades import qualified_asn1
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, Qualifier

from intake.signatures.trustlists import TrustListInfo, TrustService

__all__ = [
    "ListedService",
    "QcStatements",
    "Qualification",
    "assess_anchor",
    "assess_listed",
    "issued_by",
    "read_qc_statements",
]

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------ QCStatements
QC_STATEMENTS_EXTENSION = "1.3.6.1.5.5.7.1.3"
QC_COMPLIANCE = "0.4.0.1862.1.1"
QC_SSCD = "0.4.0.1862.1.4"
QC_TYPE = "0.4.0.1862.1.6"
QC_TYPES = {"0.4.0.1862.1.6.1": "esign", "0.4.0.1862.1.6.2": "eseal", "0.4.0.1862.1.6.3": "web"}
# ETSI EN 319 412-1 5.1.3: natural-person identifiers in the subject serialNumber, e.g. "PNORO-1960523123456".
NATURAL_PERSON_SEMANTICS = re.compile(r"^(?:PAS|IDC|PNO|TAX|TIN)[A-Z]{2}-\S+$")


@dataclass(frozen=True)
class QcStatements:
    """What the certificate itself declares (ETSI EN 319 412-5)."""

    compliance: bool
    sscd: bool
    types: tuple[str, ...]
    semantics_identifier: str | None


def read_qc_statements(certificate: asn1_x509.Certificate) -> QcStatements:
    """Never raises: an unreadable extension or statement simply declares nothing."""
    compliance = sscd = False
    types: list[str] = []
    for statement in _statements(certificate):
        try:
            oid = statement["statement_id"].dotted
            if oid == QC_COMPLIANCE:
                compliance = True
            elif oid == QC_SSCD:
                sscd = True
            elif oid == QC_TYPE:
                # parse the raw value ourselves: several types are legal, and pyHanko's assessor gives up on them
                raw = statement["statement_info"]
                for type_oid in _TypeOids.load(raw.dump()):
                    name = QC_TYPES.get(type_oid.dotted)
                    if name and name not in types:
                        types.append(name)
        except Exception as exc:  # one malformed statement must not hide the others
            log.debug("unreadable QC statement skipped: %s", exc)
    return QcStatements(compliance, sscd, tuple(types), _semantics_identifier(certificate))


class _TypeOids(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


def _statements(certificate: asn1_x509.Certificate) -> list[qualified_asn1.QcStatement]:
    try:
        for extension in certificate["tbs_certificate"]["extensions"]:
            if extension["extn_id"].dotted == QC_STATEMENTS_EXTENSION:
                return list(qualified_asn1.QcStatements.load(extension["extn_value"].contents))
    except Exception as exc:
        log.debug("unreadable QCStatements extension: %s", exc)
    return []


def _semantics_identifier(certificate: asn1_x509.Certificate) -> str | None:
    try:
        for rdn in certificate.subject.chosen:
            for attribute in rdn:
                if attribute["type"].dotted == "2.5.4.5":
                    value = str(attribute["value"].native).strip()
                    if NATURAL_PERSON_SEMANTICS.match(value):
                        return value
    except Exception as exc:
        log.debug("unreadable subject: %s", exc)
    return None


# ------------------------------------------------------------------------------------------------ the rules as data
EIDAS_START = datetime(2016, 7, 1, tzinfo=ZoneInfo("Europe/Brussels"))
# Service statuses that make a CA/QC service a qualified one (ETSI TS 119 612 5.5.4; before eIDAS: TS 119 615).
GRANTING_STATUSES = frozenset({"granted"})
GRANTING_STATUSES_BEFORE_EIDAS = frozenset({"granted", "undersupervision", "supervisionincessation", "accredited"})
# Pre-eIDAS certificate policies (ETSI TS 101 456): QCP public, and QCP public + SSCD.
QCP_PUBLIC = "0.4.0.1456.1.2"
QCP_PUBLIC_SSCD = "0.4.0.1456.1.1"

# ETSI TS 119 612 5.5.9.2 qualifiers: what each one says about the certificates its criteria select.
QUALIFIER_QUALIFIED: dict[Qualifier, bool] = {
    Qualifier.QC_STATEMENT: True,  # qualified even if the certificate does not say so
    Qualifier.NOT_QUALIFIED: False,
    Qualifier.LEGAL_PERSON: False,  # pre-eIDAS: a QC could only be issued to a natural person
}
QUALIFIER_QSCD: dict[Qualifier, bool] = {
    Qualifier.WITH_SSCD: True,
    Qualifier.WITH_QSCD: True,
    Qualifier.QSCD_MANAGED_ON_BEHALF: True,
    Qualifier.NO_SSCD: False,
    Qualifier.NO_QSCD: False,
    # QCSSCDStatusAsInCert / QCQSCDStatusAsInCert: the certificate's QcSSCD decides (the default)
}
QUALIFIER_TYPE: dict[Qualifier, str] = {
    Qualifier.FOR_ESIG: "esign",
    Qualifier.FOR_ESEAL: "eseal",
    Qualifier.FOR_WSA: "web",
}
AMBIGUOUS_TYPE = "unknown"  # several QcTypes and nothing in the list to choose: DSS's "QC for unknown type"


@dataclass(frozen=True)
class Qualification:
    qualified: bool
    qscd: bool | None
    qc_type: str | None
    source: str  # "trusted_list" | "anchor" | "none"
    service_name: str | None
    tl_sequence: int | None
    at_signing: bool
    at_issuance: bool
    reasons: tuple[str, ...]
    tl_territory: str | None = None


@dataclass(frozen=True)
class ListedService:
    """A trust service certificate of a list (or a configured anchor) that may have issued certificates."""

    certificate: asn1_x509.Certificate
    service: TrustService | None  # None: a configured anchor
    list_info: TrustListInfo | None  # the list it comes from (None: anchor)

    @property
    def sequence(self) -> int | None:
        return self.list_info.sequence_number if self.list_info else None

    @property
    def territory(self) -> str | None:
        return self.list_info.territory if self.list_info else None


def issued_by(cert: asn1_x509.Certificate, ca: asn1_x509.Certificate, issuer: asn1_x509.Certificate | None) -> bool:
    """Same issuer name is given (index lookup); here the key: key identifiers, else the issuer's public key."""
    aki, ski = cert.authority_key_identifier, ca.key_identifier
    if aki is not None and ski is not None and aki == ski:
        return True
    if issuer is not None and issuer.public_key.dump() == ca.public_key.dump():
        return True
    # No way to tell keys apart: the name match stands (the chain itself was validated against trust_roots).
    return (aki is None or ski is None) and issuer is None


@dataclass(frozen=True)
class _Status:
    """The certificate's status under one source at one moment."""

    qualified: bool
    qscd: bool | None
    qc_type: str | None
    in_scope: bool = True  # False: the service is restricted to other certificate types


def _agree(values: Iterable[bool]) -> bool | None:
    found = set(values)
    if not found:
        return None
    return found.pop() if len(found) == 1 else False  # contradictory qualifiers: the conservative answer


def _status(
    statements: QcStatements,
    certificate: asn1_x509.Certificate,
    qualifiers: frozenset[Qualifier],
    service_types: frozenset[str],
) -> _Status:
    pre_eidas = certificate.not_valid_before < EIDAS_START
    policies = _policies(certificate) if pre_eidas else frozenset()
    by_certificate = statements.compliance or bool(policies & {QCP_PUBLIC, QCP_PUBLIC_SSCD})
    said = _agree(QUALIFIER_QUALIFIED[q] for q in qualifiers if q in QUALIFIER_QUALIFIED)
    qualified = by_certificate if said is None else said

    qc_type = _qc_type(statements, qualifiers, service_types)
    in_scope = not service_types or qc_type in service_types
    if not qualified:
        return _Status(False, None, qc_type, in_scope)
    said_qscd = _agree(QUALIFIER_QSCD[q] for q in qualifiers if q in QUALIFIER_QSCD)
    qscd = (statements.sscd or QCP_PUBLIC_SSCD in policies) if said_qscd is None else said_qscd
    return _Status(True, qscd, qc_type, in_scope)


def _qc_type(statements: QcStatements, qualifiers: frozenset[Qualifier], service_types: frozenset[str]) -> str:
    said = {QUALIFIER_TYPE[q] for q in qualifiers if q in QUALIFIER_TYPE}
    if len(said) == 1:
        return said.pop()
    if said:
        return AMBIGUOUS_TYPE
    if not statements.types:
        return "esign"  # EN 319 412-5: no QcType — an EU qualified certificate for electronic signatures
    if len(statements.types) == 1:
        return statements.types[0]
    narrowed = set(statements.types) & service_types  # the service's declared scope may settle it
    return narrowed.pop() if len(narrowed) == 1 else AMBIGUOUS_TYPE


def _policies(certificate: asn1_x509.Certificate) -> frozenset[str]:
    try:
        return frozenset(p["policy_identifier"].dotted for p in certificate.certificate_policies_value or ())
    except Exception:
        return frozenset()


def is_granting(status: str, moment: datetime) -> bool:
    return status in (GRANTING_STATUSES if moment >= EIDAS_START else GRANTING_STATUSES_BEFORE_EIDAS)


def declared_type(statements: QcStatements) -> str | None:
    if len(statements.types) > 1:
        return AMBIGUOUS_TYPE
    return statements.types[0] if statements.types else None


def _at(
    moment: datetime, signer: asn1_x509.Certificate, statements: QcStatements, listed: list[ListedService]
) -> tuple[bool, _Status | None, ListedService | None]:
    """(was a matching service granting at `moment`, the combined status under the services in scope, one of them)."""
    granting = False
    found: list[tuple[_Status, ListedService]] = []
    for entry in listed:
        assert entry.service is not None
        period = entry.service.period_at(moment)
        if period is None or period.service_type != CA_QC_URI or not is_granting(period.status, moment):
            continue
        if period.problem:  # a critical extension we cannot read might say "NotQualified": grant nothing
            continue
        granting = True
        qualifiers: set[Qualifier] = set()
        for qualification in period.qualifications:
            try:
                if qualification.criteria_list.matches(signer):
                    qualifiers.update(qualification.qualifiers)
            except Exception as exc:  # a criterion pyHanko cannot evaluate selects nothing
                log.debug("qualification criteria not evaluated: %s", exc)
        status = _status(statements, signer, frozenset(qualifiers), period.certificate_types)
        if status.in_scope:
            found.append((status, entry))
    if not found:
        return granting, None, None
    statuses = [status for status, _ in found]
    qualified = all(s.qualified for s in statuses)  # several services disagreeing: the conservative answer
    qscd_values = {s.qscd for s in statuses}
    qscd = False if False in qscd_values else (None if None in qscd_values else True)
    types = {s.qc_type for s in statuses}
    qc_type = types.pop() if len(types) == 1 else AMBIGUOUS_TYPE
    return granting, _Status(qualified, qscd if qualified else None, qc_type), found[0][1]


def assess_listed(
    signer: asn1_x509.Certificate, statements: QcStatements, listed: list[ListedService], signing_time: datetime
) -> Qualification:
    """Qualification under the matching trusted-list services, at `signing_time` AND at issuance (notBefore)."""
    at_signing, signing, used_signing = _at(signing_time, signer, statements, listed)
    at_issuance, issuance, used_issuance = _at(signer.not_valid_before, signer, statements, listed)
    reasons: list[str] = []
    if not at_signing:
        reasons.append("ca_not_in_trusted_list_at_signing_time")
    if not at_issuance:
        reasons.append("ca_not_in_trusted_list_at_issuance")
    if (at_signing and signing is None) or (at_issuance and issuance is None):
        reasons.append("qc_type_not_in_service_scope")
    qualified = bool(signing and signing.qualified and issuance and issuance.qualified)
    used = used_signing or used_issuance or listed[0]
    assert used.service is not None
    qc_type = signing.qc_type if signing else (issuance.qc_type if issuance else declared_type(statements))
    qscd = signing.qscd if qualified and signing else None
    reasons.extend(_outcome_reasons(qualified, qscd, qc_type))
    return Qualification(
        qualified=qualified,
        qscd=qscd,
        qc_type=qc_type,
        source="trusted_list",
        service_name=used.service.name,
        tl_sequence=used.sequence,
        at_signing=at_signing,
        at_issuance=at_issuance,
        reasons=tuple(dict.fromkeys(reasons)),
        tl_territory=used.territory,
    )


def assess_anchor(signer: asn1_x509.Certificate, statements: QcStatements) -> Qualification:
    """A configured anchor is a qualified CA at all times: the certificate's own statements decide."""
    status = _status(statements, signer, frozenset(), frozenset())
    qc_type = status.qc_type if status.qualified else declared_type(statements)
    return Qualification(
        qualified=status.qualified,
        qscd=status.qscd,
        qc_type=qc_type,
        source="anchor",
        service_name=None,
        tl_sequence=None,
        at_signing=True,
        at_issuance=True,
        reasons=_outcome_reasons(status.qualified, status.qscd, qc_type),
    )


def _outcome_reasons(qualified: bool, qscd: bool | None, qc_type: str | None) -> tuple[str, ...]:
    if not qualified:
        return ("not_qualified",)
    reasons = []
    if qc_type == "eseal":
        reasons.append("qc_type_eseal")
    elif qc_type == "web":
        reasons.append("qc_type_web")
    elif qc_type == AMBIGUOUS_TYPE:
        reasons.append("qc_type_ambiguous")
    if qscd is not True:
        reasons.append("no_qscd")
    return tuple(reasons)
