"""Identity-card MRZ read rate (issue 13, §1): generated cards photographed with varied distortions, OCRed.

    .venv/bin/python bench/mrz.py [--cards 50] [--seed 13] [--json]

Each card (tests/idcards.py: classic CI in TD2 and electronic CEI in TD1, OCR-B, rotation up to 4°, perspective,
sensor noise, blur, JPEG quality 60-90, card filling 70-95 % of a phone frame) goes through `mrz_scan.read_card` and
`id_card.cross_check` against its own holder (form and signer). Prints the read rate (goal ≥ 95 %), the false
"mismatch" count (goal 0: a card read but found not to be its own holder's), how many read cards gave the whole
CNP, and the milliseconds of OCR per card: wall clock, and CPU of this process and of Tesseract (the drawing of the
card is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.validation import id_card, mrz_scan
from tests.idcards import photographed, random_cases

TODAY = date(2026, 12, 6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=50)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    read = mismatches = whole_cnp = 0
    times: list[float] = []
    cpu_times: list[float] = []  # this process and its Tesseract children: what a card costs a shared box
    failures: list[str] = []
    for index, (holder, shot) in enumerate(random_cases(args.cards, seed=args.seed)):
        data = photographed(holder, shot)
        started, cpu = time.perf_counter(), _cpu_seconds()
        reading = mrz_scan.read_card(data, "jpeg", today=TODAY, timeout=10)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((_cpu_seconds() - cpu) * 1000)
        if not reading.read:
            failures.append(f"{index}: {holder.layout} {reading.reason} angle {shot.angle:.1f} tilt {shot.perspective}")
            continue
        read += 1
        whole_cnp += reading.cnp is not None
        name = f"{holder.given} {holder.surname}".title()
        people = [
            id_card.Person(id_card.SOURCE_FORM, "cererea", name, holder.cnp),
            id_card.Person(id_card.SOURCE_SIGNER, "cererea", name, holder.cnp),
        ]
        # The card is valid on the day it is compared (expiry is not what is measured here).
        issues = id_card.cross_check(reading, people, received_on=min(reading.expiry or TODAY, TODAY))
        if any(issue.code == "identity_mismatch" for issue in issues):
            mismatches += 1
            motives = sorted({str(issue.wording.get("motiv")) for issue in issues})
            read_as = f"{reading.surname!r} + {reading.given_names!r}"
            failures.append(f"{index}: false mismatch {motives}: read {read_as} for {name!r} (synthetic names)")
    result = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "cards": args.cards,
        "read": read,
        "read_rate": round(read / args.cards, 3),
        "false_mismatches": mismatches,
        "whole_cnp": whole_cnp,
        "ms_per_card_median": round(statistics.median(times)),
        "ms_per_card_p95": round(sorted(times)[int(0.95 * (len(times) - 1))]),
        "ms_per_card_max": round(max(times)),
        "cpu_ms_per_card_median": round(statistics.median(cpu_times)),
        "failures": failures,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {result['machine']}; cards: {args.cards} (seed {args.seed})")
        print(f"read: {read}/{args.cards} ({100 * read / args.cards:.0f} %), whole CNP on {whole_cnp} of them")
        print(f"false mismatches: {mismatches}")
        print(
            f"ms per card: median {result['ms_per_card_median']}, p95 {result['ms_per_card_p95']}, "
            f"max {result['ms_per_card_max']}; CPU ms per card (with Tesseract): median "
            f"{result['cpu_ms_per_card_median']}"
        )
        for line in failures:
            print("  not read / wrong:", line)
    return 0 if read / args.cards >= 0.95 and mismatches == 0 else 1


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
