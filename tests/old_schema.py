"""Databases as an older intake left them: built by replaying the revisions up to one, filled with rows that use
only that revision's columns (its tables reflected, so nothing here depends on today's models)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from intake import schema
from intake.db import open_engine

AT = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def database_at(url: str, revision: str) -> None:
    """An empty database brought to REVISION by its migrations, as the intake of that revision would have."""
    engine = open_engine(url)
    try:
        with schema.exclusive(engine) as connection:
            command.upgrade(schema.alembic_config(connection), revision)
    finally:
        engine.dispose()


def insert_rows_of_0001(url: str) -> None:
    """A staff account, a registered and receipted submission with a document, its visit, its history and the
    registry counter that gave it number 1/2026: the rows whose tables revision 0002 changes, and their children."""
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            tables = sa.MetaData()
            tables.reflect(connection)
            insert = {name: table.insert() for name, table in tables.tables.items()}
            connection.execute(insert["staffuser"], {
                "id": 1, "office": "CJ", "name": "ana", "role": "registry", "password_hash": "argon2-hash",
                "active": True, "created_at": AT, "last_login_at": AT,
            })
            connection.execute(insert["submission"], {
                "id": 1, "office": "CJ", "sha256": "a" * 64, "size": 1234, "message_id": "<old-1@example.ro>",
                "received_at": AT, "claimed_at": AT, "state": "receipted", "stage": "receipt", "attempts": 1,
                "sender": "maria.pop@example.ro", "sender_name": "Maria Pop", "subject": "Cerere indemnizație",
                "references": [], "text_body": "Bună ziua", "has_html": False, "defects": [], "category": "submission",
                "reply_allowed": True, "number": 1, "year": 2026, "registered_at": AT, "flagged": False,
            })
            connection.execute(insert["document"], {
                "id": 1, "submission_id": 1, "position": 0, "filename": "cerere.pdf",
                "declared_type": "application/pdf", "origin": "attachment",
                "sha256": "b" * 64, "size": 99, "notes": [], "kind": "application",
            })
            connection.execute(insert["appointment"], {
                "id": 1, "office": "CJ", "submission_id": 1, "purpose": "decision", "start": AT, "end": AT,
                "overflow": False, "state": "booked", "sequence": 0, "uid": "old-visit@intake", "reasons": [],
                "created_at": AT, "updated_at": AT,
            })
            connection.execute(insert["event"], {
                "submission_id": 1, "at": AT, "actor": "intake", "action": "registered", "detail": {"number": 1},
            })
            connection.execute(insert["registrycounter"], {"office": "CJ", "year": 2026, "last_number": 1})
            if engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind: as a real one would not
                for table in ("staffuser", "submission", "document", "appointment"):
                    connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)")
    finally:
        engine.dispose()
