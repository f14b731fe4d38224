"""Issue 11 §3 through the real `intake` command: a database made by the previous schema (revision 0001, issue 9)
is refused by every command that uses it, upgraded by `intake db upgrade` with its rows intact, and then polls
on: the next registration number follows the old ones."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake import schema
from tests import mailfactory
from tests.old_schema import database_at, insert_rows_of_0001

pytestmark = pytest.mark.integration

BUCHAREST = ZoneInfo("Europe/Bucharest")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=BUCHAREST)
HEAD = schema.code_revision()
REFUSAL = f"intake: database schema 0001 is older than the code ({HEAD}): run 'intake db upgrade'\n"


def test_a_database_of_the_previous_schema_is_refused_then_upgraded(intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    db_path = intake.workdir / "intake.db"
    database_at(f"sqlite:///{db_path}", "0001")
    insert_rows_of_0001(f"sqlite:///{db_path}")
    dovecot.append(mailfactory.good_submission(sender="ion.popescu@example.ro").as_bytes(), internaldate=T0)

    # Everything that reads or writes the database refuses, with one line and exit code 2, touching nothing.
    for command in (["poll", "--once"], ["run"], ["status"]):
        refused = intake.run(*command, check=False, timeout=60)
        assert (refused.returncode, refused.stderr, refused.stdout) == (2, REFUSAL, ""), command
    assert len(dovecot.uids("INBOX")) == 1

    assert intake.run("db", "current").stdout == f"database schema 0001; code {HEAD}\n"
    upgraded = intake.run("db", "upgrade")
    assert (upgraded.stdout, upgraded.stderr) == (f"database schema: 0001 → {HEAD}\n", "")
    assert intake.run("db", "upgrade").stdout == f"database schema: {HEAD} → {HEAD} (already current)\n"

    with sqlite3.connect(db_path) as db:
        assert db.execute(
            "SELECT number, year, sender, state, authentication, related_case_id, sender_key, reply_capped "
            "FROM submission"
        ).fetchall() == [(1, 2026, "maria.pop@example.ro", "receipted", None, None, None, 0)]
        assert db.execute("SELECT name, session_version FROM staffuser").fetchall() == [("ana", 0)]
        assert db.execute("SELECT uid, automatic FROM appointment").fetchall() == [("old-visit@intake", 0)]

    intake.poll(now=(T0 + timedelta(minutes=5)).isoformat())
    smtp_sink.wait_for(2)  # the acknowledgement and the recipisă of the new message
    numbered = sorted((s["number"], s["sender"]) for s in intake.json("submissions") if s["number"] is not None)
    assert numbered == [(1, "maria.pop@example.ro"), (2, "ion.popescu@example.ro")]
    assert intake.json("status")["office"] == "CJ"
