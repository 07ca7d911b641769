"""claim through claimable_at alone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD = "status IN ('pending', 'temporary_failure', 'leased')"
NEW = "claimable_at IS NOT NULL"


def _swap(create_where: str) -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_claimable")
    op.execute(
        "UPDATE messages SET claimable_at = NULL "
        "WHERE status NOT IN ('pending', 'temporary_failure', 'leased')"
    )
    op.create_index(
        "ix_messages_claimable",
        "messages",
        ["claimable_at"],
        postgresql_where=sa.text(create_where),
        sqlite_where=sa.text(create_where),
    )


def upgrade() -> None:
    _swap(NEW)


def downgrade() -> None:
    _swap(OLD)
