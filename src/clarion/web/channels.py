"""``/admin/channels``: team channels in the pages: list, add (choosing the kind), edit,
Test Connection (saved, or as typed before saving), and remove.

The form is built from the kind's schema (:mod:`clarion.web.channel_form`); validation,
storage and the test send are the ones the API uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.access import Principal, ServiceDep
from clarion.channels.probe import ProbeResult, send_test_message
from clarion.channels.registry import (
    ChannelConfigError,
    ChannelKind,
    check_destination,
    kinds,
    updated_config,
)
from clarion.limits import NAME_LENGTH
from clarion.secrets import SecretsError
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
from clarion.web.frame import app_page, confirm_page
from clarion.web.pages import PageError, first, message_page, parse_id, read_form, see_other
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
    given: dict[str, Any]  # the config as posted, secrets typed included (None: remove)
    errors: list[str]
    action: str


@dataclass(frozen=True)
class Saved:
    """The channel the form edits, as stored (nothing for a new one)."""

    config: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)


async def _read_posted(
    request: Request, service: Service, kind: ChannelKind, saved: Saved, scope: str
) -> Posted:
    """The posted form. A secret field left empty keeps the value typed before a Test
    Connection (the sealed draft), else the saved one; ``scope`` names the form."""
    form = await read_form(request)
    fields = fields_of(kind)
    raw, errors = config_from_form(fields, form)
    secret_names = {f.name for f in fields if f.secret}
    drafted = open_draft(service.secret_box, first(form, "draft"), scope)
    given = {**drafted, **raw}
    typed = {k: v for k, v in given.items() if k in secret_names and v}
    shown = {**{k: v for k, v in saved.secrets.items() if k in secret_names}, **given}
    name = first(form, "name").strip()
    if not name:
        errors.append("name: give the channel a name")
    elif len(name) > NAME_LENGTH:
        errors.append(f"name: at most {NAME_LENGTH} characters")
    events = sorted(set(form.get("events", [])))
    async with service.db.read() as conn:
        unknown = await unknown_event_types(conn, events)
    if unknown:
        errors.append(f"events: unknown event type(s) {', '.join(unknown)}")
    draft = Draft(
        name=name,
        config={k: v for k, v in given.items() if k not in secret_names},
        events=events,
        enabled=bool(form.get("enabled")),
        secrets_set={k for k in secret_names if shown.get(k)},
        sealed=seal_draft(service.secret_box, typed, scope),
    )
    return Posted(draft, given, errors, first(form, "do", "save"))


async def _validated(
    service: Service, posted: Posted, kind: ChannelKind, saved: Saved
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The config to test or save, by the API's rules (saved secrets kept unless the
    destination changes; the destination checked before saving)."""
    try:
        checked = updated_config(kind.kind, saved.config, saved.secrets, posted.given)
        if posted.action != "test":
            await check_destination(kind.kind, {**checked[0], **checked[1]}, service.channel_deps)
    except ChannelConfigError as exc:
        posted.errors.extend(str(exc).split("; "))
        return None
    return checked


Save = Callable[[AsyncConnection, dict[str, Any], dict[str, Any]], Awaitable[None]]


async def _submit(
    request: Request,
    service: Service,
    principal: Principal,
    spec: ChannelKind,
    saved: Saved,
    posted: Posted,
    save: Save,
    action: str,
    title: str,
) -> Response:
    """Test Connection or save a posted form; on an error or after a test, the form again."""
    checked = await _validated(service, posted, spec, saved)
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
        found = await store.list_channels(conn, None)  # no secrets needed
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


def _new_action(spec: ChannelKind) -> str:
    return f"/admin/channels/new?{urlencode({'kind': spec.kind})}"


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
        action=_new_action(spec),
        title="New channel",
    )


@router.post("/new")
async def create_channel(
    request: Request, service: ServiceDep, principal: AdminSignedIn, kind: str = ""
) -> Response:
    spec = kinds().get(kind)
    if spec is None:
        return message_page(service.brand, 404, "Unknown kind", f"kind: {kind!r} is unknown.")
    posted = await _read_posted(request, service, spec, Saved(), f"new:{spec.kind}")

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

    return await _submit(
        request, service, principal, spec, Saved(), posted, save, _new_action(spec), "New channel"
    )


async def _channel(service: Service, ref: str) -> tuple[store.Channel, ChannelKind]:
    """A channel with its secrets opened, and its kind; otherwise a page saying why not."""
    channel_id = parse_id(ref, "channel")
    try:
        async with service.db.read() as conn:
            channel = await store.get_channel(conn, service.secret_box, channel_id)
    except SecretsError as exc:
        message = f"{exc} Remove the channel and add it again."
        raise PageError(409, "Secrets unreadable", message) from None
    if channel is None:
        raise PageError(404, "Not found", f"There is no channel {channel_id}.")
    spec = kinds().get(channel.kind)
    if spec is None:
        raise PageError(
            409, "Unknown kind", f"This version has no channel kind {channel.kind!r}; remove it."
        )
    return channel, spec


@router.get("/{ref}")
async def edit_channel(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel, spec = await _channel(service, ref)
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
        spec,
        draft,
        action=f"/admin/channels/{channel.id}",
        title=channel.name,
    )


@router.post("/{ref}")
async def update_channel(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel, spec = await _channel(service, ref)
    scope = f"channel:{channel.id}"
    saved = Saved(channel.config, channel.secrets)
    posted = await _read_posted(request, service, spec, saved, scope)

    async def save(conn: AsyncConnection, public: dict[str, Any], secret: dict[str, Any]) -> None:
        await store.update_channel(
            conn,
            service.secret_box,
            channel.id,
            secrets=secret,
            name=posted.draft.name,
            config=public,
            events=posted.draft.events,
            enabled=posted.draft.enabled,
        )

    action = f"/admin/channels/{channel.id}"
    return await _submit(
        request, service, principal, spec, saved, posted, save, action, channel.name
    )


@router.post("/{ref}/test")
async def test_channel(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel, spec = await _channel(service, ref)
    probe = await send_test_message(spec.kind, channel.full_config, service.channel_deps)
    return await _list_page(request, service, principal, probe=probe, probe_name=channel.name)


async def _sealed_channel(service: Service, ref: str) -> store.Channel:
    """A channel without opening its secrets: removal works even when they are unreadable."""
    channel_id = parse_id(ref, "channel")
    async with service.db.read() as conn:
        channel = await store.get_channel(conn, None, channel_id)
    if channel is None:
        raise PageError(404, "Not found", f"There is no channel {channel_id}.")
    return channel


@router.get("/{ref}/remove")
async def confirm_remove(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    channel = await _sealed_channel(service, ref)
    return await confirm_page(
        request,
        service,
        principal,
        "channels",
        title=f"Remove {channel.name}?",
        message="It stops receiving notifications. Messages already queued for it are kept "
        "in the log.",
        action=f"/admin/channels/{channel.id}/remove",
        button="Remove channel",
        cancel="/admin/channels",
    )


@router.post("/{ref}/remove")
async def remove(ref: str, service: ServiceDep, principal: AdminSignedIn) -> Response:
    channel = await _sealed_channel(service, ref)
    async with service.db.begin() as conn:
        if not await store.delete_channel(conn, channel.id):
            raise PageError(404, "Not found", f"There is no channel {channel.id}.")
    return see_other("/admin/channels?" + urlencode({"notice": f"Removed {channel.name}."}))
