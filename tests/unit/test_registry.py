"""Registration numbers: ascending, gap-free per office and year, atomic across processes.

Every database test runs on SQLite (BEGIN IMMEDIATE: one writer at a time) and on the real PostgreSQL of
tests/servers/postgres.py (the counter row's lock, READ COMMITTED), the two ways the guarantee is kept.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from intake.db import make_engine, transaction
from intake.registry import format_registration, next_number


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'r.db'}"
    url = str(request.getfixturevalue("postgres_url"))
    # The strictest server default: intake must ask for READ COMMITTED itself (`intake.postgres`), or concurrent
    # registrations would fail with serialisation errors instead of waiting for the counter row.
    with request.getfixturevalue("postgres").admin() as admin:
        admin.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET default_transaction_isolation = 'serializable'")
    return url


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    yield engine  # type: ignore[misc]
    engine.dispose()  # PostgreSQL: give the connections back before the test database is dropped


def test_numbers_ascend_per_office_and_year(engine: Engine) -> None:
    with transaction(engine) as session:
        assert [next_number(session, "CJ", 2026) for _ in range(3)] == [1, 2, 3]
        assert next_number(session, "CJ", 2027) == 1
        assert next_number(session, "BH", 2026) == 1


def test_rolled_back_transaction_leaves_no_gap(engine: Engine) -> None:
    with transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 1
    with pytest.raises(RuntimeError), transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 2
        raise RuntimeError("registration failed after taking a number")
    with transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 2


def test_first_number_of_a_year_taken_concurrently_with_a_rollback(engine: Engine) -> None:
    """The counter row does not exist yet: the first transaction inserts it and rolls back while a second one
    waits on that insert (PostgreSQL: ON CONFLICT waits for the other inserter). The second must get 1."""
    first_inserted = threading.Event()
    numbers: list[int] = []

    def rolls_back() -> None:
        with pytest.raises(RuntimeError), transaction(engine) as session:
            assert next_number(session, "CJ", 2030) == 1
            first_inserted.set()
            time.sleep(0.3)  # the other transaction is now waiting for this one
            raise RuntimeError("rolled back")

    def commits() -> None:
        assert first_inserted.wait(10)
        with transaction(engine) as session:
            numbers.append(next_number(session, "CJ", 2030))

    threads = [threading.Thread(target=rolls_back), threading.Thread(target=commits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert numbers == [1]


def _take_numbers(url: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    taken = []
    for _ in range(count):
        with transaction(engine) as session:
            taken.append(next_number(session, "CJ", 2026))
    engine.dispose()
    queue.put(taken)


def test_concurrent_processes_never_share_a_number(database_url: str) -> None:
    make_engine(database_url).dispose()  # the schema exists before the workers race to use it
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_take_numbers, args=(database_url, 50, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    numbers = sorted(n for taken in results for n in taken)
    assert numbers == list(range(1, 201))


def test_concurrent_transactions_with_rollbacks_leave_no_gap(engine: Engine) -> None:
    """Several workers take numbers in transactions that hold the number a while; about a third roll back after
    taking one. What was committed is exactly 1..N: no number twice, none missing."""
    committed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(15):
                with contextlib.suppress(_Rollback), transaction(engine) as session:
                    number = next_number(session, "CJ", 2026)
                    time.sleep(rng.uniform(0, 0.004))  # the rest of the registration, holding the number
                    if rng.random() < 0.35:
                        raise _Rollback
                    with lock:
                        committed.append(number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert 0 < len(committed) < 90  # some did roll back
    assert sorted(committed) == list(range(1, len(committed) + 1))
    with transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == len(committed) + 1


class _Rollback(Exception):
    """A registration that failed after taking its number."""


def test_format() -> None:
    assert format_registration(123, date(2026, 11, 22)) == "123/22.11.2026"
    assert format_registration(1, date(2027, 1, 1)) == "1/01.01.2027"
