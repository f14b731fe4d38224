"""Signing the recipisă with the key in a PKCS#12 file vs the same key on a PKCS#11 token (SoftHSM2).

    .venv/bin/python bench/token_signing.py [--rounds N]

Prints, per key source, the median and p95 time of one `ReceiptSigner.sign` (a one-page recipisă with its visible
signature box, B-B: no TSA) in this process, then the same in a forked child per signature as the daemon does it
(the child opens its own session on the token), and the token's session round trip alone (initialise, log in,
find the key, sign a digest, close, finalise). Needs softhsm2 and opensc (`scripts/install-test-servers`).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake import sandbox
from intake.receipts.render import ReceiptData, ReceiptDocument, render_receipt
from intake.receipts.sign import ReceiptSigner
from intake.receipts.token import TokenSigner, session, token_key
from intake.settings import Pkcs11Settings
from tests.servers.softhsm import PASSWORD, softhsm_token


def _receipt() -> bytes:
    moment = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    documents = tuple(
        ReceiptDocument(f"document-{n}.pdf", "PDF", 1, 10_000, f"{n:02x}" * 32, True, None) for n in range(3)
    )
    return render_receipt(
        ReceiptData(
            office_name="Agenția Județeană pentru Ocuparea Forței de Muncă Cluj",
            office_address="Cluj-Napoca",
            registration_number="7/07.12.2026",
            registered_at=moment,
            received_at=moment,
            sender="ana@exemplu.ro",
            subject="Dosar",
            documents=documents,
        )
    )


def _interleaved(actions: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Each action once per round, in turn, so that the load of a shared machine falls on all of them alike."""
    for action in actions.values():
        action()  # warm-up: lazy imports, fonts
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    return times


def _line(name: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    return f"{name:<44} {statistics.median(times) * 1000:>9.1f} {p95 * 1000:>9.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    pdf = _receipt()
    budget = sandbox.Budget(seconds=30, memory_mb=512)
    with tempfile.TemporaryDirectory() as base, softhsm_token(Path(base)) as token:
        from_file = ReceiptSigner(token.pkcs12, PASSWORD)
        from_file.warm()
        key = token_key(
            Pkcs11Settings(
                module=token.module, token_label=token.token_label, key_label=token.key_label, pin_file=token.pin_file
            )
        )
        started = time.perf_counter()
        on_token = ReceiptSigner.on_token(TokenSigner.open(key), key.where)
        opened_ms = (time.perf_counter() - started) * 1000

        def round_trip() -> None:
            with session(key) as opened:
                from pkcs11 import Attribute, Mechanism, ObjectClass

                (handle,) = opened.get_objects(
                    {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: key.key_label}
                )
                handle.sign(b"x" * 32, mechanism=Mechanism.SHA256_RSA_PKCS)

        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; rounds: {args.rounds}")
        print(f"opening the key on the token (as at start and in `intake check`): {opened_ms:.1f} ms")
        print(f"{'':<44} {'median ms':>9} {'p95 ms':>9}")

        def in_process(signer: ReceiptSigner) -> Callable[[], object]:
            return lambda: signer.sign(pdf, registration="7/07.12.2026")

        def in_child(signer: ReceiptSigner) -> Callable[[], object]:
            return lambda: sandbox.run(in_process(signer), budget)

        measured = _interleaved(
            {
                "sign, PKCS#12, in process": in_process(from_file),
                "sign, token, in process": in_process(on_token),
                "sign, PKCS#12, forked child (fork included)": in_child(from_file),
                "sign, token, forked child (fork included)": in_child(on_token),
                "token session round trip alone": round_trip,
            },
            args.rounds,
        )
        for name, times in measured.items():
            print(_line(name, times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
