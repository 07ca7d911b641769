"""The built-in event catalog: every event Coder and Dokploy send, in clarion's own words.

Templates are Jinja2 (see :mod:`clarion.render`). Recipient rules: ``subject_user`` (the
user the event is about), ``role:<role>`` (every active holder of the role), and the
modifier ``-initiator`` (skip the user whose username is the ``initiator`` label). Dokploy's
events have no user rules: they reach the team channels subscribed to them.

The data lives in :mod:`.coder` and :mod:`.dokploy`; ids are literals, never computed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BUILTIN_EVENT_TYPES",
    "MUST_SEND",
    "RECIPIENT_RULES",
    "SECRET_CONTENT",
    "TEMPLATE_ADMINS",
    "USER_ADMINS",
    "ActionSpec",
    "EventTypeSpec",
    "builtin",
]

USER_ADMINS = ("role:owner", "role:user-admin")
TEMPLATE_ADMINS = ("role:owner", "role:template-admin")
# Greets a user recipient; a team channel (no user) gets no greeting.
GREETING = "{% if user_name or user_username %}Hi {{ user_name or user_username }},\n\n{% endif %}"
# Types whose labels, data and rendered body carry a secret meant for the recipient alone (a
# one-time passcode): the delivery carries it, the message log shows it to no one, however
# high their role.
SECRET_CONTENT = frozenset({"user_one_time_passcode"})
# Types sent whatever the recipient's preferences or an administrator's switch, and never
# deduplicated: each one was asked for explicitly (a passcode, a test).
MUST_SEND = frozenset({"user_one_time_passcode", "test_notification"})
RECIPIENT_RULES = frozenset(
    {"subject_user", "role:owner", "role:user-admin", "role:template-admin", "-initiator"}
)


@dataclass(frozen=True)
class ActionSpec:
    label: str  # a Jinja2 template too (e.g. "Open {{ app_name }}")
    url: str  # a Jinja2 template rendering to an absolute http(s) URL


@dataclass(frozen=True)
class EventTypeSpec:
    key: str
    id: uuid.UUID
    name: str
    group: str
    title_template: str
    body_template: str
    actions: tuple[ActionSpec, ...] = ()
    required_labels: tuple[str, ...] = ()
    # Labels the templates use only when present (guarded with `is defined`).
    optional_labels: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    enabled_by_default: bool = True
    # Realistic samples for every required and optional label (tests, docs, UI preview).
    # Left out of the hash so a spec stays hashable; treat both as read-only.
    example_labels: dict[str, str] = field(default_factory=dict, hash=False)
    example_data: dict[str, Any] = field(default_factory=dict, hash=False)


def _all() -> tuple[EventTypeSpec, ...]:
    from clarion.intake.catalog.coder import CODER_EVENTS
    from clarion.intake.catalog.dokploy import DOKPLOY_EVENTS

    return (*CODER_EVENTS, *DOKPLOY_EVENTS)


BUILTIN_EVENT_TYPES: tuple[EventTypeSpec, ...] = _all()
_BY_KEY = {spec.key: spec for spec in BUILTIN_EVENT_TYPES}


def builtin(key: str) -> EventTypeSpec:
    """The built-in event type ``key``; ``KeyError`` naming it when there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no built-in event type {key!r}") from None
