"""The Slack incoming-webhook payload, built on its own: Block Kit with user text inert."""

from __future__ import annotations

from clarion.channels.slack import HEADER_LIMIT, MAX_BUTTONS, SECTION_LIMIT, slack_payload
from tests.channels.sample import outbound


def test_title_body_and_buttons_become_blocks() -> None:
    message = outbound()
    payload = slack_payload(message)
    header, section, actions = payload["blocks"]
    assert header["type"] == "header"
    assert header["text"] == {"type": "plain_text", "text": "Deploy of api failed"}
    assert section["text"] == {"type": "mrkdwn", "text": "The build *failed* at step 3."}
    assert actions["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "View build"},
            "url": "https://ci.example.com/b/1",
            # A click comes back (Slack interactivity) naming the message it belongs to.
            "value": message.message_id,
            "action_id": "clarion-action-0",
        }
    ]
    assert payload["text"] == "Deploy of api failed"  # the notification's fallback
    assert "channel" not in payload


def test_mentions_in_the_fallback_text_are_inert() -> None:
    payload = slack_payload(outbound(title="<!channel> & <@U123> deploy"))
    assert payload["text"] == "&lt;!channel&gt; &amp; &lt;@U123&gt; deploy"
    # The header is plain_text, which Slack never reads as markup.
    assert payload["blocks"][0]["text"]["text"] == "<!channel> & <@U123> deploy"


def test_no_body_and_no_actions_leave_only_the_header() -> None:
    payload = slack_payload(outbound(body="", actions=()))
    assert [b["type"] for b in payload["blocks"]] == ["header"]


def test_long_parts_are_cut_to_slacks_limits() -> None:
    many = tuple((f"Button {n} " + "x" * 100, f"https://e.example.com/{n}") for n in range(9))
    payload = slack_payload(outbound(title="T" * 500, body="b" * 5000, actions=many))
    header, section, actions = payload["blocks"]
    assert len(header["text"]["text"]) == HEADER_LIMIT and header["text"]["text"].endswith("…")
    assert len(section["text"]["text"]) == SECTION_LIMIT
    assert len(actions["elements"]) == MAX_BUTTONS
    assert all(len(e["text"]["text"]) <= 75 for e in actions["elements"])


def test_a_channel_override_is_passed_on() -> None:
    assert slack_payload(outbound(), channel="#ops")["channel"] == "#ops"
