"""What the per-message child process (intake.sandbox, worker.isolate) costs: N messages through the real
stages, in the daemon's process and in one child per message and pass, same messages, same machine.

    .venv/bin/python bench/budget.py [--messages N] [--rounds R]

No mail server: the messages are claimed straight into a temp SQLite database and blob store (what
`imap.fetch_new` does after FETCH), then both passes of a cycle run as `scheduler.run_cycle` runs them
(`process_pending` up to the acknowledgement, then the rest). The outbox is not sent. Rounds alternate the two
modes, each on a fresh database, after one warm-up of the process (`preload`), so neither mode pays the
one-off loading. Also prints the floor: fork, exit and reap of a child that does nothing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    sys.path.pop(0)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from intake import pipeline, sandbox  # noqa: E402
from intake.mailbox import imap  # noqa: E402
from intake.preload import preload  # noqa: E402
from intake.receipts.keys import generate_pkcs12  # noqa: E402
from intake.runtime import Runtime  # noqa: E402
from intake.settings import (  # noqa: E402
    DatabaseSettings,
    Settings,
    SigningSettings,
    StorageSettings,
    TrustSettings,
    WorkerSettings,
)
from tests import mailfactory  # noqa: E402

KEY_PASSWORD = "bench"


def runtime(work: Path, key: Path, *, isolate: bool) -> Runtime:
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{(work / 'intake.db').as_posix()}"),
        storage=StorageSettings(path=work / "storage"),
        signing=SigningSettings(pkcs12_path=key, pkcs12_password=SecretStr(KEY_PASSWORD)),
        trust=TrustSettings(),  # no trusted lists: nothing fetched from the network
        worker=WorkerSettings(isolate=isolate),
    )
    return Runtime.from_settings(settings)


def one_round(base: Path, key: Path, messages: list[bytes], *, isolate: bool, label: str) -> float:
    work = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=base))
    rt = runtime(work, key, isolate=isolate)
    received = datetime.now(UTC)  # recent, or every booking would raise a late-deadline ops alert
    for uid, raw in enumerate(messages, start=1):
        imap.claim(rt, uidvalidity=1, uid=uid, raw=raw, internaldate=received + timedelta(seconds=uid))
    started = time.perf_counter()
    spent: dict[int, float] = {}
    pipeline.process_pending(rt, through=pipeline.ACKNOWLEDGE_AFTER, spent=spent)
    pipeline.process_pending(rt, spent=spent)
    elapsed = time.perf_counter() - started
    states = {s["state"] for s in _states(rt)}
    if states != {"receipted"}:
        raise SystemExit(f"PROBLEM: {label} round ended with states {states}")
    rt.engine.dispose()
    return elapsed


def _states(rt: Runtime) -> list[dict[str, str]]:
    from sqlmodel import select

    from intake.db import transaction
    from intake.models import Submission

    with transaction(rt.engine) as session:
        return [{"state": s.state} for s in session.exec(select(Submission)).all()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # ops alerts and stage warnings are not what is measured

    with tempfile.TemporaryDirectory(prefix="intake-bench-budget-") as tmp:
        base = Path(tmp)
        key = base / "signing.p12"
        generate_pkcs12(key, KEY_PASSWORD, common_name="Registratura AJOFM Cluj (bench)")
        template = mailfactory.good_submission(sender="p@example.ro")
        messages = []
        for index in range(args.messages):
            message = template
            del message["From"], message["Message-ID"]
            message["From"] = f"Persoana {index} <p{index}@example.ro>"
            message["Message-ID"] = f"<bench-{index}@example.ro>"
            messages.append(message.as_bytes())

        warm = runtime(base / "warm", key, isolate=True)
        preload(warm)
        floor = []
        for _ in range(50):
            floor.append(sandbox.run(lambda: None, sandbox.Budget(seconds=30, memory_mb=512)).seconds)

        times: dict[str, list[float]] = {"in-process": [], "isolated": []}
        for round_ in range(args.rounds):
            for label, isolate in (("in-process", False), ("isolated", True)):
                times[label].append(one_round(base, key, messages, isolate=isolate, label=f"{label}{round_}"))

    n = args.messages
    print(f"messages per round: {n}, rounds: {args.rounds}, two passes per message (as in a poll cycle)")
    print(f"{'mode':<12} {'best s':>8} {'ms/message (best)':>18} {'ms/message (mean)':>18}")
    for label, values in times.items():
        best, mean = min(values), statistics.mean(values)
        print(f"{label:<12} {best:8.2f} {best / n * 1000:18.1f} {mean / n * 1000:18.1f}")
    overhead = (min(times["isolated"]) - min(times["in-process"])) / n * 1000
    print(f"child-process overhead: {overhead:.1f} ms per message (best vs best; 2 children per message)")
    print(f"empty child (fork + exit + reap): median {statistics.median(floor) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
