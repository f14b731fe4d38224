"""Registration numbers: ascending, gap-free per office and year, atomic across processes."""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path

import pytest

from intake.db import make_engine, transaction
from intake.registry import format_registration, next_number


def test_numbers_ascend_per_office_and_year(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with transaction(engine) as session:
        assert [next_number(session, "CJ", 2026) for _ in range(3)] == [1, 2, 3]
        assert next_number(session, "CJ", 2027) == 1
        assert next_number(session, "BH", 2026) == 1


def test_rolled_back_transaction_leaves_no_gap(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 1
    with pytest.raises(RuntimeError), transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 2
        raise RuntimeError("registration failed after taking a number")
    with transaction(engine) as session:
        assert next_number(session, "CJ", 2026) == 2


def _take_numbers(url: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    taken = []
    for _ in range(count):
        with transaction(engine) as session:
            taken.append(next_number(session, "CJ", 2026))
    queue.put(taken)


def test_concurrent_processes_never_share_a_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    make_engine(url)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_take_numbers, args=(url, 50, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    numbers = sorted(n for taken in results for n in taken)
    assert numbers == list(range(1, 201))


def test_format() -> None:
    assert format_registration(123, date(2026, 11, 22)) == "123/22.11.2026"
    assert format_registration(1, date(2027, 1, 1)) == "1/01.01.2027"
