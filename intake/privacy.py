"""Keep personal numeric codes (CNP) out of logs and error texts."""

from __future__ import annotations

import logging
import re

# A CNP is 13 digits starting with the sex/century digit 1-9; mask any such run not part of a longer number.
_CNP = re.compile(r"(?<!\d)([1-9])\d{11}(\d)(?!\d)")


def mask_cnp(cnp: str) -> str:
    return f"{cnp[0]}***********{cnp[-1]}" if len(cnp) == 13 else "*" * len(cnp)


def redact(text: str) -> str:
    return _CNP.sub(lambda match: mask_cnp(match.group(0)), text)


class RedactingFilter(logging.Filter):
    """Applied to every handler: whatever a library logs, a CNP never reaches the log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
