"""`intake run` and `intake poll` refuse to start without a trust source (no trust.lists, empty trust.lotl, no
trust.anchors): every citizen's signature would otherwise be judged untrusted. Real Dovecot, real CLI."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.conftest import KEY_PASSWORD
from tests.integration.harness import Intake, intake_for

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))


def _untrusting_intake(tmp_path, dovecot, smtp_sink, signing_key) -> Intake:  # type: ignore[no-untyped-def]
    # Its own [trust] section, with no source in it: the harness then adds no anchor of its own.
    return intake_for(
        tmp_path / "intake",
        dovecot=dovecot,
        smtp_sink=smtp_sink,
        pkcs12=signing_key[0],
        password=KEY_PASSWORD,
        extra_config='[trust]\nlotl = ""\nrevocation = "require"\n',
    )


def _assert_refused(result) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "trust.lotl" in lines[0] and "trust.lists" in lines[0]


def test_poll_without_a_trust_source_exits_2_and_touches_nothing(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    intake = _untrusting_intake(tmp_path, dovecot, smtp_sink, signing_key)
    _assert_refused(intake.run("poll", "--once", check=False))
    assert smtp_sink.messages == []
    assert intake.json("submissions") == []  # nothing was claimed from the mailbox
    assert intake.json("status")["trust"]["sources_configured"] is False


def test_run_without_a_trust_source_exits_2(tmp_path, dovecot, smtp_sink, signing_key) -> None:  # type: ignore[no-untyped-def]
    intake = _untrusting_intake(tmp_path, dovecot, smtp_sink, signing_key)
    _assert_refused(intake.run("run", check=False, timeout=60))


def test_poll_with_an_anchor_starts(intake: Intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # Control: the harness's default configuration has the CA of the test signing key as its anchor.
    dovecot.append(mailfactory.good_submission().as_bytes(), internaldate=T0)
    intake.poll()
    assert [s["number"] for s in intake.json("submissions")] == [1]
    trust = intake.json("status")["trust"]
    assert trust == {"ok": True, "sources_configured": True, "problems": []}
    # The same configuration with the anchor taken away through the environment is refused again.
    _assert_refused(intake.run("poll", "--once", check=False, INTAKE_TRUST__ANCHORS="[]"))
