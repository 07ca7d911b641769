"""Event intake: validate an event against its type, decide who hears about it, enqueue.

Two steps: :func:`plan_events` reads what it needs (types, users, preferences, channels),
validates and renders, writing nothing; :func:`store_plan` writes the events and their
messages in the caller's transaction, together or not at all. Planning can run on a read
connection, so that SQLite's one write lock is not held while rendering. Rendering happens
at intake so that a template problem is a 4xx to the platform that posted the event, not a
failure discovered at send time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clarion.channels import method_of
from clarion.errors import Invalid
from clarion.intake.catalog import MUST_SEND
from clarion.intake.lookups import Lookups
from clarion.render import RenderContext, TemplateError, render_event
from clarion.store import Connection
from clarion.store.config_cache import ConfigCache
from clarion.store.db import Database
from clarion.store.event_types import EventType
from clarion.store.lookups import QueuedMessage, dedupe_holders
from clarion.store.queue import insert_events, insert_messages, new_message_row, store_new
from clarion.store.users import User

from .recipients import resolve_user_recipients


class IntakeError(Invalid):
    """A bad event: the message names the field and what to do; nothing is stored."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        # Named apart from the message, which already starts with the field.
        self.field = field


@dataclass(frozen=True)
class EventInput:
    type: str
    user_id: uuid.UUID | None = None
    user_email: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None
    targets: Sequence[uuid.UUID] | None = None


@dataclass(frozen=True)
class IntakeConfig:
    default_method: str
    access_url: str
    app_name: str = "Clarion"
    logo_url: str = ""


@dataclass(frozen=True)
class EnqueuedMessage:
    id: uuid.UUID
    method: str
    recipient: str
    status: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "method": self.method,
            "recipient": self.recipient,
            "status": self.status,
        }


@dataclass(frozen=True)
class EnqueueResult:
    event_id: uuid.UUID
    messages: list[EnqueuedMessage]

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.event_id), "messages": [m.to_dict() for m in self.messages]}


def _dedupe_hash(
    event_type: EventType, recipient_key: str, method: str, event: EventInput, now: datetime
) -> str:
    # As Coder: the same notification to the same recipient on the same UTC day is sent once.
    material = json.dumps(
        [
            str(event_type.id),
            recipient_key,
            method,
            dict(sorted(event.labels.items())),
            event.data,
            [str(t) for t in event.targets or ()],
            now.date().isoformat(),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


async def _affected_user(lookups: Lookups, event: EventInput, prefix: str) -> User | None:
    if event.user_id is not None:
        user = await lookups.user_by_id(event.user_id)
        if user is None:
            raise IntakeError(
                f"{prefix}user_id: no user with id {event.user_id}", field=f"{prefix}user_id"
            )
        return user
    if event.user_email:
        user = await lookups.user_by_email(event.user_email)
        if user is None:
            raise IntakeError(
                f"{prefix}user_email: no user with email {event.user_email!r}; "
                "create the user first (POST /api/v1/users)",
                field=f"{prefix}user_email",
            )
        return user
    return None


def _check_labels(event_type: EventType, event: EventInput, prefix: str) -> None:
    missing = [label for label in event_type.required_labels if label not in event.labels]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise IntakeError(
            f"{prefix}labels: event type {event_type.key!r} requires label(s) {names}",
            field=f"{prefix}labels",
        )


@dataclass
class Plan:
    """Validated, rendered events and their message rows, not yet stored."""

    event_rows: list[dict[str, Any]] = field(default_factory=list)
    message_rows: list[dict[str, Any]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # which event each message row is for


async def enqueue_event(
    conn: Connection,
    event: EventInput,
    config: IntakeConfig,
    cache: ConfigCache,
    *,
    created_by: uuid.UUID | None = None,
) -> EnqueueResult:
    """Validate ``event``, store it and one message per recipient in the caller's
    transaction; return what was queued."""
    plan = await plan_events(conn, [event], config, cache, created_by=created_by, indexed=False)
    [result] = await store_plan(conn, plan)
    return result


async def plan_events(
    conn: Connection,
    batch: Sequence[EventInput],
    config: IntakeConfig,
    cache: ConfigCache,
    *,
    created_by: uuid.UUID | None = None,
    indexed: bool = True,
) -> Plan:
    """Validate and render ``batch``, reading through ``conn`` and writing nothing.

    The first invalid event raises its IntakeError (``events[3].type: …`` when ``indexed``).
    """
    items = [(event, created_by) for event in batch]
    plans = await plan_each(conn, items, config, cache, indexed=indexed)
    valid = []
    for plan in plans:
        if isinstance(plan, IntakeError):
            raise plan
        valid.append(plan)
    return merge_plans(valid)


async def plan_each(
    conn: Connection,
    batch: Sequence[tuple[EventInput, uuid.UUID | None]],
    config: IntakeConfig,
    cache: ConfigCache,
    *,
    indexed: bool = False,
    indices: Sequence[int] | None = None,
) -> list[Plan | IntakeError]:
    """Plan each ``(event, created_by)`` on its own, sharing the lookups: an invalid event is
    its own IntakeError, and the others are planned all the same. Errors name fields as
    ``events[i].``: ``i`` the position in ``batch`` when ``indexed``, or in ``indices``."""
    lookups = Lookups(conn, cache)
    await lookups.preload([event for event, _ in batch])
    now = datetime.now(UTC)
    plans: list[Plan | IntakeError] = []
    for index, (event, created_by) in enumerate(batch):
        if indices is not None:
            index = indices[index]
        prefix = f"events[{index}]." if indexed or indices is not None else ""
        try:
            event_row, rows = await _plan(lookups, event, config, prefix, now, created_by)
        except IntakeError as exc:
            plans.append(exc)
        else:
            plans.append(Plan([event_row], rows, [0] * len(rows)))
    return plans


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """One plan of all: its results come in the order of ``plans``' events."""
    merged = Plan()
    for plan in plans:
        merged.owners += [len(merged.event_rows) + owner for owner in plan.owners]
        merged.event_rows += plan.event_rows
        merged.message_rows += plan.message_rows
    return merged


async def store_plan(conn: Connection, plan: Plan) -> list[EnqueueResult]:
    """Insert the planned events and messages in the caller's transaction; what was queued."""
    await insert_events(conn, plan.event_rows)
    inserted = await insert_messages(conn, plan.message_rows)
    return _results(plan, inserted, await _holders(conn, plan, inserted))


async def commit_plan(db: Database, plan: Plan) -> list[EnqueueResult]:
    """Store the plan in a transaction of its own (on SQLite, the shortest hold of the write
    lock: see :func:`clarion.store.queue.store_new`) and wake the dispatchers."""
    inserted = await store_new(db, plan.event_rows, plan.message_rows)
    if len(inserted) == len(plan.message_rows):
        return _results(plan, inserted, {})
    async with db.read() as conn:
        return _results(plan, inserted, await _holders(conn, plan, inserted))


async def _holders(
    conn: Connection, plan: Plan, inserted: set[uuid.UUID]
) -> dict[str, QueuedMessage]:
    """The queued messages holding the dedupe hashes of the planned rows not inserted."""
    skipped = [r["dedupe_hash"] for r in plan.message_rows if r["id"] not in inserted]
    return await dedupe_holders(conn, skipped)


def _results(
    plan: Plan, inserted: set[uuid.UUID], holders: dict[str, QueuedMessage]
) -> list[EnqueueResult]:
    """Each event's messages as queued: a row whose dedupe hash was already taken reports
    the message that holds it."""
    results = [EnqueueResult(row["id"], []) for row in plan.event_rows]
    for owner, row in zip(plan.owners, plan.message_rows, strict=True):
        found = holders.get(row["dedupe_hash"]) if row["id"] not in inserted else None
        if found is not None:
            queued = EnqueuedMessage(found.id, row["method"], row["recipient"], found.status)
        else:
            queued = EnqueuedMessage(row["id"], row["method"], row["recipient"], row["status"])
        results[owner].messages.append(queued)
    return results


async def _plan(
    lookups: Lookups,
    event: EventInput,
    config: IntakeConfig,
    prefix: str,
    now: datetime,
    created_by: uuid.UUID | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate one event and build its row and its message rows."""
    event_type = await lookups.event_type(event.type)
    if event_type is None:
        raise IntakeError(
            f"{prefix}type: unknown event type {event.type!r}; "
            "GET /api/v1/event-types lists the known ones",
            field=f"{prefix}type",
        )
    _check_labels(event_type, event, prefix)
    subject = await _affected_user(lookups, event, prefix)
    if subject is None and "subject_user" in event_type.recipients:
        raise IntakeError(
            f"{prefix}user_id: event type {event_type.key!r} is sent to the affected user; "
            "give user_id or user_email",
            field=f"{prefix}user_id",
        )
    event_id = uuid.uuid4()
    recipients = await resolve_user_recipients(
        lookups, event_type, subject=subject, labels=event.labels, targets=event.targets or ()
    )
    disabled_reason = (
        None
        if event_type.enabled or event_type.key in MUST_SEND
        else f"event type {event_type.key!r} is disabled by an administrator"
    )
    rows = []
    for planned in recipients:
        method = event_type.method or config.default_method
        user = planned.user
        rendered = _render(event_type, event, user, config, prefix)
        dedupe = (
            None
            if event_type.key in MUST_SEND  # each one was asked for explicitly
            else _dedupe_hash(event_type, str(user.id), method, event, now)
        )
        rows.append(
            new_message_row(
                event_id=event_id,
                event_type=event_type.key,
                method=method,
                recipient=user.email,
                payload=_payload(event_type, event, rendered, user),
                content=rendered,
                now=now,
                user_id=user.id,
                inhibited_reason=planned.inhibited_reason or disabled_reason,
                dedupe_hash=dedupe,
            )
        )
    channels = await lookups.subscribed_channels(event_type.key)
    shared = _render(event_type, event, None, config, prefix) if channels else {}
    for channel in channels:
        rows.append(
            new_message_row(
                event_id=event_id,
                event_type=event_type.key,
                method=method_of(channel.kind),
                recipient=channel.name,
                payload=_payload(event_type, event, shared, None),
                content=shared,
                now=now,
                channel_id=channel.id,
                inhibited_reason=disabled_reason,
                dedupe_hash=_dedupe_hash(
                    event_type, f"channel:{channel.id}", channel.kind, event, now
                ),
            )
        )
    event_row = {
        "id": event_id,
        "type": event_type.key,
        "user_id": subject.id if subject else None,
        "labels": dict(event.labels),
        "data": dict(event.data) if event.data is not None else None,
        "targets": [str(t) for t in event.targets] if event.targets is not None else None,
        "created_by": created_by,
        "created_at": now,
    }
    return event_row, rows


def _render(
    event_type: EventType, event: EventInput, user: User | None, config: IntakeConfig, prefix: str
) -> dict[str, Any]:
    """Render for a user, or for a team channel (``user`` None: the user fields are empty)."""
    ctx = RenderContext(
        template_id=str(event_type.id),
        template_name=event_type.name,
        user_id=str(user.id) if user else "",
        user_email=user.email if user else "",
        user_name=user.name if user else "",
        user_username=user.username if user else "",
        labels=dict(event.labels),
        data=dict(event.data or {}),
        base_url=config.access_url,
        app_name=config.app_name,
        logo_url=config.logo_url,
    )
    try:
        rendered = render_event(
            event_type.title_template, event_type.body_template, event_type.actions, ctx
        )
    except TemplateError as exc:
        raise IntakeError(
            f"{prefix}labels: event type {event_type.key!r} could not be rendered: {exc}",
            field=f"{prefix}labels",
        ) from exc
    return rendered.to_dict()


def _payload(
    event_type: EventType, event: EventInput, content: dict[str, Any], user: User | None
) -> dict[str, Any]:
    """The Coder v1.2 message payload: what the webhook method sends as "payload"."""
    return {
        "_version": "1.2",
        "notification_name": event_type.name,
        "notification_template_id": str(event_type.id),
        "user_id": str(user.id) if user else "",
        "user_email": user.email if user else "",
        "user_name": user.name if user else "",
        "user_username": user.username if user else "",
        "actions": content["actions"],
        "labels": dict(event.labels),
        "data": dict(event.data) if event.data is not None else None,
        "targets": [str(t) for t in event.targets] if event.targets is not None else None,
    }
