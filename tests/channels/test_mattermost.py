"""The Mattermost payload: mentions defused in text, links and addresses left whole."""

from __future__ import annotations

from clarion.channels.mattermost import MattermostConfig, defuse_mentions, mattermost_payload
from clarion.delivery.outcome import Outbound, Recipient
from clarion.render import Rendered, RenderedAction

ZWSP = "\u200b"


def test_mentions_in_text_are_defused() -> None:
    text = defuse_mentions("@channel, @all and (@here) by @ann.b")
    assert text == f"@{ZWSP}channel, @{ZWSP}all and (@{ZWSP}here) by @{ZWSP}ann.b"


def test_links_urls_and_addresses_keep_their_at_signs() -> None:
    text = (
        "[View](https://coder.example.com/@ann/dev) "
        "<https://coder.example.com/@bob/ws> "
        "https://coder.example.com/@carl/x, "
        "mail ann@example.com or go to /@ann/dev"
    )
    assert defuse_mentions(text) == text


def test_payload_keeps_action_links_working() -> None:
    content = Rendered(
        title="Workspace dev was deleted",
        title_markdown="Workspace dev was deleted",
        body_markdown="@channel it was idle; ask ann@example.com",
        body_text="",
        body_html="",
        actions=(RenderedAction("View workspace", "https://coder.example.com/@ann/dev"),),
    )
    message = Outbound(
        message_id="m1",
        event_type="workspace_deleted",
        template_id="",
        template_name="Workspace Deleted",
        recipient=Recipient(user_id="", email="", name="", username=""),
        content=content,
        payload={},
        attempt=1,
    )
    config = MattermostConfig(webhook_url="https://chat.example.com/hooks/k")
    text = mattermost_payload(message, config)["text"]
    assert "[View workspace](https://coder.example.com/@ann/dev)" in text
    assert f"@{ZWSP}channel it was idle; ask ann@example.com" in text
