"""The ``apprise`` kind: an Apprise ``json://`` URL to a local sink, through the server.

Apprise sends by itself (``requests``, in clarion's small thread pool); its failures come
back as retries with what Apprise logged, and the destination guard still applies.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.sink import HttpSink, Reply

LABELS = {
    "server_name": "web-1",
    "metric": "cpu",
    "value": "93.50",
    "threshold": "80.00",
    "message": "CPU usage **high**",
}


def _url(sink: HttpSink, path: str = "/apprise") -> str:
    return "json://" + sink.url.removeprefix("http://") + path


async def _send(running: Any, url: str) -> str:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "long tail",
            "kind": "apprise",
            "config": {"url": url},
            "events": ["server_threshold_exceeded"],
        },
    )
    assert status == 201, channel
    assert channel["config"] == {"url": {"set": True}}  # the URL carries tokens: secret
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "server_threshold_exceeded", "labels": LABELS}
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


async def test_delivers_title_and_markdown_body(start_server, sink: HttpSink) -> None:
    running = await start_server()
    message = await running.wait_status(await _send(running, _url(sink)), {"sent"})
    [request] = sink.received
    body = request.json()
    assert request.path == "/apprise"
    assert "web-1" in body["title"]
    # json:// sends text: the plain-text rendering, not Markdown with its escapes.
    assert "CPU usage **high**" in body["message"] and "93.50" in body["message"]
    assert message["attempt_count"] == 1 and message["attempts"][0]["outcome"] == "delivered"


async def test_a_failed_send_is_retried_with_apprise_s_reason(start_server, sink: HttpSink) -> None:
    sink.responder = lambda n, r: Reply(503, "busy") if n == 1 else Reply()
    running = await start_server(retry_interval="100ms")
    message = await running.wait_status(await _send(running, _url(sink)), {"sent"})
    first, second = message["attempts"]
    assert first["outcome"] == "retry" and "503" in first["detail"]
    assert "/apprise" not in first["detail"]  # URLs in Apprise's lines are cut to the host
    assert second["outcome"] == "delivered" and len(sink.received) == 2


async def test_invalid_urls_and_refused_destinations(start_server, sink: HttpSink) -> None:
    running = await start_server()
    status, answer = await running.call(
        "POST",
        "/api/v1/channels",
        json={"name": "x", "kind": "apprise", "config": {"url": "nosuchservice://abc"}},
    )
    assert status == 422 and "config.url" in answer["detail"]
    assert "Apprise does not understand" in answer["detail"]

    guarded = await start_server(allow_private_destinations=False)
    status, result = await guarded.call(
        "POST", "/api/v1/channels/test", json={"kind": "apprise", "config": {"url": _url(sink)}}
    )
    assert status == 200 and result["ok"] is False
    assert "loopback or private" in result["detail"] and not sink.received
    port = sink.url.rsplit(":", 1)[1]
    for disguised in (f"json://2130706433:{port}/x", f"xml://0x7f000001:{port}/x"):
        status, result = await guarded.call(
            "POST", "/api/v1/channels/test", json={"kind": "apprise", "config": {"url": disguised}}
        )
        assert result["ok"] is False and "refusing" in result["detail"], disguised
    assert not sink.received
