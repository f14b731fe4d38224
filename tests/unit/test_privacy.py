from __future__ import annotations

import logging

import pytest

from intake.privacy import RedactingFilter, mask_cnp, redact


def test_cnp_is_masked_in_text() -> None:
    assert redact("CNP 1960523123456, tel 0740123456") == "CNP 1***********6, tel 0740123456"
    assert redact("id 12345678901234567") == "id 12345678901234567"  # a longer number is not a CNP
    assert mask_cnp("2960523123459") == "2***********9"


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("intake.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("applicant %s", "1960523123456")
    assert "1960523123456" not in caplog.text
    assert "1***********6" in caplog.text
