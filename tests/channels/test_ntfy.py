"""The ntfy JSON publish payload, built on its own."""

from __future__ import annotations

from clarion.channels.ntfy import MAX_ACTIONS, MESSAGE_BYTES, NtfyConfig, ntfy_payload
from tests.channels.sample import outbound

CONFIG = NtfyConfig(topic="ops", priority=4)


def test_plain_text_message_with_click_and_view_actions() -> None:
    payload = ntfy_payload(outbound(), CONFIG)
    assert payload == {
        "topic": "ops",
        "title": "Deploy of api failed",
        "message": "The build failed at step 3.",
        "priority": 4,
        "click": "https://ci.example.com/b/1",
        "actions": [
            {
                "action": "view",
                "label": "View build",
                "url": "https://ci.example.com/b/1",
                "clear": True,
            }
        ],
    }


def test_no_actions_means_no_click_and_actions_are_capped() -> None:
    assert {"click", "actions"}.isdisjoint(ntfy_payload(outbound(actions=()), CONFIG))
    many = tuple((f"A{n}", f"https://e.example.com/{n}") for n in range(6))
    assert len(ntfy_payload(outbound(actions=many), CONFIG)["actions"]) == MAX_ACTIONS


def test_a_long_message_is_cut_in_bytes_not_characters() -> None:
    message = ntfy_payload(outbound(text="€" * 3000), CONFIG)["message"]
    assert len(message.encode()) <= MESSAGE_BYTES
    assert message.endswith("…") and message.startswith("€€€")
