"""Fixtures for the end-to-end tests: a signing key made at test time and an `intake` wired to the servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from tests.integration.harness import Intake, intake_for

KEY_PASSWORD = "test-password"


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(PKCS#12 of the registry's signing key, PEM of the CA that issued it)."""
    return generate_ca_and_leaf_pkcs12(tmp_path_factory.mktemp("pki"), KEY_PASSWORD)


@pytest.fixture
def intake(tmp_path: Path, dovecot, smtp_sink, signing_key: tuple[Path, Path]) -> Intake:  # type: ignore[no-untyped-def]
    return intake_for(
        tmp_path / "intake", dovecot=dovecot, smtp_sink=smtp_sink, pkcs12=signing_key[0], password=KEY_PASSWORD
    )
