"""Which unique column a failed insert or update clashed on, so the store can say what is
taken (a domain Conflict) instead of letting the database's error travel up."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

# PostgreSQL's SQLSTATE for unique_violation; SQLite says it in words.
_UNIQUE_VIOLATION = "23505"


def taken(exc: IntegrityError, table: sa.Table) -> set[str]:
    """The columns of ``table`` whose value ``exc`` says is already taken; empty when ``exc``
    is another integrity error (a broken reference, a missing value), which is no conflict.

    SQLite names the column (``UNIQUE constraint failed: users.email``), PostgreSQL the
    constraint, named by the tables' naming convention (``uq_users_email``, ``pk_users``).
    """
    text = str(exc.orig)
    unique = (
        "UNIQUE constraint failed" in text
        or getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION
        or "violates unique constraint" in text
    )
    if not unique:
        return set()
    found = set()
    for column in table.columns:
        constraint = f"pk_{table.name}" if column.primary_key else f"uq_{table.name}_{column.name}"
        named = rf"\b{re.escape(table.name)}\.{re.escape(column.name)}\b|\"{constraint}\""
        if re.search(named, text):
            found.add(column.name)
    return found
