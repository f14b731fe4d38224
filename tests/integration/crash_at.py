"""Run `intake poll --once` in this process, killing it with SIGKILL at a chosen point.

    python -m tests.integration.crash_at POINT [intake arguments...]

POINT is one of CRASH_POINTS. The kill is real (no exception handler, no cleanup), so the test sees what a
power cut or an OOM kill would leave behind.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

# The process the test started. Stages run in a child of it (intake.sandbox): a crash point inside a stage kills
# the whole daemon, as a power cut would, not only the child (that would be the message's own crash).
DAEMON = os.getpid()


def _die(*_args: Any, **_kwargs: Any) -> None:
    os.kill(DAEMON, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _after_claim() -> None:
    from intake import pipeline

    # Claims are committed by fetch_new; processing is the next step.
    pipeline.process_pending = _die


def _stage(name: str, step: str) -> Callable[[], None]:
    """Die in the stage's `step` (prepare: outside any transaction; record: inside the stage's write)."""

    def patch() -> None:
        from intake import pipeline

        def dying(stage: Any) -> Any:
            return SimpleNamespace(**{part: getattr(stage.module, part) for part in PARTS} | {step: _die})

        pipeline.STAGES = tuple(
            pipeline.Stage(stage.name, stage.description, dying(stage)) if stage.name == name else stage
            for stage in pipeline.STAGES
        )

    return patch


PARTS = ("snapshot", "prepare", "record")


def _before_send(call: int) -> Callable[[], None]:
    def patch() -> None:
        from intake import outbox

        original = outbox.send_due
        calls = {"n": 0}

        def send_or_die(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == call:
                _die()
            return original(*args, **kwargs)

        outbox.send_due = send_or_die  # type: ignore[assignment]

    return patch


def _after_first_send() -> None:
    from intake import outbox

    original = outbox._send_one
    calls = {"n": 0}

    async def send_then_die(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            _die()

    outbox._send_one = send_then_die  # type: ignore[assignment]


CRASH_POINTS: dict[str, Callable[[], None]] = {
    "after-claim": _after_claim,
    # Validation prepared, the stage's write transaction open (the write lock held), nothing of it committed.
    "during-validate": _stage("validate", "record"),
    # Registration committed, the recipisă being rendered and signed outside any transaction.
    "before-receipt": _stage("receipt", "prepare"),
    "before-sending-acknowledgements": _before_send(1),  # acknowledgements queued, nothing sent
    "before-sending-receipts": _before_send(2),  # registered, receipts queued in the outbox, none sent
    "after-first-send": _after_first_send,
}


def main() -> int:
    point, *args = sys.argv[1:]
    CRASH_POINTS[point]()
    from intake.cli import main as intake_main

    return intake_main(args)


if __name__ == "__main__":
    sys.exit(main())
