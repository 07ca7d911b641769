"""The in-app inbox: messages sent by the ``inbox`` method, read state, and a live SSE stream."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from clarion.access import (
    BearerDep,
    DatabaseDep,
    PrincipalDep,
    ServiceDep,
    principal_for,
    require_user,
)
from clarion.access.inbox_stream import InboxItem, inbox_stream
from clarion.limits import parse_request_time
from clarion.store import inbox as store
from clarion.store.db import Database

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


class InboxList(BaseModel):
    items: list[InboxItem]
    unread_count: int


class AllMarked(BaseModel):
    marked: int
    unread_count: int


class Marked(BaseModel):
    id: str
    unread_count: int


async def _unread_count(db: Database, user_id: uuid.UUID) -> int:
    async with db.read() as conn:
        return await store.unread_count(conn, user_id)


@router.get("")
async def list_inbox(
    db: DatabaseDep,
    principal: PrincipalDep,
    unread: bool = False,
    limit: int = Query(50, ge=1, le=500),
) -> InboxList:
    user = require_user(principal)
    async with db.read() as conn:
        rows = await store.inbox_items(conn, user.id, limit=limit, unread=unread)
    return InboxList(
        items=[InboxItem.of(r) for r in rows], unread_count=await _unread_count(db, user.id)
    )


@router.post("/read-all")
async def mark_all_read(db: DatabaseDep, principal: PrincipalDep) -> AllMarked:
    user = require_user(principal)
    async with db.begin() as conn:
        marked = await store.mark_all_read(conn, user.id)
    return AllMarked(marked=marked, unread_count=0)


@router.post("/{message_id:uuid}/read")
async def mark_read(message_id: uuid.UUID, db: DatabaseDep, principal: PrincipalDep) -> Marked:
    user = require_user(principal)
    async with db.begin() as conn:
        found = await store.mark_read(conn, user.id, message_id)
    if not found:
        raise HTTPException(404, f"no inbox message {message_id}")
    return Marked(id=str(message_id), unread_count=await _unread_count(db, user.id))


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "one `notification` event (data: an inbox item as JSON) per new "
            "inbox message, and comment lines as heartbeats",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def stream(
    request: Request,
    service: ServiceDep,
    principal: PrincipalDep,
    credentials: BearerDep,
    since: str | None = Query(
        None,
        description="also send what arrived after this time (ISO 8601 with a zone)",
        json_schema_extra={"format": "date-time"},
    ),
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message, as it arrives."""
    try:
        start = parse_request_time(since) if since is not None else None
    except ValueError as exc:
        raise HTTPException(422, f"since: {exc}") from None
    user = require_user(principal)
    token = credentials.credentials if credentials is not None else ""
    return inbox_stream(request, service, user.id, lambda: principal_for(service, token), start)
