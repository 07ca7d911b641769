"""The Discord webhook payload, built on its own: one embed, no pings, links kept whole."""

from __future__ import annotations

from datetime import datetime

import pytest

from clarion.channels.discord import DESCRIPTION_LIMIT, TITLE_LIMIT, discord_payload
from tests.channels.sample import outbound


def test_one_embed_with_links_and_no_mentions() -> None:
    payload = discord_payload(outbound())
    [embed] = payload["embeds"]
    assert payload["allowed_mentions"] == {"parse": []}
    assert embed["title"] == "Deploy of api failed"
    assert embed["description"] == (
        "The build **failed** at step 3.\n\n[View build](https://ci.example.com/b/1)"
    )
    assert embed["url"] == "https://ci.example.com/b/1"
    assert embed["footer"] == {"text": "Deploy Failed"}
    assert datetime.fromisoformat(embed["timestamp"]).tzinfo is not None
    assert "username" not in payload


@pytest.mark.parametrize(
    ("event_type", "color"),
    [("deploy_failed", 0xED4245), ("backup_succeeded", 0x57F287), ("user_created", 0x5865F2)],
)
def test_the_colour_follows_the_outcome_in_the_event_name(event_type: str, color: int) -> None:
    [embed] = discord_payload(outbound(event_type=event_type))["embeds"]
    assert embed["color"] == color


def test_a_long_body_is_cut_and_the_links_stay_whole() -> None:
    payload = discord_payload(outbound(title="T" * 400, body="b" * 6000))
    [embed] = payload["embeds"]
    assert len(embed["title"]) == TITLE_LIMIT
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert embed["description"].endswith("…\n\n[View build](https://ci.example.com/b/1)")


def test_without_actions_there_is_no_link_and_a_default_footer() -> None:
    payload = discord_payload(outbound(actions=(), template_name=""), username="clarion")
    [embed] = payload["embeds"]
    assert "url" not in embed and "[" not in embed["description"]
    assert embed["footer"] == {"text": "Clarion"}
    assert payload["username"] == "clarion"
