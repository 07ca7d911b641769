"""The event type catalog: built-ins (admins switch them on/off and set their method) and
admins' custom types (created, replaced and deleted here, validated like built-ins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy.exc import IntegrityError

from clarion.access import AdminDep, PrincipalDep, ServiceDep
from clarion.api.schemas import EventTypeCreate, EventTypeReplace, EventTypeUpdate
from clarion.render import TemplateError, validate_templates
from clarion.store import event_types as store

router = APIRouter(prefix="/api/v1/event-types", tags=["event types"])


def _with_effective_method(event_type: store.EventType, default: str) -> dict[str, Any]:
    item = event_type.to_dict()
    item["effective_method"] = event_type.method or default
    return item


def _validate(body: EventTypeCreate | EventTypeReplace) -> None:
    try:
        validate_templates(
            body.title_template,
            body.body_template,
            [a.model_dump() for a in body.actions],
            body.required_labels,
        )
    except TemplateError as exc:
        raise HTTPException(422, f"template: {exc}") from None


@router.get("")
async def list_types(service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        types = await store.list_event_types(conn)
    default = service.settings.method
    groups: dict[str, list[str]] = {}
    for t in types:
        groups.setdefault(t.group, []).append(t.key)
    return {
        "items": [_with_effective_method(t, default) for t in types],
        "groups": groups,
        "default_method": default,
    }


@router.get("/{key}")
async def get_type(key: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        found = await store.get_event_type(conn, key)
    if found is None:
        raise HTTPException(404, f"no event type {key!r}; GET /api/v1/event-types lists them")
    return _with_effective_method(found, service.settings.method)


@router.post("", status_code=201)
async def create_type(
    body: EventTypeCreate, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    _validate(body)
    values = body.model_dump(exclude={"key"})
    values["actions"] = [a.model_dump() for a in body.actions]
    try:
        async with service.db.begin() as conn:
            created = await store.create_event_type(conn, body.key, **values)
    except IntegrityError:
        raise HTTPException(409, f"event type {body.key!r} already exists") from None
    return _with_effective_method(created, service.settings.method)


@router.put("/{key}")
async def update_type(
    key: str,
    body: EventTypeUpdate | EventTypeReplace,
    service: ServiceDep,
    principal: AdminDep,
) -> dict[str, Any]:
    """Switch a type on/off or set its method; for a custom type, or replace its definition."""
    async with service.db.begin() as conn:
        current = await store.get_event_type(conn, key)
        if current is None:
            raise HTTPException(404, f"no event type {key!r}; GET /api/v1/event-types lists them")
        if isinstance(body, EventTypeReplace):
            if current.kind != "custom":
                raise HTTPException(
                    409, f"{key!r} is built in: only 'enabled' and 'method' can be changed"
                )
            _validate(body)
            changes = body.model_dump()
            changes["actions"] = [a.model_dump() for a in body.actions]
        else:
            changes = {}
            if body.enabled is not None:
                changes["enabled"] = body.enabled
            if body.use_default_method:
                changes["method"] = None
            elif body.method is not None:
                changes["method"] = body.method
        updated = await store.update_event_type(conn, key, **changes)
    assert updated is not None
    return _with_effective_method(updated, service.settings.method)


@router.delete("/{key}", status_code=204)
async def delete_type(key: str, service: ServiceDep, principal: AdminDep) -> Response:
    async with service.db.begin() as conn:
        current = await store.get_event_type(conn, key)
        if current is None:
            raise HTTPException(404, f"no event type {key!r}")
        if current.kind != "custom":
            raise HTTPException(409, f"{key!r} is built in; disable it instead (enabled: false)")
        await store.delete_event_type(conn, key)
    return Response(status_code=204)
