"""Alembic's entry point. It runs on the connection `intake.schema` hands over (already inside the transaction,
the lock taken), never on a URL of its own, so there is no alembic.ini and no second way to reach the database."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from intake import models

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("intake's migrations run through `intake db upgrade` (intake.schema), not the alembic command")


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write types as plain SQLAlchemy so a revision never imports intake's code (which changes after it)."""
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if type_ == "type" and isinstance(obj, models.UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite can add a column but not alter or constrain one: batch mode rebuilds the table (copy, drop, rename).
    render_as_batch=True,
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
