"""Validations per second: `verify_document` over the test PKI's scenarios, revocation online (127.0.0.1) and off.

    .venv/bin/python bench/signatures.py [--rounds N]

Prints, per scenario and revocation mode, the median time of one validation and validations per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.signatures.trust_store import TrustStore
from intake.signatures.verify import VerificationPolicy, verify_document
from tests.pki.build import build_test_pki


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        pki = build_test_pki(Path(base))
        try:
            operator = pki.tl_operator_cert.read_bytes()
            trust = TrustStore.from_parts(lists=[(str(pki.trusted_list), operator)])
            print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; rounds: {args.rounds}")
            print(f"{'scenario':<26} {'revocation':<10} {'median ms':>10} {'per second':>11}")
            totals: dict[str, list[float]] = {"require": [], "off": []}
            for name, scenario in sorted(pki.scenarios.items()):
                data = scenario.path.read_bytes()
                detached = scenario.detached_content.read_bytes() if scenario.detached_content else None
                for mode in ("require", "off"):
                    policy = VerificationPolicy(trust=trust, revocation=mode)  # type: ignore[arg-type]
                    verify_document(scenario.path.name, data, policy, detached)  # warm-up
                    times = []
                    for _ in range(args.rounds):
                        started = time.perf_counter()
                        verify_document(scenario.path.name, data, policy, detached)
                        times.append(time.perf_counter() - started)
                    median = statistics.median(times)
                    totals[mode].extend(times)
                    print(f"{name:<26} {mode:<10} {median * 1000:>10.1f} {1 / median:>11.1f}")
            for mode, times in totals.items():
                print(f"all scenarios, revocation={mode}: {len(times) / sum(times):.1f} validations/second")
        finally:
            pki.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
