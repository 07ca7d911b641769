"""/openapi.json says what the API answers: a schema for every success, clarion's error body
for every error status, and the content types really sent."""

from __future__ import annotations

from typing import Any

from clarion.api.openapi import ERRORS


async def _schema(start_server) -> dict[str, Any]:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json", token=None)
    assert status == 200
    return dict(schema)


async def test_every_success_has_a_response_schema(start_server) -> None:
    schema = await _schema(start_server)
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if not content or not all(c.get("schema") for c in content.values()):
                    missing.append(f"{method.upper()} {path} {status}")
                    continue
                for body in content.values():
                    if body["schema"] == {}:  # "anything": says nothing
                        missing.append(f"{method.upper()} {path} {status} (empty schema)")
    assert missing == [], "2xx answers without a response schema:\n" + "\n".join(missing)


async def test_every_api_operation_documents_clarions_errors(start_server) -> None:
    schema = await _schema(start_server)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            documented = operation["responses"]
            for status in ERRORS:
                body = documented[str(status)]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)


async def test_content_types_are_the_ones_sent(start_server) -> None:
    schema = await _schema(start_server)
    metrics = schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    stream = schema["paths"]["/api/v1/inbox/stream"]["get"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]


async def test_a_method_a_path_does_not_take_is_a_405_listing_those_it_does(start_server) -> None:
    running = await start_server(dispatch=False)
    for path, allow in (
        ("/api/v1/channels", "GET, POST"),
        ("/api/v1/users/ann", "DELETE, GET, PATCH"),
        ("/api/v1/channels/kinds", "GET"),
    ):
        async with running.http.request(
            "OPTIONS", running.url + path, headers={"Authorization": "Bearer x"}
        ) as answer:
            assert answer.status == 405, path
            assert answer.headers["Allow"] == allow, path
