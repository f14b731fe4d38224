"""The log set-up (intake/logs.py): local time with its offset, JSON lines, CNPs masked, APScheduler quiet."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake import logs
from intake.settings import ConfigError, load_settings

CNP = "1850312125784"  # a syntactically valid CNP
# 12:00 UTC on 6 December (winter, EET +02:00) and on 6 July (summer, EEST +03:00).
WINTER = datetime(2026, 12, 6, 12, 0, 0, 250000, tzinfo=UTC).timestamp()
SUMMER = datetime(2026, 7, 6, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """configure_logging replaces the root logger's handlers: give pytest its own back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    scheduler_level = logging.getLogger(logs.SCHEDULER_RUNS).level
    yield
    root.handlers[:] = saved
    root.setLevel(level)
    logging.getLogger(logs.SCHEDULER_RUNS).setLevel(scheduler_level)


def record(message: str, *args: object, created: float = WINTER, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("intake.pipeline", logging.WARNING, __file__, 1, message, args or None, None)
    entry.created = created
    entry.__dict__.update(extra)
    return entry


def test_text_time_is_the_office_local_time_with_its_offset() -> None:
    formatter = logs.TextFormatter(logs.ZoneInfo("Europe/Bucharest"))
    assert (
        formatter.format(record("poll failed")) == "2026-12-06T14:00:00.250+02:00 WARNING intake.pipeline: poll failed"
    )
    assert formatter.format(record("x", created=SUMMER)).startswith("2026-07-06T15:00:00.000+03:00 ")


def test_without_a_zone_the_host_zone_is_named_by_its_offset() -> None:
    stamp = logs.TextFormatter().format(record("x")).split(" ")[0]
    assert datetime.fromisoformat(stamp).timestamp() == pytest.approx(WINTER)
    assert datetime.fromisoformat(stamp).utcoffset() is not None  # never a bare clock time


def test_json_line_has_the_fields_and_the_extras_masked() -> None:
    formatter = logs.JsonFormatter(logs.ZoneInfo("Europe/Bucharest"))
    try:
        raise ValueError(f"bad CNP {CNP}")
    except ValueError:
        import sys

        failing = record("stage %s failed for %s", "parse", CNP, submission=12, cnp_number=int(CNP), note=[CNP])
        failing.exc_info = sys.exc_info()
    line = formatter.format(failing)
    assert "\n" not in line and CNP not in line
    entry = json.loads(line)
    assert entry["time"] == "2026-12-06T14:00:00.250+02:00"
    assert (entry["level"], entry["logger"]) == ("WARNING", "intake.pipeline")
    assert entry["message"] == "stage parse failed for 1***********4"
    assert entry["submission"] == 12  # numbers stay numbers
    assert entry["cnp_number"] == "1***********4"
    assert entry["note"] == ["1***********4"]
    assert "ValueError: bad CNP 1***********4" in entry["exception"]


def test_configured_handler_masks_and_switches_to_json(root_handlers: None, tmp_path: Path) -> None:
    logs.configure_logging(logging.INFO)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    config = tmp_path / "intake.toml"
    config.write_text('[logging]\nformat = "json"\n')
    logs.apply_settings(load_settings(config))
    logging.getLogger("intake.test").info("citizen %s", CNP)
    # APScheduler's per-run lines are below its level; its warnings still come through.
    logging.getLogger("apscheduler.executors.default").info('Running job "send outbox"')
    logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["citizen 1***********4", "Run time of job was missed"]
    assert lines[0]["time"].endswith(("+02:00", "+03:00"))  # office.timezone, Europe/Bucharest


def test_debug_shows_the_scheduler_runs(root_handlers: None) -> None:
    logs.configure_logging(logging.DEBUG)
    assert logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    logs.configure_logging(logging.INFO)
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)


def test_unknown_format_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "intake.toml"
    config.write_text('[logging]\nformat = "xml"\n')
    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_settings(config)
