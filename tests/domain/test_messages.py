"""An operator sends a failed message again: through the API and the CLI's call of it."""

from __future__ import annotations

from clarion.domain.messages import REDACTED, as_logged
from tests.fakes.sink import HttpSink, Reply


async def test_a_failed_message_is_sent_again_on_request(start_server, sink: HttpSink) -> None:
    sink.responder = lambda n, r: Reply(400, "bad payload")
    running = await start_server(webhook_endpoint=sink.url)
    user = await running.create_user("ann@example.com")
    [queued] = (await running.post_deleted())["messages"]
    failed = await running.wait_status(queued["id"], {"permanent_failure"})
    assert failed["attempt_count"] == 1

    sink.responder = lambda n, r: Reply()  # mended at the provider's end
    status, answer = await running.call("POST", f"/api/v1/messages/{queued['id']}/retry")
    assert status == 202 and answer["id"] == queued["id"], answer
    sent = await running.wait_status(queued["id"], {"sent"})
    assert len(sink.received) == 2
    assert [a["outcome"] for a in sent["attempts"]] == ["failed", "requeued", "delivered"]
    assert "at the request of the admin token" in sent["attempts"][1]["detail"]
    assert sent["status_reason"] is None and sent["attempt_count"] == 1

    # Only a failed message: a sent one is a 409 that names its status.
    status, answer = await running.call("POST", f"/api/v1/messages/{queued['id']}/retry")
    assert status == 409 and "sent" in answer["detail"], answer
    status, answer = await running.call(
        "POST", "/api/v1/messages/00000000-0000-0000-0000-000000000000/retry"
    )
    assert status == 404
    # An operator's action: a member may not.
    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    status, answer = await running.call(
        "POST", f"/api/v1/messages/{queued['id']}/retry", token=token["token"]
    )
    assert status == 403


async def test_the_history_after_a_retry_reads_in_time_order(start_server, sink: HttpSink) -> None:
    """The new round numbers its attempts from 1 again: sorted by number, they fell
    between the old ones."""
    sink.responder = lambda n, r: Reply(500, "down")
    running = await start_server(webhook_endpoint=sink.url, max_send_attempts=2)
    await running.create_user("ann@example.com")
    [queued] = (await running.post_deleted())["messages"]
    await running.wait_status(queued["id"], {"permanent_failure"})
    status, _ = await running.call("POST", f"/api/v1/messages/{queued['id']}/retry")
    assert status == 202
    await running.wait_status(queued["id"], {"permanent_failure"})
    _, message = await running.call("GET", f"/api/v1/messages/{queued['id']}")
    attempts = message["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "requeued", "retry", "retry"]
    starts = [a["started_at"] for a in attempts]
    assert starts == sorted(starts)


async def test_an_inhibited_message_is_not_sent_again(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url, dispatch=False)
    user = await running.create_user("ann@example.com")
    await running.call(
        "PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": ["workspace_deleted"]}
    )
    [queued] = (await running.post_deleted())["messages"]
    assert queued["status"] == "inhibited"
    status, answer = await running.call("POST", f"/api/v1/messages/{queued['id']}/retry")
    assert status == 409 and "inhibited" in answer["detail"]
    _, message = await running.call("GET", f"/api/v1/messages/{queued['id']}")
    assert message["status"] == "inhibited" and message["attempts"] == []


def test_the_log_shows_a_secret_bearing_message_without_its_secret() -> None:
    action = {"label": "Reset", "url": "https://example.com/reset?otp=123456"}
    row = {
        "event_type": "user_one_time_passcode",
        "content": {"title": "Reset your password", "body_text": "123456", "actions": [action]},
        "payload": {"labels": {"one_time_passcode": "123456"}, "data": None, "actions": [action]},
    }
    shown = as_logged(row)
    assert shown["content"] == {
        "title": "Reset your password",
        "body_text": REDACTED,
        "actions": [{"label": "Reset", "url": REDACTED}],
    }
    assert shown["payload"]["labels"] == {"one_time_passcode": REDACTED}
    assert "123456" not in repr(shown)
    assert row["content"]["body_text"] == "123456"  # the stored row is left as it was
    other = {**row, "event_type": "workspace_deleted"}
    assert as_logged(other) == other
