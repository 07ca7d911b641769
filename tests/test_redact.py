"""What the scrubbers hide, and what they leave readable."""

from __future__ import annotations

import base64
from urllib.parse import quote

from clarion.redact import REDACTED, Scrubber, is_secret_key, scrub_text, scrub_value

HOOK = "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnopqrstuvwx"


def test_a_scrubber_removes_each_form_a_secret_comes_back_in() -> None:
    token = "123456789:AAH-bot-token/with+odd=chars"
    scrubber = Scrubber(token, {"X-Api-Key": "header-key-0123"}, HOOK)
    echoed = (
        f"POST /bot{token}/send | {quote(token, safe='')} | {base64.b64encode(token.encode())!r}"
        f" | X-Api-Key: header-key-0123 | POST /services/T0001/B0001/abcdefghijklmnopqrstuvwx"
        f" | key abcdefghijklmnopqrstuvwx"
    )
    scrubbed = scrubber.scrub(echoed)
    for secret in ("AAH-bot-token", "header-key-0123", "abcdefghijklmnopqrstuvwx", "QUFI"):
        assert secret not in scrubbed, scrubbed
    assert scrubbed.count(REDACTED) >= 6
    # The host of a secret URL stays readable: it says where the send went.
    assert Scrubber(HOOK).scrub("sent to https://hooks.slack.com/…") == (
        "sent to https://hooks.slack.com/…"
    )
    # Short values and ordinary words are left alone.
    assert Scrubber("abc", "").scrub("abc services hooks") == "abc services hooks"


def test_text_without_known_secrets_is_scrubbed_by_shape() -> None:
    text = scrub_text(
        f"failed {HOOK} Authorization: Bearer abcdef123456 password='hunter22' "
        "token clarion_abcdefghijkl xoxb-1234-abcdef 123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    for secret in ("T0001", "abcdef123456", "hunter22", "clarion_abcdefghijkl", "xoxb-", "AAAAAA"):
        assert secret not in text, text
    assert "https://hooks.slack.com/…" in text and "failed" in text
    # Already hidden values stay as they are.
    assert scrub_text(f"Authorization: {REDACTED}") == f"Authorization: {REDACTED}"


def test_secret_named_fields_are_hidden_at_any_depth() -> None:
    assert is_secret_key("Authorization") and is_secret_key("bot_token")
    assert is_secret_key("X-Api-Key") and is_secret_key("set-cookie")
    assert not is_secret_key("tokens") and not is_secret_key("message_id")
    value = scrub_value({"headers": {"Cookie": "s=1", "Accept": "*/*"}, "items": [{"password": 1}]})
    assert value == {
        "headers": {"Cookie": REDACTED, "Accept": "*/*"},
        "items": [{"password": REDACTED}],
    }
