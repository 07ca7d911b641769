"""Request bodies: pydantic models at the edge, strict about unknown fields."""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.config import Method
from clarion.store.users import USERNAME, check_name

Role = Literal["owner", "user-admin", "template-admin", "member"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


class UserCreate(Body):
    email: str = Field(max_length=320)
    username: str | None = Field(None, description="default: the email's local part")
    name: str = Field("", max_length=200)
    roles: list[Role] = Field(default_factory=lambda: list[Role](["member"]))

    _email = field_validator("email")(_check_email)
    _name = field_validator("name")(check_name)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and not USERNAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 100)")
        return value


class UserPatch(Body):
    status: Literal["active", "suspended"] | None = None
    roles: list[Role] | None = None
    name: str | None = Field(None, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)


class TokenCreate(Body):
    name: str = Field("", max_length=200)
    lifetime_days: int | None = Field(None, ge=1, le=3650)


class EventIn(Body):
    type: str = Field(min_length=1, max_length=100)
    user_id: uuid.UUID | None = None
    user_email: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    data: dict[str, Any] | None = None
    targets: list[uuid.UUID] | None = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)


class EventBatchIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventTypeUpdate(Body):
    enabled: bool | None = None
    method: Method | None = None
    use_default_method: bool = Field(False, description="clear the method override")


class Preferences(Body):
    disabled: list[str]


class PauseSettings(Body):
    paused: bool


class ActionIn(Body):
    label: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000, description="Jinja2 template of an http(s) URL")


RecipientRule = Literal[
    "subject_user", "role:owner", "role:user-admin", "role:template-admin", "-initiator"
]


class EventTypeReplace(Body):
    """A custom type's full definition (everything but the key)."""

    name: str = Field(min_length=1, max_length=200)
    group: str = Field("Custom Events", min_length=1, max_length=100)
    title_template: str = Field(min_length=1, max_length=1000)
    body_template: str = Field(min_length=1, max_length=20000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=10)
    required_labels: list[str] = Field(default_factory=list, max_length=50)
    recipients: list[RecipientRule] = Field(
        default_factory=lambda: list[RecipientRule](["subject_user"])
    )
    enabled_by_default: bool = True


class EventTypeCreate(EventTypeReplace):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,99}$", description="stable snake_case key")
    method: Method | None = None


class ChannelCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=32)
    config: dict[str, Any]
    events: list[str] = Field(default_factory=list)
    enabled: bool = True


class ChannelPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    events: list[str] | None = None
    enabled: bool | None = None


class ChannelTest(Body):
    kind: str = Field(min_length=1, max_length=32)
    config: dict[str, Any]
