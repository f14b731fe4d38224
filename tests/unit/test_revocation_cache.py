"""The per-process cache of fetched OCSP responses and CRLs: reused only within its own validity, never a changed
verdict, fetched again after nextUpdate. Against the test PKI's OCSP/CRL responders on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.ocsp_client import AIOHttpOCSPFetcher

from intake.signatures import revocation_cache
from intake.signatures.revocation_cache import RevocationCache, crl_validity, ocsp_validity
from intake.signatures.trust_store import TrustStore
from intake.signatures.verify import VerificationPolicy, verify_document

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_entry_is_served_only_between_this_update_and_next_update() -> None:
    clock = Clock(T0)
    cache = RevocationCache(clock=clock)
    cache.put("k", "answer", (T0 - timedelta(minutes=1), T0 + timedelta(hours=1)))
    assert cache.get("k") == "answer"
    clock.now = T0 + timedelta(minutes=59)
    assert cache.get("k") == "answer"
    clock.now = T0 + timedelta(hours=1)  # nextUpdate itself is already too late
    assert cache.get("k") is None
    clock.now = T0
    assert cache.get("k") is None  # dropped, not merely hidden


def test_answers_without_next_update_or_not_yet_valid_are_not_kept() -> None:
    cache = RevocationCache(clock=Clock(T0))
    cache.put("none", "answer", None)
    cache.put("future", "answer", (T0 + timedelta(minutes=5), T0 + timedelta(hours=1)))
    cache.put("past", "answer", (T0 - timedelta(hours=2), T0 - timedelta(hours=1)))
    assert cache.get("none") is None and cache.get("future") is None and cache.get("past") is None


def test_size_is_bounded_least_recently_used_first() -> None:
    cache = RevocationCache(clock=Clock(T0), max_entries=2)
    validity = (T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    cache.put("a", 1, validity)
    cache.put("b", 2, validity)
    assert cache.get("a") == 1
    cache.put("c", 3, validity)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3


def test_unsuccessful_ocsp_answer_and_crl_without_next_update_have_no_validity() -> None:
    unauthorized = asn1_ocsp.OCSPResponse({"response_status": "unauthorized"})
    assert ocsp_validity(unauthorized) is None
    no_next_update = asn1_crl.CertificateList(
        {
            "tbs_cert_list": {
                "signature": {"algorithm": "sha256_rsa"},
                "issuer": asn1_x509.Name.build({"common_name": "CA"}),
                "this_update": asn1_x509.Time({"utc_time": T0}),
            },
            "signature_algorithm": {"algorithm": "sha256_rsa"},
            "signature": b"",
        }
    )
    assert crl_validity(no_next_update) is None


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[Clock, Counter[str]]:
    """A fresh process cache on a movable clock, and how many OCSP requests and CRL downloads hit the network."""
    clock = Clock(datetime.now(UTC))
    monkeypatch.setattr(revocation_cache, "_CACHE", RevocationCache(clock=clock))
    fetches: Counter[str] = Counter()
    ocsp_fetch = AIOHttpOCSPFetcher._fetch
    grab_crl = revocation_cache._grab_crl

    async def counting_ocsp(self: Any, cert: Any, authority: Any) -> Any:
        fetches["ocsp"] += 1
        return await ocsp_fetch(self, cert, authority)

    async def counting_crl(url: str, **kwargs: Any) -> Any:
        fetches["crl"] += 1
        return await grab_crl(url, **kwargs)

    monkeypatch.setattr(AIOHttpOCSPFetcher, "_fetch", counting_ocsp)
    monkeypatch.setattr(revocation_cache, "_grab_crl", counting_crl)
    return clock, fetches


def _verify(test_pki: Any, scenario: str) -> tuple[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    trust = TrustStore.from_parts(lists=[(str(test_pki.trusted_list), test_pki.tl_operator_cert.read_bytes())])
    policy = VerificationPolicy(trust=trust, revocation="require")
    path = test_pki.scenarios[scenario].path
    verdict = verify_document(path.name, path.read_bytes(), policy)
    return verdict.label, verdict.reasons


def test_second_document_reuses_ocsp_answer_and_refetches_after_next_update(test_pki, counted) -> None:  # type: ignore[no-untyped-def]
    clock, fetches = counted
    first = _verify(test_pki, "qes_blt")
    assert first[0] == "QES"
    cold = Counter(fetches)
    assert cold["ocsp"] > 0, cold

    assert _verify(test_pki, "qes_blt") == first
    assert fetches == cold  # nothing asked again within the validity

    clock.now += timedelta(hours=13)  # the test responder's nextUpdate is thisUpdate + 12 h
    assert _verify(test_pki, "qes_blt") == first
    assert fetches["ocsp"] == 2 * cold["ocsp"], (cold, fetches)


def _crls(test_pki: Any, role: str) -> list[Any]:  # type: ignore[no-untyped-def]
    cert = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(test_pki.certificates[role].read_bytes()).public_bytes(Encoding.DER)
    )

    async def fetch() -> list[Any]:
        backend = revocation_cache.CachingFetcherBackend()
        try:
            return list(await backend.get_fetchers().crl_fetcher.fetch(cert))
        finally:
            await backend.close()

    return asyncio.run(fetch())


def test_crl_reused_by_distribution_point_and_refetched_after_next_update(test_pki, counted) -> None:  # type: ignore[no-untyped-def]
    clock, fetches = counted
    (first,) = _crls(test_pki, "qes")
    assert fetches["crl"] == 1
    (again,) = _crls(test_pki, "revoked_before")  # another holder, the same CA: the same CRL
    assert fetches["crl"] == 1 and again.dump() == first.dump()
    # The cached CRL still lists the revoked certificate: reuse never turns "revoked" into "good".
    revoked_serial = x509.load_pem_x509_certificate(test_pki.certificates["revoked_before"].read_bytes()).serial_number
    listed = {entry["user_certificate"].native for entry in again["tbs_cert_list"]["revoked_certificates"]}
    assert revoked_serial in listed

    clock.now += timedelta(days=1, minutes=1)  # past the test CRL's nextUpdate
    _crls(test_pki, "qes")
    assert fetches["crl"] == 2


@pytest.mark.parametrize("scenario", ["revoked_before_signing", "revoked_after_signing"])
def test_revoked_certificate_keeps_its_verdict_from_the_cache(test_pki, counted, scenario) -> None:  # type: ignore[no-untyped-def]
    _, fetches = counted
    first = _verify(test_pki, scenario)
    cold = Counter(fetches)
    again = _verify(test_pki, scenario)
    assert again == first and fetches == cold
    assert scenario in first[1]


def _crl(this_update: datetime, next_update: datetime) -> asn1_crl.CertificateList:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Test CA")])
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(this_update)
        .next_update(next_update)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(42).revocation_date(this_update).build()
        )
    )
    return asn1_crl.CertificateList.load(builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER))


def test_forked_workers_share_answers_through_the_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    listing = _crl(T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    first = RevocationCache(clock=clock, directory=tmp_path)
    first.put(("crl", "http://ca.example/ca.crl"), listing, crl_validity(listing))

    sibling = RevocationCache(clock=clock, directory=tmp_path)  # another worker: nothing in its memory
    found = sibling.get(("crl", "http://ca.example/ca.crl"))
    assert found is not None and found.dump() == listing.dump()
    assert 42 in {entry["user_certificate"].native for entry in found["tbs_cert_list"]["revoked_certificates"]}

    clock.now = T0 + timedelta(hours=1)  # the file is still there, but its own nextUpdate has passed
    assert RevocationCache(clock=clock, directory=tmp_path).get(("crl", "http://ca.example/ca.crl")) is None


def test_damaged_file_is_a_miss(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    listing = _crl(T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    RevocationCache(clock=clock, directory=tmp_path).put(("crl", "u"), listing, crl_validity(listing))
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"\x30\x03garbage")
    assert RevocationCache(clock=clock, directory=tmp_path).get(("crl", "u")) is None


def test_expired_files_are_pruned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    cache = RevocationCache(clock=clock, directory=tmp_path)
    short = _crl(T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    long = _crl(T0 - timedelta(minutes=1), T0 + timedelta(days=7))
    cache.put(("crl", "short"), short, crl_validity(short))
    cache.put(("crl", "long"), long, crl_validity(long))
    assert cache.prune() == 0
    clock.now = T0 + timedelta(hours=2)
    assert cache.prune() == 1
    assert RevocationCache(clock=clock, directory=tmp_path).get(("crl", "long")) is not None
