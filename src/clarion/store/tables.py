"""The schema, as SQLAlchemy Core tables shared by the queries and the Alembic migrations.

One definition serves SQLite and PostgreSQL: UUIDs are native on PostgreSQL and
32-character strings on SQLite; JSON is JSONB on PostgreSQL; timestamps are always UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines (SQLite has no timezone type)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False, default=_now),
        sa.Column("updated_at", UTCDateTime(), nullable=False, default=_now, onupdate=_now),
    ]


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("roles", JSONType, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    *_timestamps(),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    # sha256 of the secret: a stolen database does not yield usable tokens.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=_now),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
)

event_types = sa.Table(
    "event_types",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("group", sa.String(100), nullable=False),
    sa.Column("title_template", sa.Text(), nullable=False),
    sa.Column("body_template", sa.Text(), nullable=False),
    sa.Column("actions", JSONType, nullable=False),
    sa.Column("required_labels", JSONType, nullable=False),
    sa.Column("recipients", JSONType, nullable=False),
    sa.Column("enabled_by_default", sa.Boolean(), nullable=False, server_default=sa.true()),
    # Admin switches: NULL method means the deployment default (CLARION_METHOD).
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("method", sa.String(16), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="system"),
    *_timestamps(),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("user_id", sa.Uuid(), nullable=True),
    sa.Column("labels", JSONType, nullable=False),
    sa.Column("data", JSONType, nullable=True),
    sa.Column("targets", JSONType, nullable=True),
    sa.Column("created_by", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=_now),
    sa.Index("ix_events_created_at", "created_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    # Scoped to the caller so two tenants' keys never collide.
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("status_code", sa.Integer(), nullable=False),
    # The exact bytes of the first response, so a repeat gets the very same body.
    sa.Column("response", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=_now),
)

# Message states, as in SPEC.md.
PENDING = "pending"
LEASED = "leased"
SENT = "sent"
TEMPORARY_FAILURE = "temporary_failure"
PERMANENT_FAILURE = "permanent_failure"
INHIBITED = "inhibited"
MESSAGE_STATES = (PENDING, LEASED, SENT, TEMPORARY_FAILURE, PERMANENT_FAILURE, INHIBITED)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "event_id", sa.Uuid(), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("user_id", sa.Uuid(), nullable=True),
    sa.Column("channel_id", sa.Uuid(), nullable=True),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("status_reason", sa.Text(), nullable=True),
    sa.Column("attempt_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_retry_after", UTCDateTime(), nullable=True),
    # When the message may next be claimed: now for pending, the retry time for a
    # temporary failure, the lease's end for a leased one; NULL once it is final.
    # One partial index serves every claim.
    sa.Column("claimable_at", UTCDateTime(), nullable=True),
    sa.Column("leased_until", UTCDateTime(), nullable=True),
    sa.Column("lease_id", sa.Uuid(), nullable=True),
    # The Coder-style payload (recipient, labels, data, targets, rendered actions)
    # and the rendered content; what the log shows is what was sent.
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("content", JSONType, nullable=False),
    sa.Column("dedupe_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("read_at", UTCDateTime(), nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    sa.Index(
        "ix_messages_claimable",
        "claimable_at",
        postgresql_where=sa.text("claimable_at IS NOT NULL"),
        sqlite_where=sa.text("claimable_at IS NOT NULL"),
    ),
    sa.Index("ix_messages_created_at", "created_at"),
    sa.Index("ix_messages_event_id", "event_id"),
    sa.Index("ix_messages_user_id_created_at", "user_id", "created_at"),
    sa.Index("ix_messages_status_created_at", "status", "created_at"),
)

message_attempts = sa.Table(
    "message_attempts",
    metadata,
    sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), primary_key=True),
    sa.Column(
        "message_id", sa.Uuid(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=False),
    sa.Index("ix_message_attempts_message_id", "message_id"),
)

channels = sa.Table(
    "channels",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    # Non-secret settings in the clear; secret ones (tokens, credential-bearing URLs)
    # sealed with Fernet in ``secrets``.
    sa.Column("config", JSONType, nullable=False),
    sa.Column("secrets", sa.Text(), nullable=True),
    sa.Column("events", JSONType, nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    # Set when clarion switched the channel off itself (the destination answered 410 Gone).
    sa.Column("disabled_reason", sa.Text(), nullable=True),
    *_timestamps(),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("event_type", sa.String(100), primary_key=True),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False, default=_now, onupdate=_now),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", JSONType, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False, default=_now, onupdate=_now),
)

# The web pages' sign-ins: a cookie names its session, and signing out deletes the row, so
# a copy of the cookie stops working on every replica.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    # sha256 of the session's secret id, which only the sealed cookie holds.
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=_now),
)

# What recipients did with a delivered message: a click on one of its buttons in Slack.
message_interactions = sa.Table(
    "message_interactions",
    metadata,
    sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), primary_key=True),
    sa.Column(
        "message_id", sa.Uuid(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_message_interactions_message_id", "message_id"),
)
