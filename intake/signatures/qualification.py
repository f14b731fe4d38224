"""Is a signer's certificate qualified — for e-signatures, on a QSCD — the way DSS decides it?

Sources of trust (`TrustStore`): ETSI TS 119 612 trusted lists (files or URLs, each list's XML signature checked
with its operator certificate), the EU LOTL, and configured anchors. The decision (`TrustStore.assess`) follows
ETSI TS 119 615 and DSS:

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
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades import qualified_asn1
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, QTST_URI, Qualifier

from intake.signatures.trustlists import (
    FetchPolicy,
    ListCache,
    LoadedList,
    TrustListError,
    TrustListInfo,
    TrustService,
    is_url,
    load_certificates,
    load_lotl,
    load_trusted_list,
    read_certificate_file,
    unique_certificates,
)

if TYPE_CHECKING:
    from intake.settings import TrustSettings

__all__ = ["QcStatements", "Qualification", "TrustListInfo", "TrustStore", "read_qc_statements"]

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
    source: str
    service_name: str | None
    tl_sequence: int | None
    at_signing: bool
    at_issuance: bool
    reasons: tuple[str, ...]


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


def _granting(status: str, moment: datetime) -> bool:
    return status in (GRANTING_STATUSES if moment >= EIDAS_START else GRANTING_STATUSES_BEFORE_EIDAS)


# ------------------------------------------------------------------------------------------------ matching
@dataclass(frozen=True)
class _Listed:
    """A service certificate (or an anchor) that may have issued certificates."""

    certificate: asn1_x509.Certificate
    service: TrustService | None  # None: a configured anchor
    sequence: int | None


def _issued_by(cert: asn1_x509.Certificate, ca: asn1_x509.Certificate, issuer: asn1_x509.Certificate | None) -> bool:
    """Same issuer name is given (index lookup); here the key: key identifiers, else the issuer's public key."""
    aki, ski = cert.authority_key_identifier, ca.key_identifier
    if aki is not None and ski is not None and aki == ski:
        return True
    if issuer is not None and issuer.public_key.dump() == ca.public_key.dump():
        return True
    # No way to tell keys apart: the name match stands (the chain itself was validated against trust_roots).
    return (aki is None or ski is None) and issuer is None


def _name_key(name: asn1_x509.Name) -> str:
    return name.hashable  # normalised (case, whitespace, string types), as RFC 5280 name matching wants


@dataclass
class _State:
    lists: list[LoadedList]
    listed: dict[str, list[_Listed]] = field(default_factory=dict)  # TL CA/QC services by subject name
    anchors: dict[str, list[_Listed]] = field(default_factory=dict)
    trust_roots: list[asn1_x509.Certificate] = field(default_factory=list)
    timestamp_roots: list[asn1_x509.Certificate] = field(default_factory=list)

    @classmethod
    def build(cls, lists: list[LoadedList], anchors: Sequence[asn1_x509.Certificate]) -> _State:
        state = cls(lists)
        ca_certs: list[asn1_x509.Certificate] = []
        tsa_certs: list[asn1_x509.Certificate] = []
        for loaded in lists:
            if loaded.content is None:
                continue
            for service in loaded.content.services:
                if service.service_type == QTST_URI:
                    tsa_certs.extend(service.certificates)
                    continue
                # every CA/QC service, whatever its status: chain building needs withdrawn CAs too (old
                # signatures); whether they made a certificate qualified is decided per moment in assess()
                for cert in service.certificates:
                    ca_certs.append(cert)
                    state.listed.setdefault(_name_key(cert.subject), []).append(
                        _Listed(cert, service, loaded.content.sequence_number)
                    )
        for anchor in anchors:
            state.anchors.setdefault(_name_key(anchor.subject), []).append(_Listed(anchor, None, None))
        state.trust_roots = unique_certificates([*ca_certs, *anchors])
        state.timestamp_roots = unique_certificates(tsa_certs)
        return state

    def matches(
        self, index: dict[str, list[_Listed]], cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate | None
    ) -> list[_Listed]:
        found = [e for e in index.get(_name_key(cert.issuer), ()) if _issued_by(cert, e.certificate, issuer)]
        if issuer is not None and issuer.issuer != issuer.subject:  # the list may name the issuer's own CA
            found += [e for e in index.get(_name_key(issuer.issuer), ()) if _issued_by(issuer, e.certificate, None)]
        return list({id(e): e for e in found}.values())


# ------------------------------------------------------------------------------------------------ the store
@dataclass(frozen=True)
class _Source:
    source: str  # path, URL, or "inline:<sha256>" for content handed over directly
    data: bytes | None  # inline content
    operator_certs: tuple[asn1_x509.Certificate, ...]
    problem: str | None = None  # e.g. the operator certificate file could not be read


@dataclass(frozen=True)
class _Config:
    sources: tuple[_Source, ...]
    lotl: str | None
    lotl_signers: tuple[asn1_x509.Certificate, ...]  # empty: pyHanko's bundled EU LOTL signer certificates
    anchors: tuple[asn1_x509.Certificate, ...]
    verify: bool
    cache_dir: Path | None
    max_age: timedelta
    now: datetime | None  # fixed clock (tests, `intake verify --at`); None: the real one


class TrustStore:
    """Loaded trusted lists and anchors; answers `assess` quickly. `refresh()` swaps in a freshly loaded state."""

    def __init__(self, config: _Config) -> None:
        self._config = config
        self._state = self._load(force=False)

    # -------------------------------------------------------------------------------------------- construction
    @classmethod
    def from_settings(cls, trust: TrustSettings, cache_dir: Path) -> TrustStore:
        sources = []
        for entry in trust.lists:
            certs: tuple[asn1_x509.Certificate, ...] = ()
            problem = None
            if entry.signer is None:
                problem = "no operator certificate (signer) configured for this list"
            else:
                try:
                    certs = tuple(read_certificate_file(entry.signer))
                except TrustListError as exc:
                    problem = str(exc)
            sources.append(_Source(entry.source, None, certs, problem))
        anchors: list[asn1_x509.Certificate] = []
        for path in trust.anchors:
            try:
                anchors.extend(read_certificate_file(path))
            except TrustListError as exc:
                log.error("trust anchor ignored: %s", exc)
        config = _Config(
            sources=tuple(sources),
            lotl=trust.lotl or None,
            lotl_signers=(),
            anchors=tuple(anchors),
            verify=True,
            cache_dir=cache_dir,
            max_age=timedelta(hours=trust.refresh_hours),
            now=None,
        )
        return cls(config)

    @classmethod
    def from_parts(
        cls,
        *,
        lists: Sequence[tuple[str, bytes | None]] = (),
        anchors: Sequence[asn1_x509.Certificate] = (),
        verify_list_signatures: bool = True,
        now: datetime | None = None,
        lotl: str | None = None,
        lotl_signers: Sequence[asn1_x509.Certificate] = (),
        cache_dir: Path | None = None,
        max_cache_age: timedelta = timedelta(hours=24),
    ) -> TrustStore:
        """`lists`: (path, URL or the XML itself, operator certificate as DER or PEM, or None). `lotl`: URL or
        path of a list of trusted lists; `lotl_signers` its signer certificates (default: the EU's)."""
        sources = [_source_from_part(source, operator) for source, operator in lists]
        config = _Config(
            sources=tuple(sources),
            lotl=lotl,
            lotl_signers=tuple(lotl_signers),
            anchors=tuple(anchors),
            verify=verify_list_signatures,
            cache_dir=cache_dir,
            max_age=max_cache_age,
            now=now,
        )
        return cls(config)

    def _load(self, *, force: bool) -> _State:
        config = self._config
        now = config.now or datetime.now(UTC)
        cache = ListCache(config.cache_dir) if config.cache_dir else None
        fetch = FetchPolicy(cache, config.max_age, force)
        loaded: list[LoadedList] = []
        for source in config.sources:
            loaded.append(
                load_trusted_list(
                    source.source,
                    source.data,
                    source.operator_certs,
                    verify=config.verify,
                    fetch=fetch,
                    now=now,
                    problem=source.problem,
                )
            )
        if config.lotl:
            loaded.extend(
                load_lotl(config.lotl, verify=config.verify, fetch=fetch, now=now, signers=config.lotl_signers)
            )
        for item in loaded:
            if item.info.error:
                log.warning("trusted list %s not used: %s", item.info.source, item.info.error)
        return _State.build(loaded, config.anchors)

    def refresh(self) -> None:
        """Fetch URL lists and the LOTL again (the cached copy stays in use when offline). Never raises."""
        try:
            self._state = self._load(force=True)
        except Exception:  # the daily job must not take the daemon down; keep the old state
            log.exception("refreshing the trusted lists failed; the previous ones stay in use")

    # -------------------------------------------------------------------------------------------- what it holds
    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Certificates of the CA/QC services of the usable lists (every status) and the anchors."""
        return list(self._state.trust_roots)

    @property
    def timestamp_roots(self) -> list[asn1_x509.Certificate]:
        """Certificates of the qualified time-stamping services (TSA/QTST) of the usable lists."""
        return list(self._state.timestamp_roots)

    @property
    def lists(self) -> list[TrustListInfo]:
        return [item.info for item in self._state.lists]

    @property
    def services(self) -> list[TrustService]:
        """CA/QC and QTST services of the usable lists."""
        return [s for item in self._state.lists if item.content for s in item.content.services]

    @property
    def anchors(self) -> list[asn1_x509.Certificate]:
        return list(self._config.anchors)

    def age_seconds(self, now: datetime) -> float | None:
        issued = [item.info.issued_at for item in self._state.lists if item.info.issued_at and not item.info.error]
        return (now - min(issued)).total_seconds() if issued else None

    # -------------------------------------------------------------------------------------------- assessment
    def assess(
        self, signer: asn1_x509.Certificate, issuer: asn1_x509.Certificate | None, signing_time: datetime
    ) -> Qualification:
        """Qualification of `signer` at `signing_time` AND at its issuance (notBefore)."""
        if signing_time.tzinfo is None:
            signing_time = signing_time.replace(tzinfo=UTC)
        state = self._state
        statements = read_qc_statements(signer)
        listed = state.matches(state.listed, signer, issuer)
        if listed:
            return _assess_listed(signer, statements, listed, signing_time)
        if state.matches(state.anchors, signer, issuer):
            return _assess_anchor(signer, statements)
        reasons = ("trusted_list_unavailable", "not_qualified") if self._lists_missing() else ("not_qualified",)
        return Qualification(False, None, _declared_type(statements), "none", None, None, False, False, reasons)

    def _lists_missing(self) -> bool:
        """A configured list could not be used: the issuing CA may well be in it."""
        return any(item.info.error for item in self._state.lists)


def _source_from_part(source: str, operator: bytes | None) -> _Source:
    problem = None
    certs: tuple[asn1_x509.Certificate, ...] = ()
    if operator is not None:
        try:
            certs = tuple(load_certificates(operator))
        except Exception as exc:
            problem = f"unreadable operator certificate: {exc}"
    if source.lstrip().startswith("<"):  # the XML itself
        data = source.encode("utf-8")
        return _Source(f"inline:{hashlib.sha256(data).hexdigest()[:16]}", data, certs, problem)
    if not is_url(source):
        source = str(Path(source))
    return _Source(source, None, certs, problem)


def _declared_type(statements: QcStatements) -> str | None:
    if len(statements.types) > 1:
        return AMBIGUOUS_TYPE
    return statements.types[0] if statements.types else None


def _at(
    moment: datetime, signer: asn1_x509.Certificate, statements: QcStatements, listed: list[_Listed]
) -> tuple[bool, _Status | None, _Listed | None]:
    """(was a matching service granting at `moment`, the combined status under the services in scope, one of them)."""
    granting = False
    found: list[tuple[_Status, _Listed]] = []
    for entry in listed:
        assert entry.service is not None
        period = entry.service.period_at(moment)
        if period is None or period.service_type != CA_QC_URI or not _granting(period.status, moment):
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


def _assess_listed(
    signer: asn1_x509.Certificate, statements: QcStatements, listed: list[_Listed], signing_time: datetime
) -> Qualification:
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
    qc_type = signing.qc_type if signing else (issuance.qc_type if issuance else _declared_type(statements))
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
    )


def _assess_anchor(signer: asn1_x509.Certificate, statements: QcStatements) -> Qualification:
    """A configured anchor is a qualified CA at all times: the certificate's own statements decide."""
    status = _status(statements, signer, frozenset(), frozenset())
    qc_type = status.qc_type if status.qualified else _declared_type(statements)
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
