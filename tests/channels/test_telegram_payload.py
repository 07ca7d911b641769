"""The Telegram sendMessage payload, built on its own: HTML with values escaped, buttons."""

from __future__ import annotations

from clarion.channels.telegram import TEXT_LIMIT, TelegramConfig, telegram_payload
from tests.channels.sample import outbound

CONFIG = TelegramConfig(bot_token="123:abc", chat_id="-100123")


def test_html_text_with_a_bold_title_and_link_buttons() -> None:
    payload = telegram_payload(outbound(title="Deploy <b>x</b> & y"), CONFIG)
    assert payload["text"] == (
        "<b>Deploy &lt;b&gt;x&lt;/b&gt; &amp; y</b>\n\nThe build <b>failed</b> at step 3."
    )
    assert payload["parse_mode"] == "HTML"
    assert payload["chat_id"] == "-100123"
    assert payload["link_preview_options"] == {"is_disabled": True}
    assert payload["reply_markup"] == {
        "inline_keyboard": [[{"text": "View build", "url": "https://ci.example.com/b/1"}]]
    }
    assert "message_thread_id" not in payload


def test_buttons_are_laid_out_two_a_row() -> None:
    actions = tuple((f"B{n}", f"https://e.example.com/{n}") for n in range(5))
    rows = telegram_payload(outbound(actions=actions), CONFIG)["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["B0", "B1"], ["B2", "B3"], ["B4"]]


def test_without_actions_there_is_no_keyboard() -> None:
    assert "reply_markup" not in telegram_payload(outbound(actions=()), CONFIG)


def test_a_forum_topic_is_addressed() -> None:
    config = TelegramConfig(bot_token="123:abc", chat_id="-100123", message_thread_id=7)
    assert telegram_payload(outbound(), config)["message_thread_id"] == 7


def test_an_over_long_body_falls_back_to_escaped_plain_text_cut_to_the_limit() -> None:
    body = "**<b>**" + "x" * 5000
    payload = telegram_payload(outbound(body=body, text="<b> & " + "x" * 5000), CONFIG)
    text = payload["text"]
    assert len(text) == TEXT_LIMIT and text.endswith("…")
    assert text.startswith("<b>Deploy of api failed</b>\n\n&lt;b&gt; &amp; xxx")
