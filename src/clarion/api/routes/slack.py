"""Slack's interactivity requests (button clicks), checked by Slack's signature, not a token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from clarion.access import ServiceDep
from clarion.domain import slack_interactions

router = APIRouter(prefix="/api/v1/slack", tags=["slack"])


@router.post(
    "/interactions",
    status_code=200,
    response_class=Response,
    responses={
        200: {
            "description": "The clicks were checked and kept; Slack wants an empty 200.",
            "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
        }
    },
)
async def interactions(request: Request, service: ServiceDep) -> Response:
    """Slack waits 3 s for this answer; the click is kept with its message first."""
    secret = service.settings.slack_signing_secret
    await slack_interactions.receive(
        service.db,
        secret.get_secret_value() if secret else None,
        request.headers,
        await request.body(),
    )
    return Response(status_code=200, media_type="text/plain")
