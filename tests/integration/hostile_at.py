"""Run `intake ARGS` with hostile stages: a message whose subject carries a marker misbehaves at a chosen stage.

    python -m tests.integration.hostile_at [intake arguments...]

The markers stand for what a crafted input would make a decoder do, without having to craft one per test:

- `HOSTILE-MEMORY` in validate: allocates until memory runs out (a decompression bomb);
- `HOSTILE-TIME` in verify: never returns (a pathological loop);
- `HOSTILE-ERROR` in assess: raises an exception that carries a CNP (a bug met by odd input);
- `HOSTILE-SEGV` in validate: the interpreter dies of SIGSEGV (a crashing C decoder);
- `SLOW-VERIFY`: the run of the message's worker that includes verify takes SLOW_SECONDS longer, then goes on
  normally (a slow revocation check: with several workers, the messages behind it finish first). The wait is
  outside any transaction, where such network calls belong (issue 11, section 1) and where they do not hold
  SQLite's write lock against the other workers.

Every other message goes through the real stages untouched.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

FAKE_CNP = "1850101125802"  # shape of a CNP: must appear masked in every record and log line
SLOW_SECONDS = 2.0


def _memory() -> None:
    hoard = []
    while True:
        hoard.append(bytearray(b"\x01" * (16 * 1024 * 1024)))  # touched, so resident as well as mapped


def _time() -> None:
    while True:
        time.sleep(1)


def _error() -> None:
    raise ValueError(f"unexpected structure near CNP {FAKE_CNP}")


def _segv() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _slow() -> None:
    time.sleep(SLOW_SECONDS)


HOSTILE: dict[str, tuple[str, Callable[[], None]]] = {
    "HOSTILE-MEMORY": ("validate", _memory),
    "HOSTILE-TIME": ("verify", _time),
    "HOSTILE-ERROR": ("assess", _error),
    "HOSTILE-SEGV": ("validate", _segv),
}


def _wrap(name: str, module: Any) -> Any:
    """The stage misbehaves in its snapshot, where the subject is at hand (in the run's child, like prepare)."""

    def hostile_or_real(rt: Any, session: Any, submission: Any) -> Any:
        for marker, (stage, misbehave) in HOSTILE.items():
            if stage == name and marker in (submission.subject or ""):
                misbehave()
        return module.snapshot(rt, session, submission)

    return SimpleNamespace(snapshot=hostile_or_real, prepare=module.prepare, record=module.record)


def _slow_runs(run_stages: Callable[..., None]) -> Callable[..., None]:
    def slow_or_real(rt: Any, submission_id: int, stages_to_run: list[Any], *rest: Any) -> None:
        from intake import sandbox
        from intake.db import transaction
        from intake.models import Submission

        if any(stage.name == "verify" for stage in stages_to_run):
            with sandbox.excused(), transaction(rt.engine) as session:  # a wait for the lock is not the message's
                subject = session.get_one(Submission, submission_id).subject or ""
            if "SLOW-VERIFY" in subject:
                _slow()
        run_stages(rt, submission_id, stages_to_run, *rest)

    return slow_or_real


def main() -> int:
    from intake import pipeline

    pipeline.STAGES = tuple(
        pipeline.Stage(stage.name, stage.description, _wrap(stage.name, stage.module)) for stage in pipeline.STAGES
    )
    pipeline._run_stages = _slow_runs(pipeline._run_stages)  # type: ignore[assignment]
    from intake.cli import main as intake_main

    return intake_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
