"""Registration numbers: per office, ascending and gap-free within each calendar year.

The number is taken inside the caller's transaction with a single UPDATE ... RETURNING on the counter
row, which holds the row (PostgreSQL) or database (SQLite, BEGIN IMMEDIATE) lock until commit: two workers
never get the same number, and a rolled-back transaction gives its number back, so there is no gap.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlmodel import Session

from intake.clock import local

if TYPE_CHECKING:
    from intake.models import Submission


def next_number(session: Session, office: str, year: int) -> int:
    session.execute(
        text(
            "INSERT INTO registrycounter (office, year, last_number) VALUES (:office, :year, 0) "
            "ON CONFLICT (office, year) DO NOTHING"
        ),
        {"office": office, "year": year},
    )
    number = session.execute(
        text(
            "UPDATE registrycounter SET last_number = last_number + 1 "
            "WHERE office = :office AND year = :year RETURNING last_number"
        ),
        {"office": office, "year": year},
    ).scalar_one()
    return int(number)


def format_registration(number: int, registered_on: date | datetime) -> str:
    """`NUMBER/DD.MM.YYYY`, the form printed on the recipisă."""
    return f"{number}/{registered_on:%d.%m.%Y}"


def registration_label(submission: Submission, timezone: str) -> str:
    """The submission's `NUMBER/DD.MM.YYYY` (the date in the office's time zone); empty before registration."""
    if submission.number is None or submission.registered_at is None:
        return ""
    return format_registration(submission.number, local(submission.registered_at, timezone))
