"""The validation engine: the policy a verification runs under, and the pyhanko-certvalidator contexts built from
it (one set of trust anchors for signer chains, a wider one for time-stamps)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from asn1crypto import x509 as asn1_x509

from intake.signatures.trust_store import TrustStore

log = logging.getLogger(__name__)

# pyHanko logs full tracebacks at WARNING for failures we expect and report ourselves.
for _noisy in ("pyhanko", "pyhanko_certvalidator", "pypdf"):
    if logging.getLogger(_noisy).getEffectiveLevel() < logging.ERROR:
        logging.getLogger(_noisy).setLevel(logging.ERROR)

RevocationMode = Literal["require", "soft-fail", "off"]
FETCH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class VerificationPolicy:
    trust: TrustStore
    revocation: RevocationMode = "require"
    validation_time: datetime | None = None  # None = now; a past instant = `intake verify --at`
    allow_fetching: bool = True  # OCSP/CRL over the network (tests: 127.0.0.1 only)


class Engine:
    """What is built once per policy: the trust managers over the trust roots and the validation settings."""

    def __init__(self, policy: VerificationPolicy) -> None:
        from pyhanko_certvalidator.authority import CertTrustAnchor
        from pyhanko_certvalidator.context import SimpleTrustManager

        self.policy = policy
        self.trust = policy.trust
        if policy.trust.cache_dir is not None:  # shared by the forked workers (revocation_cache.py)
            from intake.signatures.revocation_cache import process_cache

            process_cache().use_directory(policy.trust.cache_dir / "revocation")
        self.trust_manager = SimpleTrustManager.build(
            trust_roots=[CertTrustAnchor(cert) for cert in policy.trust.trust_roots]
        )
        # TS 119 615: a listed TSA/QTST service certificate anchors time-stamps, even when no listed CA issued it.
        self.timestamp_trust_manager = SimpleTrustManager.build(
            trust_roots=[CertTrustAnchor(cert) for cert in policy.trust.timestamp_roots]
        )

    @property
    def revocation(self) -> RevocationMode:
        return self.policy.revocation

    @property
    def historical(self) -> bool:
        """Validating as of a past instant: only embedded revocation data can speak for that time."""
        return self.policy.validation_time is not None

    def context(
        self,
        *,
        other_certs: Sequence[asn1_x509.Certificate] = (),
        crls: Sequence[Any] = (),
        ocsps: Sequence[Any] = (),
        fetcher_backend: Any = None,
        moment: datetime | None = None,
        point_in_time: bool = False,
        for_timestamps: bool = False,
    ) -> Any:
        """A fresh ValidationContext (it caches fetched revocation data and the decision moment: one per document)."""
        from pyhanko_certvalidator import ValidationContext

        mode = self.revocation
        moment = moment if moment is not None else self.policy.validation_time
        fetching = self.policy.allow_fetching and mode != "off" and not point_in_time and moment is None
        kwargs: dict[str, Any] = {
            "trust_manager": self.timestamp_trust_manager if for_timestamps else self.trust_manager,
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
        if not self.policy.allow_fetching or self.revocation == "off" or self.historical:
            return None
        from intake.signatures.revocation_cache import CachingFetcherBackend

        # OCSP answers and CRLs are reused across documents within their validity (revocation_cache.py).
        return CachingFetcherBackend(per_request_timeout=FETCH_TIMEOUT_SECONDS)


_ENGINES: dict[int, tuple[VerificationPolicy, tuple[int, ...], Engine]] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(policy: VerificationPolicy) -> Engine:
    """One engine per policy, rebuilt when the trust store's roots change (the daily trusted-list refresh)."""
    roots_key = tuple(id(cert) for cert in policy.trust.timestamp_roots)
    with _ENGINES_LOCK:
        cached = _ENGINES.get(id(policy))
        if cached is not None and cached[0] is policy and cached[1] == roots_key:
            return cached[2]
        engine = Engine(policy)
        if len(_ENGINES) > 32:  # policies are long-lived; this only bounds tests that make many
            _ENGINES.clear()
        _ENGINES[id(policy)] = (policy, roots_key, engine)
        return engine


def decision_time(policy: VerificationPolicy) -> datetime:
    return policy.validation_time or datetime.now(UTC)


_T = TypeVar("_T")


def run(coro: Awaitable[_T]) -> _T:
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
