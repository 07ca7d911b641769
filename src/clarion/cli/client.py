"""The CLI's API client: a thin synchronous wrapper over aiohttp (the project's one HTTP client)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class ApiClient:
    def __init__(self, url: str, token: str | None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        return asyncio.run(self._request(method, path, json=json, params=params))

    async def _request(
        self, method: str, path: str, *, json: Any, params: dict[str, Any] | None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    method, self.url + path, json=json, params=clean, headers=headers
                ) as response,
            ):
                if response.status == 204:
                    return None
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = {"detail": (await response.text())[:300]}
                if response.status >= 400:
                    detail = body.get("detail") if isinstance(body, dict) else body
                    raise ApiError(response.status, str(detail))
                return body
        except aiohttp.ClientConnectorError as exc:
            raise ApiError(
                0,
                f"cannot reach clarion at {self.url} ({exc.os_error}); is the server running?",
            ) from None
