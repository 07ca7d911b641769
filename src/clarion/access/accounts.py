"""A new user's details, checked alike whether they come as the API's body or the admin
page's form."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.limits import EMAIL_LENGTH, NAME_LENGTH
from clarion.roles import Role
from clarion.store.users import USERNAME, check_name

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_EMAIL = re.compile(EMAIL_PATTERN)
# What the schema says of an email and a display name (the validators check the same).
EMAIL_SCHEMA: dict[str, Any] = {"pattern": EMAIL_PATTERN}
NAME_SCHEMA: dict[str, Any] = {"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"}


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=EMAIL_LENGTH, json_schema_extra=EMAIL_SCHEMA)
    username: str | None = Field(None, description="default: the email's local part")
    name: str = Field("", max_length=NAME_LENGTH, json_schema_extra=NAME_SCHEMA)
    roles: list[Role] = Field(default_factory=lambda: list[Role](["member"]))

    _email = field_validator("email")(_check_email)
    _name = field_validator("name")(check_name)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and not USERNAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 100)")
        return value
