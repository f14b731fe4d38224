"""What we trust, loaded once and swapped daily: ETSI TS 119 612 trusted lists (files or URLs, each list's XML
signature checked with its operator certificate), the EU LOTL, and configured anchors.

It answers three questions quickly:
- which certificates anchor chain building, for signatures (`trust_roots`: every CA/QC service, whatever its
  status, and the anchors) and for time-stamps (`timestamp_roots`: also every TSA/QTST service certificate,
  TS 119 615: a listed time-stamping unit is a trust anchor for time-stamps);
- was the signer's certificate qualified (`assess`: the rules of `qualification.py`), and is the list that says
  so still current at the validation time (past NextUpdate plus `trust.next_update_grace_hours`: expired);
- was a time-stamp's authority a granted TSA/QTST service at the time-stamp's time (`assess_timestamp`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.validation.qualified.tsp import QTST_URI

from intake.signatures.qualification import (
    ListedService,
    Qualification,
    assess_anchor,
    assess_listed,
    declared_type,
    is_granting,
    issued_by,
    read_qc_statements,
)
from intake.signatures.trustlists import (
    TIMESTAMP_SERVICE_TYPES,
    TSA_URI,
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

__all__ = ["TimestampTrust", "TrustStore"]

log = logging.getLogger(__name__)

# TS 119 612 5.5.4: statuses under which a non-qualified TSA service is recognised.
RECOGNISED_STATUSES = frozenset({"granted", "recognisedatnationallevel"})


@dataclass(frozen=True)
class TimestampTrust:
    """Whether a time-stamp's authority is trusted at the time-stamp's time, and whether it is qualified."""

    trusted: bool
    qualified: bool | None  # None: not trusted, so not decided
    source: str  # "trusted_list" (a listed TSA/QTST service), "ca" (chains to a listed CA or anchor), "none"
    service_name: str | None = None
    territory: str | None = None
    tl_sequence: int | None = None
    reasons: tuple[str, ...] = ()


def _name_key(name: asn1_x509.Name) -> str:
    return name.hashable  # normalised (case, whitespace, string types), as RFC 5280 name matching wants


@dataclass
class _State:
    lists: list[LoadedList]
    listed: dict[str, list[ListedService]] = field(default_factory=dict)  # CA/QC services by subject name
    tsa_listed: dict[str, list[ListedService]] = field(default_factory=dict)  # TSA/QTST services by subject name
    anchors: dict[str, list[ListedService]] = field(default_factory=dict)
    trust_roots: list[asn1_x509.Certificate] = field(default_factory=list)
    timestamp_roots: list[asn1_x509.Certificate] = field(default_factory=list)
    ca_fingerprints: frozenset[bytes] = frozenset()

    @classmethod
    def build(cls, lists: list[LoadedList], anchors: Sequence[asn1_x509.Certificate]) -> _State:
        state = cls(lists)
        ca_certs: list[asn1_x509.Certificate] = []
        tsa_certs: list[asn1_x509.Certificate] = []
        for loaded in lists:
            if loaded.content is None:
                continue
            for service in loaded.content.services:
                timestamping = service.service_type in TIMESTAMP_SERVICE_TYPES
                index = state.tsa_listed if timestamping else state.listed
                # every service, whatever its status: chain building needs withdrawn CAs too (old signatures);
                # whether a service counted at a given moment is decided per moment in assess()
                for cert in service.certificates:
                    (tsa_certs if timestamping else ca_certs).append(cert)
                    index.setdefault(_name_key(cert.subject), []).append(ListedService(cert, service, loaded.info))
        for anchor in anchors:
            state.anchors.setdefault(_name_key(anchor.subject), []).append(ListedService(anchor, None, None))
        state.trust_roots = unique_certificates([*ca_certs, *anchors])
        state.timestamp_roots = unique_certificates([*ca_certs, *anchors, *tsa_certs])
        state.ca_fingerprints = frozenset(cert.sha256 for cert in state.trust_roots)
        return state

    def matches(
        self,
        index: dict[str, list[ListedService]],
        cert: asn1_x509.Certificate,
        issuer: asn1_x509.Certificate | None,
    ) -> list[ListedService]:
        """Entries that issued `cert` (or its issuer: some lists name the root)."""
        found = [e for e in index.get(_name_key(cert.issuer), ()) if issued_by(cert, e.certificate, issuer)]
        if issuer is not None and issuer.issuer != issuer.subject:
            found += [e for e in index.get(_name_key(issuer.issuer), ()) if issued_by(issuer, e.certificate, None)]
        return list({id(e): e for e in found}.values())

    def listed_as(self, index: dict[str, list[ListedService]], cert: asn1_x509.Certificate) -> list[ListedService]:
        """Entries whose service certificate IS `cert` (lists name the time-stamping unit itself)."""
        return [e for e in index.get(_name_key(cert.subject), ()) if e.certificate.sha256 == cert.sha256]


# ------------------------------------------------------------------------------------------------ configuration
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
    grace: timedelta = timedelta(0)  # after NextUpdate, how long a list still counts as current


class TrustStore:
    """Loaded trusted lists and anchors; answers `assess` quickly. `refresh()` swaps in a freshly loaded state."""

    def __init__(self, config: _Config) -> None:
        self._config = config
        self._state = self._load(force=False)

    # -------------------------------------------------------------------------------------------- construction
    @classmethod
    def from_settings(cls, trust: TrustSettings, cache_dir: Path, now: datetime | None = None) -> TrustStore:
        """`now`: load and check the lists as of that time (`intake verify --at`); None: the real clock."""
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
        config = _Config(
            sources=tuple(sources),
            lotl=trust.lotl or None,
            lotl_signers=tuple(_read_all(trust.lotl_signers, "LOTL signer certificate")),
            anchors=tuple(_read_all(trust.anchors, "trust anchor")),
            verify=True,
            cache_dir=cache_dir,
            max_age=timedelta(hours=trust.refresh_hours),
            now=now,
            grace=timedelta(hours=trust.next_update_grace_hours),
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
        grace: timedelta = timedelta(0),
    ) -> TrustStore:
        """`lists`: (path, URL or the XML itself, operator certificate as DER or PEM, or None). `lotl`: URL or
        path of a list of trusted lists; `lotl_signers` its signer certificates (default: the EU's)."""
        config = _Config(
            sources=tuple(_source_from_part(source, operator) for source, operator in lists),
            lotl=lotl,
            lotl_signers=tuple(lotl_signers),
            anchors=tuple(anchors),
            verify=verify_list_signatures,
            cache_dir=cache_dir,
            max_age=max_cache_age,
            now=now,
            grace=grace,
        )
        return cls(config)

    def _load(self, *, force: bool) -> _State:
        config = self._config
        now = config.now or datetime.now(UTC)
        cache = ListCache(config.cache_dir) if config.cache_dir else None
        fetch = FetchPolicy(cache, config.max_age, force)
        loaded = [
            load_trusted_list(
                source.source,
                source.data,
                source.operator_certs,
                verify=config.verify,
                fetch=fetch,
                now=now,
                problem=source.problem,
            )
            for source in config.sources
        ]
        if config.lotl:
            loaded.extend(
                load_lotl(config.lotl, verify=config.verify, fetch=fetch, now=now, signers=config.lotl_signers)
            )
        for item in loaded:
            if item.info.error:
                log.warning("trusted list %s not used: %s", item.info.source, item.info.error)
            elif item.info.expired(now, config.grace):
                log.warning("trusted list %s is expired (next update %s)", item.info.source, item.info.next_update)
        return _State.build(loaded, config.anchors)

    def refresh(self) -> None:
        """Fetch URL lists and the LOTL again (the cached copy stays in use when offline). Never raises."""
        try:
            self._state = self._load(force=True)
        except Exception:  # the daily job must not take the daemon down; keep the old state
            log.exception("refreshing the trusted lists failed; the previous ones stay in use")

    # -------------------------------------------------------------------------------------------- what it holds
    @property
    def cache_dir(self) -> Path | None:
        """Where fetched lists are cached (`storage.path/trust-cache`); revocation answers are kept beside them."""
        return self._config.cache_dir

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Certificates of the CA/QC services of the usable lists (every status) and the anchors."""
        return list(self._state.trust_roots)

    @property
    def timestamp_roots(self) -> list[asn1_x509.Certificate]:
        """Anchors for time-stamp validation: the trust roots plus every TSA/QTST service certificate."""
        return list(self._state.timestamp_roots)

    @property
    def lists(self) -> list[TrustListInfo]:
        return [item.info for item in self._state.lists]

    @property
    def services(self) -> list[TrustService]:
        """CA/QC and TSA/QTST services of the usable lists."""
        return [s for item in self._state.lists if item.content for s in item.content.services]

    @property
    def anchors(self) -> list[asn1_x509.Certificate]:
        return list(self._config.anchors)

    @property
    def grace(self) -> timedelta:
        return self._config.grace

    @property
    def configured(self) -> bool:
        """Any source of trust at all: lists, LOTL or anchors."""
        return bool(self._config.sources or self._config.lotl or self._config.anchors)

    @property
    def unavailable(self) -> bool:
        """A configured list (or the LOTL) could not be used: a signer's CA may well be in it."""
        return any(item.info.error for item in self._state.lists)

    def is_ca_root(self, cert: asn1_x509.Certificate) -> bool:
        return cert.sha256 in self._state.ca_fingerprints

    def age_seconds(self, now: datetime) -> float | None:
        issued = [item.info.issued_at for item in self._state.lists if item.info.issued_at and not item.info.error]
        return (now - min(issued)).total_seconds() if issued else None

    def _current(self, entries: list[ListedService], at: datetime) -> tuple[list[ListedService], bool]:
        """The entries whose list is current at `at`; when none is, all of them and True (expired)."""
        fresh = [e for e in entries if e.list_info is None or not e.list_info.expired(at, self._config.grace)]
        return (fresh, False) if fresh else (entries, bool(entries))

    # -------------------------------------------------------------------------------------------- assessment
    def assess(
        self,
        signer: asn1_x509.Certificate,
        issuer: asn1_x509.Certificate | None,
        signing_time: datetime,
        *,
        at: datetime | None = None,
    ) -> Qualification:
        """Qualification of `signer` at `signing_time` (the best signature time) AND at its issuance (notBefore),
        from lists that are current at `at` (the validation time; default: `signing_time`)."""
        signing_time = _aware(signing_time)
        at = _aware(at) if at is not None else signing_time
        state = self._state
        statements = read_qc_statements(signer)
        listed, expired = self._current(state.matches(state.listed, signer, issuer), at)
        if listed:
            result = assess_listed(signer, statements, listed, signing_time)
            if expired:
                result = _with_reasons(result, ("trusted_list_expired",))
            return result
        if state.matches(state.anchors, signer, issuer):
            return assess_anchor(signer, statements)
        reasons = ("trusted_list_unavailable", "not_qualified") if self.unavailable else ("not_qualified",)
        return Qualification(False, None, declared_type(statements), "none", None, None, False, False, reasons)

    def assess_timestamp(
        self,
        tsa: asn1_x509.Certificate,
        issuer: asn1_x509.Certificate | None,
        time: datetime,
        *,
        at: datetime,
        anchored_by_ca: bool,
    ) -> TimestampTrust:
        """Is the authority of a time-stamp made at `time` trusted, and qualified (TS 119 615)?

        `anchored_by_ca`: the chain pyHanko validated ends at a listed CA or an anchor (not merely at a TSA/QTST
        service certificate). A listed TSA/QTST service trusts the time-stamp only while it is granted (QTST) or
        recognised (TSA) at `time`; a QTST so granted makes the time-stamp qualified."""
        time, at = _aware(time), _aware(at)
        state = self._state
        entries = [*state.listed_as(state.tsa_listed, tsa), *state.matches(state.tsa_listed, tsa, issuer)]
        entries, expired = self._current(list({id(e): e for e in entries}.values()), at)
        for service_type, statuses, qualified in ((QTST_URI, None, True), (TSA_URI, RECOGNISED_STATUSES, False)):
            for entry in entries:
                assert entry.service is not None
                period = entry.service.period_at(time)
                if period is None or period.service_type != service_type:
                    continue
                ok = is_granting(period.status, time) if statuses is None else period.status in statuses
                if ok:
                    reasons = ("trusted_list_expired",) if expired else ()
                    return TimestampTrust(
                        True, qualified, "trusted_list", entry.service.name, entry.territory, entry.sequence, reasons
                    )
        if anchored_by_ca:  # e.g. a TSA certified by a listed CA, or by a configured anchor: trusted, not qualified
            return TimestampTrust(True, False, "ca")
        if entries:
            return TimestampTrust(False, None, "none", reasons=("tsa_not_granted_at_timestamp_time",))
        return TimestampTrust(False, None, "none")


def _with_reasons(q: Qualification, extra: tuple[str, ...]) -> Qualification:
    return replace(q, reasons=tuple(dict.fromkeys((*extra, *q.reasons))))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_all(paths: Sequence[Path], what: str) -> list[asn1_x509.Certificate]:
    certs: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            certs.extend(read_certificate_file(path))
        except TrustListError as exc:
            log.error("%s ignored: %s", what, exc)
    return certs


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
