"""A rendered message to feed the channels' payload builders directly."""

from __future__ import annotations

from clarion.delivery.outcome import Outbound, Recipient
from clarion.render import Rendered, RenderedAction


def outbound(
    *,
    title: str = "Deploy of api failed",
    body: str = "The build **failed** at step 3.",
    text: str | None = None,
    actions: tuple[tuple[str, str], ...] = (("View build", "https://ci.example.com/b/1"),),
    event_type: str = "deploy_failed",
    template_name: str = "Deploy Failed",
    payload: dict[str, object] | None = None,
) -> Outbound:
    return Outbound(
        message_id="0b8f6c1e-4a8d-4f5e-9c2b-3d7a1e6f9b40",
        event_type=event_type,
        template_id="5f0c2a7e-1b3d-4c5e-8f9a-0b1c2d3e4f5a",
        template_name=template_name,
        recipient=Recipient(),
        content=Rendered(
            title=title,
            title_markdown=title,
            body_markdown=body,
            body_text=body.replace("**", "") if text is None else text,
            body_html="",
            actions=tuple(RenderedAction(label, url) for label, url in actions),
        ),
        payload=payload or {},
    )
