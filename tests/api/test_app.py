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
