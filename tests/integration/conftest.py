"""Fixtures for the end-to-end tests: a signing key made at test time and an `intake` wired to the servers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from intake.receipts.keys import generate_ca_and_leaf_pkcs12
from tests.integration.harness import Intake, intake_for
from tests.servers.dovecot import DovecotServer, make_dovecot_base, start_dovecot
from tests.servers.smtp_sink import ReceivedMail, SmtpSink, start_smtp_sink

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


# --- module-scoped servers -------------------------------------------------------------------------------------
#
# For test modules that send all their independent scenarios (each from its own sender) into one mailbox and run one
# `intake poll --once` for all of them: the servers live as long as the module. The function-scoped `dovecot` and
# `smtp_sink` of tests/conftest.py are unchanged; these are separate fixtures with their own instances.

_module_dovecots = pytest.StashKey[list[DovecotServer]]()


@pytest.fixture(scope="module")
def module_dovecot_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], DovecotServer]]:
    """Start any number of fresh, private Dovecots (user intake/secret) that live as long as the module."""
    started: list[tuple[DovecotServer, Path]] = []
    servers = request.node.stash.setdefault(_module_dovecots, [])

    def factory() -> DovecotServer:
        base = make_dovecot_base()
        try:
            server = start_dovecot(base)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        started.append((server, base))
        servers.append(server)
        return server

    yield factory
    for server, base in started:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def module_smtp_sink_factory() -> Iterator[Callable[[], SmtpSink]]:
    """Start any number of fresh SMTP sinks that live as long as the module."""
    sinks: list[SmtpSink] = []

    def factory() -> SmtpSink:
        sinks.append(start_smtp_sink())
        return sinks[-1]

    yield factory
    for sink in sinks:
        sink.stop()


@pytest.fixture(scope="module")
def module_dovecot(module_dovecot_factory: Callable[[], DovecotServer]) -> DovecotServer:
    """A fresh, private Dovecot (user intake/secret) shared by the tests of one module; stopped after the module."""
    return module_dovecot_factory()


@pytest.fixture(scope="module")
def module_smtp_sink(module_smtp_sink_factory: Callable[[], SmtpSink]) -> SmtpSink:
    """A fresh SMTP sink shared by the tests of one module."""
    return module_smtp_sink_factory()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # As tests/conftest.py does for `dovecot`: a failing test shows the log of its module's shared Dovecot too.
    report = yield
    module = item.getparent(pytest.Module)
    if report.when in ("setup", "call") and report.failed and module is not None:
        for server in module.stash.get(_module_dovecots, []):
            report.sections.append((f"dovecot log ({server.host}:{server.port})", server.log_tail()))
    return report


def sent_during(sink: SmtpSink, action: Callable[[], object]) -> list[ReceivedMail]:
    """What `sink` received while `action` ran (an `intake poll --once` delivers its replies before it exits)."""
    before = len(sink.messages)
    action()
    return list(sink.messages[before:])
