"""The pipeline stages, one module each (the table with their order is `intake.pipeline.STAGES`).

A stage is three functions:

- `snapshot(rt, session, submission)`: what the stage needs from the database, read in a short read transaction
  (`intake.db.read_transaction`, never the write lock);
- `prepare(rt, snapshot)`: the slow part (decoding, signature validation with its network fetches, rendering and
  signing), run outside any transaction, from the snapshot and stored bytes only. Blobs it stores are named by
  their hash, so a prepare whose record never committed (a crash) simply runs again and stores the same thing;
- `record(rt, session, submission, result)`: the short write, in the transaction that also moves the stage
  pointer and writes the `stage:<name>` event (a mapping it returns is kept in that event's detail). The pipeline
  calls it only if the submission is still in the state and at the stage the snapshot saw (another worker, a
  clerk's action or a replay may have moved it since); otherwise the prepared result is dropped and nothing is
  written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlmodel import Session

from intake.models import Submission
from intake.runtime import Runtime


class StageModule(Protocol):
    def snapshot(self, rt: Runtime, session: Session, submission: Submission) -> Any: ...

    def prepare(self, rt: Runtime, snapshot: Any) -> Any: ...

    def record(
        self, rt: Runtime, session: Session, submission: Submission, result: Any
    ) -> Mapping[str, Any] | None: ...


def run_in_session(rt: Runtime, session: Session, stage: StageModule, submission: Submission) -> None:
    """All three steps in one open session: for callers that already hold a transaction (tests, tools), where
    holding the lock through the slow part does not matter."""
    stage.record(rt, session, submission, stage.prepare(rt, stage.snapshot(rt, session, submission)))
