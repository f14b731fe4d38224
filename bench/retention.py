"""How long `intake purge` and the GDPR Art. 15 export take on N cases (issue 13 §5). Run by hand:

    .venv/bin/python bench/retention.py [--cases 2000]

Builds N cases on a throw-away SQLite database and blob store (each: the raw mail, a scan, a recipisă, a reply, a
finding, an event; every tenth with a form naming its applicant's CNP), then times: the export by e-mail, the
export by CNP (which reads every stored form again), `purge --dry-run`, `purge`, and a second purge with nothing
left to do (what the daemon pays every night afterwards).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from intake import purge, subject_export
from intake.clock import Clock
from tests.unit import runtimes
from tests.unit.test_retention import CNP_ANA, POLICY, T0, add_case


def timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    print(f"{label:<38} {time.perf_counter() - start:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rt = runtimes.make_runtime(Path(directory), clock=Clock(fixed=T0), retention=POLICY)
        start = time.perf_counter()
        for number in range(1, args.cases + 1):
            add_case(rt, number=number, sender=f"p{number}@example.ro", form_cnp=CNP_ANA if number % 10 == 0 else None)
        print(f"{'built ' + str(args.cases) + ' cases':<38} {time.perf_counter() - start:8.2f} s")
        email = timed(
            "export by e-mail (1 case)",
            lambda: subject_export.export(rt, subject_export.parse_subject("p7@example.ro")),
        )
        cnp = timed(
            "export by CNP (reads every form)", lambda: subject_export.export(rt, subject_export.parse_subject(CNP_ANA))
        )
        print(f"  {email.cases} and {cnp.cases} cases, {len(cnp.data) // 1024} KiB")
        rt.clock = Clock(fixed=T0 + timedelta(days=400))
        dry = timed("purge --dry-run", lambda: purge.purge(rt, dry_run=True))
        done = timed("purge", lambda: purge.purge(rt))
        again = timed("purge again (nothing left)", lambda: purge.purge(rt))
        print(f"  {len(dry.purged)} / {len(done.purged)} / {len(again.purged)} erasures")


if __name__ == "__main__":
    main()
