"""The ``email`` channel kind: a team list mailed through the channel's own SMTP server."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.certs import make_certificates
from tests.fakes.smtp import Authenticator, RawListener, start_smtp

LABELS = {
    "project": "shop",
    "application": "api",
    "application_type": "application",
    "error_message": "exit 1 <script>x</script>",
    "build_url": "https://ci.example.com/b/1",
}


async def _deploy_failed(running, project: str = "shop") -> str:
    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={"type": "deploy_failed", "labels": {**LABELS, "project": project}},
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


def _config(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "smtp_server": "127.0.0.1",
        "smtp_port": port,
        "from_address": "Deploys <deploys@example.com>",
        "to_addresses": ["ops@example.com", "oncall@example.com"],
        **extra,
    }


async def test_team_list_gets_one_email_with_every_address(start_server, tmp_path) -> None:
    certs = make_certificates(tmp_path / "certs")
    auth = Authenticator("mailer", "s3cret")
    controller, handler = start_smtp(
        tls_context=certs.server_context(), require_starttls=True, auth=auth
    )
    try:
        running = await start_server()
        body = {
            "name": "ops list",
            "kind": "email",
            "config": _config(
                controller.port,
                security="starttls",
                skip_verify=True,
                username="mailer",
                password="s3cret",
            ),
            "events": ["deploy_failed"],
        }
        status, channel = await running.call("POST", "/api/v1/channels", json=body)
        assert status == 201, channel
        assert channel["config"]["password"] == {"set": True} and "s3cret" not in str(channel)
        await running.wait_status(await _deploy_failed(running), {"sent"})
        for _ in range(100):
            if handler.messages:
                break
            await asyncio.sleep(0.05)

        status, _ = await running.call(
            "PATCH",
            f"/api/v1/channels/{channel['id']}",
            json={"config": {**body["config"], "password": "wrong"}},
        )
        failed = await running.wait_status(
            await _deploy_failed(running, "other"), {"permanent_failure"}
        )
    finally:
        controller.stop()
    [mail] = handler.messages
    assert sorted(mail.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
    assert mail.message["To"] == "ops@example.com, oncall@example.com"
    assert "List-Unsubscribe" not in mail.message
    html = mail.message.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "refused authentication" in failed["status_reason"]


async def test_invalid_addresses_are_refused_naming_the_field(start_server) -> None:
    running = await start_server(dispatch=False)
    status, answer = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "bad",
            "kind": "email",
            "config": _config(25, to_addresses=["ops@example.com", "not-an-address"]),
        },
    )
    assert status == 422 and "config.to_addresses.1" in answer["detail"]


async def test_a_loopback_server_is_refused_at_save_and_test_unless_allowed(
    start_server,
) -> None:
    listener = await RawListener(b"220 listening\r\n").start()
    try:
        guarded = await start_server(dispatch=False, allow_private_destinations=False)
        for server in ("127.0.0.1", "localhost", "[::1]", "::ffff:127.0.0.1"):
            config = {**_config(listener.port), "smtp_server": server, "password": "pw"}
            status, answer = await guarded.call(
                "POST",
                "/api/v1/channels",
                json={"name": "ops", "kind": "email", "config": config, "events": []},
            )
            assert status == 422, (server, answer)
            assert "config.smtp_server" in answer["detail"] and "refusing" in answer["detail"]
            status, result = await guarded.call(
                "POST", "/api/v1/channels/test", json={"kind": "email", "config": config}
            )
            assert status == 200 and result["ok"] is False, (server, result)
            assert "refusing to connect" in result["detail"]
        assert listener.connections == 0
        assert (await guarded.call("GET", "/api/v1/channels"))[1]["items"] == []

        # A saved channel moved onto loopback is refused too.
        allowed = await start_server(dispatch=False)
        status, channel = await allowed.call(
            "POST",
            "/api/v1/channels",
            json={"name": "ops", "kind": "email", "config": _config(25), "events": []},
        )
        assert status == 201, channel
        status, answer = await guarded.call(
            "PATCH", f"/api/v1/channels/{channel['id']}", json={"config": _config(listener.port)}
        )
        assert status == 422 and "config.smtp_server" in answer["detail"]
    finally:
        await listener.stop()


async def test_line_breaks_in_the_from_address_are_refused(start_server) -> None:
    running = await start_server(dispatch=False)
    for sender in (
        "Deploys <deploys@example.com>\r\nBcc: eve@example.com",
        "Deploys\n <deploys@example.com>",
        "Deploys\u2028<deploys@example.com>",
    ):
        config = _config(25, from_address=sender)
        for path, body in (
            ("/api/v1/channels/test", {"kind": "email", "config": config}),
            ("/api/v1/channels", {"name": "mail", "kind": "email", "config": config}),
        ):
            status, answer = await running.call("POST", path, json=body)
            assert status == 422 and "config.from_address" in answer["detail"], (path, answer)
