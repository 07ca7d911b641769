"""The built-in event catalog: every event Coder and Dokploy send, in clarion's own words.

Templates are Jinja2 (see :mod:`clarion.render`). Recipient rules: ``subject_user`` (the
user the event is about), ``role:<role>`` (every active holder of the role), and the
modifier ``-initiator`` (skip the user named by the ``initiator`` label). Dokploy's events
have no user rules: they reach the team channels subscribed to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

USER_ADMINS = ("role:owner", "role:user-admin")
TEMPLATE_ADMINS = ("role:owner", "role:template-admin")


@dataclass(frozen=True)
class ActionSpec:
    label: str
    url: str


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
    optional_labels: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    enabled_by_default: bool = True
    example_labels: Mapping[str, str] = field(default_factory=dict)
    example_data: Mapping[str, Any] = field(default_factory=dict)


def _all() -> tuple[EventTypeSpec, ...]:
    from clarion.intake.catalog.coder import CODER_EVENTS
    from clarion.intake.catalog.dokploy import DOKPLOY_EVENTS

    return (*CODER_EVENTS, *DOKPLOY_EVENTS)


BUILTIN_EVENT_TYPES: tuple[EventTypeSpec, ...] = _all()
_BY_KEY = {spec.key: spec for spec in BUILTIN_EVENT_TYPES}


def builtin(key: str) -> EventTypeSpec:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no built-in event type {key!r}") from None
