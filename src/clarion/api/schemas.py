"""Request bodies: pydantic models at the edge, strict about unknown fields."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from clarion.access.accounts import EMAIL_SCHEMA, NAME_SCHEMA
from clarion.access.accounts import UserCreate as UserCreate
from clarion.channels.registry import kinds
from clarion.config import Method
from clarion.limits import (
    EMAIL_LENGTH,
    IDEMPOTENCY_KEY_LENGTH,
    KEY_LENGTH,
    MAX_BATCH,
    MAX_TARGETS,
    NAME_LENGTH,
    check_json,
    check_labels,
)
from clarion.roles import Role
from clarion.store.users import check_name

# A key naming something of ours (an event type, a label): as long as a key may be.
Key = Annotated[str, StringConstraints(max_length=KEY_LENGTH)]
# Lists of keys hold at most this many (far more event types than any deployment has).
MAX_KEYS = 1000


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _bounded(check: Callable[[Any], None]) -> Callable[[Any], Any]:
    """A field validator from a check of :mod:`clarion.limits` (its message as the error's,
    without pydantic's "Value error," in front)."""

    def validate(value: Any) -> Any:
        if value is not None:
            try:
                check(value)
            except ValueError as exc:
                raise PydanticCustomError("out_of_bounds", str(exc)) from None
        return value

    return validate


class UserPatch(Body):
    status: Literal["active", "suspended"] | None = None
    roles: list[Role] | None = None
    name: str | None = Field(None, max_length=NAME_LENGTH, json_schema_extra=NAME_SCHEMA)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)


class TokenCreate(Body):
    name: str = Field("", max_length=NAME_LENGTH)
    lifetime_days: int | None = Field(None, ge=1, le=3650)


class EventIn(Body):
    """Labels and data are stored with every message the event makes: each is bounded."""

    type: str = Field(min_length=1, max_length=KEY_LENGTH)
    user_id: uuid.UUID | None = None
    user_email: str | None = Field(None, max_length=EMAIL_LENGTH, json_schema_extra=EMAIL_SCHEMA)
    labels: dict[str, str] = Field(default_factory=dict)
    data: dict[str, Any] | None = None
    targets: list[uuid.UUID] | None = Field(None, max_length=MAX_TARGETS)
    idempotency_key: str | None = Field(None, min_length=1, max_length=IDEMPOTENCY_KEY_LENGTH)

    _labels = field_validator("labels")(_bounded(check_labels))
    _data = field_validator("data")(_bounded(check_json))


class EventBatchIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventTypeUpdate(Body):
    enabled: StrictBool | None = None
    method: Method | None = None
    use_default_method: StrictBool = Field(False, description="clear the method override")


class Preferences(Body):
    disabled: list[Key] = Field(max_length=MAX_KEYS)


class PauseSettings(Body):
    paused: StrictBool


class ActionIn(Body):
    label: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000, description="Jinja2 template of an http(s) URL")


RecipientRule = Literal[
    "subject_user", "role:owner", "role:user-admin", "role:template-admin", "-initiator"
]


class EventTypeReplace(Body):
    """A custom type's full definition (everything but the key)."""

    name: str = Field(min_length=1, max_length=NAME_LENGTH)
    group: str = Field("Custom Events", min_length=1, max_length=KEY_LENGTH)
    title_template: str = Field(min_length=1, max_length=1000)
    body_template: str = Field(min_length=1, max_length=20000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=10)
    required_labels: list[Key] = Field(default_factory=list, max_length=50)
    recipients: list[RecipientRule] = Field(
        default_factory=lambda: list[RecipientRule](["subject_user"])
    )
    enabled_by_default: StrictBool = True


class EventTypeCreate(EventTypeReplace):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,99}$", description="stable snake_case key")
    method: Method | None = None


# The kinds a channel may have, for the schema (the registry checks them).
KIND_SCHEMA: dict[str, Any] = {"enum": sorted(kinds())}


class ChannelCreate(Body):
    name: str = Field(min_length=1, max_length=NAME_LENGTH)
    kind: str = Field(min_length=1, max_length=32, json_schema_extra=KIND_SCHEMA)
    config: dict[str, Any]
    events: list[Key] = Field(default_factory=list, max_length=MAX_KEYS)
    enabled: StrictBool = True

    _config = field_validator("config")(_bounded(check_json))


class ChannelPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=NAME_LENGTH)
    config: dict[str, Any] | None = None
    events: list[Key] | None = Field(None, max_length=MAX_KEYS)
    enabled: StrictBool | None = None

    _config = field_validator("config")(_bounded(check_json))


class ChannelTest(Body):
    kind: str = Field(min_length=1, max_length=32, json_schema_extra=KIND_SCHEMA)
    config: dict[str, Any]

    _config = field_validator("config")(_bounded(check_json))


# --- response bodies --------------------------------------------------------------------------
# What the routes answer, declared so /openapi.json documents every 2xx body. Times are
# ISO 8601 strings as the routes write them.


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    name: str
    roles: list[str]
    status: str
    created_at: str
    updated_at: str


class UserList(BaseModel):
    items: list[UserOut]


class TokenCreated(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    token: str = Field(description="the secret, shown this once")
    created_at: str
    expires_at: str | None


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: str
    expires_at: str | None


class TokenList(BaseModel):
    items: list[TokenOut]


class PreferencesOut(BaseModel):
    disabled: list[str]


class QueuedMessageOut(BaseModel):
    id: uuid.UUID
    method: str
    recipient: str
    status: str


class EventQueued(BaseModel):
    """An event stored, and the messages it queued (or the queued ones it repeats)."""

    id: uuid.UUID
    messages: list[QueuedMessageOut]


class EventsQueued(BaseModel):
    events: list[EventQueued]


class MessageSummary(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    user_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    method: str
    recipient: str
    status: str
    status_reason: str | None
    attempt_count: int
    next_retry_after: str | None
    created_at: str
    updated_at: str
    sent_at: str | None
    title: str | None


class MessageList(BaseModel):
    items: list[MessageSummary]
    next_cursor: str | None


class AttemptOut(BaseModel):
    attempt: int
    outcome: str
    detail: str | None
    started_at: str
    finished_at: str


class InteractionOut(BaseModel):
    """What a recipient did with the message: a click on one of its buttons."""

    provider: str
    action: str
    actor: str
    at: str


class MessageDetail(MessageSummary):
    payload: dict[str, Any] | None
    content: dict[str, Any] | None
    attempts: list[AttemptOut]
    interactions: list[InteractionOut]


class MessageStats(BaseModel):
    paused: bool
    dispatching: bool
    by_status: dict[str, int]
    oldest_pending_age_seconds: float | None
    since: str
    window_seconds: float
    by_method: dict[str, dict[str, int]]
    window: dict[str, int]


class PauseState(BaseModel):
    paused: bool
