"""The event type catalog over HTTP: built-ins (admins switch them on/off and set their
method) and admins' custom types (created, replaced and deleted); the rules are
:mod:`clarion.domain.event_types`'."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from clarion.access import AdminDep, PrincipalDep, ServiceDep
from clarion.api.schemas import EventTypeCreate, EventTypeReplace, EventTypeUpdate
from clarion.domain.event_types import Definition, EventType, EventTypes
from clarion.service import Service

router = APIRouter(prefix="/api/v1/event-types", tags=["event types"])


class ActionView(BaseModel):
    label: str
    url: str


class EventTypeView(BaseModel):
    key: str
    id: str
    name: str
    group: str
    title_template: str
    body_template: str
    actions: list[ActionView]
    required_labels: list[str]
    recipients: list[str]
    enabled_by_default: bool
    enabled: bool
    method: str | None = Field(description="its own method; null: the default")
    kind: str = Field(description="system (built in) or custom")
    effective_method: str


class EventTypeList(BaseModel):
    items: list[EventTypeView]
    groups: dict[str, list[str]] = Field(description="each group's type keys")
    default_method: str


def _types(service: Service) -> EventTypes:
    return EventTypes(service.db, service.settings.method)


def _view(types: EventTypes, event_type: EventType) -> EventTypeView:
    return EventTypeView(
        **event_type.to_dict(), effective_method=types.effective_method(event_type)
    )


def _definition(body: EventTypeReplace) -> Definition:
    return Definition(
        name=body.name,
        group=body.group,
        title_template=body.title_template,
        body_template=body.body_template,
        actions=[a.model_dump() for a in body.actions],
        required_labels=body.required_labels,
        recipients=body.recipients,
        enabled_by_default=body.enabled_by_default,
    )


@router.get("")
async def list_types(service: ServiceDep, principal: PrincipalDep) -> EventTypeList:
    types = _types(service)
    listing = await types.list_all()
    return EventTypeList(
        items=[_view(types, t) for t in listing.types],
        groups=listing.groups,
        default_method=types.default_method,
    )


@router.get("/{key}")
async def get_type(key: str, service: ServiceDep, principal: PrincipalDep) -> EventTypeView:
    types = _types(service)
    return _view(types, await types.get(key))


@router.post("", status_code=201)
async def create_type(
    body: EventTypeCreate, service: ServiceDep, principal: AdminDep
) -> EventTypeView:
    types = _types(service)
    created = await types.create(body.key, _definition(body), method=body.method)
    return _view(types, created)


@router.put("/{key}")
async def update_type(
    key: str,
    body: EventTypeUpdate | EventTypeReplace,
    service: ServiceDep,
    principal: AdminDep,
) -> EventTypeView:
    """Switch a type on/off or set its method; for a custom type, or replace its definition."""
    types = _types(service)
    if isinstance(body, EventTypeReplace):
        updated = await types.replace(key, _definition(body))
    else:
        updated = await types.set_choices(
            key,
            enabled=body.enabled,
            method=body.method,
            use_default_method=body.use_default_method,
        )
    return _view(types, updated)


@router.delete("/{key}", status_code=204, response_class=Response)
async def delete_type(key: str, service: ServiceDep, principal: AdminDep) -> Response:
    await _types(service).delete(key)
    return Response(status_code=204)
