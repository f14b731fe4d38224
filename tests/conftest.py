"""Shared pytest fixtures.

Layout: one section per concern, each self-contained. The "servers" section below provides real
Dovecot IMAP and SMTP servers; append new sections at the end of the file.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pyproject sets no pythonpath: make `tests.servers` importable however pytest is invoked
# (`.venv/bin/pytest` does not put the repository root on sys.path by itself).
_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.servers.dovecot import (  # noqa: E402
    DovecotFactory,
    DovecotServer,
    make_dovecot_base,
    start_dovecot,
)
from tests.servers.postgres import PostgresServer, start_postgres  # noqa: E402
from tests.servers.smtp_sink import SmtpSink, start_smtp_sink  # noqa: E402

# =============================================================================================
# Servers (Dovecot IMAP, SMTP sink)
#
# Why a fresh Dovecot per test rather than a session server with a fresh user per test: measured on
# the CI-like box (2 cores), starting a private Dovecot and logging in takes 0.05-0.15 s and stopping
# it about 0.1 s, so full isolation (own process, port, state, log, connection limits; tests may
# stop/restart/kill it) costs little. Everything listens on 127.0.0.1 only. A server that cannot
# start raises RuntimeError: the test errors, it is never skipped.
# =============================================================================================

_started_dovecots = pytest.StashKey[list[DovecotServer]]()


@pytest.fixture
def dovecot_base() -> Iterator[Path]:
    """An empty base dir for start_dovecot(), reusable across stop/start; removed after the test.

    Not pytest's tmp_path: as root that lives under a 0700 dir that Dovecot's `nobody` cannot enter.
    """
    base = make_dovecot_base()
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dovecot_factory(request: pytest.FixtureRequest) -> Iterator[DovecotFactory]:
    """Start any number of Dovecot instances: `dovecot_factory(base=None, **start_dovecot_kwargs)`.

    With `base=None` each gets a fresh dir (removed afterwards); pass `dovecot_base` to restart an
    instance on the same mail store. All instances are stopped at teardown.
    """
    servers: list[DovecotServer] = []
    own_bases: list[Path] = []
    request.node.stash[_started_dovecots] = servers

    def factory(base: Path | None = None, **kwargs: Any) -> DovecotServer:
        if base is None:
            base = make_dovecot_base()
            own_bases.append(base)
        server = start_dovecot(base, **kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
    for base in own_bases:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_factory: DovecotFactory) -> DovecotServer:
    """A fresh, private Dovecot with user intake/secret, INBOX empty, Processed and Quarantine created."""
    return dovecot_factory()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh SMTP server on 127.0.0.1 that accepts everything (see SmtpSink.fail_next)."""
    sink = start_smtp_sink()
    yield sink
    sink.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # A failing IMAP test is usually explained by Dovecot's log: show it next to the traceback.
    report = yield
    if report.when == "call" and report.failed:
        for server in item.stash.get(_started_dovecots, []):
            report.sections.append((f"dovecot log ({server.host}:{server.port})", server.log_tail()))
    return report


# =============================================================================================
# (append further fixture sections below)
# =============================================================================================

# =============================================================================================
# Test PKI (tests/pki): CAs, a signed trusted list, OCSP/CRL/TSA on 127.0.0.1, signed documents
# =============================================================================================

from tests.pki.fixtures import test_pki  # noqa: E402, F401

# =============================================================================================
# PostgreSQL (tests/servers/postgres.py): one private cluster per test session, one database per test
#
# Starting a cluster (initdb + postgres) costs ~1.2 s, a database ~0.1 s: the cluster is shared by the session,
# each test gets an empty database of its own, owned by the unprivileged `intake` role. A cluster that cannot
# start raises RuntimeError: the test errors, it is never skipped.
# =============================================================================================

_used_postgres = pytest.StashKey[PostgresServer]()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's private PostgreSQL 15 on 127.0.0.1 (superuser via `postgres.admin()`)."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """`database.url` of a fresh, empty database for this test (`postgresql+psycopg://intake:…@127.0.0.1:…/…`)."""
    request.node.stash[_used_postgres] = postgres
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_makereport")  # the name above is taken by Dovecot's
def _postgres_log_on_failure(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # As for Dovecot: a failing test shows the tail of the server's log (errors with the SQL that caused them).
    report = yield
    server = item.stash.get(_used_postgres, None)
    if report.when == "call" and report.failed and server is not None:
        report.sections.append((f"postgres log ({server.host}:{server.port})", server.log_tail()))
    return report


# =============================================================================================
# SoftHSM2 (tests/servers/softhsm.py): the receipt key on a PKCS#11 token, one per test session
#
# Making the token costs ~0.1 s (four small commands); SOFTHSM2_CONF points at it for the session, and the
# `intake` processes the tests start inherit it. Missing softhsm2 or opensc raises RuntimeError: never skipped.
# =============================================================================================


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A SoftHsmToken: the receipt key and its certificate (and the CA's) on a token, its PIN in a file."""
    from tests.servers.softhsm import softhsm_token

    with softhsm_token(tmp_path_factory.mktemp("softhsm")) as token:
        yield token
