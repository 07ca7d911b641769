"""``/admin/channels``: team channels in the pages: list, add (choosing the kind), edit,
Test Connection (saved, or as typed before saving), and remove.

The form is built from the kind's schema (:mod:`clarion.web.channel_form`); the rules,
storage and the test send are :mod:`clarion.domain.channels`', as for the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from clarion.access import Principal, ServiceDep
from clarion.channels.probe import ProbeResult
from clarion.channels.registry import ChannelKind, kinds
from clarion.domain.channels import Channel, ChannelInvalid, Channels
from clarion.domain.event_types import EventTypes
from clarion.errors import ClarionError, Conflict
from clarion.service import Service
from clarion.web.channel_form import (
    config_from_form,
    fields_of,
    open_draft,
    seal_draft,
    shown_value,
)
from clarion.web.frame import app_page, confirm_page
from clarion.web.pages import (
    PageError,
    error_page,
    first,
    message_page,
    parse_id,
    read_form,
    see_other,
)
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
    types = (await EventTypes(service.db, service.settings.method).list_all()).types
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
    errors: list[str]  # what the form itself got wrong, before the channel's rules
    action: str


def _channels(service: Service) -> Channels:
    return Channels(service.db, service.secret_box, service.channel_deps)


async def _read_posted(
    request: Request, service: Service, kind: ChannelKind, saved: Channel | None, scope: str
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
    stored = saved.secrets if saved is not None else {}
    shown = {**{k: v for k, v in stored.items() if k in secret_names}, **given}
    draft = Draft(
        name=first(form, "name").strip(),
        config={k: v for k, v in given.items() if k not in secret_names},
        events=sorted(set(form.get("events", []))),
        enabled=bool(form.get("enabled")),
        secrets_set={k for k in secret_names if shown.get(k)},
        sealed=seal_draft(service.secret_box, typed, scope),
    )
    return Posted(draft, given, errors, first(form, "do", "save"))


async def _submit(
    request: Request,
    service: Service,
    principal: Principal,
    spec: ChannelKind,
    saved: Channel | None,
    posted: Posted,
    action: str,
    title: str,
) -> Response:
    """Test Connection or save a posted form, by the channels' rules (the API's); on an
    error or after a test, the form again."""
    channels = _channels(service)
    draft, errors = posted.draft, posted.errors
    probe = None
    if posted.action == "test" or errors:
        # Every problem shown at once; a test goes ahead as long as the config is valid.
        testing = posted.action == "test"
        checked = await channels.check(
            spec.kind,
            name=draft.name,
            config=posted.given,
            events=draft.events,
            saved=saved,
            for_saving=not testing,
        )
        errors.extend(str(p) for p in checked.problems)
        if testing and checked.config is not None:
            probe = await channels.send_test(spec.kind, checked.config)
    else:
        try:
            if saved is None:
                await channels.create(
                    name=draft.name,
                    kind=spec.kind,
                    config=posted.given,
                    events=draft.events,
                    enabled=draft.enabled,
                )
            else:
                await channels.update(
                    saved.id,
                    name=draft.name,
                    config=posted.given,
                    events=draft.events,
                    enabled=draft.enabled,
                )
        except ChannelInvalid as exc:
            errors.extend(str(p) for p in exc.problems)
        except Conflict as exc:
            errors.append(f"name: {exc}")
        else:
            notice = f"Saved {draft.name}."
            return see_other("/admin/channels?" + urlencode({"notice": notice}))
    return await _form_page(
        request,
        service,
        principal,
        spec,
        draft,
        action=action,
        title=title,
        status=422 if errors and posted.action == "save" else 200,
        errors=errors,
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
    found = await _channels(service).list_all(with_secrets=False)  # no secrets needed
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
    posted = await _read_posted(request, service, spec, None, f"new:{spec.kind}")
    return await _submit(
        request, service, principal, spec, None, posted, _new_action(spec), "New channel"
    )


async def _channel(service: Service, ref: str) -> tuple[Channel, ChannelKind]:
    """A channel with its secrets opened, and its kind; otherwise a page saying why not."""
    channel = await _channels(service).get(parse_id(ref, "channel"))
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
    try:
        channel, spec = await _channel(service, ref)
    except ClarionError as exc:
        return error_page(service.brand, exc)
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
    try:
        channel, spec = await _channel(service, ref)
    except ClarionError as exc:
        return error_page(service.brand, exc)
    posted = await _read_posted(request, service, spec, channel, f"channel:{channel.id}")
    action = f"/admin/channels/{channel.id}"
    try:
        return await _submit(
            request, service, principal, spec, channel, posted, action, channel.name
        )
    except ClarionError as exc:  # removed meanwhile, or its secrets no longer open
        return error_page(service.brand, exc)


@router.post("/{ref}/test")
async def test_channel(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    try:
        channel, _ = await _channel(service, ref)
        probe = await _channels(service).test_saved(channel.id)
    except ClarionError as exc:
        return error_page(service.brand, exc)
    return await _list_page(request, service, principal, probe=probe, probe_name=channel.name)


@router.get("/{ref}/remove")
async def confirm_remove(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    # Without opening its secrets: removal works even when they are unreadable.
    try:
        channel = await _channels(service).get(parse_id(ref, "channel"), with_secrets=False)
    except ClarionError as exc:
        return error_page(service.brand, exc)
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
    try:
        channel = await _channels(service).delete(parse_id(ref, "channel"))
    except ClarionError as exc:
        return error_page(service.brand, exc)
    return see_other("/admin/channels?" + urlencode({"notice": f"Removed {channel.name}."}))
