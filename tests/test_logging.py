"""Log lines and tracebacks carry no secrets, in both formats, and stay small."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from clarion.logging import configure_logging

TOKEN = "clarion_sEcReT-api-token-0123456789abcdef"
BODY_SECRET = "body-sEcReT-0123456789"
HOOK = "https://hooks.slack.com/services/T000/B000/hook-sEcReT-0123456789"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Logging configured to a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def _handle_request(headers: dict[str, str], body: dict[str, Any]) -> None:
    authorization = headers["Authorization"]
    password = body["password"]
    raise RuntimeError(f"the store is gone ({len(authorization) + len(password)})")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_traceback_shows_no_local_variables(log_stream: io.StringIO, fmt: str) -> None:
    configure_logging(fmt, "info", stream=log_stream)
    headers = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"session={TOKEN}"}
    body = {"password": BODY_SECRET, "padding": ["x" * 1000] * 1000}
    try:
        _handle_request(headers, body)
    except RuntimeError as exc:
        # Both ways an error reaches the log: clarion's own lines, and uvicorn's.
        structlog.get_logger("test").exception("request failed")
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)
    text = log_stream.getvalue()
    assert text.count("RuntimeError: the store is gone") == 2, text
    assert "_handle_request" in text  # the frames are there ...
    for secret in (TOKEN, BODY_SECRET, "sEcReT"):
        assert secret not in text  # ... their variables are not
    assert len(text) < 8_000, len(text)
    if fmt == "json":
        assert all(json.loads(line)["exception"] for line in text.splitlines())


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_logged_fields_are_scrubbed(log_stream: io.StringIO, fmt: str) -> None:
    configure_logging(fmt, "info", stream=log_stream)
    structlog.get_logger("test").warning(
        "request",
        headers={"Authorization": f"Bearer {TOKEN}", "Cookie": "session=abc123", "Accept": "*/*"},
        bot_token="xoxb-1-sEcReT",
        reason=f"posting to {HOOK} failed with Authorization: Bearer {TOKEN}",
        message_id="m1",
    )
    logging.getLogger("aiohttp.client").warning("POST %s password=%s", HOOK, BODY_SECRET)
    text = log_stream.getvalue()
    for secret in (TOKEN, BODY_SECRET, "sEcReT", "abc123"):
        assert secret not in text, text
    assert "m1" in text and "*/*" in text
    assert "https://hooks.slack.com/…" in text  # the host stays, for finding the problem
