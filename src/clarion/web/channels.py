"""``/admin/channels``: team channels in the pages: list, add (choosing the kind), edit,
Test Connection (saved, or as typed before saving), and remove.

The form is built from the kind's schema (:mod:`clarion.web.channel_form`); validation,
storage and the test send are the ones the API uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.api.deps import Principal, ServiceDep
from clarion.channels.probe import ProbeResult, send_test_message
from clarion.channels.registry import ChannelConfigError, ChannelKind, kinds, validate_config
from clarion.service import Service
from clarion.store import channels as store
from clarion.store.event_types import list_event_types, unknown_event_types
from clarion.web.channel_form import (
    config_from_form,
    fields_of,
    open_draft,
    seal_draft,
    shown_value,
)
from clarion.web.frame import app_page
from clarion.web.pages import first, message_page, read_form, see_other
from clarion.web.session import AdminSignedIn

router = APIRouter(prefix="/admin/channels", tags=["web"], include_in_schema=False)


@dataclass
class Draft:
    """What the form shows: a saved channel, or what was typed (never a secret's value)."""

    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    enabled: bool = True
    secrets_set: set[str] = field(default_factory=set)
    sealed: str = ""  # secrets typed for a channel not saved yet, sealed


async def _form_page(
    request: Request,
    service: Service,
    principal: Principal,
    kind: ChannelKind,
    draft: Draft,
    *,
    action: str,
    title: str,
    status: int = 200,
    errors: list[str] | None = None,
    probe: ProbeResult | None = None,
) -> Response:
    fields = fields_of(kind)
    async with service.db.read() as conn:
        types = await list_event_types(conn)
    return await app_page(
        request,
        service,
        principal,
        "channel_form.html",
        title,
        "channels",
        status=status,
        kind_title=kind.title,
        kind_description=kind.description,
        action=action,
        fields=fields,
        values={f.name: shown_value(f, draft.config) for f in fields},
        secrets_set=draft.secrets_set,
        name=draft.name,
        enabled=draft.enabled,
        events=set(draft.events),
        event_groups=[(g, list(ts)) for g, ts in groupby(types, key=lambda t: t.group)],
        draft=draft.sealed,
        errors=errors or [],
        probe=probe,
    )


@dataclass
class Posted:
    draft: Draft
    raw: dict[str, Any]  # the config as posted, secrets included
    errors: list[str]
    action: str


async def _read_posted(
    request: Request, service: Service, kind: ChannelKind, kept: dict[str, Any]
) -> Posted | None:
    """The posted form; ``kept``: secrets that an empty secret field leaves as they are."""
    form = await read_form(request)
    if form is None:
        return None
    fields = fields_of(kind)
    raw, errors = config_from_form(fields, form)
    secret_names = {f.name for f in fields if f.secret}
    kept = {**kept, **open_draft(service.secret_box, first(form, "draft"))}
    raw = {**{k: v for k, v in kept.items() if k in secret_names}, **raw}
    name = first(form, "name").strip()
    if not name:
        errors.append("name: give the channel a name")
    events = sorted(set(form.get("events", [])))
    async with service.db.read() as conn:
        unknown = await unknown_event_types(conn, events)
    if unknown:
        errors.append(f"events: unknown event type(s) {', '.join(unknown)}")
    typed = {k: raw[k] for k in secret_names if k in raw}
    draft = Draft(
        name=name,
        config={k: v for k, v in raw.items() if k not in secret_names},
        events=events,
        enabled=bool(form.get("enabled")),
        secrets_set={k for k in secret_names if raw.get(k)},
        sealed=seal_draft(service.secret_box, typed),
    )
    return Posted(draft, raw, errors, first(form, "do", "save"))


def _validated(posted: Posted, kind: ChannelKind) -> tuple[dict[str, Any], dict[str, Any]] | None:
    try:
        return validate_config(kind.kind, posted.raw)
    except ChannelConfigError as exc:
        posted.errors.extend(str(exc).split("; "))
        return None


Save = Callable[[AsyncConnection, dict[str, Any], dict[str, Any]], Awaitable[None]]


async def _submit(
    request: Request,
    service: Service,
    principal: Principal,
    spec: ChannelKind,
    posted: Posted,
    save: Save,
    action: str,
    title: str,
) -> Response:
    """Test Connection or save a posted form; on an error or after a test, the form again."""
    checked = _validated(posted, spec)
    probe = None
    if checked is not None and posted.action == "test":
        config = {**checked[0], **checked[1]}
        probe = await send_test_message(spec.kind, config, service.channel_deps)
    elif checked is not None and not posted.errors:
        try:
            async with service.db.begin() as conn:
                await save(conn, *checked)
        except IntegrityError:
            posted.errors.append(f"name: a channel named {posted.draft.name!r} already exists")
        else:
            notice = f"Saved {posted.draft.name}."
            return see_other("/admin/channels?" + urlencode({"notice": notice}))
    return await _form_page(
        request,
        service,
        principal,
        spec,
        posted.draft,
        action=action,
        title=title,
        status=422 if posted.errors and posted.action == "save" else 200,
        errors=posted.errors,
        probe=probe,
    )


@router.get("")
async def channel_list(
    request: Request,
    service: ServiceDep,
    principal: AdminSignedIn,
    notice: str = "",
) -> Response:
    return await _list_page(request, service, principal, notice=notice)


async def _list_page(
    request: Request,
    service: Service,
    principal: Principal,
    *,
    notice: str = "",
    probe: ProbeResult | None = None,
    probe_name: str = "",
) -> Response:
    async with service.db.read() as conn:
        found = await store.list_channels(conn, service.secret_box)
    titles = {k.kind: k.title for k in kinds().values()}
    rows = [
        {
            "id": c.id,
            "name": c.name,
            "kind_title": titles.get(c.kind, c.kind),
            "events": c.events,
            "enabled": c.enabled,
            "disabled_reason": c.disabled_reason,
        }
        for c in found
    ]
    return await app_page(
        request,
        service,
        principal,
        "channels.html",
        "Channels",
        "channels",
        channels=rows,
        notice=notice,
        probe=probe,
        probe_name=probe_name,
    )


@router.get("/new")
async def new_channel(
    request: Request, service: ServiceDep, principal: AdminSignedIn, kind: str = ""
) -> Response:
    spec = kinds().get(kind)
    if spec is None:
        listed = sorted(kinds().values(), key=lambda k: k.title.lower())
        return await app_page(
            request,
            service,
            principal,
            "channel_kinds.html",
            "Add a channel",
            "channels",
            kinds=listed,
        )
    return await _form_page(
        request,
        service,
        principal,
        spec,
        Draft(config={}),
        action=f"/admin/channels/new?{urlencode({'kind': spec.kind})}",
        title="New channel",
    )


@router.post("/new")
async def create_channel(
    request: Request, service: ServiceDep, principal: AdminSignedIn, kind: str = ""
) -> Response:
    spec = kinds().get(kind)
    if spec is None:
        return message_page(service.brand, 404, "Unknown kind", f"kind: {kind!r} is unknown.")
    posted = await _read_posted(request, service, spec, {})
    if posted is None:
        return message_page(service.brand, 413, "Too much", "The form sent was too large.")

    async def save(conn: AsyncConnection, public: dict[str, Any], secret: dict[str, Any]) -> None:
        await store.create_channel(
            conn,
            service.secret_box,
            name=posted.draft.name,
            kind=spec.kind,
            config=public,
            secrets=secret,
            events=posted.draft.events,
            enabled=posted.draft.enabled,
        )

    action = f"/admin/channels/new?{urlencode({'kind': spec.kind})}"
    return await _submit(request, service, principal, spec, posted, save, action, "New channel")


async def _channel(service: Service, channel_id: uuid.UUID) -> store.Channel | None:
    async with service.db.read() as conn:
        return await store.get_channel(conn, service.secret_box, channel_id)


def _not_found(service: Service, channel_id: uuid.UUID) -> Response:
    return message_page(service.brand, 404, "Not found", f"There is no channel {channel_id}.")


@router.get("/{channel_id}")
async def edit_channel(
    channel_id: uuid.UUID, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel = await _channel(service, channel_id)
    if channel is None:
        return _not_found(service, channel_id)
    draft = Draft(
        name=channel.name,
        config=channel.config,
        events=channel.events,
        enabled=channel.enabled,
        secrets_set=set(channel.secrets),
    )
    return await _form_page(
        request,
        service,
        principal,
        kinds()[channel.kind],
        draft,
        action=f"/admin/channels/{channel.id}",
        title=channel.name,
    )


@router.post("/{channel_id}")
async def update_channel(
    channel_id: uuid.UUID, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel = await _channel(service, channel_id)
    if channel is None:
        return _not_found(service, channel_id)
    spec = kinds()[channel.kind]
    posted = await _read_posted(request, service, spec, channel.secrets)
    if posted is None:
        return message_page(service.brand, 413, "Too much", "The form sent was too large.")
    posted.draft.secrets_set |= set(channel.secrets)

    async def save(conn: AsyncConnection, public: dict[str, Any], secret: dict[str, Any]) -> None:
        await store.update_channel(
            conn,
            service.secret_box,
            channel_id,
            secrets=secret,
            name=posted.draft.name,
            config=public,
            events=posted.draft.events,
            enabled=posted.draft.enabled,
        )

    action = f"/admin/channels/{channel.id}"
    return await _submit(request, service, principal, spec, posted, save, action, channel.name)


@router.post("/{channel_id}/test")
async def test_channel(
    channel_id: uuid.UUID, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel = await _channel(service, channel_id)
    if channel is None:
        return _not_found(service, channel_id)
    probe = await send_test_message(channel.kind, channel.full_config, service.channel_deps)
    return await _list_page(request, service, principal, probe=probe, probe_name=channel.name)


@router.get("/{channel_id}/remove")
async def confirm_remove(
    channel_id: uuid.UUID, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel = await _channel(service, channel_id)
    if channel is None:
        return _not_found(service, channel_id)
    return await app_page(
        request,
        service,
        principal,
        "confirm.html",
        f"Remove {channel.name}?",
        "channels",
        message="It stops receiving notifications. Messages already queued for it are kept "
        "in the log.",
        action=f"/admin/channels/{channel.id}/remove",
        button="Remove channel",
        cancel="/admin/channels",
    )


@router.post("/{channel_id}/remove")
async def remove(channel_id: uuid.UUID, service: ServiceDep, principal: AdminSignedIn) -> Response:
    async with service.db.begin() as conn:
        channel = await store.get_channel(conn, service.secret_box, channel_id)
        if channel is None or not await store.delete_channel(conn, channel_id):
            return _not_found(service, channel_id)
    return see_other("/admin/channels?" + urlencode({"notice": f"Removed {channel.name}."}))
