"""Team channels over HTTP: kinds and their schemas, CRUD, and Test Connection; the rules
are :mod:`clarion.domain.channels`'.

Secret fields are write-only: responses show them as ``{"set": true|false}``. An update
that leaves a secret field out keeps the stored value, unless it changes where the secrets
go (a destination field): then they must be given again.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from clarion.access import AdminDep, ServiceDep
from clarion.api.schemas import ChannelCreate, ChannelPatch, ChannelTest
from clarion.channels.probe import ProbeResult
from clarion.channels.registry import kinds, masked
from clarion.domain.channels import Channel, Channels
from clarion.service import Service

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])


class KindView(BaseModel):
    kind: str
    title: str
    description: str
    secret_fields: list[str]
    destination_fields: list[str]
    config_schema: dict[str, Any] = Field(description="the config's JSON Schema")


class KindList(BaseModel):
    items: list[KindView]


class ChannelView(BaseModel):
    id: str
    name: str
    kind: str
    config: dict[str, Any] = Field(description='secret fields as {"set": true|false}')
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: str
    updated_at: str


class ChannelList(BaseModel):
    items: list[ChannelView]


class TestResult(BaseModel):
    ok: bool
    detail: str = Field(description="the provider's answer, or why the test failed")


def channel_view(channel: Channel) -> ChannelView:
    return ChannelView(
        id=str(channel.id),
        name=channel.name,
        kind=channel.kind,
        config=masked(channel.kind, channel.config, set(channel.secrets)),
        events=channel.events,
        enabled=channel.enabled,
        disabled_reason=channel.disabled_reason,
        created_at=channel.created_at.isoformat(),
        updated_at=channel.updated_at.isoformat(),
    )


def _channels(service: Service) -> Channels:
    return Channels(service.db, service.secret_box, service.channel_deps)


def _result(result: ProbeResult) -> TestResult:
    return TestResult(ok=result.ok, detail=result.detail)


@router.get("/kinds")
async def list_kinds(principal: AdminDep) -> KindList:
    return KindList(
        items=[
            KindView(
                kind=k.kind,
                title=k.title,
                description=k.description,
                secret_fields=sorted(k.secret_fields),
                destination_fields=sorted(k.destination_fields),
                config_schema=k.schema(),
            )
            for k in sorted(kinds().values(), key=lambda k: k.kind)
        ]
    )


@router.get("")
async def list_all(service: ServiceDep, principal: AdminDep) -> ChannelList:
    return ChannelList(items=[channel_view(c) for c in await _channels(service).list_all()])


@router.post("", status_code=201)
async def create(body: ChannelCreate, service: ServiceDep, principal: AdminDep) -> ChannelView:
    channel = await _channels(service).create(
        name=body.name,
        kind=body.kind,
        config=body.config,
        events=body.events,
        enabled=body.enabled,
    )
    return channel_view(channel)


@router.get("/{channel_id:uuid}")
async def get_one(channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep) -> ChannelView:
    return channel_view(await _channels(service).get(channel_id))


@router.patch("/{channel_id:uuid}")
async def update(
    channel_id: uuid.UUID, body: ChannelPatch, service: ServiceDep, principal: AdminDep
) -> ChannelView:
    channel = await _channels(service).update(
        channel_id, name=body.name, config=body.config, events=body.events, enabled=body.enabled
    )
    return channel_view(channel)


@router.delete("/{channel_id:uuid}", status_code=204, response_class=Response)
async def delete(channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep) -> Response:
    await _channels(service).delete(channel_id)
    return Response(status_code=204)


@router.post("/test")
async def test_unsaved(body: ChannelTest, service: ServiceDep, principal: AdminDep) -> TestResult:
    """Send a test message with a config that is not saved yet; answer with the provider's reply."""
    return _result(await _channels(service).test_unsaved(body.kind, body.config))


@router.post("/{channel_id:uuid}/test")
async def test_saved(channel_id: uuid.UUID, service: ServiceDep, principal: AdminDep) -> TestResult:
    return _result(await _channels(service).test_saved(channel_id))
