"""Trusted lists (ETSI TS 119 612): obtain them (file, URL, file cache), check their XML signature and read them
into plain, immutable data that the qualification rules (`qualification.py`) can query quickly.

Why not pyHanko's `TSPRegistry`: it keeps only the periods in which a service was *granted* and drops the rest, so
it can neither give chain building the certificates of withdrawn services nor tell "withdrawn at signing time" from
"never listed", and it ignores the pre-eIDAS statuses (`undersupervision`, `accredited`, ...). We keep every status
period of every CA/QC and QTST service. pyHanko still does the hard parts: its generated xsdata model of TS 119 612,
its reading of the `Qualifications` extension into criteria objects that can be matched against a certificate,
and the LOTL parser with the bundled LOTL signer certificates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import pem, x509
from cryptography.x509 import load_der_x509_certificate
from lxml import etree
from pyhanko.generated.etsi import ts_119612, ts_119612_sie
from pyhanko.sign.validation.qualified import eutl_parse
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, QTST_URI
from pyhanko.sign.validation.qualified.tsp import Qualification as TLQualification
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler
from xsdata.models.datatype import XmlDateTime

log = logging.getLogger(__name__)

# pyHanko and signxml log full tracebacks at WARNING for lists they cannot use; we report those ourselves.
for _noisy in ("pyhanko.sign.validation.qualified", "signxml"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

FETCH_TIMEOUT_SECONDS = 20.0
MAX_LIST_BYTES = 64 * 1024 * 1024  # the largest national lists are a few MB; anything far bigger is not a list
FETCH_WORKERS = 8  # LOTL mode fetches ~30 national lists: in parallel, so one slow server does not add up
TSL_NAMESPACE = "http://uri.etsi.org/02231/v2#"
TSL_ROOT_TAG = f"{{{TSL_NAMESPACE}}}TrustServiceStatusList"

# TS 119 612 5.5.1: qualified time-stamping (QTST) and the nationally recognised, non-qualified TSA service type.
TSA_URI = "http://uri.etsi.org/TrstSvc/Svctype/TSA"
TIMESTAMP_SERVICE_TYPES = frozenset({QTST_URI, TSA_URI})
SERVICE_TYPES_KEPT = frozenset({CA_QC_URI, *TIMESTAMP_SERVICE_TYPES})
# AdditionalServiceInformation URIs that narrow a CA/QC service to one kind of qualified certificate.
_ASI = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/"
ASI_CERTIFICATE_TYPES = {
    f"{_ASI}ForeSignatures": "esign",
    f"{_ASI}ForeSeals": "eseal",
    f"{_ASI}ForWebSiteAuthentication": "web",
}


class TrustListError(Exception):
    """A list that cannot be used: unreachable, unreadable or not signed by its operator."""


# ------------------------------------------------------------------------------------------------ data model
@dataclass(frozen=True)
class TrustListInfo:
    """What `status`, the dashboard and the evidence show about one list."""

    source: str
    territory: str | None
    sequence_number: int | None
    issued_at: datetime | None
    next_update: datetime | None
    loaded_at: datetime
    signature_verified: bool
    from_cache: bool
    error: str | None
    # The list's signature verifies, but only as of its issue date: the operator certificate is no longer valid.
    operator_certificate_expired: bool = False

    def expired(self, at: datetime, grace: timedelta = timedelta(0)) -> bool:
        """Past its NextUpdate (TS 119 612 5.3.14) plus `grace`, or signed with a certificate no longer valid: a
        list nobody vouches for any more must not qualify anything."""
        if self.operator_certificate_expired:
            return True
        return self.next_update is not None and self.next_update + grace < at


@dataclass(frozen=True)
class ServicePeriod:
    """One status of a service, from `start` until `end` (None: still current)."""

    status: str  # last segment of the status URI: "granted", "withdrawn", "accredited", ...
    service_type: str  # the service type URI (CA/QC, TSA/QTST)
    start: datetime
    end: datetime | None
    qualifications: tuple[TLQualification, ...]  # the Qualifications extension (qualifiers + criteria)
    certificate_types: frozenset[str]  # "esign" / "eseal" / "web" from AdditionalServiceInformation; empty: any
    problem: str | None = None  # a critical extension we could not read: the period cannot grant anything

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class TrustService:
    name: str
    provider: str
    service_type: str  # of the current status
    certificates: tuple[x509.Certificate, ...]
    periods: tuple[ServicePeriod, ...]  # newest first

    def period_at(self, moment: datetime) -> ServicePeriod | None:
        return next((period for period in self.periods if period.covers(moment)), None)


@dataclass(frozen=True)
class TrustedList:
    territory: str | None
    sequence_number: int | None
    issued_at: datetime | None
    next_update: datetime | None
    services: tuple[TrustService, ...]


@dataclass(frozen=True)
class LoadedList:
    """A list as loaded: `content` is None when it must not be used (see `info.error`)."""

    info: TrustListInfo
    content: TrustedList | None


# ------------------------------------------------------------------------------------------------ certificates
def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate; raises ValueError when there is none."""
    if pem.detect(data):
        certs = [
            x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"
        ]
    else:
        certs = [x509.Certificate.load(data)]
        certs[0].native  # noqa: B018 — asn1crypto parses lazily; force it so garbage fails here, not later
    if not certs:
        raise ValueError("no certificate found")
    return certs


def read_certificate_file(path: Path) -> list[x509.Certificate]:
    try:
        return load_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustListError(f"cannot read certificate {path}: {exc}") from exc


# ------------------------------------------------------------------------------------------------ fetching + cache
def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch_url(url: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> bytes:
    if not is_url(url):  # never let a list point us at file:// or ftp://
        raise TrustListError(f"unsupported URL scheme: {url}")
    request = urllib.request.Request(
        url, headers={"Accept": f"{eutl_parse.ETSI_TSL_MIME_TYPE}, application/xml, text/xml", "User-Agent": "intake"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
        data: bytes = response.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise TrustListError(f"{url}: larger than {MAX_LIST_BYTES} bytes")
    return data


class ListCache:
    """Downloaded lists on disk: `<sha256(url)>.xml` plus `<sha256(url)>.json` ({url, fetched_at}).

    One pair of files per URL (no shared index), written atomically, so the daemon and `intake verify` can share
    the directory. Unlike pyHanko's `FileSystemTLCache`, an old entry is never thrown away: it is exactly what we
    fall back to when the network is down; freshness is decided by the caller.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _stem(self, url: str) -> Path:
        return self.directory / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def get(self, url: str) -> tuple[bytes, datetime] | None:
        stem = self._stem(url)
        try:
            meta = json.loads(stem.with_suffix(".json").read_text("utf-8"))
            data = stem.with_suffix(".xml").read_bytes()
            return data, datetime.fromisoformat(meta["fetched_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, url: str, data: bytes, fetched_at: datetime) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = self._stem(url)
            _write_atomically(stem.with_suffix(".xml"), data)
            meta = {"url": url, "fetched_at": fetched_at.isoformat()}
            _write_atomically(stem.with_suffix(".json"), json.dumps(meta).encode("utf-8"))
        except OSError as exc:  # a read-only cache must not stop the list from being used
            log.warning("cannot cache trusted list %s: %s", url, exc)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class FetchPolicy:
    cache: ListCache | None
    max_age: timedelta  # a cached copy younger than this is used without asking the network
    force: bool = False  # refresh(): always ask the network first


def obtain(source: str, policy: FetchPolicy, now: datetime) -> tuple[bytes, bool]:
    """The bytes of a list and whether they came from the cache. Files are read; URLs fetched or cached."""
    if not is_url(source):
        try:
            return Path(source).read_bytes(), False
        except OSError as exc:
            raise TrustListError(f"cannot read {source}: {exc.strerror or exc}") from exc
    cached = policy.cache.get(source) if policy.cache else None
    if cached and not policy.force and now - cached[1] < policy.max_age:
        return cached[0], True
    try:
        data = fetch_url(source)
    except Exception as exc:  # any network or HTTP failure: the cached copy, if we have one
        if cached:
            log.warning("trusted list %s unreachable (%s); using the copy cached at %s", source, exc, cached[1])
            return cached[0], True
        raise TrustListError(f"cannot fetch {source}: {exc}") from exc
    if policy.cache:
        policy.cache.put(source, data, now)
    return data, False


# ------------------------------------------------------------------------------------------------ XML
def _parse_xml(data: bytes) -> etree._Element:
    # No DTDs, no entities, no network: a trusted list is untrusted input until its signature is checked.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise TrustListError(f"not well-formed XML: {exc}") from exc


def verify_list_signature(
    data: bytes, operator_certs: Sequence[x509.Certificate], at: datetime | None
) -> etree._Element:
    """The signed TrustServiceStatusList element, if one of `operator_certs` made its XAdES signature.

    Mirrors pyHanko's `trust_list_to_registry` check, but returns what was signed (never the raw input: a wrapped
    signature must not let unsigned content through). `at`: time at which the operator certificate must be valid.
    """
    if not operator_certs:
        raise TrustListError("no operator certificate configured to verify the list's signature")
    config = XAdESSignatureConfiguration(require_x509=True, expect_references=True, verification_time=at)
    problems = []
    for cert in sorted(operator_certs, key=lambda c: c.not_valid_before, reverse=True):
        try:
            results = XAdESVerifier().verify(
                data, x509_cert=load_der_x509_certificate(cert.dump()), expect_config=config
            )
        except Exception as exc:  # signxml raises several families; all mean "not verified with this cert"
            problems.append(f"{cert.subject.human_friendly}: {type(exc).__name__}: {exc}")
            continue
        for result in results:
            if result.signed_xml is not None and result.signed_xml.tag == TSL_ROOT_TAG:
                return result.signed_xml
        problems.append(f"{cert.subject.human_friendly}: the signature does not cover the trusted list")
    raise TrustListError("signature not verified: " + "; ".join(problems))


def _xsdata_parser() -> XmlParser:
    config = ParserConfig(
        load_dtd=False, process_xinclude=False, fail_on_unknown_properties=False, fail_on_unknown_attributes=False
    )
    return XmlParser(config=config, handler=LxmlEventHandler)


def _when(value: XmlDateTime | None) -> datetime | None:
    if value is None:
        return None
    moment = value.to_datetime()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # TS 119 612 wants UTC anyway


def _text(names: ts_119612.InternationalNamesType | None) -> str:
    if not names or not names.name:
        return "unknown"
    return next((n.value for n in names.name if n.lang == "en"), names.name[0].value)


def _status_name(status: ts_119612.ServiceStatus | None) -> str:
    return status.value.rstrip("/").rsplit("/", 1)[-1] if status and status.value else "unknown"


def _certificates(identity: ts_119612.ServiceDigitalIdentity | None) -> list[x509.Certificate]:
    out = []
    for digital_id in identity.digital_id if identity else ():
        if digital_id.x509_certificate:
            try:
                cert = x509.Certificate.load(digital_id.x509_certificate)
                cert.public_key  # noqa: B018 — force parsing: a broken certificate is skipped, not fatal later
                out.append(cert)
            except Exception as exc:  # one broken certificate must not lose the whole list
                log.info("unreadable certificate in trusted list skipped: %s", exc)
    return out


def _read_extensions(
    extensions: ts_119612.ExtensionsListType | None,
) -> tuple[tuple[TLQualification, ...], frozenset[str], str | None]:
    qualifications: tuple[TLQualification, ...] = ()
    types: set[str] = set()
    problem = None
    for extension in extensions.extension if extensions else ():
        for content in extension.content:
            if isinstance(content, ts_119612_sie.Qualifications):
                try:
                    # pyHanko's reader of qualifiers and criteria lists (private, pinned pyHanko 0.38)
                    qualifications = tuple(eutl_parse._get_qualifications(content))
                except Exception as exc:
                    problem = f"unreadable Qualifications extension: {exc}"
            elif isinstance(content, ts_119612.AdditionalServiceInformation):
                uri = content.uri.value if content.uri else ""
                if uri in ASI_CERTIFICATE_TYPES:
                    types.add(ASI_CERTIFICATE_TYPES[uri])
            elif isinstance(content, ts_119612.ExpiredCertsRevocationInfo):
                pass  # only matters to revocation checking of expired certificates
            elif extension.critical:
                problem = f"critical extension not understood: {type(content).__name__}"
    return qualifications, frozenset(types), problem


def _periods(service: ts_119612.TSPService) -> tuple[ServicePeriod, ...]:
    """Current status and history as consecutive periods; each history entry ends where the next one starts."""
    info = service.service_information
    assert info is not None
    instances: list[ts_119612.ServiceInformation | ts_119612.ServiceHistoryInstance] = [info]
    if service.service_history:
        instances.extend(service.service_history.service_history_instance)
    dated = [(start, item) for item in instances if (start := _when(item.status_starting_time)) is not None]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    periods = []
    end: datetime | None = None
    for start, item in dated:
        qualifications, types, problem = _read_extensions(item.service_information_extensions)
        service_type = item.service_type_identifier.value if item.service_type_identifier else ""
        periods.append(
            ServicePeriod(_status_name(item.service_status), service_type, start, end, qualifications, types, problem)
        )
        end = start
    return tuple(periods)


def _service(tsp_name: str, service: ts_119612.TSPService) -> TrustService | None:
    info = service.service_information
    if info is None or info.service_type_identifier is None:
        return None
    if info.service_type_identifier.value not in SERVICE_TYPES_KEPT:
        return None
    certs = _certificates(info.service_digital_identity)
    for item in service.service_history.service_history_instance if service.service_history else ():
        certs.extend(_certificates(item.service_digital_identity))  # older keys of the same service
    unique = tuple({cert.sha256: cert for cert in certs}.values())
    return TrustService(
        _text(info.service_name), tsp_name, info.service_type_identifier.value, unique, _periods(service)
    )


def read_trusted_list(root: etree._Element) -> TrustedList:
    """The data of a TrustServiceStatusList element (signature already checked, or deliberately not)."""
    if root.tag != TSL_ROOT_TAG:
        raise TrustListError(f"not an ETSI TS 119 612 trusted list (root element {root.tag})")
    parsed = _xsdata_parser().parse(root, ts_119612.TrustServiceStatusList)
    scheme = parsed.scheme_information
    services = []
    providers = parsed.trust_service_provider_list.trust_service_provider if parsed.trust_service_provider_list else ()
    for provider in providers:
        tsp_name = _text(provider.tspinformation.tspname) if provider.tspinformation else "unknown"
        for raw in provider.tspservices.tspservice if provider.tspservices else ():
            service = _service(tsp_name, raw)
            if service is not None:
                services.append(service)
    return TrustedList(
        territory=scheme.scheme_territory.value if scheme and scheme.scheme_territory else None,
        sequence_number=scheme.tslsequence_number if scheme else None,
        issued_at=_when(scheme.list_issue_date_time) if scheme else None,
        next_update=_when(scheme.next_update.date_time) if scheme and scheme.next_update else None,
        services=tuple(services),
    )


def _peek(data: bytes) -> dict[str, object]:
    """Territory / sequence / dates of a list we will not use, for the record only (never for trust)."""
    try:
        root = _parse_xml(data)
    except TrustListError:
        return {}
    ns = {"t": TSL_NAMESPACE}

    def first(path: str) -> str | None:
        found = root.xpath(f"string(t:SchemeInformation/{path})", namespaces=ns)
        return str(found).strip() or None

    out: dict[str, object] = {"territory": first("t:SchemeTerritory")}
    sequence = first("t:TSLSequenceNumber")
    out["sequence_number"] = int(sequence) if sequence and sequence.isdigit() else None
    for key, path in (("issued_at", "t:ListIssueDateTime"), ("next_update", "t:NextUpdate/t:dateTime")):
        value = first(path)
        try:
            out[key] = _when(XmlDateTime.from_string(value)) if value else None
        except ValueError:
            out[key] = None
    return out


# ------------------------------------------------------------------------------------------------ loading
def load_trusted_list(
    source: str,
    data: bytes | None,
    operator_certs: Sequence[x509.Certificate],
    *,
    verify: bool,
    fetch: FetchPolicy,
    now: datetime,
    problem: str | None = None,
) -> LoadedList:
    """Load one list; never raises. `data` given: inline content, nothing is read. `problem`: known beforehand
    (e.g. the operator certificate file is unreadable) — the list is then recorded but not used."""
    from_cache = False
    try:
        if data is None:
            data, from_cache = obtain(source, fetch, now)
    except TrustListError as exc:
        return _failed(source, now, str(exc), from_cache=False)
    if problem:
        return _failed(source, now, problem, from_cache=from_cache, data=data)
    operator_expired = False
    try:
        if verify:
            root, operator_expired = _verified_root(data, operator_certs, now)
        else:
            root = _parse_xml(data)
        content = read_trusted_list(root)
    except TrustListError as exc:
        return _failed(source, now, str(exc), from_cache=from_cache, data=data)
    except Exception as exc:  # xsdata/lxml/asn1crypto on hostile input: record, do not crash
        log.exception("trusted list %s could not be read", source)
        return _failed(source, now, f"unreadable: {type(exc).__name__}: {exc}", from_cache=from_cache, data=data)
    info = TrustListInfo(
        source=source,
        territory=content.territory,
        sequence_number=content.sequence_number,
        issued_at=content.issued_at,
        next_update=content.next_update,
        loaded_at=now,
        signature_verified=verify,
        from_cache=from_cache,
        error=None,
        operator_certificate_expired=operator_expired,
    )
    return LoadedList(info, content)


def _verified_root(
    data: bytes, operator_certs: Sequence[x509.Certificate], now: datetime
) -> tuple[etree._Element, bool]:
    """The signed list, and whether it only verifies as of its own issue date (its operator certificate has expired
    since). Such a list is genuine but nobody vouches for it any more: it is loaded, for the record and for `verify
    --at`, and counts as expired (`TrustListInfo.expired`), so it never qualifies a signature."""
    try:
        return verify_list_signature(data, operator_certs, now), False
    except TrustListError as first:
        issued = _peek(data).get("issued_at")
        if not isinstance(issued, datetime) or issued >= now:
            raise
        try:
            return verify_list_signature(data, operator_certs, issued), True
        except TrustListError:
            raise first from None


def _failed(source: str, now: datetime, error: str, *, from_cache: bool, data: bytes | None = None) -> LoadedList:
    peek = _peek(data) if data else {}
    info = TrustListInfo(
        source=source,
        territory=peek.get("territory"),  # type: ignore[arg-type]
        sequence_number=peek.get("sequence_number"),  # type: ignore[arg-type]
        issued_at=peek.get("issued_at"),  # type: ignore[arg-type]
        next_update=peek.get("next_update"),  # type: ignore[arg-type]
        loaded_at=now,
        signature_verified=False,
        from_cache=from_cache,
        error=error,
    )
    return LoadedList(info, None)


def load_lotl(
    url: str,
    *,
    verify: bool,
    fetch: FetchPolicy,
    now: datetime,
    signers: Sequence[x509.Certificate] = (),
) -> list[LoadedList]:
    """The EU list of trusted lists and every national list it points to, each verified with the operator
    certificates the LOTL gives for it. The LOTL's own signature is checked with `signers`, by default pyHanko's
    bundled LOTL signer certificates. The first entry describes the LOTL itself (it lists no services); never
    raises."""
    try:
        data, from_cache = obtain(url, fetch, now)
    except TrustListError as exc:
        return [_failed(url, now, str(exc), from_cache=False)]
    try:
        text = data.decode("utf-8")
        parsed = _validated_lotl(text, signers, fetch, now) if verify else eutl_parse.parse_lotl_unsafe(text)
    except Exception as exc:  # SignatureValidationError, parse errors, bad encoding
        return [_failed(url, now, f"list of trusted lists not usable: {exc}", from_cache=from_cache, data=data)]
    peek = _peek(data)
    lotl_info = TrustListInfo(
        source=url,
        territory=str(peek.get("territory") or "EU"),
        sequence_number=peek.get("sequence_number"),  # type: ignore[arg-type]
        issued_at=parsed.claimed_date_issued,
        next_update=peek.get("next_update"),  # type: ignore[arg-type]
        loaded_at=now,
        signature_verified=verify,
        from_cache=from_cache,
        error=None,
    )
    references = [ref for ref in parsed.references if eutl_parse.LOTL_RULE not in ref.scheme_rules]

    def load(ref: eutl_parse.TLReference) -> LoadedList:
        return load_trusted_list(ref.location_uri, None, ref.tlso_certs, verify=verify, fetch=fetch, now=now)

    with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        national = list(pool.map(load, references))
    return [LoadedList(lotl_info, None), *national]


def _validated_lotl(
    text: str, signers: Sequence[x509.Certificate], fetch: FetchPolicy, now: datetime
) -> eutl_parse.LOTLParseResult:
    """The LOTL, verified with `signers` (the certificates of the Official Journal, or pyHanko's latest known set).
    When the Commission has since moved to new signing certificates, the pivot LOTLs named in the LOTL announce
    them, each signed with the previous ones (Implementing Decision (EU) 2015/1505 Art. 4): follow them in order."""
    try:
        return eutl_parse.validate_and_parse_lotl(text, list(signers) or None, validation_time=now)
    except Exception as direct:
        current = list(signers) or eutl_parse.ojeu_bootstrap_lotl_tlso_certs()
        try:
            for pivot in sorted(eutl_parse.parse_lotl_unsafe(text).pivot_urls):
                pivot_text = obtain(pivot, fetch, now)[0].decode("utf-8")
                issued = eutl_parse.parse_lotl_unsafe(pivot_text).claimed_date_issued
                parsed = eutl_parse.validate_and_parse_lotl(pivot_text, current, validation_time=issued)
                own = next(ref for ref in parsed.references if eutl_parse.LOTL_RULE in ref.scheme_rules)
                current = list(own.tlso_certs)
            return eutl_parse.validate_and_parse_lotl(text, current, validation_time=now)
        except Exception as pivoting:
            raise TrustListError(f"{direct}; following the pivots: {type(pivoting).__name__}: {pivoting}") from None


def unique_certificates(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    return list({cert.sha256: cert for cert in certs}.values())
