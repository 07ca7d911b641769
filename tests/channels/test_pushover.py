"""The Pushover form, built on its own: plain text, cut to its limits, URLs never cut."""

from __future__ import annotations

from clarion.channels.pushover import (
    MESSAGE_LIMIT,
    TITLE_LIMIT,
    URL_LIMIT,
    PushoverConfig,
    pushover_payload,
)
from tests.channels.sample import outbound

CONFIG = PushoverConfig(user_key="u123", api_token="a456")


def test_a_plain_text_form_with_the_first_link() -> None:
    assert pushover_payload(outbound(), CONFIG) == {
        "token": "a456",
        "user": "u123",
        "title": "Deploy of api failed",
        "message": "The build failed at step 3.",
        "priority": "0",
        "url": "https://ci.example.com/b/1",
        "url_title": "View build",
    }


def test_emergency_priority_carries_retry_and_expire() -> None:
    config = PushoverConfig(user_key="u", api_token="a", priority=2, retry=60, expire=600)
    fields = pushover_payload(outbound(), config)
    assert (fields["priority"], fields["retry"], fields["expire"]) == ("2", "60", "600")
    assert "retry" not in pushover_payload(outbound(), CONFIG)


def test_long_text_is_cut_and_a_long_url_is_left_out_not_cut() -> None:
    long_url = "https://e.example.com/" + "p" * URL_LIMIT
    actions = (("Too long", long_url), ("Short", "https://e.example.com/s"))
    fields = pushover_payload(outbound(title="T" * 300, text="m" * 2000, actions=actions), CONFIG)
    assert len(fields["title"]) == TITLE_LIMIT and len(fields["message"]) == MESSAGE_LIMIT
    assert (fields["url"], fields["url_title"]) == ("https://e.example.com/s", "Short")


def test_an_empty_body_sends_the_title_as_the_message() -> None:
    fields = pushover_payload(outbound(text="", actions=()), CONFIG)
    assert fields["message"] == "Deploy of api failed"
    assert "url" not in fields
