"""The Gotify message payload, built on its own: Markdown with the links appended."""

from __future__ import annotations

from clarion.channels.gotify import gotify_payload
from tests.channels.sample import outbound


def test_markdown_body_with_links_and_a_click_target() -> None:
    actions = (("View build", "https://ci.example.com/b/1"), ("Logs", "https://ci.example.com/l"))
    payload = gotify_payload(outbound(actions=actions), priority=8)
    assert payload == {
        "title": "Deploy of api failed",
        "message": "The build **failed** at step 3.\n\n"
        "[View build](https://ci.example.com/b/1)\n\n[Logs](https://ci.example.com/l)",
        "priority": 8,
        "extras": {
            "client::display": {"contentType": "text/markdown"},
            "client::notification": {"click": {"url": "https://ci.example.com/b/1"}},
        },
    }


def test_without_actions_the_body_stands_alone() -> None:
    payload = gotify_payload(outbound(actions=()), priority=5)
    assert payload["message"] == "The build **failed** at step 3."
    assert "client::notification" not in payload["extras"]
