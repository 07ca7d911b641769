"""The Teams workflow payload, built on its own: an Adaptive Card with user text inert."""

from __future__ import annotations

import json

from clarion.channels.teams import CARD, MAX_ACTIONS, PAYLOAD_BYTES, teams_escape, teams_payload
from tests.channels.sample import outbound


def _card(payload: dict) -> dict:
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == CARD
    return dict(attachment["content"])


def test_an_adaptive_card_with_title_body_and_open_url_actions() -> None:
    card = _card(teams_payload(outbound()))
    assert card["type"] == "AdaptiveCard"
    title, body = card["body"]
    assert title["text"] == "Deploy of api failed" and title["weight"] == "Bolder"
    assert body["text"] == "The build **failed** at step 3."
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "View build", "url": "https://ci.example.com/b/1"}
    ]


def test_markdown_in_the_title_is_inert() -> None:
    assert teams_escape("*bold* [x](y)") == r"\*bold\* \[x\]\(y\)"
    title = _card(teams_payload(outbound(title="- *urgent*")))["body"][0]["text"]
    assert title == teams_escape("- *urgent*") and title != "- *urgent*"


def test_an_empty_body_leaves_no_empty_block_and_actions_are_capped() -> None:
    actions = tuple((f"A{n}", f"https://e.example.com/{n}") for n in range(9))
    card = _card(teams_payload(outbound(body="", actions=actions)))
    assert len(card["body"]) == 1
    assert len(card["actions"]) == MAX_ACTIONS


def test_a_huge_body_is_cut_to_fit_the_request_limit() -> None:
    payload = teams_payload(outbound(body="é" * 40_000))
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= PAYLOAD_BYTES
    assert _card(payload)["body"][1]["text"].endswith("…")
