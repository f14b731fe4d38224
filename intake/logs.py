"""The log set-up: one handler on the root logger, CNPs masked, times in the office's zone, text or JSON lines.

Times carry their UTC offset (ISO 8601, `2026-12-06T17:41:11.123+02:00`): a bare clock time is ambiguous on a
server kept in UTC and around the change to summer time, and a zone abbreviation printed by the host may not be
the zone the time was taken in. Until the configuration is read the zone is the host's; then `office.timezone`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from intake.privacy import RedactingFilter, redact

if TYPE_CHECKING:
    from intake.settings import Settings

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log full tracebacks at WARNING for failures we expect and report ourselves.
NOISY_LIBRARIES = ("pyhanko", "pyhanko_certvalidator", "pypdf", "fontTools", "aiosmtpd", "mail.log")
# APScheduler's executor says "Running job ..." and "... executed successfully" at INFO for every run of every
# job (the outbox runs every 15 s): noise that buries what happened. Missed runs and job errors are WARNING+.
SCHEDULER_RUNS = "apscheduler.executors"
# What every LogRecord carries; anything else on a record was passed as `extra=` and belongs in the JSON line.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _timestamp(created: float, zone: tzinfo | None) -> str:
    moment = datetime.fromtimestamp(created, zone) if zone else datetime.fromtimestamp(created).astimezone()
    return moment.isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`TIME LEVEL logger: message`; the whole line masked, tracebacks included."""

    def __init__(self, zone: tzinfo | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _timestamp(record.created, self.zone)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (journald, Loki): time, level, logger, message, the record's `extra=` fields and,
    when there is one, the traceback as `exception`. Every string in it is masked, keys and nested values too."""

    def __init__(self, zone: tzinfo | None = None) -> None:
        super().__init__()
        self.zone = zone

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created, self.zone),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(_masked(entry), ensure_ascii=False, default=str)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {_masked(str(key)): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(item) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):  # a CNP passed as a number becomes a masked string; other numbers stay numbers
        return value if redact(str(value)) == str(value) else redact(str(value))
    return redact(value if isinstance(value, str) else str(value))


def make_formatter(log_format: LogFormat, zone: tzinfo | None = None) -> logging.Formatter:
    return JsonFormatter(zone) if log_format == "json" else TextFormatter(zone)


_installed: list[logging.Handler] = []  # the handler configure_logging put on the root logger


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text", timezone: str | None = None) -> None:
    """Install the one handler (standard error, which systemd sends to the journal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format, ZoneInfo(timezone) if timezone else None))
    _installed[:] = [handler]
    # The filter masks the message before any other filter or handler sees the record; the formatters mask
    # what it cannot reach (tracebacks, extra fields).
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.ERROR)
    logging.getLogger(SCHEDULER_RUNS).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)


def apply_settings(settings: Settings) -> None:
    """Once the configuration is read: its `logging.format` and the office's zone on the handler installed above
    (a caller that installed its own handlers, such as a test, keeps them as they are)."""
    for handler in _installed:
        if handler in logging.getLogger().handlers:
            handler.setFormatter(make_formatter(settings.logging.format, ZoneInfo(settings.office.timezone)))
