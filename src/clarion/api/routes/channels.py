"""Team channels over HTTP: kinds and their schemas, CRUD, and Test Connection.

Secret fields are write-only: responses show them as ``{"set": true|false}``. An update
that leaves a secret field out keeps the stored value, unless it changes where the secrets
go (a destination field): then they must be given again.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy.exc import IntegrityError

from clarion.access import AdminDep, ServiceDep
from clarion.api.schemas import ChannelCreate, ChannelPatch, ChannelTest
from clarion.channels.probe import send_test_message
from clarion.channels.registry import (
    ChannelConfigError,
    check_destination,
    get_kind,
    kinds,
    masked,
    updated_config,
    validate_config,
)
from clarion.service import Service
from clarion.store import channels as store
from clarion.store.event_types import unknown_event_types

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])


def channel_view(channel: store.Channel) -> dict[str, Any]:
    return {
        "id": str(channel.id),
        "name": channel.name,
        "kind": channel.kind,
        "config": masked(channel.kind, channel.config, set(channel.secrets)),
        "events": channel.events,
        "enabled": channel.enabled,
        "disabled_reason": channel.disabled_reason,
        "created_at": channel.created_at.isoformat(),
        "updated_at": channel.updated_at.isoformat(),
    }


def _config_error(exc: ChannelConfigError) -> HTTPException:
    return HTTPException(422, str(exc))


async def _check_events(service: Service, events: list[str]) -> None:
    async with service.db.read() as conn:
        unknown = await unknown_event_types(conn, events)
    if unknown:
        raise HTTPException(422, f"events: unknown event type(s) {', '.join(unknown)}")


@router.get("/kinds")
async def list_kinds(principal: AdminDep) -> dict[str, Any]:
    return {
        "items": [
            {
                "kind": k.kind,
                "title": k.title,
                "description": k.description,
                "secret_fields": sorted(k.secret_fields),
                "destination_fields": sorted(k.destination_fields),
                "config_schema": k.schema(),
            }
            for k in sorted(kinds().values(), key=lambda k: k.kind)
        ]
    }


@router.get("")
async def list_all(service: ServiceDep, principal: AdminDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        found = await store.list_channels(conn, service.secret_box)
    return {"items": [channel_view(c) for c in found]}


@router.post("", status_code=201)
async def create(body: ChannelCreate, service: ServiceDep, principal: AdminDep) -> dict[str, Any]:
    try:
        public, secret = validate_config(body.kind, body.config)
        await check_destination(body.kind, {**public, **secret}, service.channel_deps)
    except ChannelConfigError as exc:
        raise _config_error(exc) from None
    await _check_events(service, body.events)
    try:
        async with service.db.begin() as conn:
            channel = await store.create_channel(
                conn,
                service.secret_box,
                name=body.name,
                kind=body.kind,
                config=public,
                secrets=secret,
                events=body.events,
                enabled=body.enabled,
            )
    except IntegrityError:
        raise HTTPException(409, f"a channel named {body.name!r} already exists") from None
    return channel_view(channel)


async def _get(service: Service, channel_id: uuid.UUID) -> store.Channel:
    async with service.db.read() as conn:
        channel = await store.get_channel(conn, service.secret_box, channel_id)
    if channel is None:
        raise HTTPException(404, f"no channel {channel_id}")
    return channel


@router.get("/{channel_id}")
async def get_one(
    channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    return channel_view(await _get(service, channel_id))


@router.patch("/{channel_id}")
async def update(
    channel_id: uuid.UUID, body: ChannelPatch, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    current = await _get(service, channel_id)
    changes: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"config"})
    secrets = None
    if body.config is not None:
        try:
            changes["config"], secrets = updated_config(
                current.kind, current.config, current.secrets, body.config
            )
            full = {**changes["config"], **secrets}
            await check_destination(current.kind, full, service.channel_deps)
        except ChannelConfigError as exc:
            raise _config_error(exc) from None
    if body.events is not None:
        await _check_events(service, body.events)
    try:
        async with service.db.begin() as conn:
            updated = await store.update_channel(
                conn, service.secret_box, channel_id, secrets=secrets, **changes
            )
    except IntegrityError:
        raise HTTPException(409, f"a channel named {body.name!r} already exists") from None
    if updated is None:
        raise HTTPException(404, f"no channel {channel_id}")
    return channel_view(updated)


@router.delete("/{channel_id}", status_code=204)
async def delete(channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep) -> Response:
    async with service.db.begin() as conn:
        if not await store.delete_channel(conn, channel_id):
            raise HTTPException(404, f"no channel {channel_id}")
    return Response(status_code=204)


async def _send_test(service: Service, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    result = await send_test_message(kind, config, service.channel_deps)
    return {"ok": result.ok, "detail": result.detail}


@router.post("/test")
async def test_unsaved(
    body: ChannelTest, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    """Send a test message with a config that is not saved yet; answer with the provider's reply."""
    try:
        get_kind(body.kind)
        public, secret = validate_config(body.kind, body.config)
    except ChannelConfigError as exc:
        raise _config_error(exc) from None
    return await _send_test(service, body.kind, {**public, **secret})


@router.post("/{channel_id}/test")
async def test_saved(
    channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    channel = await _get(service, channel_id)
    return await _send_test(service, channel.kind, channel.full_config)
