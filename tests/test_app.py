"""The app's own pages: no API docs loading scripts from a CDN; the schema stays."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect", "/redoc"])
async def test_no_docs_pages_that_load_a_cdn(start_server, path: str) -> None:
    running = await start_server(dispatch=False)
    async with running.http.get(running.url + path) as response:
        body = await response.text()
        assert response.status == 404
    assert "cdn" not in body.lower() and "<script" not in body.lower()


async def test_the_openapi_schema_is_still_served(start_server) -> None:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json", token=None)
    assert status == 200 and schema["info"]["title"] == "clarion"
    assert "/api/v1/users/{ref}" in schema["paths"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/inbox", "get"),
        ("/api/v1/inbox/read-all", "post"),
        ("/api/v1/inbox/{message_id}/read", "post"),
        ("/api/v1/inbox/stream", "get"),
    ],
)
async def test_the_schema_documents_the_body_of_each_success(
    start_server, path: str, method: str
) -> None:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json", token=None)
    assert status == 200
    answers = schema["paths"][path][method]["responses"]
    successes = {code: answer for code, answer in answers.items() if code.startswith("2")}
    assert successes, f"{method} {path} documents no 2xx answer"
    for code, answer in successes.items():
        schemas = [media.get("schema", {}) for media in answer.get("content", {}).values()]
        assert schemas, f"{method} {path} {code} documents no body"
        for body in schemas:
            # A named model, or text (a stream, Prometheus' format); not "any object".
            named = "$ref" in body or "properties" in body or body.get("type") == "string"
            assert named, f"{method} {path} {code} leaves its body undescribed: {body}"
