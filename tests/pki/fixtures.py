"""Session-scoped pytest fixture `test_pki`: the whole test PKI, built once per test session.

ECDSA signatures differ per process (random nonces), so the PKI is built once per session and every test reads the
same files. The loopback OCSP/CRL/TSA server is stopped at teardown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.pki.build import TestPki, build_test_pki

# pyHanko logs full tracebacks at WARNING for failures the scenarios provoke on purpose.
for _name in ("pyhanko", "pyhanko_certvalidator", "signxml"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPki]:
    pki = build_test_pki(tmp_path_factory.mktemp("pki"))
    try:
        yield pki
    finally:
        pki.stop()
