"""Test Connection: send one fixed test message through a channel now, and say what happened.

Used by the API and the web pages, for a saved channel and for a config not saved yet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from clarion.channels.registry import ChannelConfigError, ChannelDeps, build_sender
from clarion.delivery.outcome import Delivered, Outbound, Recipient
from clarion.render import Rendered, markdown_to_html, markdown_to_text

TEST_TITLE = "Test Notification"
TEST_BODY = "Hi, from **clarion** 👋 If you can read this, the channel works."


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # the provider's answer, or why it failed


async def send_test_message(kind: str, config: dict[str, Any], deps: ChannelDeps) -> ProbeResult:
    """Send the test message; a config the kind no longer accepts (a saved one, say) is a
    failed test naming the fields, not an error."""
    try:
        sender = build_sender(kind, config, deps)
    except ChannelConfigError as exc:
        return ProbeResult(False, f"the channel's config is not valid: {exc}")
    content = Rendered(
        title=TEST_TITLE,
        title_markdown=TEST_TITLE,
        body_markdown=TEST_BODY,
        body_text=markdown_to_text(TEST_BODY),
        body_html=markdown_to_html(TEST_BODY),
        actions=(),
    )
    message = Outbound(
        message_id=str(uuid.uuid4()),
        event_type="test_notification",
        template_id="",
        template_name=TEST_TITLE,
        recipient=Recipient(),
        content=content,
        payload={"labels": {}, "data": None},
    )
    outcome = await sender.send(message)
    if isinstance(outcome, Delivered):
        return ProbeResult(True, outcome.detail or "delivered")
    return ProbeResult(False, outcome.reason)
