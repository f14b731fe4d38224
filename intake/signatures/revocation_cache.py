"""Fetched OCSP responses and CRLs kept per process, each only within its own validity (thisUpdate ≤ now < nextUpdate).

Every document used to fetch the same revocation data again: the CRL of the issuing CA (one per CA, the same for all
its holders, megabytes at a real qualified CA), the OCSP status of intermediates and TSAs, and the signer's status
twice when one person signs the application and the declaration. A response is the CA's own statement for its
validity period; pyhanko-certvalidator accepts it for that period anyway, so reusing it cannot change a verdict that
a fresh fetch within the same period could not also give. A response without nextUpdate (RFC 6960: newer
information is always available) or not yet valid is never reused, and failures are never cached: the next document
asks the network again. Revoked statuses are kept like good ones; a later CRL or OCSP answer still lists them.

Worker children are forked per message, so what one child fetched would die with it: answers are also written, as
the DER the CA sent, to a directory beside the trusted-list cache, where the next child (and every host sharing the
storage) finds them. A file is only used after its own validity has been read from it again; pyhanko-certvalidator
still checks the CA's signature on every answer, so an altered file can make a verdict indeterminate, never good.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import ssl
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.cert_fetch_client import AIOHttpCertificateFetcher
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.crl_client import AIOHttpCRLFetcher, _grab_crl
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.ocsp_client import AIOHttpOCSPFetcher
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget, FetchKind
from pyhanko_certvalidator.util import issuer_serial

log = logging.getLogger(__name__)

MAX_ENTRIES = 2048  # a daemon sees a few CAs and one OCSP entry per signer: this bounds memory, not reuse
PRUNE_EVERY = 256  # files written between two sweeps of the directory for expired answers

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class RevocationCache:
    """Answers by key with their expiry (the nextUpdate), least recently used dropped first. Thread-safe."""

    def __init__(self, clock: Clock = _now, max_entries: int = MAX_ENTRIES, directory: Path | None = None) -> None:
        self._clock = clock
        self._max = max_entries
        self.directory = directory
        self._writes = 0
        self._entries: OrderedDict[Hashable, tuple[datetime, datetime, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def use_directory(self, directory: Path | None) -> None:
        self.directory = directory

    def get(self, key: tuple[Any, ...]) -> Any | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                valid_from, valid_until, value = entry
                if valid_from <= now < valid_until:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return value
                del self._entries[key]
        value, validity = self._read(key)
        if value is None or validity is None or not validity[0] <= now < validity[1]:
            with self._lock:
                self.misses += 1
            return None
        self._remember(key, value, validity)
        with self._lock:
            self.hits += 1
        return value

    def put(self, key: tuple[Any, ...], value: Any, validity: tuple[datetime, datetime] | None) -> None:
        if validity is None or not validity[0] <= self._clock() < validity[1]:
            return
        self._remember(key, value, validity)
        self._write(key, value, validity[1])

    def _remember(self, key: Hashable, value: Any, validity: tuple[datetime, datetime]) -> None:
        with self._lock:
            self._entries[key] = (validity[0], validity[1], value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def _path(self, key: tuple[Any, ...]) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{key[0]}-{hashlib.sha256(repr(key).encode()).hexdigest()}.der"

    def _read(self, key: tuple[Any, ...]) -> tuple[Any, tuple[datetime, datetime] | None]:
        path = self._path(key)
        if path is None:
            return None, None
        try:
            data = path.read_bytes()
        except OSError:
            return None, None
        try:
            if key[0] == "ocsp":
                response = asn1_ocsp.OCSPResponse.load(data)
                return response, ocsp_validity(response)
            listing = asn1_crl.CertificateList.load(data)
            return listing, crl_validity(listing)
        except (ValueError, TypeError):
            return None, None

    def _write(self, key: tuple[Any, ...], value: Any, valid_until: datetime) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
                out.write(value.dump())
            # The file's mtime is its nextUpdate, so pruning needs no parsing (one OCSP answer per signer adds up).
            os.utime(out.name, (valid_until.timestamp(), valid_until.timestamp()))
            os.replace(out.name, path)  # atomic: a sibling never reads half an answer
        except OSError as exc:  # a read-only or full disk costs a fetch per document, nothing else
            log.debug("revocation answer not cached on disk: %s", exc)
            return
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune()

    def prune(self) -> int:
        """Delete the files past their nextUpdate; returns how many."""
        if self.directory is None:
            return 0
        now, removed = self._clock().timestamp(), 0
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return 0
        for entry in entries:
            try:
                if entry.name.endswith(".der") and entry.stat().st_mtime <= now:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:  # a sibling pruned it first
                continue
        return removed

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def ocsp_validity(response: asn1_ocsp.OCSPResponse) -> tuple[datetime, datetime] | None:
    """The window in which every single response of a successful OCSP answer is current; None = do not reuse."""
    try:
        if response["response_status"].native != "successful":
            return None
        basic = response["response_bytes"]["response"].parsed
        singles = list(basic["tbs_response_data"]["responses"])
        if not singles:
            return None
        starts = [single["this_update"].native for single in singles]
        ends = [single["next_update"].native for single in singles]
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    if any(end is None for end in ends) or any(start is None for start in starts):
        return None
    return max(starts), min(ends)


def crl_validity(certificate_list: asn1_crl.CertificateList) -> tuple[datetime, datetime] | None:
    try:
        tbs = certificate_list["tbs_cert_list"]
        start, end = tbs["this_update"].native, tbs["next_update"].native
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    if start is None or end is None:
        return None
    return start, end


_CACHE = RevocationCache()


def process_cache() -> RevocationCache:
    return _CACHE


class CachingOCSPFetcher(AIOHttpOCSPFetcher):
    def __init__(self, *args: Any, cache: RevocationCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache = cache

    async def _fetch(self, cert: Any, authority: Any) -> asn1_ocsp.OCSPResponse:
        # Keyed like the library's own per-context cache: the certificate and the authority asked about it.
        key = ("ocsp", issuer_serial(cert), authority.hashable)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        response = await super()._fetch(cert, authority)
        self._cache.put(key, response, ocsp_validity(response))
        return response


class CachingCRLFetcher(AIOHttpCRLFetcher):
    def __init__(self, *args: Any, cache: RevocationCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache = cache

    async def _single_fetch(self, url: str) -> asn1_crl.CertificateList:
        # By distribution point URL: every holder of a CA's certificates shares its CRL.
        key = ("crl", url)

        async def task() -> asn1_crl.CertificateList:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            self._charge(FetchKind.CRL)
            fetched = await _grab_crl(
                url, user_agent=self.user_agent, session=self.get_session(), timeout=self.per_request_timeout
            )
            self._cache.put(key, fetched, crl_validity(fetched))
            return fetched

        return await self._post_fetch_task(url, task)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class _SharedTlsSession(LazySession):
    """The library's lazy session, but without loading the CA bundle again for every document (~30 ms each)."""

    def get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_tls_context()))
        return self._session


class CachingFetcherBackend(AIOHttpFetcherBackend):
    """pyhanko-certvalidator's aiohttp backend whose OCSP and CRL fetchers go through the process cache."""

    def __init__(self, *args: Any, cache: RevocationCache | None = None, **kwargs: Any) -> None:
        if not args and "session" not in kwargs:
            kwargs["session"] = _SharedTlsSession()
        super().__init__(*args, **kwargs)
        self.cache = cache if cache is not None else _CACHE

    def get_fetchers(self) -> Fetchers:
        budget = FetchBudget(self.limits)
        timeout = self.per_request_timeout
        return Fetchers(
            ocsp_fetcher=CachingOCSPFetcher(self.session, per_request_timeout=timeout, budget=budget, cache=self.cache),
            crl_fetcher=CachingCRLFetcher(self.session, per_request_timeout=timeout, budget=budget, cache=self.cache),
            cert_fetcher=AIOHttpCertificateFetcher(self.session, per_request_timeout=timeout, budget=budget),
        )
