"""The event type catalog's rules, the one place the API and the pages both go through:
built-in types are switched on or off and given a method; admins' custom types are also
created, replaced and deleted, their templates checked like built-ins' before they are
stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from clarion.config import METHODS
from clarion.errors import Conflict, Invalid, NotFound
from clarion.render import TemplateError, validate_templates
from clarion.store import event_types as store
from clarion.store.db import Database

EventType = store.EventType
CUSTOM = "custom"


@dataclass(frozen=True)
class Definition:
    """What an admin defines of a custom type (everything but its key and switches)."""

    name: str
    title_template: str
    body_template: str
    group: str = "Custom Events"
    actions: Sequence[Mapping[str, str]] = ()
    required_labels: Sequence[str] = ()
    recipients: Sequence[str] = ("subject_user",)
    enabled_by_default: bool = True

    def values(self) -> dict[str, Any]:
        out = asdict(self)
        out["actions"] = [dict(a) for a in self.actions]
        out["required_labels"] = list(self.required_labels)
        out["recipients"] = list(self.recipients)
        return out


@dataclass(frozen=True)
class Listing:
    types: list[EventType]
    # Each group's type keys, in the catalog's order.
    groups: dict[str, list[str]] = field(default_factory=dict)


def check_templates(definition: Definition) -> None:
    """Compile and try the templates with sample values: an Invalid naming ``template``
    (and the part) now, not a failed message later."""
    try:
        validate_templates(
            definition.title_template,
            definition.body_template,
            definition.actions,
            definition.required_labels,
        )
    except TemplateError as exc:
        raise Invalid(str(exc), field="template") from None


def _missing(key: str) -> NotFound:
    return NotFound(f"no event type {key!r}")


@dataclass(frozen=True)
class EventTypes:
    db: Database
    # The method of a type without its own: the deployment's default.
    default_method: str

    def effective_method(self, event_type: EventType) -> str:
        return event_type.method or self.default_method

    async def list_all(self) -> Listing:
        async with self.db.read() as conn:
            types = await store.list_event_types(conn)
        groups: dict[str, list[str]] = {}
        for t in types:
            groups.setdefault(t.group, []).append(t.key)
        return Listing(types, groups)

    async def get(self, key: str) -> EventType:
        async with self.db.read() as conn:
            found = await store.get_event_type(conn, key)
        if found is None:
            raise _missing(key)
        return found

    async def set_choices(
        self,
        key: str,
        *,
        enabled: bool | None = None,
        method: str | None = None,
        use_default_method: bool = False,
    ) -> EventType:
        """An admin's choices for any type, built in or custom: on or off, and its method
        (``use_default_method``: the deployment's default again). What is not given stays."""
        if method is not None and method not in METHODS:
            raise Invalid(f"{method!r} is not one of {', '.join(METHODS)}", field="method")
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["enabled"] = enabled
        if use_default_method:
            changes["method"] = None
        elif method is not None:
            changes["method"] = method
        async with self.db.begin() as conn:
            updated = await store.update_event_type(conn, key, **changes)
        if updated is None:
            raise _missing(key)
        return updated

    async def create(
        self, key: str, definition: Definition, *, method: str | None = None
    ) -> EventType:
        """A custom type; Invalid naming a template that does not work, a Conflict when the
        key is taken (by a built-in type too)."""
        if method is not None and method not in METHODS:
            raise Invalid(f"{method!r} is not one of {', '.join(METHODS)}", field="method")
        check_templates(definition)
        async with self.db.begin() as conn:
            return await store.create_event_type(conn, key, method=method, **definition.values())

    async def replace(self, key: str, definition: Definition) -> EventType:
        """A custom type's new definition (its switches stay); a built-in type's templates
        come with the release, so replacing one is a Conflict."""
        current = await self.get(key)
        if current.kind != CUSTOM:
            raise Conflict(f"{key!r} is built in: only 'enabled' and 'method' can be changed")
        check_templates(definition)
        async with self.db.begin() as conn:
            updated = await store.update_event_type(conn, key, **definition.values())
        if updated is None:
            raise _missing(key)
        return updated

    async def delete(self, key: str) -> None:
        """A custom type; a built-in one is switched off instead (a Conflict saying so)."""
        async with self.db.begin() as conn:
            current = await store.get_event_type(conn, key)
            if current is None:
                raise _missing(key)
            if current.kind != CUSTOM:
                raise Conflict(f"{key!r} is built in; disable it instead (enabled: false)")
            await store.delete_event_type(conn, key)
