"""A Runtime on a throw-away SQLite database and store, for unit tests of the web app, reports and monitoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intake.clock import Clock
from intake.runtime import Runtime
from intake.settings import DatabaseSettings, Settings, StorageSettings


def make_runtime(tmp_path: Path, *, clock: Clock | None = None, **sections: Any) -> Runtime:
    """`sections` are other settings sections, e.g. `web=WebSettings(report_secret="k")`."""
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'intake.db'}"),
        storage=StorageSettings(path=tmp_path / "store"),
        **sections,
    )
    return Runtime.from_settings(settings, clock=clock)
