"""A pytest plugin: in this project a skipped test is a failed test.

Integration tests need real servers (Dovecot, SMTP); if one cannot start, the test must fail loudly
rather than be skipped quietly, in CI and on a developer's machine alike.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are failures in this project: {report.longrepr}"
